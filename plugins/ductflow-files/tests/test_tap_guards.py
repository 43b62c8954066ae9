"""A tap's ``query:`` is one SELECT however it ends, and taps and sinks stay inside the run's sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from ductflow_core.errors import ConnectorError
from ductflow_core.sql import Database
from helpers import make, rows, siblings

from ductflow_files import CsvConnection, ParquetConnection


@pytest.fixture
def numbers(tmp_path: Path) -> Path:
    path = tmp_path / "n.csv"
    path.write_text("n\n1\n2\n3\n")
    return path


@pytest.mark.parametrize(
    "query",
    [
        "SELECT n FROM source WHERE n > 1 -- the big ones",
        "SELECT n FROM source WHERE n > 1;",
        "SELECT n FROM source WHERE n > 1 ; ;\n-- done\n",
        "/* big */ SELECT n FROM source WHERE n > 1 /* end */",
    ],
)
@pytest.mark.parametrize("materialize", [True, False])
async def test_query_ending_in_a_comment_or_semicolons_works(db, numbers: Path, query: str, materialize: bool) -> None:
    """Trailing comments and semicolons do not break the tap's wrapped query, as a table or as a view."""
    await make(CsvConnection, db, name="big", path=str(numbers), materialize=materialize).tap(query)
    assert await rows(db, "SELECT n FROM big ORDER BY n") == [(2,), (3,)]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT 1; COPY (SELECT 42) TO '/tmp/ductflow-should-not-exist.csv'",
        "SET threads = 1",
        "SELECT n FROM source) UNION ALL (SELECT 99",
    ],
)
async def test_query_that_is_not_one_select_is_refused(db, numbers: Path, query: str) -> None:
    """A second statement, a statement that is not a SELECT, or one that escapes its parentheses is refused."""
    with pytest.raises(ConnectorError, match=r"query of tap 'big' (must be one SELECT|does not parse)"):
        await make(CsvConnection, db, name="big", path=str(numbers)).tap(query)
    assert not Path("/tmp/ductflow-should-not-exist.csv").exists()
    assert await db.table_exists("big") is False


@pytest.fixture
def sandboxed(tmp_path: Path):
    """A database whose sandbox allows only ``tmp_path/inside``, and a facade on it."""
    (tmp_path / "inside").mkdir()
    (tmp_path / "outside").mkdir()
    database = Database(allowed_directories=[str(tmp_path / "inside")])
    yield database.facade()
    database.close()


async def test_tap_outside_the_sandbox_is_refused(sandboxed, tmp_path: Path) -> None:
    """A tap of a file outside the allowed folders fails naming the path, before DuckDB reads it."""
    (tmp_path / "outside" / "secret.csv").write_text("s\n1\n")
    with pytest.raises(ConnectorError, match="outside the sandbox"):
        await make(CsvConnection, sandboxed, path=str(tmp_path / "outside" / "secret.csv")).tap()


async def test_glob_matching_a_symlink_that_leads_out_is_refused(sandboxed, tmp_path: Path) -> None:
    """A glob inside the sandbox that matches a symlink to a file outside it is refused."""
    (tmp_path / "outside" / "secret.csv").write_text("s\n1\n")
    (tmp_path / "inside" / "ok.csv").write_text("s\n2\n")
    (tmp_path / "inside" / "link.csv").symlink_to(tmp_path / "outside" / "secret.csv")
    with pytest.raises(ConnectorError, match=r"link\.csv.*outside the sandbox"):
        await make(CsvConnection, sandboxed, path=str(tmp_path / "inside" / "*.csv")).tap()


async def test_sink_outside_the_sandbox_is_refused_and_writes_nothing(sandboxed, tmp_path: Path) -> None:
    """A sink whose target is outside the allowed folders fails and leaves no file or temporary folder there."""
    await sandboxed.execute("CREATE TABLE t AS SELECT 1 AS a")
    with pytest.raises(ConnectorError, match="outside the sandbox"):
        await make(ParquetConnection, sandboxed, path=str(tmp_path / "outside" / "t.parquet")).sink("t")
    assert siblings(tmp_path / "outside") == []
    await make(ParquetConnection, sandboxed, path=str(tmp_path / "inside" / "t.parquet")).sink("t")
    assert siblings(tmp_path / "inside") == ["t.parquet"]


async def test_sink_allowed_as_a_file_but_not_its_folder_says_what_to_allow(tmp_path: Path) -> None:
    """A sandbox listing only the target file explains that the sink needs its folder, and writes nothing."""
    (tmp_path / "out").mkdir()
    database = Database(allowed_paths=[str(tmp_path / "out" / "x.csv")])
    try:
        facade = database.facade()
        await facade.execute("CREATE TABLE t AS SELECT 1 AS a")
        with pytest.raises(ConnectorError, match=r"allows the file but not its folder.*allowed_directories"):
            await make(CsvConnection, facade, path=str(tmp_path / "out" / "x.csv")).sink("t")
    finally:
        database.close()
    assert siblings(tmp_path / "out") == []
