"""Every mapped type survives PostgreSQL -> DuckDB -> PostgreSQL with equal values, NULLs included."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from ductflow_core.errors import ConnectorError

from ductflow_postgres import PostgresConnection
from helpers import execute, fetch

# (PostgreSQL type, SQL literals of the values, DuckDB type the tap must produce)
CASES = [
    ("smallint", ["-32768", "32767", "0"], "SMALLINT"),
    ("integer", ["-2147483648", "2147483647"], "INTEGER"),
    ("bigint", ["-9223372036854775808", "9223372036854775807"], "BIGINT"),
    ("numeric(38,9)", ["12345678901234567890123456789.123456789", "-0.000000001"], "DECIMAL(38,9)"),
    ("numeric(10,2)", ["12.34", "-99999999.99"], "DECIMAL(10,2)"),
    ("real", ["1.5", "-3.25e10", "'NaN'", "'Infinity'"], "FLOAT"),
    ("double precision", ["0.1", "-1.7976931348623157e308", "'-Infinity'"], "DOUBLE"),
    ("text", ["''", "'héllo wörld ✓'", "'multi\nline'"], "VARCHAR"),
    ("varchar(20)", ["'abc'", "'twenty characters..'"], "VARCHAR"),
    ("char(5)", ["'ab'", "'abcde'"], "VARCHAR"),
    ("boolean", ["true", "false"], "BOOLEAN"),
    ("date", ["'2024-02-29'", "'0001-01-01'", "'9999-12-31'"], "DATE"),
    ("time", ["'00:00:00'", "'23:59:59.999999'"], "TIME"),
    ("timestamp", ["'2024-02-29 12:34:56.789012'", "'1900-01-01 00:00:00'"], "TIMESTAMP"),
    ("timestamptz", ["'2024-02-29 12:34:56.789012+05:30'", "'1970-01-01 00:00:00Z'"], "TIMESTAMP WITH TIME ZONE"),
    ("interval", ["'1 year 2 months 3 days 04:05:06.789'", "'-3 days'", "'0'"], "INTERVAL"),
    ("uuid", ["'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'"], "UUID"),
    ("json", ['\'{"a": [1, 2, {"b": null}]}\'', "'\"text\"'"], "JSON"),
    ("jsonb", ['\'{"a": 1, "ü": "x"}\'', "'[]'"], "JSON"),
    ("bytea", ["'\\x00ff10'::bytea", "''::bytea"], "BLOB"),
    ("smallint[]", ["'{1,NULL,3}'"], "SMALLINT[]"),
    ("integer[]", ["'{1,2,3}'", "'{}'"], "INTEGER[]"),
    ("bigint[]", ["'{9223372036854775807}'"], "BIGINT[]"),
    ("numeric(12,4)[]", ["'{1.5,NULL,-12345678.1234}'"], "DECIMAL(12,4)[]"),
    ("real[]", ["'{1.5,2.5}'"], "FLOAT[]"),
    ("double precision[]", ["'{0.1,NULL}'"], "DOUBLE[]"),
    ("text[]", ['\'{a,"b c",NULL,""}\''], "VARCHAR[]"),
    ("varchar(10)[]", ["'{x,y}'"], "VARCHAR[]"),
    ("boolean[]", ["'{t,f,NULL}'"], "BOOLEAN[]"),
    ("date[]", ["'{2024-01-01,NULL}'"], "DATE[]"),
    ("time[]", ["'{12:00:00}'"], "TIME[]"),
    ("timestamp[]", ["'{\"2024-01-01 00:00:01\"}'"], "TIMESTAMP[]"),
    ("timestamptz[]", ["'{\"2024-01-01 00:00:01+02\"}'"], "TIMESTAMP WITH TIME ZONE[]"),
    ("interval[]", ['\'{"1 day","2 hours"}\''], "INTERVAL[]"),
    ("uuid[]", ["'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'"], "UUID[]"),
    ("bytea[]", ["ARRAY['\\x01'::bytea, NULL]"], "BLOB[]"),
]


@pytest.mark.parametrize(("pg_type", "values", "duck_type"), CASES, ids=[c[0] for c in CASES])
async def test_round_trip(make, db, pg_dsn, pg_type, values, duck_type):
    """Values of the type, and NULL, come back from DuckDB into a like-typed table unchanged."""
    src = f"rt_src_{abs(hash(pg_type))}"
    dst = f"rt_dst_{abs(hash(pg_type))}"
    rows = ", ".join(f"({i}, CAST({v} AS {pg_type}))" for i, v in enumerate(values)) + f", ({len(values)}, NULL)"
    execute(
        pg_dsn,
        f"DROP TABLE IF EXISTS {src}, {dst}",
        f"CREATE TABLE {src} (id int, v {pg_type})",
        f"INSERT INTO {src} VALUES {rows}",
        f"CREATE TABLE {dst} (LIKE {src})",
    )
    await make(name="rt", table=src).tap(None)
    assert dict((f.name, f.type) for f in await db.columns("rt"))["v"] == duck_type
    await make(table=dst, mode="append").sink("rt")
    # Row text compares every value exactly; the columns have identical types on both sides.
    missing = fetch(pg_dsn, f"SELECT t::text FROM {src} t EXCEPT ALL SELECT t::text FROM {dst} t")
    extra = fetch(pg_dsn, f"SELECT t::text FROM {dst} t EXCEPT ALL SELECT t::text FROM {src} t")
    assert (missing, extra) == ([], [])
    assert fetch(pg_dsn, f"SELECT count(*) FROM {dst}") == [(len(values) + 1,)]


async def test_values_arrive_exact_in_duckdb(make, db, pg_dsn):
    """DuckDB holds numerics as exact decimals, instants with their zone applied, and intervals field by field."""
    execute(
        pg_dsn,
        "CREATE TABLE exact (n numeric(38,9), t timestamptz, i interval, u uuid, j jsonb, b bytea)",
        "INSERT INTO exact VALUES (12345678901234567890123456789.123456789, '2024-02-29 12:00:00+05:30', "
        "'1 month 2 days 3 seconds', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"k\": [1]}', '\\xdead')",
    )
    await make(name="exact", table="exact").tap(None)
    rel = await db.sql(
        "SELECT n, t AT TIME ZONE 'UTC', datepart('month', i), datepart('day', i), u, j->>'$.k[0]', b FROM exact"
    )
    assert await rel.fetchall() == [
        (
            Decimal("12345678901234567890123456789.123456789"),
            dt.datetime(2024, 2, 29, 6, 30),
            1,
            2,
            uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            "1",
            b"\xde\xad",
        )
    ]


NUMERIC_COLUMNS = {
    "id": "INTEGER",
    "exact": "DECIMAL(12,2)",
    "wide": "DECIMAL(38,0)",
    "free": "DOUBLE",
    "huge": "DOUBLE",
    "neg": "DOUBLE",
    "arr": "DECIMAL(6,1)[]",
}


@pytest.mark.parametrize(
    "source",
    [
        {"table": "nums"},
        {"query": "SELECT * FROM nums"},
        {"query": "SELECT * FROM nums -- a trailing comment"},
        {"query": "SELECT * FROM nums; -- a semicolon, then a comment\n;"},
        {"query": "(TABLE nums)"},
    ],
    ids=["table", "query", "query-with-tail", "query-with-semicolon", "parenthesised"],
)
async def test_numerics_arrive_exact_whichever_way_they_travel(make, db, pg_dsn, source):
    """Table taps and query taps ship numerics as text; types and values are what the driver's decoding gives."""
    execute(
        pg_dsn,
        "DROP TABLE IF EXISTS nums",
        "CREATE TABLE nums (id int, exact numeric(12,2), wide numeric(38,0), free numeric, huge numeric(40,5), "
        "neg numeric(3,-2), arr numeric(6,1)[])",
        "INSERT INTO nums VALUES (1, -1234567890.12, 12345678901234567890123456789012345678, 0.1, "
        "123456789012345678901234567890.12345, 12300, '{1.5,NULL}'), "
        "(2, 0.01, -1, 'NaN', -0.00001, -99900, NULL), (3, NULL, NULL, 1e300, NULL, NULL, '{}'), "
        "(4, 99.99, 0, 'Infinity', 1, 0, '{-0.5}')",
    )
    await make(name="nums_in", **source).tap(None)
    types = {f.name: f.type for f in await db.columns("nums_in")}
    # A query's arrays have no element precision in the driver's schema (see the README).
    assert types == (NUMERIC_COLUMNS if "table" in source else {**NUMERIC_COLUMNS, "arr": "DOUBLE[]"})
    rows = await (await db.sql("SELECT * EXCLUDE (arr), CAST(arr AS VARCHAR) FROM nums_in ORDER BY id")).fetchall()
    nan, inf = float("nan"), float("inf")
    expected = [
        (
            1,
            Decimal("-1234567890.12"),
            Decimal("12345678901234567890123456789012345678"),
            0.1,
            1.2345678901234568e29,
            12300.0,
        ),
        (2, Decimal("0.01"), Decimal("-1"), nan, -1e-05, -99900.0),
        (3, None, None, 1e300, None, None),
        (4, Decimal("99.99"), Decimal("0"), inf, 1.0, 0.0),
    ]
    assert [r[:3] + r[4:6] for r in rows] == [e[:3] + e[4:6] for e in expected]
    assert [r[3] for r in rows if r[0] != 2] == [e[3] for e in expected if e[0] != 2]
    assert rows[1][3] != rows[1][3]  # NaN
    assert [r[6] for r in rows] == ["[1.5, NULL]", None, "[]", "[-0.5]"]


@pytest.mark.parametrize("source", [{"table": "loose"}, {"query": "SELECT * FROM loose"}], ids=["table", "query"])
@pytest.mark.parametrize(
    ("setting", "duck_type", "expected"),
    [
        (
            "VARCHAR",
            "VARCHAR",
            [
                (1, "12345678901234567890.123456789", "1234567890.12345", "[0.1, NULL]"),
                (2, "-0.000000001", None, None),
                (3, "NaN", "-1.00000", "[]"),
            ],
        ),
        (
            " decimal( 38, 9 )",
            "DECIMAL(38,9)",
            [
                (1, Decimal("12345678901234567890.123456789"), Decimal("1234567890.123450000"), "[0.100000000, NULL]"),
                (2, Decimal("-0.000000001"), None, None),
                (3, Decimal("0.000000002"), Decimal("-1.000000000"), "[]"),
            ],
        ),
    ],
    ids=["varchar", "decimal"],
)
async def test_unconstrained_numerics_take_the_type_the_tap_names(
    make, db, pg_dsn, source, setting, duck_type, expected
):
    """``unconstrained_numeric`` types numerics without a precision DuckDB holds, their arrays too, exactly."""
    third = "'NaN'" if duck_type == "VARCHAR" else "0.0000000015"
    execute(
        pg_dsn,
        "DROP TABLE IF EXISTS loose",
        "CREATE TABLE loose (id int, free numeric, huge numeric(40,5), arr numeric[])",
        "INSERT INTO loose VALUES (1, 12345678901234567890.123456789, 1234567890.12345, '{0.1,NULL}'), "
        f"(2, -0.000000001, NULL, NULL), (3, {third}, -1, '{{}}')",
    )
    await make(name="loose_in", unconstrained_numeric=setting, **source).tap(None)
    types = {f.name: f.type for f in await db.columns("loose_in")}
    assert types == {"id": "INTEGER", "free": duck_type, "huge": duck_type, "arr": f"{duck_type}[]"}
    rows = await (await db.sql("SELECT id, free, huge, CAST(arr AS VARCHAR) FROM loose_in ORDER BY id")).fetchall()
    assert rows == expected


@pytest.mark.parametrize("setting", ["FLOAT", "DECIMAL(39,2)", "DECIMAL(5,6)", "NUMERIC"])
def test_an_unknown_unconstrained_numeric_type_is_refused(make, setting):
    """Only DOUBLE, VARCHAR and a DECIMAL DuckDB can hold are accepted, naming the param when not."""
    with pytest.raises(ConnectorError, match="unconstrained_numeric must be DOUBLE, VARCHAR or DECIMAL"):
        make(table="t", unconstrained_numeric=setting)


async def test_new_table_gets_mapped_types(make, db, pg_dsn):
    """A sink that creates its table picks the PostgreSQL type matching each DuckDB type."""
    await db.execute(
        "CREATE TABLE typed AS SELECT 1::TINYINT a, 2::SMALLINT b, 3::INTEGER c, 4::BIGINT d, 1.25::DECIMAL(9,3) e, "
        "1.5::FLOAT f, 2.5::DOUBLE g, 'x' h, true i, DATE '2024-01-01' j, TIME '01:02:03' k, "
        "TIMESTAMP '2024-01-01 01:02:03' l, TIMESTAMPTZ '2024-01-01 01:02:03+00' m, INTERVAL 3 DAY n, "
        "uuid() o, '{}'::JSON p, 'ab'::BLOB q, [1, 2] r, ['x'] s, 18446744073709551615::UBIGINT t"
    )
    await make(table="typed_out", mode="create").sink("typed")
    types = {f.name: f.type for f in await make(table="typed_out").show_schema()}
    assert types == {
        "a": "smallint",
        "b": "smallint",
        "c": "integer",
        "d": "bigint",
        "e": "numeric(9,3)",
        "f": "real",
        "g": "double precision",
        "h": "text",
        "i": "boolean",
        "j": "date",
        "k": "time without time zone",
        "l": "timestamp without time zone",
        "m": "timestamp with time zone",
        "n": "interval",
        "o": "uuid",
        "p": "json",
        "q": "bytea",
        "r": "integer[]",
        "s": "text[]",
        "t": "numeric(20,0)",
    }
    assert fetch(pg_dsn, "SELECT t::text, e::text, r::text FROM typed_out") == [
        ("18446744073709551615", "1.250", "{1,2}")
    ]


async def test_unmappable_postgres_type_names_the_column(make, pg_dsn):
    """A PostgreSQL type without a DuckDB counterpart stops the tap with an error naming the column."""
    execute(pg_dsn, "CREATE TABLE geo (id int, spot point)", "INSERT INTO geo VALUES (1, point(1, 2))")
    with pytest.raises(ConnectorError, match=r"column 'spot' has PostgreSQL type point"):
        await make(name="geo", table="geo").tap(None)


@pytest.mark.parametrize("query", ["SELECT 7 AS a, 'x' AS a", "SELECT 1.25::numeric(5,2) AS a, 2 AS a"])
async def test_repeated_column_name_is_refused(make, db, query):
    """A query returning two columns of one name fails naming it, rather than copying the first into the second."""
    with pytest.raises(ConnectorError, match=r"the query returns two columns named 'a'"):
        await make(name="dup", query=query).tap(None)


async def test_unmappable_duckdb_type_names_the_column(make, db, pg_dsn):
    """A DuckDB STRUCT column stops the sink with an error naming the column, and no table is left behind."""
    await db.execute("CREATE TABLE nested AS SELECT 1 AS id, {'a': 1} AS rec")
    with pytest.raises(ConnectorError, match=r"column 'rec' has DuckDB type STRUCT"):
        await make(table="nested_out", mode="create").sink("nested")
    assert fetch(pg_dsn, "SELECT to_regclass('nested_out') IS NULL") == [(True,)]


async def test_infinite_times_arrive_infinite(make, db, pg_dsn):
    """PostgreSQL's infinity and -infinity in timestamp, timestamptz and date columns arrive as DuckDB's own."""
    execute(
        pg_dsn,
        "CREATE TABLE valid_to (t timestamp, tz timestamptz, d date)",
        "INSERT INTO valid_to VALUES ('infinity', 'infinity', 'infinity'), ('-infinity', '-infinity', '-infinity'), "
        "('2024-01-02 03:04', '2024-01-02 03:04+00', '2024-01-02')",
    )
    await make(name="vt", table="valid_to").tap(None)
    rows = await (await db.sql("SELECT t::VARCHAR, isinf(tz), d::VARCHAR FROM vt ORDER BY t")).fetchall()
    assert rows == [
        ("-infinity", True, "-infinity"),
        ("2024-01-02 03:04:00", False, "2024-01-02"),
        ("infinity", True, "infinity"),
    ]


def _source(how: str, table: str) -> dict[str, str]:
    """A tap's params reading ``table`` by name or by a query, as ``how`` says."""
    return {"table": table} if how == "table" else {"query": f"SELECT * FROM {table}"}


@pytest.mark.parametrize("how", ["table", "query"])
async def test_infinite_times_inside_arrays_arrive_infinite(make, db, pg_dsn, how):
    """Infinities inside timestamp[], timestamptz[] and date[] arrive as DuckDB's own, not as dates in 290,000 BC."""
    execute(
        pg_dsn,
        f"CREATE TABLE spans_{how} (id int, t timestamp[], tz timestamptz[], d date[])",
        f"INSERT INTO spans_{how} VALUES "
        "(1, '{infinity,-infinity,NULL,2024-01-02 03:04}', '{-infinity,infinity}', "
        "'{infinity,2024-01-02,-infinity}'), (2, NULL, '{}', '{NULL}')",
    )
    await make(name="sp", **_source(how, f"spans_{how}")).tap(None)
    rows = await (
        await db.sql(
            "SELECT id, t::VARCHAR, tz::VARCHAR, d::VARCHAR, list_transform(tz, lambda x: isinf(x)) FROM sp ORDER BY id"
        )
    ).fetchall()
    assert rows == [
        (
            1,
            "[infinity, -infinity, NULL, '2024-01-02 03:04:00']",
            "[-infinity, infinity]",
            "[infinity, 2024-01-02, -infinity]",
            [True, True],
        ),
        (2, None, "[]", "[NULL]", []),
    ]


@pytest.mark.parametrize("materialize", [None, False], ids=["table", "stream"])
@pytest.mark.parametrize("how", ["table", "query"])
async def test_a_multi_dimensional_array_stops_the_read_naming_its_column(db, pg_dsn, how, materialize):
    """A 2-D value in an array column stops the read naming the column, where the driver would have flattened it."""
    table = f"grid_{how}_{materialize}"
    execute(
        pg_dsn,
        f'CREATE TABLE {table} (id int, "a b" int[], n numeric(5,2)[])',
        f"INSERT INTO {table} VALUES (1, '{{1,2}}', '{{1.5}}'), (2, '{{{{1,2}},{{3,4}}}}', NULL)",
    )
    params = {"dsn": pg_dsn, **_source(how, table)}
    conn = PostgresConnection.create(name="grid", c=db, params=params, materialize=materialize)
    refused = r"""column 'a b' holds a multi-dimensional array, .* \("a b"::text\)"""
    if materialize is False:
        await conn.tap(None)  # a view: its rows are read, and refused, by the stage that reads it
        with pytest.raises(Exception, match=refused):
            await db.execute("CREATE TABLE copied AS SELECT * FROM grid")
    else:
        with pytest.raises(ConnectorError, match=refused):
            await conn.tap(None)


@pytest.mark.parametrize("how", ["table", "query"])
async def test_one_dimensional_arrays_arrive_beside_no_extra_column(make, db, pg_dsn, how):
    """Arrays of one dimension, empty or NULL arrive as lists, and the dimension counts sent with them stay out."""
    table = f"flat_{how}"
    execute(
        pg_dsn,
        # A column named like the dimension count of the first array: the count takes another name.
        f"CREATE TABLE {table} (id int, a int[], __ductflow_ndims_0 text, b text[])",
        f"INSERT INTO {table} VALUES (1, '{{1,NULL,3}}', 'x', '{{}}'), (2, NULL, NULL, '{{\"y z\"}}')",
    )
    await make(name="flat", **_source(how, table)).tap(None)
    assert [f.name for f in await db.columns("flat")] == ["id", "a", "__ductflow_ndims_0", "b"]
    rows = await (await db.sql("SELECT * FROM flat ORDER BY id")).fetchall()
    assert rows == [(1, [1, None, 3], "x", []), (2, None, None, ["y z"])]


async def test_times_cross_zones_as_utc_whatever_duckdbs_zone(make, db, pg_dsn):
    """Wall-clock and zoned times written into the other kind are read as UTC, not in DuckDB's local zone.

    The date is midnight in UTC (a time of day would not fit a date; see test_exact_sink) and the day before in
    DuckDB's zone.
    """
    execute(pg_dsn, "CREATE TABLE zoned (a timestamptz, b timestamp, c date)")
    await db.execute("SET TimeZone = 'America/Los_Angeles'")
    await db.execute(
        "CREATE TABLE src_z AS SELECT TIMESTAMP '2024-06-01 12:00' AS a, "
        "TIMESTAMPTZ '2024-06-01 12:00+00' AS b, TIMESTAMPTZ '2024-06-02 00:00+00' AS c"
    )
    await make(table="zoned", mode="append").sink("src_z")
    same = "SELECT a = '2024-06-01 12:00+00', b = '2024-06-01 12:00', c = '2024-06-02' FROM zoned"
    assert fetch(pg_dsn, same) == [(True, True, True)]


async def test_sink_into_wider_target_types(make, db, pg_dsn):
    """Values go into existing columns of other types (int into bigint, text into uuid and jsonb) by casting."""
    execute(pg_dsn, "CREATE TABLE wider (a bigint, u uuid, j jsonb, n numeric, t text)")
    await db.execute(
        "CREATE TABLE narrow AS SELECT 7::INTEGER a, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' u, "
        "'{\"x\": 1}' j, 0.5::DOUBLE n, 42 t"
    )
    await make(table="wider", mode="append").sink("narrow")
    assert fetch(pg_dsn, "SELECT a, u::text, j->>'x', n::text, t FROM wider") == [
        (7, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "1", "0.5", "42")
    ]


@pytest.mark.parametrize("value", ["123456789012", "'NaN'"])
async def test_a_numeric_its_decimal_cannot_hold_stops_the_read(make, pg_dsn, value):
    """A value over the chosen DECIMAL's integer digits, or NaN, fails the tap in one line naming the type."""
    execute(pg_dsn, "DROP TABLE IF EXISTS too_wide", f"CREATE TABLE too_wide AS SELECT {value}::numeric AS n")
    with pytest.raises(ConnectorError, match=r"DECIMAL\(10,2\)") as failure:
        await make(name="too_wide_in", table="too_wide", unconstrained_numeric="DECIMAL(10,2)").tap(None)
    assert "\n" not in str(failure.value)
