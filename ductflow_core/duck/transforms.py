"""Transform SQL is one query: scanned when the pipeline is validated, parsed by DuckDB before it runs.

What DuckDB's parser says decides (:func:`query_problem`), for transforms and for tap queries alike:

* exactly one statement, of kind ``SELECT``. A transform may also be DuckDB's ``MULTI``, which is what a
  ``PIVOT`` without ``IN (…)`` parses as (DuckDB runs a ``CREATE TYPE … AS ENUM`` of the pivoted values
  first), but only when it also parses as a subquery: ``ALTER TABLE … ADD COLUMN … DEFAULT …`` is a
  ``MULTI`` too (an ALTER, an UPDATE and an ALTER) and cannot be one.
* no call of a function that changes settings or state, the table-function form of ``CALL``
  (``SELECT * FROM enable_profiling()``), nor one that runs SQL text the check cannot see (``query('…')``).
"""

from __future__ import annotations

from collections.abc import Callable

from ductflow_core.errors import first_line
from ductflow_core.models import Stages, TransformStage
from ductflow_core.pipeline.sqlscan import query_problem as lexical_problem
from ductflow_core.pipeline.sqlscan import tokens, without_trailing_semicolons

#: Returns DuckDB's statement types of a SQL text (``["SELECT"]``); raises ``duckdb.Error`` when it does not parse.
StatementKinds = Callable[[str], list[str]]
#: Returns DuckDB's ``json_serialize_sql`` of a SQL text (a JSON document).
Serialize = Callable[[str], str]

#: Functions a query may not call: they change settings or the database's state, or run SQL text.
FORBIDDEN_FUNCTIONS = frozenset(
    {
        "add_grammar_extension",
        "checkpoint",
        "create_external_resource",
        "deregister_external_resource",
        "destroy_external_resource",
        "disable_logging",
        "disable_profiling",
        "enable_logging",
        "enable_profiling",
        "force_checkpoint",
        "json_execute_serialized_sql",
        "query",
        "nextval",
        "query_table",
        "register_external_resource",
        "register_external_resource_type",
        "remove_grammar_extension",
        "setseed",
        "setval",
        "truncate_duckdb_logs",
        "write_log",
    }
)


def duckdb_statement_kinds() -> StatementKinds:
    """DuckDB's parser on its default connection, for checks outside a run (a run parses on its own database)."""
    from ductflow_core.duck.engine import engine

    duck = engine()

    def kinds(sql: str) -> list[str]:
        return [s.type.name for s in duck.extract_statements(sql)]

    return kinds


def duckdb_serialize() -> Serialize:
    """``json_serialize_sql`` on DuckDB's default connection, for checks outside a run."""
    from ductflow_core.duck.engine import engine

    duck = engine()

    def serialize(sql: str) -> str:
        return str(duck.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0])

    return serialize


def existing_tables(names: list[str], database: str | None) -> set[str]:
    """Those of ``names`` that DuckDB finds without any stage: its catalog views, or tables of ``database``.

    ``database`` is opened read-only when it exists; when DuckDB cannot open it (another process holds
    it), every name is taken as existing, as nothing certain can be said.
    """
    import os

    from ductflow_core.duck.engine import engine
    from ductflow_core.pipeline.plan import name_key

    duck = engine()
    query = (
        "SELECT table_name FROM duckdb_tables() WHERE schema_name IN ('main', 'pg_catalog') "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE schema_name IN ('main', 'pg_catalog')"
    )
    present: set[str] = set()
    con = duck.connect(":memory:")
    try:
        present |= {name_key(row[0]) for row in con.execute(query).fetchall()}
    finally:
        con.close()
    if database is not None and os.path.exists(database):
        try:
            con = duck.connect(database, read_only=True)
        except duck.Error:
            return set(names)
        try:
            present |= {name_key(row[0]) for row in con.execute(query).fetchall()}
        finally:
            con.close()
    return {n for n in names if name_key(n) in present}


def _mentions_forbidden(sql: str) -> bool:
    # A function is called by its name, spelled in the text (DuckDB has no escapes in identifiers):
    # text naming none of them needs no syntax tree.
    lowered = sql.lower()
    return any(name in lowered for name in FORBIDDEN_FUNCTIONS)


def _function_names(tree: object, found: set[str]) -> set[str]:
    if isinstance(tree, dict):
        name = tree.get("function_name")
        if isinstance(name, str):
            found.add(name.lower())
        for value in tree.values():
            _function_names(value, found)
    elif isinstance(tree, list):
        for value in tree:
            _function_names(value, found)
    return found


def lexical_calls(sql: str) -> list[str]:
    """The forbidden functions a lexical scan sees called in ``sql`` (a name, then ``(``): a quick early warning."""
    found: set[str] = set()
    previous = ""
    for text, quoted in tokens(sql):
        if text == "(" and not quoted and previous in FORBIDDEN_FUNCTIONS:
            found.add(previous)
        previous = text.lower()
    return sorted(found)


def forbidden_calls(sql: str, serialize: Serialize | None) -> list[str]:
    """The forbidden functions ``sql`` (one SELECT) calls, from DuckDB's syntax tree; all it names without one."""
    if not _mentions_forbidden(sql):
        return []
    mentioned = sorted(name for name in FORBIDDEN_FUNCTIONS if name in sql.lower())
    if serialize is None:
        return mentioned
    import json

    try:
        tree = json.loads(serialize(sql))
    except Exception:  # no tree to read: refuse what the text names
        return mentioned
    if not isinstance(tree, dict) or tree.get("error"):
        return mentioned
    return sorted(_function_names(tree, set()) & FORBIDDEN_FUNCTIONS)


def _calls_problem(what: str, calls: list[str]) -> str:
    return f"{what} may not call {', '.join(calls)}: it changes DuckDB's settings or state, or runs SQL text"


def query_problem(
    sql: str,
    kinds: list[str],
    serialize: Serialize | None,
    *,
    what: str = "a transform",
    pivot: StatementKinds | None = None,
) -> str | None:
    """Why ``sql``, whose DuckDB statement kinds are ``kinds``, is not one read-only query, else ``None``.

    :param pivot: DuckDB's parser, to accept a ``MULTI`` that is a ``PIVOT`` (see the module's doc);
        without it only ``SELECT`` is accepted.
    """
    if kinds == ["MULTI"] and pivot is not None:
        from ductflow_core.duck.engine import engine

        try:
            wrapped = pivot(f"SELECT * FROM (\n{without_trailing_semicolons(sql)}\n)")
        except engine().Error:
            wrapped = []
        if len(wrapped) != 1:
            return f"{what} is one SELECT query; this one parses as several statements DuckDB runs in turn (MULTI)"
    elif kinds != ["SELECT"]:
        found = ", ".join(kinds) or "nothing"
        return f"{what} is one SELECT query; found {len(kinds)} statement(s): {found}"
    calls = forbidden_calls(sql, serialize if kinds == ["SELECT"] else None)
    if calls:
        problem = _calls_problem(what, calls)
        if kinds == ["MULTI"]:
            # DuckDB gives no syntax tree of a MULTI: the text names the function, which may be a column's name.
            problem += "; if it does not, list the PIVOT's values with IN (…) to make it a query DuckDB can check"
        return problem
    return None


def transform_problem(sql: str, parse: StatementKinds | None = None, serialize: Serialize | None = None) -> str | None:
    """Why ``sql`` is not a single read-only query, else ``None``.

    Without ``parse``, a lexical scan (no DuckDB import); with it, DuckDB's parser, which has the last word:
    syntax errors, and statements a scan cannot see (``WITH … INSERT``).
    """
    if parse is None:
        problem = lexical_problem(sql)
        calls = lexical_calls(sql) if problem is None else []
        return _calls_problem("a transform", calls) if calls else problem
    from ductflow_core.duck.engine import engine

    try:
        kinds = parse(sql)
    except engine().Error as exc:
        return first_line(exc)
    return query_problem(sql, kinds, serialize, pivot=parse)


def check_transforms(
    pipeline: Stages,
    parse: StatementKinds | None = None,
    serialize: Serialize | None = None,
    serialize_all: Callable[[list[str]], list[str]] | None = None,
) -> None:
    """Raise for the first transform whose SQL is not exactly one read-only query (see :func:`transform_problem`).

    With ``serialize``, each transform's table references are also taken from DuckDB's parser and
    recorded for the dependency rules (:func:`ductflow_core.pipeline.plan.learn_refs`). ``serialize_all``, when
    given, serializes every transform in one call instead of one query per transform.
    """
    if serialize is not None:
        trees: dict[str, str] = {}
        if serialize_all is not None:
            sqls = list(dict.fromkeys(s.sql for s in pipeline.stages if isinstance(s, TransformStage)))
            trees = dict(zip(sqls, serialize_all(sqls), strict=True))
        one = serialize

        def cached(sql: str) -> str:
            if sql not in trees:
                trees[sql] = one(sql)
            return trees[sql]

        serialize = cached
    for stage in pipeline.stages:
        if isinstance(stage, TransformStage):
            problem = transform_problem(stage.sql, parse, serialize)
            if problem:
                raise pipeline.error(stage.name, ("sql",), problem)
            if serialize is not None:
                from ductflow_core.pipeline import plan

                refs = plan.parse_refs(serialize, stage.sql)
                if refs is not None:
                    plan.learn_refs(stage.sql, refs)
