"""Run one child process and measure its wall time and its own peak RSS."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """One timed run of a child process."""

    wall_s: float
    maxrss_bytes: int
    returncode: int
    error: str | None = None


def run_child(
    argv: Sequence[str],
    *,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Sample:
    """Run ``argv`` to completion; its output goes to files in ``log_dir``, never to a pipe that could fill up."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / "stdout.log", log_dir / "stderr.log"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(list(argv), stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        except OSError as exc:
            return Sample(0.0, 0, -1, f"{type(exc).__name__}: {exc}")
        # wait4 on this pid gives this child's own rusage; RUSAGE_CHILDREN would be a max over every child so far.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    error = None if proc.returncode == 0 else first_error_line(err_path, out_path, proc.returncode)
    # Linux reports ru_maxrss in KiB.
    return Sample(wall, usage.ru_maxrss * 1024, proc.returncode, error)


def first_error_line(err_path: Path, out_path: Path, returncode: int) -> str:
    """The line that says what went wrong: the exception line of a traceback, else the first line written."""
    for path in (err_path, out_path):
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
        if not lines:
            continue
        if lines[0].startswith("Traceback"):
            return lines[-1][:300]
        return lines[0][:300]
    return f"exit status {returncode}"
