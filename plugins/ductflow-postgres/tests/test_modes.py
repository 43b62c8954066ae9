"""Sink modes, qualified and hostile names, statements and catalogue schemas against a real server."""

from __future__ import annotations

import contextlib

import pytest
from ductflow_core.errors import ConnectorError
from ductflow_core.models import Field

from ductflow_postgres import PostgresConnection
from helpers import execute, fetch


async def _source(db, rows: list[tuple[int, str]], name: str = "src") -> None:
    values = ", ".join(f"({i}, '{s}')" for i, s in rows)
    await db.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM (VALUES {values}) v(id, label)")


async def test_append_adds_rows_each_time(make, db, pg_dsn):
    """Appending twice leaves both copies of the rows, and creates the table on first use."""
    await _source(db, [(1, "a"), (2, "b")])
    sink = make(table="app", mode="append")
    await sink.sink("src")
    await sink.sink("src")
    assert fetch(pg_dsn, "SELECT id, count(*) FROM app GROUP BY id ORDER BY id") == [(1, 2), (2, 2)]


@pytest.mark.parametrize("strategy", [None, "truncate", "staging"])
async def test_replace_swaps_contents_and_keeps_definition(make, db, pg_dsn, strategy):
    """Replacing a table with the same columns changes its rows but keeps its index, grant and dependent view."""
    table = f"rep_{strategy or 'default'}"
    execute(
        pg_dsn,
        f"CREATE TABLE {table} (id bigint PRIMARY KEY, label text)",
        f"INSERT INTO {table} VALUES (9, 'old')",
        f"CREATE VIEW {table}_view AS SELECT label FROM {table}",
        f"GRANT SELECT ON {table} TO PUBLIC",
    )
    await _source(db, [(1, "a"), (2, "b")])
    params = {"replace_strategy": strategy} if strategy else {}
    assert await make(table=table, mode="replace", **params).sink("src") == 2
    assert fetch(pg_dsn, f"SELECT id, label FROM {table} ORDER BY id") == [(1, "a"), (2, "b")]
    assert fetch(pg_dsn, f"SELECT count(*) FROM {table}_view") == [(2,)]
    assert fetch(pg_dsn, f"SELECT count(*) FROM pg_indexes WHERE tablename = '{table}'") == [(1,)]
    assert fetch(pg_dsn, f"SELECT has_table_privilege('public', '{table}', 'SELECT')") == [(True,)]


@pytest.mark.parametrize("strategy", ["truncate", "staging"])
async def test_replace_casts_to_existing_types(make, db, pg_dsn, strategy):
    """Both strategies cast into the target's own types, including one the driver writes only through staging."""
    table = f"rep_cast_{strategy}"
    execute(
        pg_dsn,
        f"CREATE TABLE {table} (id smallint, label uuid, n numeric)",
        f"INSERT INTO {table} VALUES (7, NULL, 1)",
    )
    # A double into unconstrained numeric is one the driver cannot write: it travels as text through staging.
    await db.execute(
        "CREATE OR REPLACE TABLE uu AS "
        "SELECT 1 AS id, '0b1e4c4a-5f55-4e4b-9d2c-3b8f6a1c2d3e' AS label, 2.5::DOUBLE AS n"
    )
    await make(table=table, mode="replace", replace_strategy=strategy).sink("uu")
    assert fetch(pg_dsn, f"SELECT id, label::text, n::text FROM {table}") == [
        (1, "0b1e4c4a-5f55-4e4b-9d2c-3b8f6a1c2d3e", "2.5")
    ]


async def test_replace_with_new_columns_recreates(make, db, pg_dsn):
    """Replacing a table whose columns differ from the source gives it the source's columns."""
    execute(pg_dsn, "CREATE TABLE reshape (x int)", "INSERT INTO reshape VALUES (1)")
    await _source(db, [(5, "e")])
    await make(table="reshape", mode="replace").sink("src")
    assert fetch(pg_dsn, "SELECT * FROM reshape") == [(5, "e")]


async def test_create_refuses_existing_table(make, db, pg_dsn):
    """Mode create writes a new table and fails, leaving the rows alone, when the table exists."""
    await _source(db, [(1, "a")])
    await make(table="fresh", mode="create").sink("src")
    with pytest.raises(ConnectorError, match="already exists"):
        await make(table="fresh", mode="create").sink("src")
    assert fetch(pg_dsn, "SELECT count(*) FROM fresh") == [(1,)]


async def test_merge_updates_and_inserts(make, db, pg_dsn):
    """Merge on a primary key updates matching rows, inserts new ones and keeps the rest."""
    execute(
        pg_dsn,
        "CREATE TABLE mrg (id bigint PRIMARY KEY, label text)",
        "INSERT INTO mrg VALUES (1, 'old1'), (2, 'old2')",
    )
    await _source(db, [(2, "new2"), (3, "new3")])
    await make(table="mrg", mode="merge", primary_key=["id"]).sink("src")
    assert fetch(pg_dsn, "SELECT id, label FROM mrg ORDER BY id") == [(1, "old1"), (2, "new2"), (3, "new3")]


async def test_merge_creates_table_with_primary_key(make, db, pg_dsn):
    """Merging into a missing table creates it with the primary key, so a second merge upserts."""
    await _source(db, [(1, "a")])
    await make(table="mrg_new", mode="merge", primary_key=["id"]).sink("src")
    await _source(db, [(1, "b")])
    await make(table="mrg_new", mode="merge", primary_key=["id"]).sink("src")
    assert fetch(pg_dsn, "SELECT id, label FROM mrg_new") == [(1, "b")]


async def test_merge_without_unique_key_says_so(make, db, pg_dsn):
    """Merging into a table with no unique index on the key fails with a hint, rows untouched."""
    execute(pg_dsn, "CREATE TABLE loose (id bigint, label text)", "INSERT INTO loose VALUES (1, 'x')")
    await _source(db, [(1, "a")])
    with pytest.raises(ConnectorError, match=r"needs a primary key or unique index on \(id\)"):
        await make(table="loose", mode="merge", primary_key=["id"]).sink("src")
    assert fetch(pg_dsn, "SELECT * FROM loose") == [(1, "x")]


async def test_merge_reports_the_servers_own_reason(make, db, pg_dsn):
    """A merge whose source repeats a key fails with the server's reason, not a claim that the index is missing."""
    execute(pg_dsn, "CREATE TABLE dup (id bigint PRIMARY KEY, label text)", "INSERT INTO dup VALUES (1, 'x')")
    await _source(db, [(1, "a"), (1, "b")])
    with pytest.raises(ConnectorError) as info:
        await make(table="dup", mode="merge", primary_key=["id"]).sink("src")
    assert "cannot affect row a second time" in str(info.value)
    assert "needs a primary key" not in str(info.value)
    assert fetch(pg_dsn, "SELECT * FROM dup") == [(1, "x")]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"mode": "replace", "replace_strategy": "swap"}, "replace_strategy must be truncate or staging"),
        ({"mode": "append", "replace_strategy": "staging"}, "only with mode: replace"),
    ],
)
def test_replace_strategy_is_checked(make, params, message):
    """An unknown strategy, or one given without mode replace, is refused when the connection is built."""
    with pytest.raises(ConnectorError, match=message):
        make(table="t", **params)


def test_merge_needs_primary_key(make):
    """Mode merge without primary_key is refused when the connection is built."""
    with pytest.raises(ConnectorError, match="primary_key"):
        make(table="t", mode="merge")


@pytest.mark.parametrize(
    ("spec", "schema", "table"),
    [
        ('"Odd Schema"."we""ird; name"', "Odd Schema", 'we"ird; name'),
        ("analytics.Orders", "analytics", "orders"),
        ('"Mixed"', None, "Mixed"),
        ("ÄBC", None, "Äbc"),  # PostgreSQL folds only A-Z
    ],
)
async def test_qualified_and_quoted_names(make, db, pg_dsn, spec, schema, table):
    """Schema-qualified and quoted names reach exactly the table PostgreSQL would understand by them."""
    execute(pg_dsn, 'CREATE SCHEMA IF NOT EXISTS "Odd Schema"', "CREATE SCHEMA IF NOT EXISTS analytics")
    await _source(db, [(1, "a")])
    await make(table=spec, mode="replace").sink("src")
    where = f"table_schema = '{schema or 'public'}' AND table_name = '{table.replace(chr(39), chr(39) * 2)}'"
    assert fetch(pg_dsn, f"SELECT count(*) FROM information_schema.tables WHERE {where}") == [(1,)]
    await make(name="back", table=spec).tap(None)
    assert await (await db.sql("SELECT * FROM back")).fetchall() == [(1, "a")]


@pytest.mark.parametrize(
    "spec",
    [
        "victim; DROP TABLE victim",
        'victim"; DROP TABLE victim; --',
        "victim'); DROP TABLE victim; --",
        "public.victim where 1=1; drop table victim",
    ],
)
async def test_injection_attempts_fail_safe(make, db, pg_dsn, spec):
    """Table names carrying SQL either are refused or name a harmless table; the victim table survives."""
    execute(pg_dsn, "CREATE TABLE IF NOT EXISTS victim (id int)", "TRUNCATE victim", "INSERT INTO victim VALUES (1)")
    await _source(db, [(1, "a")])
    # A parsable name is just a (missing) table to read; the sink then writes a table literally named so.
    with pytest.raises(ConnectorError, match=r"does not exist|table name"):
        await make(name="inj", table=spec).tap(None)
    with contextlib.suppress(ConnectorError):
        await make(table=spec, mode="replace").sink("src")
    assert fetch(pg_dsn, "SELECT count(*) FROM victim") == [(1,)]
    # Whatever was written went to a table literally named by the string, never into victim.
    assert fetch(pg_dsn, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'victim'") == [(1,)]


async def test_identifier_with_nul_is_refused(make):
    """A NUL inside a table name is refused before anything reaches the server."""
    with pytest.raises(ConnectorError, match="NUL"):
        make(table="bad\x00name")


async def test_sql_runs_statements_on_the_server(make, pg_dsn):
    """``sql()`` runs several statements and commits them."""
    await make().sql("CREATE TABLE via_sql (a int); INSERT INTO via_sql VALUES (1), (2)")
    assert fetch(pg_dsn, "SELECT sum(a) FROM via_sql") == [(3,)]


async def test_sql_error_rolls_back(make, pg_dsn):
    """A failing statement raises ConnectorError with the server's reason and leaves nothing behind."""
    with pytest.raises(ConnectorError, match="division by zero"):
        await make().sql("CREATE TABLE half (a int); SELECT 1/0")
    assert fetch(pg_dsn, "SELECT to_regclass('half') IS NULL") == [(True,)]


async def test_show_schema_reads_the_catalogue(make, pg_dsn):
    """show_schema lists the table's columns with PostgreSQL types and nullability."""
    execute(pg_dsn, "CREATE TABLE described (id bigint NOT NULL, amount numeric(12,2), tags text[])")
    assert await make(table="described").show_schema() == [
        Field("id", "bigint", nullable=False),
        Field("amount", "numeric(12,2)", nullable=True),
        Field("tags", "text[]", nullable=True),
    ]


async def test_tap_query_param_and_stage_query(make, db, pg_dsn):
    """A tap reads the ``query`` param, and the stage's own query wins over it."""
    await make(name="q1", query="SELECT 41 + 1 AS answer").tap(None)
    assert await (await db.sql("SELECT answer FROM q1")).fetchall() == [(42,)]
    await make(name="q2", query="SELECT 1 AS answer").tap("SELECT 2 AS answer")
    assert await (await db.sql("SELECT answer FROM q2")).fetchall() == [(2,)]


@pytest.mark.parametrize("materialize", [True, False], ids=["table", "stream"])
async def test_statements_copy_cannot_run_are_read_all_the_same(db, pg_dsn, materialize):
    """SHOW and EXPLAIN, which COPY refuses, are read through the plain protocol, as table or stream."""

    def tap(name: str, query: str) -> PostgresConnection:
        conn = PostgresConnection.create(
            name=name, c=db, params={"dsn": pg_dsn, "query": query}, materialize=materialize
        )
        assert isinstance(conn, PostgresConnection)
        return conn

    await tap("setting", "SHOW DateStyle").tap(None)
    assert await (await db.sql("SELECT * FROM setting")).fetchall() == [("ISO, MDY",)]
    await tap("plan", "/* why */ EXPLAIN SELECT 1").tap(None)
    [(line,)] = await (await db.sql('SELECT "QUERY PLAN" FROM plan')).fetchall()
    assert line.startswith("Result")


async def test_host_params_connect(make, db, server_dsn, pg_dsn):
    """host/port/user/dbname params reach the same server as the DSN."""
    from urllib.parse import urlsplit

    parts = urlsplit(pg_dsn)
    conn = make(
        name="hp",
        dsn=None,
        host=parts.hostname,
        port=parts.port,
        user=parts.username,
        dbname=parts.path[1:],
        query="SELECT current_database() AS db",
    )
    await conn.tap(None)
    assert await (await db.sql("SELECT db FROM hp")).fetchall() == [(parts.path[1:],)]


@pytest.mark.parametrize("mode", ["create", "replace", "merge"])
async def test_odd_column_names_survive(make, db, pg_dsn, mode):
    """Column names with quotes, spaces, capitals and keywords arrive unchanged, on the direct and staged paths."""
    await db.execute(
        'CREATE OR REPLACE TABLE odd AS SELECT 1 AS "Order ID", \'x\' AS "we""ird; col", uuid() AS "select", '
        '[uuid()] AS "List Of Ids"'
    )
    table = f"odd_cols_{mode}"
    params = {"primary_key": ["Order ID"]} if mode == "merge" else {}
    await make(table=table, mode=mode, **params).sink("odd")
    if mode != "create":  # a second run takes the staging path into the existing table
        await make(table=table, mode=mode, **params).sink("odd")
    names = [f.name for f in await make(table=table).show_schema()]
    assert names == ["Order ID", 'we"ird; col', "select", "List Of Ids"]
    assert fetch(pg_dsn, f'SELECT "Order ID", "we""ird; col" FROM {table}') == [(1, "x")]


async def test_empty_table_round_trip(make, db, pg_dsn):
    """A query with no rows makes an empty DuckDB table with the right columns, and an empty sink creates the table."""
    await make(name="nothing", query="SELECT 1::bigint AS id, 'a'::text AS label WHERE false").tap(None)
    assert [(f.name, f.type) for f in await db.columns("nothing")] == [("id", "BIGINT"), ("label", "VARCHAR")]
    await make(table="still_nothing", mode="create").sink("nothing")
    assert fetch(pg_dsn, "SELECT count(*) FROM still_nothing") == [(0,)]


FROZEN = "SELECT bool_and(all_frozen), count(*) > 0 FROM pg_visibility_map('{table}')"


@pytest.mark.parametrize(
    ("mode", "existing", "frozen"),
    [
        ("create", False, True),
        ("replace", True, True),  # truncated in the load's transaction
        ("append", False, True),  # a new table, created in the load's transaction
        ("append", True, False),  # older rows' transactions may still need them unfrozen
    ],
)
async def test_rows_are_written_frozen_into_a_table_the_load_created_or_emptied(
    make, db, pg_dsn, mode, existing, frozen
):
    """The fast writer COPYs with FREEZE exactly when the table is new or truncated in the same transaction."""
    table = f"frz_{mode}_{'old' if existing else 'new'}"
    execute(pg_dsn, "CREATE EXTENSION IF NOT EXISTS pg_visibility", f"DROP TABLE IF EXISTS {table}")
    if existing:
        execute(pg_dsn, f"CREATE TABLE {table} (id bigint, label text)")
    await db.execute("CREATE OR REPLACE TABLE many AS SELECT range AS id, 'x' || range AS label FROM range(20000)")
    assert await make(table=table, mode=mode).sink("many") == 20000
    assert fetch(pg_dsn, FROZEN.format(table=table)) == [(frozen, True)]


async def test_replace_into_a_partitioned_table_is_not_frozen_and_works(make, db, pg_dsn):
    """PostgreSQL refuses COPY FREEZE into a partitioned table, so its replace COPYs plainly."""
    execute(
        pg_dsn,
        "DROP TABLE IF EXISTS parted",
        "CREATE TABLE parted (id bigint, label text) PARTITION BY RANGE (id)",
        "CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (MINVALUE) TO (10)",
        "CREATE TABLE parted_high PARTITION OF parted FOR VALUES FROM (10) TO (MAXVALUE)",
        "INSERT INTO parted VALUES (1, 'old'), (50, 'old')",
    )
    await _source(db, [(2, "a"), (20, "b")])
    assert await make(table="parted", mode="replace").sink("src") == 2
    assert fetch(pg_dsn, "SELECT tableoid::regclass::text, id, label FROM parted ORDER BY id") == [
        ("parted_low", 2, "a"),
        ("parted_high", 20, "b"),
    ]
