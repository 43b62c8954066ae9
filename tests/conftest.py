"""Shared fixtures of the core's tests (the plugin fixtures come from ductflow_core.testing)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import sample_connections

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def _reset_sample_state() -> None:
    sample_connections.Collect.received.clear()
    sample_connections.Untyped.seen.clear()
    sample_connections.Sleeper.log.clear()
    sample_connections.Recorder.queries.clear()


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real ``ductflow`` command in a subprocess, with the tests folder importable."""

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, python_flags: Sequence[str] = ()
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "PYTHONPATH": str(HERE), **(env or {})}
        return subprocess.run(
            [sys.executable, *python_flags, "-m", "ductflow_core.cli", *args],
            cwd=cwd or tmp_path,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def conn(classname: str, **params: object) -> str:
    """A YAML flow mapping for a sample connection class."""
    body = ", ".join(f"{k}: {v}" for k, v in params.items())
    return f"{{kind: CustomConnection, module: sample_connections, classname: {classname}, params: {{{body}}}}}"
