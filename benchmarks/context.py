"""What every workload needs to know about this run: sizes, folders and the programs to call."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import REPO_DIR
from .datagen import Dataset


@dataclass
class Context:
    """Settings of one benchmark run, shared by every workload."""

    rows: int
    runs: int
    warmups: int
    dataset: Dataset
    work_dir: Path
    data_dir: Path
    quick: bool = False
    peers: bool = False
    python: str = sys.executable
    peers_dir: Path | None = None
    notes: list[str] = field(default_factory=list)

    def folder(self, name: str) -> Path:
        """A fresh-or-existing folder of the work tree for one workload."""
        path = self.work_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def child_env(self) -> dict[str, str]:
        """The environment of every child: ours, with the repo importable (for ``benchmarks.benchgen``)."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_DIR), env.get("PYTHONPATH", "")) if p)
        return env


def ductflow_executable() -> str | None:
    """The ``ductflow`` script of the interpreter running us, else the first one on PATH."""
    beside = Path(sys.executable).parent / "ductflow"
    if beside.exists():
        return str(beside)
    return shutil.which("ductflow")
