"""Tap queries and transform SQL are one read-only statement, as DuckDB's own parser sees them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from ductflow_core import api
from ductflow_core.duck.database import Database
from ductflow_core.errors import ConnectorError, PipelineError
from ductflow_core.testing import RunOutcome


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


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM enable_profiling()",
        'SELECT * FROM main."Enable_Logging"()',
        "SELECT 1 AS x WHERE 1 IN (SELECT 1 FROM checkpoint())",
        "SELECT * FROM query('SELECT 1')",
        "FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))",
        "SELECT setval('s', 1000000) AS v",
        "SELECT nextval('s') AS v",
        "SELECT setseed(0.5) AS v",
        "SELECT write_log('x') AS v",
    ],
)
def test_require_query_refuses_functions_that_change_settings(sql: str) -> None:
    """A SELECT calling a function that changes settings or state, or runs SQL text, is refused by require_query."""
    with pytest.raises(ConnectorError, match="may not call"):
        _require(sql)


def test_a_function_name_in_a_string_is_not_a_call() -> None:
    """A forbidden function's name inside a string literal or column alias is no call; DuckDB's tree decides."""
    _require("SELECT 'enable_profiling()' AS checkpoint")


Run = Callable[..., RunOutcome]
BASE = "- {name: a, kind: transform, sql: 'SELECT 1 AS k, 2 AS v'}\n"


def test_a_pivot_without_in_runs_as_a_transform(ductflow_run: Run) -> None:
    """PIVOT without IN (DuckDB's MULTI: an ENUM type, then the query) is accepted and runs."""
    outcome = ductflow_run(BASE + "- {name: p, kind: transform, sql: PIVOT a ON k USING sum(v)}\n")
    assert outcome.rows('SELECT "1" FROM p') == [(2,)]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("ALTER TABLE a ADD COLUMN c INT DEFAULT random()", "parses as several statements DuckDB runs in turn"),
        ("SELECT * FROM enable_profiling()", "may not call enable_profiling"),
        ("SELECT * FROM query('SELECT 1')", "may not call query"),
        ("WITH x AS (SELECT 1) INSERT INTO a SELECT * FROM x", "found 1 statement\\(s\\): INSERT"),
        ("SET threads = 1", "found 1 statement\\(s\\): SET"),
        ("CALL checkpoint()", "found 1 statement\\(s\\): CALL"),
    ],
)
def test_a_transform_cannot_smuggle_a_write_or_a_setting(ductflow_run: Run, sql: str, message: str) -> None:
    """A transform that is a write, a MULTI that is no PIVOT, or calls a settings function is refused before the run."""
    with pytest.raises(PipelineError, match=rf"stage 't': sql: a transform .*{message}"):
        ductflow_run(BASE + f"- name: t\n  kind: transform\n  sql: {sql!r}\n")


def test_a_pivot_hiding_a_settings_call_is_refused(ductflow_run: Run) -> None:
    """A PIVOT (no syntax tree to read) whose text names a settings function is refused."""
    with pytest.raises(PipelineError, match="may not call enable_logging"):
        ductflow_run(BASE + "- {name: t, kind: transform, sql: 'PIVOT (SELECT * FROM enable_logging()) ON k'}\n")


def test_validate_without_duckdb_refuses_a_settings_call(ductflow_run: Run, ductflow_project: Path) -> None:
    """The lexical check of validate also refuses a transform naming a settings function."""
    path = ductflow_project / "p.yaml"
    path.write_text(BASE + "- {name: t, kind: transform, sql: SELECT * FROM enable_profiling()}\n")
    with pytest.raises(PipelineError, match="may not call enable_profiling"):
        api.validate(api.load(path), parse_sql=False)


def test_names_that_merely_contain_a_forbidden_name_are_fine(ductflow_run: Run) -> None:
    """Columns such as query_count or a table called checkpoints pass both validate's scan and the run's check."""
    text = BASE + "- {name: t, kind: transform, sql: 'SELECT k AS query_count, v AS checkpoints FROM a'}\n"
    api.validate(api.load(text), parse_sql=False)
    assert ductflow_run(text).rows("SELECT query_count, checkpoints FROM t") == [(1, 2)]
