"""Run one child process and measure its wall time and its own peak RSS.

Children are not started from this (large, long-lived) process but from a
tiny helper. Linux carries the parent's RSS high-water mark into a child's
``ru_maxrss`` when the child execs (``posix_spawn``/``vfork`` shares the
parent's memory map until then), so a child started from here would report at
least our own peak. The helper stays at ~10 MiB, well under any child.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Runs with -I -S: nothing but the standard library, so its own footprint stays small.
HELPER = r"""
import json, os, sys, time
for line in sys.stdin:
    job = json.loads(line)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fds = [os.open(os.devnull, os.O_RDONLY), os.open(job["stdout"], flags, 0o644), os.open(job["stderr"], flags, 0o644)]
    try:
        actions = [(os.POSIX_SPAWN_DUP2, fd, target) for target, fd in enumerate(fds)]
        start = time.perf_counter()
        pid = os.posix_spawnp(job["argv"][0], job["argv"], job["env"], file_actions=actions)
        # wait4 on this pid: this child's own rusage, not a max over every child so far.
        _, status, usage = os.wait4(pid, 0)
        reply = {"wall": time.perf_counter() - start, "maxrss_kib": usage.ru_maxrss, "status": status}
    except OSError as exc:
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        for fd in fds:
            os.close(fd)
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
"""


@dataclass(frozen=True)
class Sample:
    """One timed run of a child process."""

    wall_s: float
    maxrss_bytes: int
    returncode: int
    error: str | None = None


class Spawner:
    """The helper process that starts, times and reaps every child."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", HELPER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def run(self, argv: Sequence[str], env: Mapping[str, str], stdout: Path, stderr: Path) -> dict[str, Any]:
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        job = {"argv": list(argv), "env": dict(env), "stdout": str(stdout), "stderr": str(stderr)}
        self._proc.stdin.write(json.dumps(job) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark spawner helper exited")
        return json.loads(line)

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait()


_spawner: Spawner | None = None


def spawner() -> Spawner:
    global _spawner
    if _spawner is None:
        _spawner = Spawner()
        atexit.register(_spawner.close)
    return _spawner


def run_child(
    argv: Sequence[str],
    *,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
) -> Sample:
    """Run ``argv`` to completion; its output goes to files in ``log_dir``, never to a pipe that could fill up."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / "stdout.log", log_dir / "stderr.log"
    child_env = dict(os.environ if env is None else env)
    # Every runner measures an installed program, and `pip install` writes bytecode: with this variable set
    # (some shells and CI images set it) each child would compile every module anew on each run.
    child_env.pop("PYTHONDONTWRITEBYTECODE", None)
    reply: dict[str, Any] = spawner().run(argv, child_env, out_path, err_path)
    if "error" in reply:
        return Sample(0.0, 0, -1, str(reply["error"]))
    returncode = os.waitstatus_to_exitcode(int(reply["status"]))
    error = None if returncode == 0 else first_error_line(err_path, out_path, returncode)
    # Linux reports ru_maxrss in KiB.
    return Sample(float(reply["wall"]), int(reply["maxrss_kib"]) * 1024, returncode, error)


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
