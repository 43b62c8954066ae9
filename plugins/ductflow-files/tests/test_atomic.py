"""Sinks replace their target whole or not at all, and leave no temporary files behind."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from ductflow_core.errors import ConnectorError
from helpers import FORMATS, make, rows, siblings

# Fails after DuckDB has already written part of the output.
FAILING_VIEW = (
    "CREATE VIEW failing AS SELECT CASE WHEN i > 50000 THEN error('boom') ELSE i END AS i, i % 3 AS part "
    "FROM range(100000) t(i)"
)


def digest(path: Path) -> dict[str, str]:
    """Content hash of every file under ``path`` (or of ``path`` itself), by relative name."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p.relative_to(path.parent)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_failed_sink_leaves_existing_file_identical_and_no_temp(db, tmp_path: Path, fmt: str) -> None:
    """A COPY that fails half-way keeps the previous file byte for byte and cleans up its temporary file."""
    await db.execute("CREATE TABLE good AS SELECT i, i % 3 AS part FROM range(10) t(i)")
    await db.execute(FAILING_VIEW)
    target = tmp_path / f"data.{fmt}"
    await make(FORMATS[fmt], db, path=str(target)).sink("good")
    before, names = digest(target), siblings(tmp_path)
    with pytest.raises(ConnectorError, match="boom"):
        await make(FORMATS[fmt], db, path=str(target)).sink("failing")
    assert digest(target) == before
    assert siblings(tmp_path) == names


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_failed_partitioned_sink_keeps_the_old_folder(db, tmp_path: Path, fmt: str) -> None:
    """A partitioned write that fails keeps every file of the previous folder and leaves no temporary folder."""
    await db.execute("CREATE TABLE good AS SELECT i, i % 3 AS part FROM range(10) t(i)")
    await db.execute(FAILING_VIEW)
    target = tmp_path / "parts"
    await make(FORMATS[fmt], db, path=str(target), partition_by=["part"]).sink("good")
    before, names = digest(target), siblings(tmp_path)
    with pytest.raises(ConnectorError, match="boom"):
        await make(FORMATS[fmt], db, path=str(target), partition_by=["part"]).sink("failing")
    assert digest(target) == before
    assert siblings(tmp_path) == names


async def test_failed_first_sink_creates_no_file(db, tmp_path: Path) -> None:
    """When there was no target before, a failed sink leaves none, and nothing else either."""
    await db.execute(FAILING_VIEW)
    with pytest.raises(ConnectorError, match="boom"):
        await make(FORMATS["csv"], db, path=str(tmp_path / "new.csv")).sink("failing")
    assert siblings(tmp_path) == []


async def test_successful_sink_replaces_file_and_leaves_only_it(db, tmp_path: Path) -> None:
    """A second run over an existing file replaces its content and leaves only the target in the folder."""
    target = tmp_path / "n.csv"
    await db.execute("CREATE TABLE small AS SELECT 1 AS n")
    await db.execute("CREATE TABLE big AS SELECT i AS n FROM range(5) t(i)")
    await make(FORMATS["csv"], db, path=str(target)).sink("small")
    await make(FORMATS["csv"], db, path=str(target)).sink("big")
    assert target.read_text().splitlines() == ["n", *(str(i) for i in range(5))]
    assert siblings(tmp_path) == ["n.csv"]


async def test_partitioned_sink_swaps_the_whole_folder(db, tmp_path: Path) -> None:
    """Re-writing a partitioned folder drops partitions that the new data no longer has."""
    target = tmp_path / "parts"
    await db.execute("CREATE TABLE wide AS SELECT i, i % 4 AS part FROM range(8) t(i)")
    await db.execute("CREATE TABLE narrow AS SELECT i, i % 2 AS part FROM range(8) t(i)")
    await make(FORMATS["parquet"], db, path=str(target), partition_by=["part"]).sink("wide")
    await make(FORMATS["parquet"], db, path=str(target), partition_by=["part"]).sink("narrow")
    assert siblings(target) == [".ductflow-sink", "part=0", "part=1"]
    assert siblings(tmp_path) == ["parts"]
    await make(FORMATS["parquet"], db, name="back", path=str(target)).tap()
    assert await rows(db, "SELECT i, part FROM back ORDER BY i") == await rows(db, "SELECT * FROM narrow ORDER BY i")


async def test_sink_never_switches_between_file_and_folder(db, tmp_path: Path) -> None:
    """A single-file sink onto a partitioned sink's folder, or a partitioned one onto a file, is refused; both stay."""
    folder, file = tmp_path / "parts", tmp_path / "one.csv"
    await db.execute("CREATE TABLE t AS SELECT i, i % 2 AS part FROM range(4) t(i)")
    await make(FORMATS["csv"], db, path=str(folder), partition_by=["part"]).sink("t")
    await make(FORMATS["csv"], db, path=str(file)).sink("t")
    before = digest(folder) | digest(file)
    with pytest.raises(ConnectorError, match=r"is a folder; a sink without partition_by writes one file"):
        await make(FORMATS["csv"], db, path=str(folder)).sink("t")
    with pytest.raises(ConnectorError, match=r"is a file; a partitioned sink writes a folder"):
        await make(FORMATS["csv"], db, path=str(file), partition_by=["part"]).sink("t")
    assert digest(folder) | digest(file) == before
    assert siblings(tmp_path) == ["one.csv", "parts"]


async def test_missing_parent_folders_are_created(db, tmp_path: Path) -> None:
    """A target several folders deep that do not exist yet is written, folders and all."""
    await db.execute("CREATE TABLE t AS SELECT 42 AS answer")
    target = tmp_path / "a" / "b" / "c" / "t.parquet"
    await make(FORMATS["parquet"], db, path=str(target)).sink("t")
    await make(FORMATS["parquet"], db, name="back", path=str(target)).tap()
    assert await rows(db, "SELECT answer FROM back") == [(42,)]


async def test_overwrite_false_refuses_an_existing_target(db, tmp_path: Path) -> None:
    """With ``overwrite: false`` an existing target is an error and stays as it was."""
    target = tmp_path / "keep.csv"
    target.write_text("n\n1\n")
    await db.execute("CREATE TABLE t AS SELECT 2 AS n")
    with pytest.raises(ConnectorError, match=r"'.*keep\.csv' exists and overwrite is false"):
        await make(FORMATS["csv"], db, path=str(target), overwrite=False).sink("t")
    assert target.read_text() == "n\n1\n"
    await make(FORMATS["csv"], db, path=str(tmp_path / "fresh.csv"), overwrite=False).sink("t")
    assert (tmp_path / "fresh.csv").read_text() == "n\n2\n"


async def test_cancelled_sink_leaves_no_temp_and_the_old_file(db, tmp_path: Path) -> None:
    """Cancelling a sink part-way (a timeout, Ctrl-C) keeps the old target and removes the half-written file."""
    target = tmp_path / "big.csv"
    target.write_text("i\n1\n")
    await db.execute("CREATE VIEW endless AS SELECT i, repeat('x', 50) AS pad FROM range(1000000000) t(i)")
    task = asyncio.create_task(make(FORMATS["csv"], db, path=str(target)).sink("endless"))
    while not any(name.endswith(".tmp") for name in siblings(tmp_path / ".ductflow-tmp", missing_ok=True)):
        assert not task.done(), "the sink ended before it started writing"
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert target.read_text() == "i\n1\n"
    assert siblings(tmp_path) == ["big.csv"]


def test_a_folder_moved_aside_by_a_killed_swap_is_put_back_not_deleted(tmp_path: Path) -> None:
    """A writer that dies between a partitioned swap's two renames loses nothing: the next clean-up restores it."""
    import subprocess
    import sys

    from ductflow_files import atomic

    target = tmp_path / "parts"
    (target / atomic.MARKER).mkdir(parents=True)
    (target / "k=1").mkdir()
    (target / "k=1" / "data_0.csv").write_text("a\n1\n")
    # The child dies (os._exit, as a kill -9 would) at put_folder's second rename: the old folder is aside.
    child = f"""
import os, pathlib
from ductflow_files import atomic
folder = pathlib.Path({str(tmp_path)!r})
staged = atomic.Staging(folder)
staged.temp.mkdir()
renames = []
real_rename = os.rename
def rename(a, b):
    renames.append(a)
    if len(renames) == 2:
        os._exit(9)
    real_rename(a, b)
atomic.os.rename = rename
atomic.put_folder(staged.temp, folder / "parts", staged.aside)
"""
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert done.returncode == 9, done.stderr
    assert not target.exists()
    atomic.clean_stale(tmp_path)
    assert (target / "k=1" / "data_0.csv").read_text() == "a\n1\n"
    assert not (tmp_path / atomic.TEMP_FOLDER).exists()
