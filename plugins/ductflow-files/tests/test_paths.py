"""Paths reach DuckDB as quoted literals: odd names work, and none can inject SQL."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest
from helpers import FORMATS, make, rows, siblings

from ductflow_files.base import sink_target_problem
from ductflow_files.paths import names_folder

HOSTILE_NAMES = [
    "it's here.csv",
    "semi;colon.csv",
    "x.csv'); DROP TABLE keep; --",
    'double "quoted" name',
    "ünï cødé 🦆 файл",
    "back\\slash",
]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_hostile_file_names_round_trip_without_injection(db, tmp_path: Path, fmt: str, name: str) -> None:
    """A file named with quotes, semicolons, spaces or unicode is written and read under exactly that name."""
    await db.execute("CREATE TABLE keep AS SELECT i, 'v' || i AS s FROM range(3) t(i)")
    folder = tmp_path / "it's; a folder"
    await make(FORMATS[fmt], db, path=str(folder / name)).sink("keep")
    assert siblings(folder) == [name]
    await make(FORMATS[fmt], db, name="back", path=str(folder / name)).tap()
    assert await rows(db, "SELECT * FROM back ORDER BY i") == await rows(db, "SELECT * FROM keep ORDER BY i")


async def test_hostile_stage_and_table_names_are_quoted(db, tmp_path: Path) -> None:
    """Stage names and partition columns with quotes and semicolons become identifiers, not SQL."""
    await db.execute('CREATE TABLE "we""ird; table" AS SELECT 1 AS "co""l", 2 AS "part; x"')
    target = tmp_path / "w"
    await make(FORMATS["parquet"], db, path=str(target), partition_by=["part; x"]).sink('we"ird; table')
    # DuckDB percent-encodes column names in hive folder names, and reads them back encoded.
    encoded = quote("part; x")
    assert siblings(target) == [".ductflow-sink", f"{encoded}=2"]
    await make(FORMATS["parquet"], db, name='back"; DROP TABLE x; --', path=str(target)).tap()
    assert await rows(db, f'SELECT "co""l", "{encoded}" FROM "back""; DROP TABLE x; --"') == [(1, 2)]


async def test_relative_paths_resolve_against_base_dir(db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative path is taken from the pipeline's folder (``base_dir``), not from the working folder."""
    pipeline_dir, elsewhere = tmp_path / "pipeline", tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    await db.execute("CREATE TABLE t AS SELECT 7 AS n")
    await make(FORMATS["csv"], db, path="out/t.csv", base_dir=pipeline_dir).sink("t")
    assert (pipeline_dir / "out" / "t.csv").is_file()
    assert not (elsewhere / "out").exists()
    await make(FORMATS["csv"], db, name="back", path="out/*.csv", base_dir=pipeline_dir).tap()
    assert await rows(db, "SELECT n FROM back") == [(7,)]


async def test_lazy_view_keeps_reading_after_the_working_folder_changes(
    db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A view over a relative path still finds its file when queried from another working folder."""
    (tmp_path / "in.csv").write_text("n\n5\n")
    await make(FORMATS["csv"], db, name="lazy", path="in.csv", base_dir=tmp_path, materialize=False).tap()
    monkeypatch.chdir(tmp_path.parent)
    assert os.getcwd() != str(tmp_path)
    assert await rows(db, "SELECT n FROM lazy") == [(5,)]


@pytest.mark.parametrize(("path", "folder"), [("out/", True), ("out/.", True), ("..", True), ("out/x.csv", False)])
def test_a_path_ending_in_a_slash_or_dot_names_a_folder(path: str, folder: bool) -> None:
    """``out/``, ``out/.`` and ``..`` name folders, which a sink without partition_by refuses even before they exist."""
    assert names_folder(path) is folder
    problem = sink_target_problem({"path": path}, Path("/nonexistent-base"))
    assert (problem is not None) is folder
