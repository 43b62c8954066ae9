"""The test suites start without pytest deprecation warnings (pytest-asyncio's unset loop scope among them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("folder", [".", "plugins/ductflow-files", "plugins/ductflow-postgres"])
def test_suite_configures_without_deprecation_warnings(folder: str) -> None:
    """Collecting a suite with pytest's deprecation warnings turned into errors succeeds."""
    suite = "tests" if folder != "." else "benchmarks/tests"
    strict = ["-W", "error::pytest.PytestDeprecationWarning"]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *strict, "--collect-only", "-q", suite],
        cwd=ROOT / folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "PytestDeprecationWarning" not in proc.stdout + proc.stderr
