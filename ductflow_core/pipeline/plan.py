"""Which stage waits for which: the dependency graph of a pipeline.

Rules, in the order a reader of a pipeline expects them:

* a sink reads ``from`` (default: the nearest table-making stage before it);
* a transform waits for every earlier stage whose table its SQL reads (DuckDB's
  parser once a run has parsed it, else :func:`ductflow_core.pipeline.sqlscan.table_refs`),
  and for ``from`` when given; reading none, it waits for the stage before it;
* an ``sql`` stage is a barrier: it waits for every stage before it, and every
  stage after it waits for it (DDL before the sinks below it, ANALYZE after
  the sinks above it);
* ``after:`` adds explicit waits to any stage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ductflow_core.errors import PipelineError, did_you_mean
from ductflow_core.models import SinkStage, SqlStage, Stage, Stages, TransformStage
from ductflow_core.pipeline import sqlscan

ErrorFactory = Callable[[tuple[Any, ...], str], PipelineError]
#: What :func:`dependencies` returned; the functions below take it so a run computes it once.
Deps = Mapping[str, set[str]]


#: DuckDB's rule for when two names are one table (ASCII case folded only); see :func:`sqlscan.name_key`.
name_key = sqlscan.name_key


def _previous_table(stages: list[Stage], index: int) -> str | None:
    for stage in reversed(stages[:index]):
        if stage.produces_table:
            return stage.name
    return None


def input_of(pipeline: Stages, stage: Stage) -> str | None:
    """The table a sink or transform reads by default: ``from``, else the nearest table before it."""
    explicit = getattr(stage, "from_", None)
    if explicit:
        return str(explicit)
    return _previous_table(pipeline.stages, pipeline.index(stage.name))


def dependencies(pipeline: Stages) -> dict[str, set[str]]:
    """``{stage: stages it waits for}`` under the rules in this module's docstring."""
    stages = pipeline.stages
    deps: dict[str, set[str]] = {s.name: set(s.after) for s in stages}
    lowered = {name_key(s.name): s.name for s in stages}
    barrier: str | None = None
    since_barrier: list[Stage] = []
    for i, stage in enumerate(stages):
        mine = deps[stage.name]
        if isinstance(stage, SinkStage):
            source = input_of(pipeline, stage)
            if source:
                mine.add(source)
        elif isinstance(stage, TransformStage):
            found = _transform_reads(stages, i, stage, lowered)
            if not found and i > 0:
                found.add(stages[i - 1].name)
            mine |= found
        if barrier is not None:
            mine.add(barrier)
        if isinstance(stage, SqlStage):
            # Waiting for the stages since the previous barrier covers the rest through it.
            mine.update(s.name for s in since_barrier)
            barrier, since_barrier = stage.name, []
        else:
            since_barrier.append(stage)
    return deps


#: Table references DuckDB's parser gave for a transform's SQL text, by text: filled once the run's DuckDB
#: has parsed it (see :func:`learn_refs`); a text not in it is read by the lexical scan. The parse of a
#: text is the same whenever it is made, so the map needs no clearing.
_PARSED: dict[str, frozenset[sqlscan.TableRef]] = {}

#: Schemas whose tables are not the run's own, even under a bare catalog-like qualifier.
_SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog"})
#: Schemas whose tables a bare name may mean: stages make their tables in ``main``.
_STAGE_SCHEMAS = frozenset({"", "main"})


def learn_refs(sql: str, refs: frozenset[sqlscan.TableRef]) -> None:
    """Record DuckDB's parse of ``sql`` (see :func:`parsed_table_refs`): the dependency rules use it from now on."""
    _PARSED[sql] = refs


def parser_disagrees(pipeline: Stages) -> bool:
    """Whether DuckDB's parse of some transform (see :func:`learn_refs`) reads other stages than the scan said.

    A plan made before the parse (from the scan) must then be made again; usually the two agree.
    """
    for stage in pipeline.stages:
        if isinstance(stage, TransformStage) and stage.sql in _PARSED:
            scanned = frozenset(name_key(ref[2]) for ref in sqlscan.table_refs(stage.sql) if _may_be_stage(ref))
            if scanned != _read_keys(stage.sql):
                return True
    return False


def _may_be_stage(ref: sqlscan.TableRef) -> bool:
    """Whether a reference can mean a stage's table: in ``main``, or under a qualifier that may be the run's catalog."""
    catalog, schema, _ = ref
    folded = name_key(schema)
    return folded in _STAGE_SCHEMAS or (not catalog and folded not in _SYSTEM_SCHEMAS)


def _read_keys(sql: str) -> frozenset[str]:
    """:func:`name_key` of every table ``sql`` reads that can be a stage's: DuckDB's parse when known, else the scan."""
    refs = _PARSED.get(sql)
    if refs is None:
        refs = sqlscan.table_refs(sql)
    return frozenset(name_key(ref[2]) for ref in refs if _may_be_stage(ref))


def _transform_reads(stages: list[Stage], index: int, stage: TransformStage, lowered: dict[str, str]) -> set[str]:
    """The earlier stages a transform's SQL reads as tables (see :func:`_read_keys`), and its ``from``."""
    earlier = {s.name for s in stages[:index]}
    found = {lowered[k] for k in _read_keys(stage.sql) if k in lowered and lowered[k] in earlier}
    if stage.from_:
        found.add(stage.from_)
    return found


def consumers(pipeline: Stages, running: Iterable[str] | None = None) -> dict[str, set[str]]:
    """``{stage: stages that read its table}``, among the stages ``running`` (default: all).

    Only a sink's input and what a transform's SQL names (or its ``from``) count as reading; ordering alone
    (``after:``, ``sql`` barriers, the wait on the stage above) does not. Counting a reader that never
    reads would leave a stream unread and its table missing; one not counted only costs a table.
    """
    stages = pipeline.stages
    among = {s.name for s in stages} if running is None else set(running)
    readers: dict[str, set[str]] = {s.name: set() for s in stages}
    lowered = {name_key(s.name): s.name for s in stages}
    for i, stage in enumerate(stages):
        if stage.name not in among:
            continue
        reads: set[str] = set()
        if isinstance(stage, SinkStage):
            source = input_of(pipeline, stage)
            reads = {source} if source else set()
        elif isinstance(stage, TransformStage):
            reads = _transform_reads(stages, i, stage, lowered)
        for name in reads:
            readers[name].add(stage.name)
    return readers


#: Views a stage may stack on before it is made a table anyway. DuckDB binds the whole chain again for each
#: view created over it, so a chain costs time quadratic in its length (measured in docs/performance.md).
#: Long chains over large data are rare, and a table every 8 stages is a small price there.
VIEW_CHAIN_LIMIT = 8


def materialization(
    pipeline: Stages, readers: dict[str, set[str]] | None = None, *, deps: Deps | None = None
) -> dict[str, bool]:
    """``{stage: makes a TABLE}`` for every tap and transform; ``False`` means a lazy VIEW.

    ``materialize:`` decides when given. Otherwise a stage read by exactly one
    other stage, and not shown, stays a view: its data then flows straight
    from the source into its reader, read once, never held whole. A stage
    read twice, read by nobody (its table is the result), shown, read by a
    sink that is shown, or stacked on :data:`VIEW_CHAIN_LIMIT` views is a table.
    """
    readers = consumers(pipeline) if readers is None else readers
    deps = dependencies(pipeline) if deps is None else deps
    by_name = {s.name: s for s in pipeline.stages}
    tables: dict[str, bool] = {}
    depth: dict[str, int] = {}
    for name in order(pipeline, deps=deps):
        stage = by_name[name]
        if not stage.produces_table:
            continue
        explicit = getattr(stage, "materialize", None)
        below = max((depth[d] for d in deps[name] if d in depth), default=0)
        if explicit is not None:
            table = bool(explicit)
        else:
            # A sink's show: reads its input again after writing it.
            shown_again = any(isinstance(by_name[r], SinkStage) and by_name[r].show for r in readers[name])
            table = bool(stage.show) or shown_again or len(readers[name]) != 1 or below >= VIEW_CHAIN_LIMIT
        tables[name] = table
        depth[name] = 0 if table else below + 1
    return tables


def check_references(
    pipeline: Stages, error: ErrorFactory, report: Callable[[PipelineError, tuple[Any, ...]], None] | None = None
) -> None:
    """Refuse a duplicate name, a ``from``/``after`` naming nothing or no table, a sink with no input, a cycle.

    Without ``report`` the first problem is raised. With it, each stage's first problem is handed to
    ``report`` (the error and its key path) and the stages after it are checked too; the cycle check,
    which needs every reference sound, runs only when none was found.
    """
    failed = False

    def fail(path: tuple[Any, ...], message: str) -> None:
        nonlocal failed
        problem = error(path, message)
        if report is None:
            raise problem
        failed = True
        report(problem, path)

    seen: dict[str, int] = {}
    for i, stage in enumerate(pipeline.stages):
        # DuckDB table names ignore ASCII case: `orders` and `Orders` would be one table.
        key = name_key(stage.name)
        if key in seen:
            other = pipeline.stages[seen[key]].name
            first = pipeline.lines.get(("stages", seen[key], "name"))
            same = "" if other == stage.name else f" (DuckDB's table names ignore case: it clashes with {other!r})"
            message = f"duplicate stage name {stage.name!r}{same}; the first is at {pipeline.source}:{first}"
            fail(("stages", i, "name"), message)
            continue
        seen[key] = i
    by_name = {s.name: s for s in pipeline.stages}
    for i, stage in enumerate(pipeline.stages):
        found = _reference_problem(pipeline, by_name, stage, i)
        if found is not None:
            fail(*found)
    if not failed:
        order(pipeline, error)


def _reference_problem(
    pipeline: Stages, by_name: dict[str, Stage], stage: Stage, i: int
) -> tuple[tuple[Any, ...], str] | None:
    """The first problem of one stage's ``from``, input and ``after``, as ``(key path, message)``."""
    source = getattr(stage, "from_", None)
    if source is not None:
        if source not in by_name:
            return ("stages", i, "from"), _no_stage(source, by_name)
        if not by_name[source].produces_table:
            return ("stages", i, "from"), f"stage {source!r} is a {by_name[source].kind} stage and makes no table"
        if source == stage.name:
            return ("stages", i, "from"), "a stage cannot read its own output"
    elif isinstance(stage, SinkStage) and _previous_table(pipeline.stages, i) is None:
        return ("stages", i), "a sink needs an input: no tap or transform comes before it (or set 'from')"
    for j, name in enumerate(stage.after):
        if name not in by_name:
            return ("stages", i, "after", j), _no_stage(name, by_name)
        if name == stage.name:
            return ("stages", i, "after", j), "a stage cannot wait for itself"
    return None


def _no_stage(name: str, by_name: dict[str, Stage]) -> str:
    return f"no stage is called {name!r}{did_you_mean(name, by_name)}"


def order(pipeline: Stages, error: ErrorFactory | None = None, *, deps: Deps | None = None) -> list[str]:
    """Stage names in an order that respects every dependency; raise on a cycle."""
    deps = dependencies(pipeline) if deps is None else deps
    done: list[str] = []
    state: dict[str, int] = {}
    file_order = [s.name for s in pipeline.stages]

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*trail[trail.index(name) :], name]
            message = "stages depend on each other in a cycle: " + " -> ".join(cycle)
            if error is None:
                raise PipelineError(message, source=pipeline.source)
            raise error(_blame(pipeline, cycle[0], cycle[1]), message)
        state[name] = 1
        for dep in sorted(deps[name], key=file_order.index):
            visit(dep, [*trail, name])
        state[name] = 2
        done.append(name)

    for name in file_order:
        visit(name, [])
    return done


def _blame(pipeline: Stages, stage_name: str, waits_for: str) -> tuple[str | int, ...]:
    """The key that makes ``stage_name`` wait for ``waits_for``: an ``after`` entry, ``from``, ``sql``, or the stage."""
    index = pipeline.index(stage_name)
    stage = pipeline.stages[index]
    if waits_for in stage.after:
        return ("stages", index, "after", stage.after.index(waits_for))
    if getattr(stage, "from_", None) == waits_for:
        return ("stages", index, "from")
    if isinstance(stage, TransformStage):
        return ("stages", index, "sql")
    return ("stages", index)


def dependents(pipeline: Stages, name: str, *, deps: Deps | None = None) -> set[str]:
    """The stages that wait for ``name``, directly or not (not ``name`` itself)."""
    deps = dependencies(pipeline) if deps is None else deps
    waiting: set[str] = set()
    changed = True
    while changed:
        changed = False
        for stage, needs in deps.items():
            if stage not in waiting and stage != name and (name in needs or needs & waiting):
                waiting.add(stage)
                changed = True
    return waiting


def select(pipeline: Stages, names: Iterable[str], *, deps: Deps | None = None) -> set[str]:
    """The named stages and every stage they depend on, directly or not."""
    deps = dependencies(pipeline) if deps is None else deps
    wanted: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted.add(name)
        todo.extend(deps[name])
    return wanted


def parsed_table_refs(tree: object) -> frozenset[sqlscan.TableRef]:
    """The tables a query reads, from DuckDB's syntax tree (``json_serialize_sql``, decoded).

    Every ``BASE_TABLE`` reference, less a bare name that a ``WITH`` in scope defines: a CTE sees
    the ones before it (and itself in ``WITH RECURSIVE``), the query all of them. Table functions
    are ``TABLE_FUNCTION`` nodes and so are not counted.
    """
    found: set[sqlscan.TableRef] = set()
    _walk_tree(tree, frozenset(), found)
    return frozenset(found)


def _walk_tree(node: object, shadow: frozenset[str], found: set[sqlscan.TableRef]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk_tree(item, shadow, found)
        return
    if not isinstance(node, dict):
        return
    entries = node.get("cte_map", {}).get("map", []) if isinstance(node.get("cte_map"), dict) else []
    names = [str(e.get("key", "")) for e in entries]
    for index, entry in enumerate(entries):
        body = entry.get("value", {}).get("query_node")
        recursive = isinstance(body, dict) and body.get("type") == "RECURSIVE_CTE_NODE"
        seen = names[: index + 1] if recursive else names[:index]
        _walk_tree(body, shadow | {name_key(n) for n in seen}, found)
    shadow = shadow | {name_key(n) for n in names}
    if node.get("type") == "BASE_TABLE" and isinstance(node.get("table_name"), str):
        catalog, schema, table = (str(node.get(k) or "") for k in ("catalog_name", "schema_name", "table_name"))
        if catalog or schema or name_key(table) not in shadow:
            found.add((catalog, schema, table))
    for key, value in node.items():
        if key != "cte_map":
            _walk_tree(value, shadow, found)


def unknown_tables(
    pipeline: Stages, refs: Callable[[str], frozenset[sqlscan.TableRef]] = sqlscan.table_refs
) -> list[tuple[str, str]]:
    """``(stage, table)`` for each table a transform reads that no tap or transform makes.

    Only names that can mean a table of the run's own schema count: bare or ``main.``-qualified, not
    a file (``'a.csv'``, a name with ``.`` or ``/``). DuckDB's own catalog tables (``duckdb_tables``,
    ``pg_tables``) and those of the ``database:`` file are still in the list: the caller asks DuckDB.
    """
    made = {name_key(s.name) for s in pipeline.stages if s.produces_table}
    found: list[tuple[str, str]] = []
    for stage in pipeline.stages:
        if not isinstance(stage, TransformStage):
            continue
        for catalog, schema, table in sorted(refs(stage.sql)):
            if catalog or name_key(schema) not in _STAGE_SCHEMAS or "." in table or "/" in table:
                continue
            if name_key(table) not in made and (stage.name, table) not in found:
                found.append((stage.name, table))
    return found


def check_tables(pipeline: Stages, unknown: list[tuple[str, str]]) -> None:
    """Raise for the first ``(stage, table)`` of ``unknown`` (see :func:`unknown_tables`), at its ``sql:``."""
    if not unknown:
        return
    stage, table = unknown[0]
    makers = [s.name for s in pipeline.stages if s.produces_table]
    message = f"reads table {table!r}, which no stage makes and DuckDB does not have{did_you_mean(table, makers)}"
    raise pipeline.error(stage, ("sql",), message)


def parse_refs(serialize: Callable[[str], str], sql: str) -> frozenset[sqlscan.TableRef] | None:
    """The tables ``sql`` reads, from DuckDB's parser through ``serialize`` (``json_serialize_sql``).

    ``None`` where DuckDB gives no tree: a statement that is not a plain SELECT (a ``PIVOT`` without
    ``IN``), or a syntax error.
    """
    import json

    try:
        tree = json.loads(serialize(sql))
    except Exception:  # no tree: DuckDB's error, or not JSON
        return None
    if not isinstance(tree, dict) or tree.get("error"):
        return None
    return parsed_table_refs(tree)


def parser_refs(serialize: Callable[[str], str]) -> Callable[[str], frozenset[sqlscan.TableRef]]:
    """:func:`parse_refs` through ``serialize``, the lexical scan where DuckDB gives no tree."""

    def refs(sql: str) -> frozenset[sqlscan.TableRef]:
        parsed = parse_refs(serialize, sql)
        return sqlscan.table_refs(sql) if parsed is None else parsed

    return refs
