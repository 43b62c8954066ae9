"""Which writer a sink uses: pgpq + psycopg for common column types, ADBC for the rest, each in every mode."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ductflow_core.errors import ConnectorError

from ductflow_postgres import fastcopy
from ductflow_postgres.connection import PostgresConnection
from helpers import execute, fetch, with_database

# DuckDB expression -> the PostgreSQL type of a table the sink creates for it; all of them are the fast writer's.
FAST = [
    ("(-32768)::SMALLINT", "smallint"),
    ("2147483647::INTEGER", "integer"),
    ("(-9223372036854775808)::BIGINT", "bigint"),
    ("1.5::FLOAT", "real"),
    ("'-inf'::DOUBLE", "double precision"),
    ("'héllo ✓'", "text"),
    ("true", "boolean"),
    ("DATE '0001-01-01'", "date"),
    ("TIME '23:59:59.999999'", "time without time zone"),
    ("TIMESTAMP '1900-01-01 00:00:00.000001'", "timestamp without time zone"),
    ("TIMESTAMPTZ '2024-02-29 12:34:56.789012+05:30'", "timestamp with time zone"),
    ("'\\x00\\xff'::BLOB", "bytea"),
    ("(-12345678901234567890123456789.123456789)::DECIMAL(38,9)", "numeric(38,9)"),
    ("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID", "uuid"),
    # Sent as the 16 bytes of PostgreSQL's binary interval, built in DuckDB.
    ("INTERVAL '1 year 3 days 04:05:06'", "interval"),
    ('\'{"a": [1, 2.5, null], "b": "é"}\'::JSON', "json"),
    ("[1, NULL, 3]", "integer[]"),
    ("[]::BIGINT[]", "bigint[]"),
    ("['a', NULL, 'é,\"{}']", "text[]"),
    ("[1.25::DECIMAL(10,2), NULL]", "numeric(10,2)[]"),
    ("[TIMESTAMP '2024-02-29 12:34:56.789012', NULL]", "timestamp without time zone[]"),
    ("[DATE '2024-02-29', NULL]", "date[]"),
    ("[false, NULL]", "boolean[]"),
    # Staged: sent as text[] into a staging table, then cast by the server.
    ("['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID, NULL]", "uuid[]"),
]
STAGED = {"uuid[]"}
SLOW = [
    # pgpq would label the elements timestamp, which the server refuses in a timestamptz[].
    ("[TIMESTAMPTZ '2024-02-29 12:34:56+00', NULL]", "timestamp with time zone[]"),
]
#: Sinks generated rows to a table in a fresh process (see the script).
SINK_CHILD = Path(__file__).resolve().parent / "sink_child.py"
#: A column that sends a table's rows by ADBC: pgpq would label a timestamptz[]'s elements timestamp.
ADBC_ONLY = ", [TIMESTAMPTZ '2024-01-01 00:00+00'] AS u"


@pytest.fixture
def copies(monkeypatch) -> list[str]:
    """The tables the fast writer copied into during the test, in order."""
    seen: list[str] = []
    real = fastcopy.copy_in

    def spy(cur, table, columns, reader, encoder, **options):
        # A staging table by its bare name, the target as it goes into SQL.
        seen.append(table.table if table.schema == "pg_temp" else table.sql)
        return real(cur, table, columns, reader, encoder, **options)

    monkeypatch.setattr(fastcopy, "copy_in", spy)
    return seen


@pytest.mark.parametrize(("expr", "pg_type"), FAST + SLOW, ids=[t for _, t in FAST + SLOW])
async def test_each_type_takes_its_writer_and_arrives_equal(make, db, pg_dsn, copies, expr, pg_type):
    """A column of a common type is written by the fast writer, any other by ADBC, and the value and NULL arrive."""
    table = f"w_{abs(hash(pg_type))}"
    await db.execute(f"CREATE TABLE src AS SELECT 1 AS id, {expr} AS v UNION ALL SELECT 2, NULL")
    await make(table=table, mode="replace").sink("src")
    if (expr, pg_type) not in FAST:
        assert copies == []
    elif pg_type in STAGED:
        assert len(copies) == 1
        assert copies[0].startswith("_ductflow_stage_")
    else:
        assert copies == [f'"{table}"']
    column_type = f"SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '{table}'::regclass"
    assert fetch(pg_dsn, f"{column_type} AND attname = 'v'") == [(pg_type,)]
    # DuckDB's rendering of what comes back by a tap equals its rendering of what went out.
    await make(name="back", table=table).tap(None)
    assert await _rows(db, "back") == await _rows(db, "src")


async def _rows(db, table: str) -> list[tuple[object, ...]]:
    relation = await db.sql(f"SELECT id, CAST(v AS VARCHAR) FROM {table} ORDER BY id")
    assert relation is not None
    return await relation.fetchall()


MODES = [
    ("append", {}),
    ("replace", {"replace_strategy": "truncate"}),
    ("replace", {"replace_strategy": "staging"}),
    ("merge", {"primary_key": ["id"]}),
    ("create", {}),
]


@pytest.mark.parametrize("slow", [False, True], ids=["fast", "adbc"])
@pytest.mark.parametrize(("mode", "extra"), MODES, ids=[f"{m}-{'-'.join(map(str, e.values()))}" for m, e in MODES])
async def test_every_mode_works_with_either_writer(make, db, pg_dsn, copies, slow, mode, extra):
    """Each mode gives the same table whichever writer sends the rows; a timestamptz[] column sends them by ADBC."""
    # Quotes and a percent sign: names are quoted by us, and psycopg must not read % as a placeholder.
    quoted = '"odd ""name"" 100%"'
    adbc_col = ", u timestamptz[]" if slow else ""
    execute(pg_dsn, f"DROP TABLE IF EXISTS {quoted}")
    if mode != "create":
        key = " PRIMARY KEY" if mode == "merge" else ""
        execute(pg_dsn, f"CREATE TABLE {quoted} (id int{key}, t text{adbc_col})")
        execute(pg_dsn, f"INSERT INTO {quoted} (id, t) VALUES (1, 'old'), (9, 'kept')")
    u = ADBC_ONLY if slow else ""
    await db.execute(f"CREATE TABLE src AS SELECT id, t{u} FROM (VALUES (1, 'new'), (2, 'two')) v(id, t)")
    assert await make(table=quoted, mode=mode, **extra).sink("src") == 2
    expected = {
        "append": [(1, "new"), (1, "old"), (2, "two"), (9, "kept")],
        "replace": [(1, "new"), (2, "two")],
        "merge": [(1, "new"), (2, "two"), (9, "kept")],
        "create": [(1, "new"), (2, "two")],
    }[mode]
    assert fetch(pg_dsn, f"SELECT id, t FROM {quoted} ORDER BY id, t") == expected
    staged = mode == "merge" or extra.get("replace_strategy") == "staging"
    assert bool(copies) is not slow
    assert all(table.startswith("_ductflow_stage_") for table in copies) if staged else copies in ([], [quoted])


async def test_arrays_whose_elements_pgpq_mislabels_go_by_adbc(make, db, pg_dsn, copies):
    """varchar[] and char[] columns go by ADBC, since pgpq would label their elements text, and arrive equal."""
    execute(pg_dsn, "CREATE TABLE labels (id int, v varchar(10)[], c char(2)[])")
    await db.execute("CREATE TABLE src AS SELECT 1 AS id, ['a', NULL, 'bé'] AS v, ['x', 'yz'] AS c")
    assert await make(table="labels", mode="append").sink("src") == 1
    assert copies == []
    assert fetch(pg_dsn, "SELECT v::text, c::text FROM labels") == [("{a,NULL,bé}", '{"x ",yz}')]


async def test_a_streamed_source_the_fast_writer_declines_is_written_whole_by_adbc(make, db, pg_dsn, monkeypatch):
    """The writer is chosen before the source is read, so a stream that can be read once still arrives whole."""
    execute(pg_dsn, "CREATE TABLE streamed_src AS SELECT g AS id FROM generate_series(1, 300000) g")
    tap = PostgresConnection.create(name="s", c=db, params={"dsn": pg_dsn, "table": "streamed_src"}, materialize=False)
    await tap.tap(None)
    # As if pgpq had no encoder for one of the stream's Arrow types.
    monkeypatch.setattr(fastcopy, "encoder_for", lambda schema, wanted: None)
    assert await make(table="streamed_dst", mode="replace").sink("s") == 300000
    assert fetch(pg_dsn, "SELECT count(*), sum(id) FROM streamed_dst") == [(300000, 45000150000)]


async def test_json_columns_take_the_fast_writer_and_keep_their_values(make, db, pg_dsn, copies):
    """Text into json and jsonb columns goes by the fast writer; json keeps its text as written, jsonb its value."""
    execute(pg_dsn, "CREATE TABLE docs (id int, j json, jb jsonb)")
    doc = '{"b": 1,  "a": [true, null, "é"]}'
    await db.execute(
        f"CREATE TABLE src AS SELECT 1 AS id, '{doc}' AS j, '{doc}'::JSON AS jb UNION ALL SELECT 2, NULL, NULL"
    )
    assert await make(table="docs", mode="append").sink("src") == 2
    assert copies == ['"docs"']
    rows = fetch(pg_dsn, "SELECT id, j::text, jb::text, jb -> 'a' ->> 2 FROM docs ORDER BY id")
    assert rows == [(1, doc, '{"a": [true, null, "é"], "b": 1}', "é"), (2, None, None, None)]


async def test_text_that_is_not_json_fails_the_fast_writer_naming_column_and_value(make, db, pg_dsn, copies):
    """A value that is not JSON, bound for jsonb, fails the sink naming the column and the value, and writes nothing."""
    execute(pg_dsn, "CREATE TABLE bad_docs (id int, jb jsonb)", """INSERT INTO bad_docs VALUES (0, '{"old": true}')""")
    await db.execute("CREATE TABLE src AS SELECT 1 AS id, '{not json' AS jb")
    with pytest.raises(
        ConnectorError, match=r"writing bad_docs failed: column 'jb' holds \{not json: text that is not valid JSON"
    ):
        await make(table="bad_docs", mode="replace").sink("src")
    # DuckDB's check may stop the sink before or after its COPY has begun.
    assert copies in ([], ['"bad_docs"'])
    assert fetch(pg_dsn, "SELECT id FROM bad_docs") == [(0,)]


async def test_fast_writer_error_rolls_back_and_names_the_cause(make, db, pg_dsn, copies):
    """A row the server refuses mid-COPY fails the sink with the server's reason and leaves the table as it was."""
    execute(pg_dsn, "CREATE TABLE strict (id int NOT NULL, t text)", "INSERT INTO strict VALUES (1, 'old')")
    await db.execute("CREATE TABLE src AS SELECT * FROM (VALUES (1, 'a'), (NULL, 'b')) v(id, t)")
    with pytest.raises(
        ConnectorError, match=r"writing strict failed: null value in column \"id\".* \(SQLSTATE 23502\)$"
    ):
        await make(table="strict", mode="replace").sink("src")
    assert copies == ['"strict"']
    assert fetch(pg_dsn, "SELECT id, t FROM strict") == [(1, "old")]


@pytest.mark.parametrize("slow", [False, True], ids=["fast", "adbc"])
@pytest.mark.parametrize("mode", ["replace", "merge"])
async def test_infinite_dates_and_timestamps_arrive_as_postgresql_infinities(make, db, pg_dsn, copies, slow, mode):
    """DuckDB's infinities in date, timestamp and timestamptz columns are written as PostgreSQL's, by either writer."""
    u = ADBC_ONLY if slow else ""
    await db.execute(
        f"CREATE TABLE src AS SELECT *{u} FROM (VALUES "
        "(1, 'infinity'::DATE, 'infinity'::TIMESTAMP, 'infinity'::TIMESTAMPTZ), "
        "(2, '-infinity'::DATE, '-infinity'::TIMESTAMP, '-infinity'::TIMESTAMPTZ), "
        "(3, DATE '1999-12-31', TIMESTAMP '1999-12-31 23:59:59.999999', "
        "TIMESTAMPTZ '2024-02-29 12:34:56.789012+05:30'), "
        "(4, DATE '4713-01-01 (BC)', TIMESTAMP '4713-01-01 (BC) 00:00:00', TIMESTAMPTZ '294246-12-31 23:59:59+00'), "
        "(5, NULL, NULL, NULL)) v(id, d, ts, tz)"
    )
    table = f"valid_to_{mode}_{'adbc' if slow else 'fast'}"
    extra = {}
    if mode == "merge":
        extra = {"primary_key": ["id"]}
        interval = ", u timestamptz[]" if slow else ""
        execute(
            pg_dsn,
            f"CREATE TABLE {table} (id int PRIMARY KEY, d date, ts timestamp, tz timestamptz{interval})",
            f"INSERT INTO {table} (id, d) VALUES (1, '2024-01-01')",
        )
    assert await make(table=table, mode=mode, **extra).sink("src") == 5
    assert bool(copies) is not slow
    assert fetch(pg_dsn, f"SELECT id, d::text, ts::text, tz::text FROM {table} ORDER BY id") == [
        (1, "infinity", "infinity", "infinity"),
        (2, "-infinity", "-infinity", "-infinity"),
        (3, "1999-12-31", "1999-12-31 23:59:59.999999", "2024-02-29 07:04:56.789012+00"),
        (4, "4713-01-01 BC", "4713-01-01 00:00:00 BC", "294246-12-31 23:59:59+00"),
        (5, None, None, None),
    ]


@pytest.mark.parametrize("slow", [False, True], ids=["fast", "adbc"])
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("DATE '5874898-01-01'", "date 5874898-01-01"),
        ("DATE '5877641-06-25 (BC)'", r"date 5877641-06-25 \(BC\)"),
        ("DATE '4714-11-23 (BC)'", r"date 4714-11-23 \(BC\)"),
        ("TIMESTAMP '4714-11-23 (BC) 23:59:59.999999'", r"timestamp 4714-11-23 \(BC\) 23:59:59.999999"),
        ("TIMESTAMP '290309-12-22 (BC) 00:00:00'", r"timestamp 290309-12-22 \(BC\) 00:00:00"),
        ("TIMESTAMPTZ '4714-11-23 (BC) 23:59:59+00'", r"timestamptz 4714-11-23 \(BC\) 23:59:59\+00"),
    ],
)
async def test_a_time_beyond_postgresqls_range_fails_the_sink_naming_it(make, db, pg_dsn, slow, value, reason):
    """A time DuckDB holds but PostgreSQL cannot stops the sink naming column and value, and leaves no table."""
    u = ADBC_ONLY if slow else ""
    await db.execute(f"CREATE TABLE src AS SELECT 1 AS id, {value} AS d{u}")
    with pytest.raises(ConnectorError, match=rf"column 'd' holds the {reason}, outside PostgreSQL's range"):
        await make(table="far_future", mode="replace").sink("src")
    assert fetch(pg_dsn, "SELECT to_regclass('far_future') IS NULL") == [(True,)]


@pytest.mark.parametrize("slow", [False, True], ids=["fast", "adbc"])
@pytest.mark.parametrize(
    "value",
    [
        "[TIMESTAMP '2024-01-01', NULL, 'infinity'::TIMESTAMP]",
        "['-infinity'::DATE, DATE '2024-01-01']",
        "['infinity'::TIMESTAMPTZ]",
    ],
)
async def test_infinite_times_in_arrays_are_refused_naming_the_column(make, db, pg_dsn, slow, value):
    """An infinite date or timestamp inside an array stops the sink with the column's name, by either writer."""
    u = ADBC_ONLY if slow else ""
    await db.execute(f"CREATE TABLE src AS SELECT 1 AS id, {value} AS when_{u}")
    with pytest.raises(
        Exception, match=r"column 'when_' holds an infinite (timestamp|date|timestamptz) in an array, which"
    ):
        await make(table="inf_target", mode="replace").sink("src")
    assert fetch(pg_dsn, "SELECT to_regclass('inf_target') IS NULL") == [(True,)]


@pytest.mark.parametrize(("extra", "driver_loaded"), [("", False), ("[TIMESTAMPTZ '2024-01-01 00:00+00'] AS u", True)])
def test_the_adbc_driver_is_imported_only_by_a_sink_that_needs_it(pg_dsn, extra, driver_loaded):
    """In a fresh process, a sink the fast writer takes never imports ADBC's driver; a timestamptz[] column does."""
    table = f"lazy_{int(driver_loaded)}"
    child = [sys.executable, str(SINK_CHILD), pg_dsn, table, "replace", "10", "", extra]
    done = subprocess.run(child, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert ("adbc_driver_postgresql" in done.stdout) is driver_loaded
    assert fetch(pg_dsn, f"SELECT count(*) FROM {table}") == [(10,)]


async def test_server_notices_during_copy_cannot_stall_the_fast_writer(make, db, pg_dsn, copies):
    """A trigger raising a notice per row does not block the COPY: the writer's session is not sent notices."""
    execute(
        pg_dsn,
        "CREATE TABLE noisy (id bigint, t text)",
        "CREATE FUNCTION noisy_row() RETURNS trigger LANGUAGE plpgsql AS "
        "$$BEGIN RAISE NOTICE '%', repeat('n', 2000); RAISE WARNING 'row %', NEW.id; RETURN NEW; END$$",
        "CREATE TRIGGER noisy_row BEFORE INSERT ON noisy FOR EACH ROW EXECUTE FUNCTION noisy_row()",
    )
    await db.execute("CREATE TABLE src AS SELECT i AS id, 'x' AS t FROM range(300000) r(i)")
    # Before the fix the server blocked writing notices nobody read, and the writer waited on the server.
    rows = await asyncio.wait_for(make(table="noisy", mode="append").sink("src"), timeout=120)
    assert rows == 300000
    assert copies == ['"noisy"']
    assert fetch(pg_dsn, "SELECT count(*) FROM noisy") == [(300000,)]


async def test_a_value_the_encoder_refuses_is_reported_in_one_line(make, db, pg_dsn, copies):
    """A date before PostgreSQL's range in an array fails the fast writer with pgpq's reason, not its debug text."""
    await db.execute("CREATE TABLE src AS SELECT [DATE '5877641-06-25 (BC)'] AS d")
    with pytest.raises(ConnectorError, match=r"writing early failed: cannot encode a value for PostgreSQL: Underflow"):
        await make(table="early", mode="replace").sink("src")
    assert copies == ['"early"']
    assert fetch(pg_dsn, "SELECT to_regclass('early') IS NULL") == [(True,)]


@pytest.mark.parametrize("slow", [False, True], ids=["fast", "adbc"])
async def test_text_keeps_its_characters_in_a_latin1_database(make, db, pg_dsn, slow):
    """Text goes in and comes back as the same characters when the database's encoding is not UTF-8."""
    name = f"latin1_{'adbc' if slow else 'fast'}_{os.getpid()}"
    execute(
        pg_dsn,
        f"CREATE DATABASE {name} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
        autocommit=True,
    )
    try:
        dsn = with_database(pg_dsn, name)
        u = ADBC_ONLY if slow else ""
        await db.execute(f"CREATE TABLE src AS SELECT 'héllo wörld' AS t{u}")
        await make(dsn=dsn, table="words", mode="replace").sink("src")
        # The server's own view of the characters: 'é' is one LATIN1 byte, E9.
        assert fetch(dsn, "SELECT encode(convert_to(t, 'LATIN1'), 'hex') FROM words") == [("68e96c6c6f2077f6726c64",)]
        await make(name="back", dsn=dsn, table="words").tap(None)
        assert await (await db.sql("SELECT t FROM back")).fetchall() == [("héllo wörld",)]
    finally:
        execute(pg_dsn, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", autocommit=True)
