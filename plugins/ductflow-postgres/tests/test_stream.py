"""A tap with ``materialize: false`` leaves a view over the live result, read once by the next stage."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from ductflow_core.errors import ConnectorError

from ductflow_postgres import PostgresConnection
from ductflow_postgres.client import Target, connect, make_target
from ductflow_postgres.names import parse_table_name
from ductflow_postgres.tap import BATCH_BYTES, _open_reader
from ductflow_postgres.types import DEFAULT_UNCONSTRAINED
from helpers import execute, scalar

OPEN_SESSIONS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'ductflow'"
)


def _stream(db, pg_dsn: str, name: str, **params) -> PostgresConnection:
    conn = PostgresConnection.create(name=name, c=db, params={"dsn": pg_dsn, **params}, materialize=False)
    assert isinstance(conn, PostgresConnection)
    return conn


async def _sessions_drop_to_zero(pg_dsn: str) -> int:
    for _ in range(100):
        open_now = scalar(pg_dsn, OPEN_SESSIONS)
        if open_now == 0:
            return 0
        await asyncio.sleep(0.05)
    return open_now


async def test_stream_is_a_typed_view_read_once(db, pg_dsn):
    """The stage becomes a view with mapped types, its rows arrive exactly, and the session closes after."""
    execute(
        pg_dsn,
        "CREATE TABLE streamed (id bigint, amount numeric(12,2), tags numeric(6,3)[])",
        "INSERT INTO streamed SELECT g, g / 100.0, ARRAY[g / 1000.0] FROM generate_series(1, 50000) g",
    )
    assert await _stream(db, pg_dsn, "s", table="streamed").tap(None) is None
    assert await db.relation_kind("s") == "view"
    assert [(f.name, f.type) for f in await db.columns("s")] == [
        ("id", "BIGINT"),
        ("amount", "DECIMAL(12,2)"),
        ("tags", "DECIMAL(6,3)[]"),
    ]
    rows = await (await db.sql("SELECT count(*), sum(amount), max(tags[1]) FROM s")).fetchall()
    assert rows == [(50000, Decimal("12500250.00"), Decimal("50.000"))]
    assert await _sessions_drop_to_zero(pg_dsn) == 0


async def test_unread_stream_closes_with_the_database(ductflow_db, db, pg_dsn):
    """A stream nobody reads keeps its session only until the DuckDB database closes."""
    await _stream(db, pg_dsn, "unread", query="SELECT g FROM generate_series(1, 10) g").tap(None)
    assert scalar(pg_dsn, OPEN_SESSIONS) == 1
    ductflow_db.close()
    assert await _sessions_drop_to_zero(pg_dsn) == 0


async def test_server_gone_while_the_reader_streams(db, pg_dsn):
    """When the server ends the session mid-stream, the reading statement fails with the server's reason."""
    query = "SELECT g AS gone_mid_stream, repeat('x', 200) AS pad FROM generate_series(1, 200000000) g"
    await _stream(db, pg_dsn, "doomed", query=query).tap(None)
    reader = asyncio.create_task(db.execute("CREATE TABLE landed AS SELECT * FROM doomed"))
    killed = 0
    for _ in range(400):
        killed = scalar(
            pg_dsn,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'ductflow' "
            "AND datname = current_database() AND query LIKE '%gone_mid_stream%' AND pid <> pg_backend_pid()",
        )
        if killed:
            break
        await asyncio.sleep(0.05)
    # Depending on timing, libpq reports the server's notice or only the closed socket.
    with pytest.raises(Exception, match=r"terminating connection|server closed the connection") as info:
        await reader
    assert killed == 1
    assert not isinstance(info.value, AssertionError)


async def test_stream_of_missing_table_fails_at_tap_time(db, pg_dsn):
    """Errors the server reports up front surface from the tap itself, not later in the reader."""
    with pytest.raises(ConnectorError, match='relation "missing_for_stream" does not exist'):
        await _stream(db, pg_dsn, "nothing", table="missing_for_stream").tap(None)
    assert await db.relation_kind("nothing") is None


@pytest.mark.parametrize("materialize", [True, False])
async def test_a_query_that_changes_data_is_refused(make, db, pg_dsn, materialize):
    """A tap query that writes (UPDATE … RETURNING) is refused, as a table or a stream, and changes nothing."""
    counters = f"counters_{materialize}".lower()
    execute(pg_dsn, f"CREATE TABLE {counters} (id int, hits int)", f"INSERT INTO {counters} VALUES (1, 0)")
    query = f"UPDATE {counters} SET hits = hits + 1 RETURNING id, hits"
    conn = make(name="claimed", query=query) if materialize else _stream(db, pg_dsn, "claimed", query=query)
    with pytest.raises(ConnectorError, match=r"one read-only statement .* starts with UPDATE"):
        await conn.tap(None)
    assert await _sessions_drop_to_zero(pg_dsn) == 0
    assert scalar(pg_dsn, f"SELECT hits FROM {counters}") == 0


def test_the_driver_decodes_batches_of_about_a_megabyte(pg_dsn):
    """A table tap's reader hands over batches near BATCH_BYTES, not the driver's 16 MB default."""
    execute(
        pg_dsn,
        "CREATE TABLE wide_rows (id bigint, body text)",
        "INSERT INTO wide_rows SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 40000) g",
    )
    con = connect(make_target(pg_dsn, None, 5432, None, None, None, 10))
    try:
        cur = con.cursor()
        reader, _select = _open_reader(cur, "", parse_table_name("wide_rows"), Target(pg_dsn), DEFAULT_UNCONSTRAINED)
        sizes = [batch.nbytes for batch in reader]
        cur.close()
    finally:
        con.close()
    # 40,000 rows of ~270 bytes: about 11 MB, one batch at the driver's default.
    assert len(sizes) >= 8
    assert max(sizes) <= 2 * BATCH_BYTES
