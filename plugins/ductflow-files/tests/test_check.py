"""`ductflow validate --connect` on file connections: the files a tap reads exist, a sink's folder can be made."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _validate(folder: Path, stages: str, *flags: str) -> subprocess.CompletedProcess[str]:
    (folder / "pipeline.yaml").write_text(stages, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "ductflow_core.cli", "validate", *flags, "pipeline.yaml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


_TRANSFORM = "- {name: t, kind: transform, sql: 'SELECT 1 AS a'}\n"


def _tap(path: str) -> str:
    return f"- {{name: t, kind: tap, connection: {{kind: csv, params: {{path: '{path}'}}}}}}\n"


def _sink(path: str) -> str:
    return _TRANSFORM + f"- {{name: s, kind: sink, connection: {{kind: csv, params: {{path: '{path}'}}}}}}\n"


def test_missing_tap_file_passes_validate_but_fails_connect(tmp_path: Path) -> None:
    """A tap of a file that is not there validates, and `--connect` fails with exit 1 naming stage and file."""
    assert _validate(tmp_path, _tap("data/orders.csv")).returncode == 0
    proc = _validate(tmp_path, _tap("data/orders.csv"), "--connect")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: pipeline.yaml:1: stage 't': check failed: file not found: 'data/orders.csv'")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_existing_tap_file_passes_connect(tmp_path: Path) -> None:
    """Once the file exists, `--connect` passes and reads nothing into any database."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text("a\n1\n", encoding="utf-8")
    proc = _validate(tmp_path, _tap("data/orders.csv"), "--connect")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "pipeline.yaml"]


def test_glob_and_folder_taps_need_a_matching_file(tmp_path: Path) -> None:
    """A glob must match a file and a folder must hold one; an empty folder or a glob of nothing fails."""
    (tmp_path / "in").mkdir()
    proc = _validate(tmp_path, _tap("in/*.csv"), "--connect")
    assert proc.returncode == 1
    assert "no file matches 'in/*.csv'" in proc.stderr
    proc = _validate(tmp_path, _tap("in"), "--connect")
    assert proc.returncode == 1
    assert "folder 'in' holds no csv files" in proc.stderr
    (tmp_path / "in" / "sub").mkdir()
    (tmp_path / "in" / "sub" / "x.csv").write_text("a\n1\n", encoding="utf-8")
    assert _validate(tmp_path, _tap("in/**/*.csv"), "--connect").returncode == 0
    assert _validate(tmp_path, _tap("in"), "--connect").returncode == 0


def test_sink_folder_that_can_be_made_passes_and_is_not_made(tmp_path: Path) -> None:
    """A sink into folders that do not exist yet passes `--connect`, and the check creates none of them."""
    proc = _validate(tmp_path, _sink("out/deep/result.csv"), "--connect")
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "out").exists()


def test_sink_under_a_file_fails_connect(tmp_path: Path) -> None:
    """A sink whose folder would have to be made inside a regular file fails `--connect` with exit 1."""
    (tmp_path / "blocker").write_text("x", encoding="utf-8")
    proc = _validate(tmp_path, _sink("blocker/result.csv"), "--connect")
    assert proc.returncode == 1
    assert "stage 's': check failed: cannot write 'blocker/result.csv'" in proc.stderr
    assert "is not a folder" in proc.stderr


def test_tap_query_ending_in_a_comment_or_semicolon_runs(tmp_path: Path) -> None:
    """A tap `query:` ending in `-- a comment` or `;` is wrapped on lines of its own, so DuckDB accepts it."""
    (tmp_path / "in.csv").write_text("a\n1\n2\n", encoding="utf-8")
    for query in ("SELECT a * 10 AS b FROM source -- keep them all", "SELECT a * 10 AS b FROM source;"):
        (tmp_path / "pipeline.yaml").write_text(
            f"- name: t\n  kind: tap\n  query: {query!r}\n  connection: {{kind: csv, params: {{path: in.csv}}}}\n"
            "- {name: s, kind: sink, connection: {kind: csv, params: {path: out.csv}}}\n",
            encoding="utf-8",
        )
        proc = subprocess.run(
            [sys.executable, "-m", "ductflow_core.cli", "run", "pipeline.yaml"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / "out.csv").read_text(encoding="utf-8").split() == ["b", "10", "20"]
