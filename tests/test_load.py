"""Load: many concurrent stages and a long stream, without DuckDB thread-safety errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from conftest import HERE, conn

from ductflow_core.testing import RunOutcome

Run = Callable[..., RunOutcome]


def test_two_hundred_stages_with_concurrent_taps(ductflow_run: Run) -> None:
    """100 taps running at once, each read by its own transform, finish with every row accounted for."""
    lines = []
    for i in range(100):
        lines.append(f"- {{name: tap_{i}, kind: tap, connection: {conn('Numbers', rows=i + 1)}}}\n")
    for i in range(100):
        lines.append(f"- {{name: sum_{i}, kind: transform, sql: 'SELECT sum(n) AS s FROM tap_{i}'}}\n")
    outcome = ductflow_run("".join(lines))
    assert len(outcome.results) == 200
    sums = outcome.rows("SELECT " + " + ".join(f"(SELECT s FROM sum_{i})" for i in range(100)))
    assert sums == [(sum(n * (n - 1) // 2 for n in range(1, 101)),)]


def test_long_stream_runs_in_bounded_memory(tmp_path: Path) -> None:
    """A 3,000,000-row Arrow stream flows through a transform into a sink with peak RSS well below its size."""
    (tmp_path / "pipeline.yaml").write_text(
        f"- {{name: gen, kind: tap, connection: {conn('Stream', rows=3_000_000)}}}\n"
        "- {name: shifted, kind: transform, sql: 'SELECT i + 1 AS j, repeat(''x'', 40) AS pad FROM gen'}\n"
        f"- {{name: out, kind: sink, connection: {conn('CountRows')}}}\n",
        encoding="utf-8",
    )
    # VmHWM, not ru_maxrss: the latter keeps the forking parent's (pytest's) peak across exec.
    script = (
        "import re, sys\n"
        "from ductflow_core.cli.main import main\n"
        "code = main(['run', 'pipeline.yaml'])\n"
        "status = open('/proc/self/status').read()\n"
        "print(int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1)) // 1024)\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(HERE)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "✓ out (sink): 3,000,000 rows" in proc.stderr
    peak_mb = int(proc.stdout.strip().splitlines()[-1])
    # The rows are ~150 MB as Arrow; held whole (as a table, then padded) the run peaks near 370 MB.
    assert peak_mb < 250, f"peak RSS {peak_mb} MB; {proc.stderr}"
