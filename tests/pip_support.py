"""What the install and scaffold tests share: how to pip-install here, and how to call the real command."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path


def build_flags() -> list[str]:
    """``--no-build-isolation`` where this environment can build wheels itself (setuptools 70.1+, or ``wheel``)."""
    try:
        setuptools = tuple(int(p) for p in metadata.version("setuptools").split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return []
    try:
        metadata.version("wheel")
        has_wheel = True
    except metadata.PackageNotFoundError:
        has_wheel = False
    # Otherwise pip builds in an isolated environment, with setuptools from the package index.
    return ["--no-build-isolation"] if setuptools >= (70, 1) or has_wheel else []


def ductflow(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``ductflow ARGS`` in a subprocess of this interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "ductflow_core.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )
