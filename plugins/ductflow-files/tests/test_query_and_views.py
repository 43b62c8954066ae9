"""The tap's ``query`` sees the file as ``source``; ``materialize`` picks a table or a lazy view."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import FORMATS, make, rows

from ductflow_files import base


@pytest.fixture
def orders_csv(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text("id,name,qty\n1,ann,3\n2,bob,0\n3,cy,-1\n4,dee,7\n")
    return path


async def object_kind(db, name: str) -> str:
    tables = await rows(db, f"SELECT count(*) FROM duckdb_tables() WHERE table_name = '{name}'")
    views = await rows(db, f"SELECT count(*) FROM duckdb_views() WHERE view_name = '{name}'")
    return "TABLE" if tables[0][0] else "VIEW" if views[0][0] else "NONE"


async def test_query_selects_from_source(db, orders_csv: Path) -> None:
    """``query`` filters and reshapes the file's rows, reading it as ``source``."""
    conn = make(FORMATS["csv"], db, name="orders", path=str(orders_csv))
    await conn.tap("SELECT id, upper(name) AS name FROM source WHERE qty > 0;  ")
    assert await rows(db, "SELECT * FROM orders ORDER BY id") == [(1, "ANN"), (4, "DEE")]


async def test_query_may_have_its_own_with_clause(db, orders_csv: Path) -> None:
    """A query that starts with ``WITH`` and orders its rows still works over ``source``."""
    query = "WITH big AS (SELECT * FROM source WHERE qty > 0) SELECT name, qty * 2 AS twice FROM big ORDER BY qty DESC"
    await make(FORMATS["csv"], db, name="orders", path=str(orders_csv)).tap(query)
    assert await rows(db, "SELECT * FROM orders") == [("dee", 14), ("ann", 6)]


async def test_query_errors_name_the_path(db, orders_csv: Path) -> None:
    """A query naming a column the file lacks fails with a ConnectorError that names the file."""
    from ductflow_core.errors import ConnectorError

    with pytest.raises(ConnectorError, match=r"cannot read '.*orders\.csv': Binder Error"):
        await make(FORMATS["csv"], db, name="orders", path=str(orders_csv)).tap("SELECT nope FROM source")


@pytest.mark.parametrize(("materialize", "kind"), [(None, "TABLE"), (True, "TABLE"), (False, "VIEW")])
async def test_materialize_picks_table_or_view(db, orders_csv: Path, materialize: bool | None, kind: str) -> None:
    """``materialize: false`` makes a VIEW, ``true`` a TABLE, and unset follows the package default."""
    await make(FORMATS["csv"], db, name="orders", path=str(orders_csv), materialize=materialize).tap()
    assert await object_kind(db, "orders") == kind
    assert kind == ("TABLE" if (base.DEFAULT_MATERIALIZE if materialize is None else materialize) else "VIEW")


async def test_default_follows_the_single_switch(db, orders_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Flipping ``DEFAULT_MATERIALIZE`` alone turns unset taps into views."""
    monkeypatch.setattr(base, "DEFAULT_MATERIALIZE", False)
    await make(FORMATS["csv"], db, name="orders", path=str(orders_csv)).tap()
    assert await object_kind(db, "orders") == "VIEW"


async def test_view_reads_the_file_when_used_and_table_does_not(db, orders_csv: Path, tmp_path: Path) -> None:
    """A view sees a file changed after the tap; a table keeps the rows it read, and a sink streams from either."""
    await make(FORMATS["csv"], db, name="lazy", path=str(orders_csv), materialize=False).tap("SELECT * FROM source")
    await make(FORMATS["csv"], db, name="eager", path=str(orders_csv), materialize=True).tap()
    orders_csv.write_text("id,name,qty\n9,zed,1\n")
    assert await rows(db, "SELECT id FROM lazy") == [(9,)]
    assert await rows(db, "SELECT count(*) FROM eager") == [(4,)]
    out = tmp_path / "out.parquet"
    await make(FORMATS["parquet"], db, path=str(out)).sink("lazy")
    await make(FORMATS["parquet"], db, name="back", path=str(out)).tap()
    assert await rows(db, "SELECT id, name FROM back") == [(9, "zed")]


async def test_switching_materialize_replaces_the_other_kind(db, orders_csv: Path) -> None:
    """A tap may turn an existing view of its name into a table and back, as happens across runs."""
    for materialize, kind in [(False, "VIEW"), (True, "TABLE"), (False, "VIEW")]:
        await make(FORMATS["csv"], db, name="orders", path=str(orders_csv), materialize=materialize).tap()
        assert await object_kind(db, "orders") == kind
        assert await rows(db, "SELECT count(*) FROM orders") == [(4,)]


TRICKY_CSVS = {
    "quoted delimiters": 'id,txt\n1,"a, b"\n2,"say ""hi"""\n3,\n',
    "semicolons, no header": "1;2024-02-29;x\n2;1999-12-31;y\n",
    "day-first dates": "d,n\n29/02/2024,1.5\n31/12/1999,-2\n",
    "timestamps and NULLs": "ts,flag,amount\n2024-02-29 13:45:01.5,true,12.345\n,false,\n1970-01-01 00:00:00,,0.001\n",
    "CRLF line ends": "a,b\r\n1,x\r\n2,y\r\n",
    "no final newline": "a;b\n1;2",
    "header only": "a,b",
    "empty file": "",
}


@pytest.mark.parametrize("text", TRICKY_CSVS.values(), ids=TRICKY_CSVS.keys())
async def test_view_reads_what_a_table_reads(db, tmp_path: Path, text: str) -> None:
    """A CSV tap made as a view gives the same column types and rows as the same tap made as a table."""
    path = tmp_path / "in.csv"
    path.write_bytes(text.encode())
    await make(FORMATS["csv"], db, name="as_table", path=str(path), materialize=True).tap()
    await make(FORMATS["csv"], db, name="as_view", path=str(path), materialize=False).tap()
    definition = await rows(db, "SELECT sql FROM duckdb_views() WHERE view_name = 'as_view'")
    assert "auto_detect = false" in definition[0][0]  # pinned, not left to a sniff on each bind
    assert await rows(db, "SELECT column_name, column_type FROM (DESCRIBE as_view)") == await rows(
        db, "SELECT column_name, column_type FROM (DESCRIBE as_table)"
    )
    assert await rows(db, "SELECT * FROM as_view") == await rows(db, "SELECT * FROM as_table")


async def test_view_keeps_the_types_it_was_tapped_with(db, tmp_path: Path) -> None:
    """A CSV view keeps the dialect and types sniffed at tap time, so stages stacked on it do not sniff again."""
    path = tmp_path / "in.csv"
    path.write_text("id,when\n1,2024-02-29\n")
    await make(FORMATS["csv"], db, name="v", path=str(path), materialize=False).tap()
    definition = await rows(db, "SELECT sql FROM duckdb_views() WHERE view_name = 'v'")
    assert "auto_detect = false" in definition[0][0]
    path.write_text("id,when\n1,2024-02-29\n2,2025-03-01\n")  # more rows, same shape: the view reads them
    assert await rows(db, 'SELECT id, "when"::VARCHAR FROM v ORDER BY id') == [(1, "2024-02-29"), (2, "2025-03-01")]


@pytest.mark.parametrize(("fmt", "text"), [("csv", "id,n\n1,2\n"), ("json", '{"id": 1, "n": 2}\n')])
async def test_view_with_user_columns_is_left_to_duckdb(db, tmp_path: Path, fmt: str, text: str) -> None:
    """A CSV or JSON tap that names its ``columns`` keeps them as given instead of the detected types."""
    path = tmp_path / f"in.{fmt}"
    path.write_text(text)
    columns = {"id": "VARCHAR", "n": "INT"}
    await make(FORMATS[fmt], db, name="v", path=str(path), materialize=False, columns=columns).tap()
    assert await rows(db, "SELECT column_name, column_type FROM (DESCRIBE v)") == [("id", "VARCHAR"), ("n", "INTEGER")]


TRICKY_JSONS = {
    "two-digit years": '{"d": "24-01-02"}\n{"d": "23-12-31"}\n',
    "month-first dates": '{"d": "01-02-2024", "n": 1}\n{"d": "12-31-2023", "n": null}\n',
    "ISO timestamps": '{"ts": "2024-02-29T13:45:01", "flag": true}\n{"ts": null, "flag": false}\n',
    "a timestamp DuckDB leaves a string": '{"ts": "2024-02-29T13:45:01.5"}\n',
    "times in a struct": '{"s": {"at": "13:45:01", "n": 1}}\n',
    "an array of objects": '[{"id": 1, "tags": ["a", "b"]}, {"id": 2, "tags": []}]',
    "nested, lists and an all-null key": (
        '{"a": {"x": 1, "y": "s"}, "l": [1, 2], "z": null}\n{"a": null, "l": [], "z": null}\n'
    ),
    "mixed types": '{"m": 1}\n{"m": "two"}\n{"m": [3]}\n',
    "bare values": "1\n2\n3\n",
    "names to quote": '{"My Key": 1, "select": "x", "uuid": "6f1c2a52-8a9d-4e07-9c1e-3b0c5d3e7a11"}\n',
    "empty file": "",
}
#: Files whose detected types carry a format DuckDB found and cannot report: their views are left unpinned.
DATED = {"two-digit years", "month-first dates", "ISO timestamps", "times in a struct"}


@pytest.mark.parametrize("case", TRICKY_JSONS)
async def test_json_view_reads_what_a_table_reads(db, tmp_path: Path, case: str) -> None:
    """A JSON tap made as a view gives the same types and rows as a table; it is pinned unless dates are involved.

    Pinning a detected ``DATE`` would read ``24-01-02`` as the year 24 where detection read 2024, since DuckDB has
    no ``sniff_json`` to report the format it found; such views sample the file on each bind instead.
    """
    path = tmp_path / "in.json"
    path.write_text(TRICKY_JSONS[case])
    await make(FORMATS["json"], db, name="as_table", path=str(path), materialize=True).tap()
    await make(FORMATS["json"], db, name="as_view", path=str(path), materialize=False).tap()
    definition = await rows(db, "SELECT sql FROM duckdb_views() WHERE view_name = 'as_view'")
    assert ("columns" in definition[0][0]) == (case not in DATED)
    assert await rows(db, "SELECT column_name, column_type FROM (DESCRIBE as_view)") == await rows(
        db, "SELECT column_name, column_type FROM (DESCRIBE as_table)"
    )
    assert await rows(db, "SELECT * FROM as_view") == await rows(db, "SELECT * FROM as_table")
    if case == "two-digit years":
        assert await rows(db, "SELECT year(d) FROM as_view ORDER BY d") == [(2023,), (2024,)]


async def test_pinned_json_view_reads_rows_added_after_the_tap(db, tmp_path: Path) -> None:
    """A pinned JSON view keeps its types but still reads the file as it is when used."""
    path = tmp_path / "in.json"
    path.write_text('{"id": 1, "name": "a"}\n')
    await make(FORMATS["json"], db, name="v", path=str(path), materialize=False).tap()
    path.write_text('{"id": 1, "name": "a"}\n{"id": 2, "name": "b", "extra": true}\n')
    assert await rows(db, "SELECT * FROM v ORDER BY id") == [(1, "a"), (2, "b")]
