"""A sink writes every value exactly, or stops naming the column and the first value it would change.

Each case runs in every way a sink writes: into a new table or an existing one, by COPY straight into the target
or through a staging table (replace with staging, merge), and by both writers (an extra interval array column
sends the table through ADBC's ingest, see README "Writers").
"""

from __future__ import annotations

import itertools

import pytest
from ductflow_core.errors import ConnectorError

from helpers import execute, fetch

HUGE = 2**127 - 1
UHUGE = 2**128 - 1

#: (id, DuckDB expression of the value, PostgreSQL column type or None for a new table, PostgreSQL's text of
#: the value as stored, or the error's words when the sink must stop).
CASES = [
    ("hugeint", f"{HUGE}::HUGEINT", None, str(HUGE)),
    ("uhugeint", f"{UHUGE}::UHUGEINT", None, str(UHUGE)),
    ("ubigint", f"{2**64 - 1}::UBIGINT", None, str(2**64 - 1)),
    ("bignum", f"{10**50}::BIGNUM", None, str(10**50)),
    ("hugeint-into-bigint", f"{2**100}::HUGEINT", "bigint", f"holds {2**100}: a value its PostgreSQL type bigint"),
    ("ubigint-into-bigint", f"{2**64 - 1}::UBIGINT", "bigint", f"holds {2**64 - 1}:"),
    ("hugeint-into-numeric38", f"{HUGE}::HUGEINT", "numeric(38,0)", f"holds {HUGE}:"),
    ("timestamp-ns", "TIMESTAMP_NS '2020-01-01 00:00:00.123456789'", None, "holds 2020-01-01 00:00:00.123456789:"),
    ("timestamp-ns-micro", "TIMESTAMP_NS '2020-01-01 00:00:00.123456'", None, "2020-01-01 00:00:00.123456"),
    (
        "timestamp-ns-into-tz",
        "TIMESTAMP_NS '2020-01-01 00:00:00.000000001'",
        "timestamptz",
        "holds 2020-01-01 00:00:00.000000001:",
    ),
    (
        "timestamp-ns-in-list",
        "[TIMESTAMP_NS '2020-01-01 00:00:00.000000001']",
        None,
        "holds ['2020-01-01 00:00:00.000000001']:",
    ),
    ("uhugeint-in-list", f"[{UHUGE}::UHUGEINT, NULL]", None, f"{{{UHUGE},NULL}}"),
    ("time-ns", "TIME_NS '12:00:00.123456789'", None, "holds 12:00:00.123456789:"),
    ("time-ns-micro", "TIME_NS '12:00:00.5'", None, "12:00:00.5"),
    ("timetz", "TIMETZ '12:34:56.5+05:30'", None, "12:34:56.5+05:30"),
    ("nul-text", "'a' || chr(0) || 'b'", None, "holds a\\0b: a string with a NUL character"),
    ("nul-into-varchar", "'x' || chr(0)", "varchar(10)", "holds x\\0: a string with a NUL"),
    ("nul-into-json", "'\"x' || chr(0) || '\"'", "json", 'holds "x\\0": a string with a NUL'),
    ("nul-in-list", "['ok', 'b' || chr(0)]", None, "holds [ok, b\\0]: a string with a NUL"),
    ("interval-huge", "to_hours(3000000)", None, "3000000:00:00"),
    (
        "interval-extremes",
        "to_months(-2147483648) + to_days(2147483647) + to_microseconds(-9223372036854775807)",
        None,
        "-178956970 years -8 mons +2147483647 days -2562047788:00:54.775807",
    ),
    ("interval-into-existing", "to_hours(-3000000)", "interval", "-3000000:00:00"),
    (
        "interval-parts",
        "to_months(-14) + to_days(3) + to_microseconds(-7)",
        None,
        "-1 years -2 mons +3 days -00:00:00.000007",
    ),
    ("interval-array-huge", "[to_hours(3000000), NULL]", None, "{3000000:00:00,NULL}"),
    ("json-duplicate-keys", """'{"b": 1, "a": 2, "a": 3}'::JSON""", None, '{"b": 1, "a": 2, "a": 3}'),
    ("double-nan", "'nan'::DOUBLE", None, "NaN"),
    ("nan-into-numeric", "'nan'::DOUBLE", "numeric", "NaN"),
    ("inf-into-numeric", "'-inf'::DOUBLE", "numeric", "-Infinity"),
    ("nan-into-numeric-10-2", "'nan'::DOUBLE", "numeric(10,2)", "holds nan: a value its PostgreSQL type numeric(10,2)"),
    ("double-rounded", "1.005::DOUBLE", "numeric(10,2)", "holds 1.005:"),
    ("double-fits", "1.25::DOUBLE", "numeric(10,2)", "1.25"),
    ("decimal-narrower", "1.2345::DECIMAL(10,4)", "numeric(10,2)", "holds 1.2345:"),
    ("decimal-narrower-exact", "1.2300::DECIMAL(10,4)", "numeric(10,2)", "1.23"),
    ("decimal-overflow", "123456.5::DECIMAL(10,1)", "numeric(4,1)", "holds 123456.5:"),
    ("decimal-into-wide-numeric", "1.2345::DECIMAL(10,4)", "numeric(50,2)", "holds 1.2345:"),
    ("decimal-into-wide-numeric-exact", "1.25::DECIMAL(10,4)", "numeric(50,2)", "1.25"),
    ("double-into-real", "0.1::DOUBLE", "real", "holds 0.1:"),
    ("bigint-into-double", f"{2**53 + 1}::BIGINT", "double precision", f"holds {2**53 + 1}:"),
    ("timestamptz-into-date", "TIMESTAMPTZ '2020-01-01 12:00:00+00'", "date", "holds 2020-01-01 12:00:00+00:"),
    ("text-into-int", "'12x'", "integer", "holds 12x:"),
    ("text-into-uuid", "'not-a-uuid'", "uuid", "holds not-a-uuid:"),
    ("too-long-varchar", "'abc '", "varchar(2)", "holds abc : more than 2 characters"),
    ("bad-inet", "'zz'", "inet", "column 'v': invalid input syntax for type inet"),
    ("bad-json", "'{bad'", "jsonb", "holds {bad: text that is not valid JSON"),
    # Valid JSON that jsonb refuses: the server's reason, with the column and row from its COPY context.
    ("jsonb-nul-escape", """'{"a": "\\u0000"}'""", "jsonb", "unsupported Unicode escape sequence (column 'v', row 1)"),
    ("bit", "'10110'::BIT", None, "10110"),
    ("union", "union_value(k := 1)", None, "no PostgreSQL mapping"),
    ("map", "MAP {'a': 1}", None, "no PostgreSQL mapping"),
    ("struct", "{'a': 1}", None, "no PostgreSQL mapping"),
    ("nested-list", "[[1, 2], [3]]", None, "nested lists cannot go to PostgreSQL"),
]
IDS = [case[0] for case in CASES]
WAYS = list(itertools.product(["append", "staging", "merge"], ["pgpq", "adbc"]))

_counter = itertools.count()


def _is_error(expected: str) -> bool:
    return any(word in expected for word in ("holds", "mapping", "cannot go", "invalid input", "unsupported"))


@pytest.mark.parametrize(("mode", "writer"), WAYS, ids=[f"{m}-{w}" for m, w in WAYS])
@pytest.mark.parametrize(("case", "value", "pg_type", "expected"), CASES, ids=IDS)
async def test_value_is_written_exactly_or_refused(make, db, pg_dsn, case, value, pg_type, expected, mode, writer):
    """The value arrives as PostgreSQL's exact equal, or the sink fails in one line naming column and value."""
    table = f"exact_{next(_counter)}"
    extra = ", [INTERVAL 1 day] AS force_adbc" if writer == "adbc" else ""
    await db.execute(f"CREATE OR REPLACE TABLE src AS SELECT 1 AS id, {value} AS v{extra}")
    if pg_type is not None:
        adbc_column = ", force_adbc interval[]" if writer == "adbc" else ""
        execute(pg_dsn, f"CREATE TABLE {table} (id int PRIMARY KEY, v {pg_type}{adbc_column})")
    params: dict[str, object] = {
        "table": table,
        "mode": {"append": "append", "staging": "replace", "merge": "merge"}[mode],
    }
    if mode == "staging":
        params["replace_strategy"] = "staging"
    if mode == "merge":
        params["primary_key"] = ["id"]
    sink = make(name="w", **params)
    if _is_error(expected):
        with pytest.raises(ConnectorError) as info:
            await sink.sink("src")
        text = str(info.value)
        assert "\n" not in text
        assert expected in text
        if "holds" in expected:
            assert "column 'v'" in text
        if pg_type is not None:
            assert fetch(pg_dsn, f"SELECT count(*) FROM {table}") == [(0,)]
        return
    assert await sink.sink("src") == 1
    assert fetch(pg_dsn, f"SELECT v::text FROM {table}") == [(expected,)]
