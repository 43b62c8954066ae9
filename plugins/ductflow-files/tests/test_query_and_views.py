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
