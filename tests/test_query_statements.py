"""Tap queries and transform SQL are one read-only statement, as DuckDB's own parser sees them."""

from __future__ import annotations

import asyncio

import pytest

from ductflow_core.db import Database
from ductflow_core.errors import ConnectorError


def _kinds(sql: str) -> list[str]:
    with Database() as db:
        return asyncio.run(db.facade().statement_kinds(sql))


def _require(sql: str) -> None:
    async def go() -> None:
        with Database() as db:
            await db.facade().require_query(sql)

    asyncio.run(go())


def test_statement_kinds_come_from_duckdbs_parser() -> None:
    """statement_kinds names each statement as DuckDB parses it, a write hidden behind WITH included."""
    assert _kinds("SELECT 1") == ["SELECT"]
    assert _kinds("SELECT 1; COPY (SELECT 1) TO 'x.csv'") == ["SELECT", "COPY"]
    assert _kinds("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x") == ["INSERT"]


def test_statement_kinds_of_sql_that_does_not_parse_is_a_connector_error() -> None:
    """SQL DuckDB cannot parse is reported as a ConnectorError carrying DuckDB's first line."""
    with pytest.raises(ConnectorError, match="syntax error"):
        _kinds("SELEC 1")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM source",
        "FROM source WHERE a > 1",
        "WITH x AS (SELECT 1 AS a) SELECT a FROM x;",
        "SELECT 1 -- trailing comment",
        "(SELECT 1) UNION ALL (SELECT 2)",
        "VALUES (1), (2)",
    ],
)
def test_require_query_accepts_one_select(sql: str) -> None:
    """One SELECT in any of its spellings passes require_query."""
    _require(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM source; COPY (SELECT 1) TO 'x.csv'",
        "SELECT 1; DROP TABLE other_stage",
        "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
        "SET threads = 1",
        "PRAGMA enable_profiling",
        "ATTACH ':memory:' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
        "COPY (SELECT 1) TO 'x.csv'",
        "EXPORT DATABASE 'somewhere'",
        "CALL checkpoint()",
        "EXPLAIN SELECT 1",
        "",
        "-- only a comment",
    ],
)
def test_require_query_refuses_everything_but_one_select(sql: str) -> None:
    """A second statement, a write, or any statement that changes settings is refused by require_query."""
    with pytest.raises(ConnectorError, match="must be one SELECT statement"):
        _require(sql)


def test_require_query_names_what_was_checked() -> None:
    """The refusal names the thing checked and DuckDB's reason when the SQL does not parse."""

    async def go() -> None:
        with Database() as db:
            await db.facade().require_query("SELECT FROM WHERE", what="stage 'x' query")

    with pytest.raises(ConnectorError, match=r"^stage 'x' query does not parse: Parser Error"):
        asyncio.run(go())
