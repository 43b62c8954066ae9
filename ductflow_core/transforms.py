"""Transform SQL is one query: parsed (not run) when the pipeline is validated."""

from __future__ import annotations

from .errors import PipelineError
from .models import Stages, TransformStage


def transform_problem(sql: str) -> str | None:
    """Why ``sql`` is not a single query (DuckDB's parser message, or a count of statements), else ``None``."""
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        return str(exc).strip().splitlines()[0]
    kinds = [s.type.name for s in statements]
    if kinds in (["SELECT"], ["MULTI"]):
        return None
    found = ", ".join(kinds) or "nothing"
    return f"a transform is one SELECT query; found {len(kinds)} statement(s): {found}"


def check_transforms(pipeline: Stages) -> None:
    """Raise for the first transform whose SQL does not parse as exactly one query."""
    for stage in pipeline.stages:
        if isinstance(stage, TransformStage):
            problem = transform_problem(stage.sql)
            if problem:
                raise PipelineError(pipeline.error_text(stage.name, ("sql",), problem))
