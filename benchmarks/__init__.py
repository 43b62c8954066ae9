"""Ductflow's benchmark suite: ``python -m benchmarks --help``."""

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
