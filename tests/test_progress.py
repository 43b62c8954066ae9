"""Progress lines of ``ductflow run``: the rate only past a second, and what a streamed tap says."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from conftest import conn

from ductflow_core.connection import Connection
from ductflow_core.run.builtin.progress import describe
from ductflow_core.run.context import StageResult

Cli = Callable[..., subprocess.CompletedProcess[str]]


class ViewTap(Connection):
    """Leaves ``rows`` integers as a view, reporting their count only when ``report`` is set."""

    rows: int = 5
    report: bool = False

    async def tap(self, query: str | None = None) -> int | None:
        await self.c.sql(f"CREATE VIEW {self.c.quote(self.name)} AS SELECT range AS n FROM range({self.rows})")
        return self.rows if self.report else None


def view_tap(**params: object) -> str:
    return conn("ViewTap", **params).replace("module: sample_connections", "module: test_progress")


def write(tmp_path: Path, text: str) -> None:
    (tmp_path / "pipeline.yaml").write_text(text, encoding="utf-8")


def line_of(stderr: str, stage: str) -> str:
    [line] = [ln for ln in stderr.splitlines() if ln.startswith(f"✓ {stage} (")]
    return line


def test_short_stage_prints_no_rate(cli: Cli, tmp_path: Path) -> None:
    """A stage that finishes within a second prints its rows and seconds but no rows per second."""
    write(tmp_path, f"- {{name: nums, kind: tap, connection: {conn('Numbers', rows=7)}}}\n")
    proc = cli("run", "pipeline.yaml")
    assert proc.returncode == 0, proc.stderr
    line = line_of(proc.stderr, "nums")
    assert line.startswith("✓ nums (tap): 7 rows in ")
    assert line.endswith(" s")
    assert "rows/s" not in proc.stderr


def test_stage_past_a_second_prints_its_rate(cli: Cli, tmp_path: Path) -> None:
    """A stage that takes more than a second prints its rows per second."""
    write(tmp_path, f"- {{name: nums, kind: tap, connection: {conn('Numbers', rows=7, delay=1.05)}}}\n")
    proc = cli("run", "pipeline.yaml")
    assert proc.returncode == 0, proc.stderr
    line = line_of(proc.stderr, "nums")
    assert line.startswith("✓ nums (tap): 7 rows in ")
    assert line.endswith(" rows/s)")


def test_describe_puts_the_rate_threshold_at_one_second() -> None:
    """The rate appears from one second on and not just below it."""
    assert describe(StageResult("t", "tap", 7, 0.99)) == "t (tap): 7 rows in 0.99 s"
    assert describe(StageResult("t", "tap", 1_000, 2.0)) == "t (tap): 1,000 rows in 2.00 s (500 rows/s)"


def test_streamed_tap_names_its_reader(cli: Cli, tmp_path: Path) -> None:
    """A tap left as a view with no count names the stage it streams to, whose line counts the rows."""
    write(
        tmp_path,
        f"- {{name: src, kind: tap, connection: {view_tap(rows=5)}}}\n"
        f"- {{name: out, kind: sink, from: src, connection: {conn('Collect')}}}\n",
    )
    proc = cli("run", "pipeline.yaml")
    assert proc.returncode == 0, proc.stderr
    assert line_of(proc.stderr, "src").startswith("✓ src (tap): streamed to out, ready in ")
    assert line_of(proc.stderr, "out").startswith("✓ out (sink): 5 rows in ")


def test_streamed_tap_prints_the_count_its_connection_reports(cli: Cli, tmp_path: Path) -> None:
    """A tap left as a view whose connection reports its row count prints that count."""
    write(
        tmp_path,
        f"- {{name: src, kind: tap, connection: {view_tap(rows=5, report='true')}}}\n"
        f"- {{name: out, kind: sink, from: src, connection: {conn('Collect')}}}\n",
    )
    proc = cli("run", "pipeline.yaml")
    assert proc.returncode == 0, proc.stderr
    assert line_of(proc.stderr, "src").startswith("✓ src (tap): 5 rows in ")
