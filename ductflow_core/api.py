"""Load, validate and run pipelines from Python; the CLI is a thin layer over this."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

from ductflow_core.duck.transforms import check_transforms, duckdb_serialize, duckdb_statement_kinds
from ductflow_core.errors import PipelineError, did_you_mean, first_line
from ductflow_core.models import Stages
from ductflow_core.plugin.registry import Registry, default_registry
from ductflow_core.plugin.resolve import Resolved, resolve_pipeline

if TYPE_CHECKING:
    from ductflow_core.duck.database import Database
    from ductflow_core.duck.open import Opening
    from ductflow_core.pipeline.sandbox import RunSandbox
    from ductflow_core.run.context import StageResult
    from ductflow_core.run.output import Output


def load(path_or_text: str | Path) -> Stages:
    """Load a pipeline file (or YAML text); see :meth:`Stages.load`."""
    return Stages.load(path_or_text)


def validate(
    pipeline: Stages,
    *,
    registry: Registry | None = None,
    stages: Iterable[str] | None = None,
    parse_sql: bool = True,
) -> dict[str, Resolved]:
    """Check ``requires:``, resolve every connection and check its params, without running anything.

    Transform SQL must be one query: with ``parse_sql`` (the default) DuckDB parses it, which imports
    DuckDB; without, a lexical scan checks it. ``ductflow validate`` scans unless asked to parse
    (``--parse-sql``), to stay fast; a run always parses before any stage starts.
    """
    from ductflow_core.pipeline.requirements import check_requirements

    check_requirements(pipeline)
    if parse_sql:
        check_transforms(pipeline, duckdb_statement_kinds(), duckdb_serialize())
    else:
        check_transforms(pipeline)
    return _resolve(pipeline, registry, stages)


def _resolve(
    pipeline: Stages,
    registry: Registry | None,
    stages: Iterable[str] | None,
    *,
    deps: Mapping[str, set[str]] | None = None,
    database: str | None = None,
) -> dict[str, Resolved]:
    from ductflow_core.pipeline import plan

    names = None
    if stages is not None:
        stages = list(stages)
        known = [s.name for s in pipeline.stages]
        for name in stages:
            if name not in known:
                hint = _stage_hint(pipeline, name, known)
                raise PipelineError(f"no stage is called {name!r}{hint}", source=pipeline.source)
        names = plan.select(pipeline, stages, deps=deps)
    registry = registry or default_registry()
    if registry.policy.strict:
        # Strict: a broken connection plugin is an error even when no stage of this pipeline uses it.
        registry.check_connections()
    return resolve_pipeline(pipeline, registry, names, deps=deps, database=database)


def _stage_hint(pipeline: Stages, name: str, known: list[str]) -> str:
    """The closest stage name, or else every stage name (masked: a name may come from ``${VAR}``)."""
    from ductflow_core.run.output import mask_secrets

    return did_you_mean(name, known) or "; the stages are: " + mask_secrets(", ".join(known), pipeline.secrets)


def database_path(pipeline: Stages, override: str | None = None) -> str | None:
    """The DuckDB file of a run: ``override`` as given, else ``database:`` relative to the pipeline's folder."""
    if override:
        return override
    if pipeline.settings.database:
        path = Path(pipeline.settings.database)
        return str(path if path.is_absolute() else pipeline.base_dir / path)
    return None


def open_database(pipeline: Stages, override: str | None = None, *, plugins_only: bool = False) -> Database:
    """Open the run's DuckDB database with the pipeline's settings and sandbox.

    The sandbox is resolved by real paths (see :mod:`ductflow_core.pipeline.sandbox`) and its folders are searched for
    symlinks leading outside it before the database opens.

    :param plugins_only: the run uses installed plugins only: its SQL may not install or load DuckDB
        extensions either.
    """
    return _open_database(pipeline, override, None, plugins_only=plugins_only)


def _open_database(
    pipeline: Stages, override: str | None, opening: Opening | None, *, plugins_only: bool
) -> Database:
    """:func:`open_database`, taking the connection from ``opening`` (see :func:`.session.start_database`)."""
    from ductflow_core.duck.database import Database

    sandbox = run_sandbox(pipeline)
    try:
        path = database_path(pipeline, override)
        connection = opening.result() if opening is not None else None
        return Database(
            path, pipeline.settings.duckdb, connection=connection, sandbox=sandbox, extensions=not plugins_only
        )
    except PipelineError as exc:
        key = _blamed_setting(pipeline, exc)
        message = exc.message if exc.key_path[:1] == ("duckdb",) else str(exc)
        raise PipelineError(message, source=pipeline.source, line=_line(pipeline, key), key_path=key) from exc


def run_sandbox(pipeline: Stages) -> RunSandbox | None:
    """The pipeline's ``sandbox:`` by real paths, checked for entries and symlinks that lead outside it.

    :raises PipelineError: naming the ``sandbox:`` line at fault.
    """
    from ductflow_core.pipeline.sandbox import escaping_link, real, resolve

    settings = pipeline.settings.sandbox
    if settings is None:
        return None
    where = {
        (key, index): _where(pipeline, ("sandbox", key, index))
        for key, entries in (
            ("allowed_directories", settings.allowed_directories),
            ("allowed_paths", settings.allowed_paths),
        )
        for index in range(len(entries))
    }
    hidden = frozenset(place for place in where if ("sandbox", *place) in pipeline.secret_paths)
    sandbox = resolve(pipeline.base_dir, settings.allowed_directories, settings.allowed_paths, where, hidden)
    try:
        escape = escaping_link(sandbox)
    except PipelineError as exc:
        line = _line(pipeline, ("sandbox", "allowed_directories"))
        raise PipelineError(exc.message, source=pipeline.source, line=line) from None
    if escape is not None:
        link, target = escape
        holders = [
            i
            for i, entry in enumerate(settings.allowed_directories)
            if link.startswith(real(pipeline.base_dir / entry).rstrip("/") + "/")
        ]
        key: tuple[str | int, ...] = ("sandbox", "allowed_directories", *holders[:1])
        raise PipelineError(
            f"{link} is a symlink to {target}; remove the link or allow its target",
            source=pipeline.source,
            line=_line(pipeline, key),
            key_path=("sandbox", "allowed_directories"),
        )
    return sandbox


def _where(pipeline: Stages, key: tuple[str | int, ...]) -> str:
    """``file:line`` of ``key`` (or of the nearest key above it that has a line)."""
    line = _line(pipeline, key)
    return f"{pipeline.source}:{line}" if line else pipeline.source


def _line(pipeline: Stages, key: tuple[str | int, ...]) -> int | None:
    """The line of ``key``, or of the nearest key above it that has one; never the whole file's."""
    for depth in range(len(key), 0, -1):
        line = pipeline.lines.get(key[:depth])
        if line:
            return line
    return None


def _blamed_setting(pipeline: Stages, exc: PipelineError) -> tuple[str, ...]:
    """The ``duckdb.<option>`` (or ``duckdb``, ``sandbox``, ``database``) that DuckDB refused on open."""
    from ductflow_core.duck.open import DEFAULT_SETTINGS, connect

    options = dict(pipeline.settings.duckdb)
    if exc.key_path[:1] == ("sandbox",):
        return ("duckdb",) if options else ("sandbox",)
    if exc.key_path[:1] == ("duckdb",):  # a setting kept Ductflow from configuring DuckDB
        return ("duckdb", "lock_configuration") if "lock_configuration" in options else ("duckdb",)
    if not options:
        return ("database",)
    cause = str(exc.__cause__ or "").strip()
    unknown = _UNRECOGNIZED.search(cause)
    if unknown:
        names = [n.strip() for n in unknown.group(1).split(",")]
        named = [n for n in options if n in names or n.lower() in (m.lower() for m in names)]
        if named:
            return ("duckdb", named[0])
    # DuckDB's message rarely names the option: try each one alone to find the one it refuses.
    first = first_line(cause)
    refused: list[str] = []
    for name, value in options.items():
        try:
            connect(None, {**{k: v for k, v in DEFAULT_SETTINGS.items() if k != name}, name: value}).close()
        except PipelineError as alone:
            if not first or first_line(str(alone.__cause__ or "")) == first:
                refused.append(name)
    if len(refused) == 1:
        return ("duckdb", refused[0])
    return ("duckdb",) if "option" in first or refused else ("database",)


_UNRECOGNIZED = re.compile(r"options were not recognized: ([^\n]+)")


async def arun(
    pipeline: Stages,
    *,
    database: str | None = None,
    stages: Iterable[str] | None = None,
    pm: pluggy.PluginManager | None = None,
    output: Output | None = None,
    registry: Registry | None = None,
) -> list[StageResult]:
    """Run ``pipeline`` (or the named ``stages`` and what they need); return one result per stage.

    The run is built by :func:`ductflow_core.run.session.open_run`, as every command's is.
    """
    from ductflow_core.run.session import run_all

    return await run_all(pipeline, database=database, stages=stages, pm=pm, output=output, registry=registry)


def run(pipeline: Stages | str | Path, **kwargs: object) -> list[StageResult]:
    """Load (when given a path or text) and run a pipeline; see :func:`arun`."""
    import asyncio

    if not isinstance(pipeline, Stages):
        pipeline = load(pipeline)
    return asyncio.run(arun(pipeline, **kwargs))  # type: ignore[arg-type]
