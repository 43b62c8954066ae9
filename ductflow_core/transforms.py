"""Transform SQL is one query: scanned when the pipeline is validated, parsed by DuckDB before it runs."""

from __future__ import annotations

from collections.abc import Callable

from .errors import PipelineError
from .models import Stages, TransformStage
from .sqlscan import query_problem

#: Returns DuckDB's statement types of a SQL text (``["SELECT"]``); raises ``duckdb.Error`` when it does not parse.
StatementKinds = Callable[[str], list[str]]


def duckdb_statement_kinds() -> StatementKinds:
    """DuckDB's parser on its default connection, for checks outside a run (a run parses on its own database)."""
    from .engine import engine

    duck = engine()

    def kinds(sql: str) -> list[str]:
        return [s.type.name for s in duck.extract_statements(sql)]

    return kinds


def transform_problem(sql: str, parse: StatementKinds | None = None) -> str | None:
    """Why ``sql`` is not a single query, else ``None``.

    Without ``parse``, a lexical scan (no DuckDB import); with it, DuckDB's parser, which has the last word:
    syntax errors, and statements a scan cannot see (``WITH … INSERT``).
    """
    if parse is None:
        return query_problem(sql)
    from .engine import engine

    try:
        kinds = parse(sql)
    except engine().Error as exc:
        return str(exc).strip().splitlines()[0]
    if kinds in (["SELECT"], ["MULTI"]):
        return None
    found = ", ".join(kinds) or "nothing"
    return f"a transform is one SELECT query; found {len(kinds)} statement(s): {found}"


def check_transforms(pipeline: Stages, parse: StatementKinds | None = None) -> None:
    """Raise for the first transform whose SQL is not exactly one query (see :func:`transform_problem`)."""
    for stage in pipeline.stages:
        if isinstance(stage, TransformStage):
            problem = transform_problem(stage.sql, parse)
            if problem:
                raise PipelineError(pipeline.error_text(stage.name, ("sql",), problem))
