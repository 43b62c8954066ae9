"""Expected failures are one-line ConnectorErrors that name the path."""

from __future__ import annotations

from pathlib import Path

import pytest
from ductflow_core.errors import ConnectorError
from helpers import FORMATS, make, rows

from ductflow_files import CsvConnection, JsonConnection, ParquetConnection


def one_line(exc: pytest.ExceptionInfo[ConnectorError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


async def test_missing_file(db, tmp_path: Path) -> None:
    """A plain path to nothing says the file was not found, with the path as written and where it looked."""
    with pytest.raises(ConnectorError) as exc:
        await make(CsvConnection, db, path="nope.csv", base_dir=tmp_path).tap()
    assert one_line(exc) == f"file not found: 'nope.csv' (looked for {tmp_path / 'nope.csv'})"


async def test_glob_matching_nothing(db, tmp_path: Path) -> None:
    """A glob that matches no file says so before DuckDB reads anything."""
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ConnectorError) as exc:
        await make(ParquetConnection, db, path=str(tmp_path / "*.parquet")).tap()
    assert one_line(exc) == f"no file matches {str(tmp_path / '*.parquet')!r}"


async def test_empty_folder(db, tmp_path: Path) -> None:
    """A folder without files of the format (hidden ones do not count) names the folder and the pattern."""
    (tmp_path / ".leftover.json.tmp-0000").write_text('{"a": 1}')
    with pytest.raises(ConnectorError) as exc:
        await make(JsonConnection, db, path=str(tmp_path)).tap()
    assert one_line(exc).startswith(f"folder {str(tmp_path)!r} holds no json files")


async def test_unreadable_csv_gives_duckdbs_first_line(db, tmp_path: Path) -> None:
    """A file DuckDB cannot parse gives DuckDB's own first line, after the path."""
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(ConnectorError) as exc:
        await make(CsvConnection, db, path=str(bad), delimiter=",", header=True, columns={"a": "INT", "b": "INT"}).tap()
    assert one_line(exc).startswith(f"cannot read {str(bad)!r}: ")
    assert "Error" in one_line(exc)


async def test_ignore_errors_skips_the_bad_rows(db, tmp_path: Path) -> None:
    """The same unparsable file taps with ``ignore_errors: true``, keeping only the rows that parse."""
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,4,5,6\n7,8\n")
    columns = {"a": "INT", "b": "INT"}
    await make(CsvConnection, db, name="t", path=str(bad), columns=columns, header=True, ignore_errors=True).tap()
    assert await rows(db, "SELECT a, b FROM t ORDER BY a") == [(1, 2), (7, 8)]


async def test_parquet_that_is_not_parquet(db, tmp_path: Path) -> None:
    """A file that is not Parquet fails with the path and DuckDB's reason."""
    bad = tmp_path / "fake.parquet"
    bad.write_text("hello")
    with pytest.raises(ConnectorError, match=r"^cannot read '.*fake\.parquet': "):
        await make(ParquetConnection, db, path=str(bad)).tap()


@pytest.mark.parametrize(
    ("cls", "param", "value"),
    [
        (ParquetConnection, "compression", "lzma"),
        (CsvConnection, "compression", "bz2"),
        (JsonConnection, "compression", "snappy"),
        (JsonConnection, "format", "yaml"),
    ],
)
def test_unknown_choice_names_the_path(db, cls, param: str, value: str) -> None:
    """An unknown compression or format is refused when the connection is built, naming value and path."""
    with pytest.raises(ConnectorError, match=rf"^unknown {param} '{value}' for 'out/x'; expected one of "):
        make(cls, db, path="out/x", **{param: value})


def test_path_is_required(db) -> None:
    """A connection without ``path`` is refused with a message that names the param."""
    with pytest.raises(ConnectorError, match="needs a 'path' param"):
        FORMATS["csv"].create(name="s", c=db, params={})


def test_empty_partition_list(db) -> None:
    """``partition_by: []`` is refused rather than silently writing a single file."""
    with pytest.raises(ConnectorError, match="partition_by for 'out' must name at least one column"):
        make(CsvConnection, db, path="out", partition_by=[])


@pytest.mark.parametrize(
    ("role", "params", "message"),
    [
        ("tap", {"partition_by": ["a"]}, "partition_by only applies when writing"),
        ("tap", {"overwrite": False, "compression": "zstd"}, "compression, overwrite only apply when writing"),
        ("sink", {"skip": 1}, "skip only applies when reading"),
        ("sink", {"hive_partitioning": True}, "hive_partitioning only applies when reading"),
    ],
)
async def test_params_for_the_other_direction_are_refused(db, tmp_path: Path, role, params, message) -> None:
    """A read-only param on a sink, or a write-only one on a tap, fails and names the params."""
    source = tmp_path / "in.parquet"
    await db.execute("CREATE TABLE t AS SELECT 1 AS a")
    await make(ParquetConnection, db, path=str(source)).sink("t")
    cls = ParquetConnection if "compression" in params else CsvConnection
    conn = make(cls, db, path=str(source), **params)
    with pytest.raises(ConnectorError, match=message):
        await (conn.tap() if role == "tap" else conn.sink("t"))


async def test_sink_to_a_glob_is_refused(db, tmp_path: Path) -> None:
    """A sink path with glob characters is an error, not a file literally named with a star."""
    await db.execute("CREATE TABLE t AS SELECT 1 AS a")
    with pytest.raises(ConnectorError, match="a sink path cannot be a pattern"):
        await make(CsvConnection, db, path=str(tmp_path / "*.csv")).sink("t")
    assert list(tmp_path.iterdir()) == []


async def test_sink_of_a_missing_table(db, tmp_path: Path) -> None:
    """Sinking a table that does not exist names the target and DuckDB's reason, and writes nothing."""
    with pytest.raises(ConnectorError, match=r"^cannot write '.*out\.csv': Catalog Error"):
        await make(CsvConnection, db, path=str(tmp_path / "out.csv")).sink("missing")
    assert list(tmp_path.iterdir()) == []


async def test_sink_that_cannot_create_its_folder(db, tmp_path: Path) -> None:
    """A parent path that is a file fails with an OS reason and the target path."""
    (tmp_path / "blocker").write_text("a file, not a folder")
    await db.execute("CREATE TABLE t AS SELECT 1 AS a")
    with pytest.raises(ConnectorError, match=r"^cannot write '.*blocker/out\.csv': "):
        await make(CsvConnection, db, path=str(tmp_path / "blocker" / "out.csv")).sink("t")
