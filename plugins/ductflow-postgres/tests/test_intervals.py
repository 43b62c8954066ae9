"""Intervals arrive exactly, months, days and microseconds each, over PostgreSQL's whole range."""

from __future__ import annotations

import pytest

from ductflow_postgres import PostgresConnection
from helpers import execute

#: PostgreSQL's text of each value, and (months, days, microseconds) as DuckDB must hold it.
VALUES = [
    ("3000000:00:00", (0, 0, 3_000_000 * 3_600_000_000)),
    ("-2562047788:00:54.775807", (0, 0, -9_223_372_036_854_775_807)),
    (
        "178956970 years 7 mons 2147483647 days 2562047788:00:54.775807",
        (2_147_483_647, 2_147_483_647, 9_223_372_036_854_775_807),
    ),
    ("-178956970 years -8 mons -2147483648 days", (-2_147_483_648, -2_147_483_648, 0)),
    ("1 year -2 mons +3 days -04:05:06.000007", (10, 3, -14_706_000_007)),
    ("1 mon -1 days", (1, -1, 0)),
    ("-00:00:00.000001", (0, 0, -1)),
]


@pytest.fixture(scope="module")
def wide(pg_dsn: str) -> str:
    """A table of intervals beyond the driver's 64-bit nanoseconds, alone and in arrays, with NULLs."""
    rows = ", ".join(
        f"({n}, interval '{text}', ARRAY[interval '{text}', NULL, interval '1 day'])"
        for n, (text, _) in enumerate(VALUES)
    )
    execute(
        pg_dsn,
        "CREATE TABLE wide_iv (id int, i interval, a interval[])",
        f"INSERT INTO wide_iv VALUES {rows}, ({len(VALUES)}, NULL, NULL)",
    )
    return pg_dsn


def _parts(value: str) -> str:
    # DuckDB has no direct accessor for an interval's microseconds field: it is the interval minus its months and days.
    return (
        f"datepart('year', {value}) * 12 + datepart('month', {value}), datepart('day', {value}), "
        f"epoch_us({value} - to_months(datepart('year', {value}) * 12 + datepart('month', {value})) "
        f"- to_days(datepart('day', {value})))"
    )


@pytest.mark.parametrize("materialize", [True, False], ids=["table", "stream"])
@pytest.mark.parametrize(
    "source",
    [
        {"table": "wide_iv"},
        {"query": "SELECT id, i, a FROM wide_iv"},
        {"query": "SELECT id, i, a, 1.5 AS n FROM wide_iv"},
    ],
    ids=["table", "query", "query-with-numeric"],
)
async def test_intervals_beyond_the_drivers_range_arrive_exactly(db, wide, source, materialize):
    """Scalars and array elements keep months, days and microseconds exactly, NULLs included, as table or stream."""
    conn = PostgresConnection.create(name="iv", c=db, params={"dsn": wide, **source}, materialize=materialize)
    await conn.tap(None)
    types = {f.name: f.type for f in await db.columns("iv")}
    assert (types["i"], types["a"]) == ("INTERVAL", "INTERVAL[]")
    rows = await (
        await db.sql(f"SELECT id, {_parts('i')}, {_parts('a[1]')}, a[2] IS NULL, {_parts('a[3]')} FROM iv ORDER BY id")
    ).fetchall()
    assert len(rows) == len(VALUES) + 1
    for (_, expected), row in zip(VALUES, rows, strict=False):
        assert row[1:4] == expected
        assert row[4:7] == expected
        assert row[7] is True
        assert row[8:11] == (0, 1, 0)
    assert rows[-1][1:] == (None,) * 6 + (True,) + (None,) * 3
