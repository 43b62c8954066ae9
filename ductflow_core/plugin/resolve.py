"""Find every stage's connection class and check its params, before anything runs."""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ductflow_core.connection import implements, not_implemented_message
from ductflow_core.errors import ConnectorError, PluginError
from ductflow_core.models import CustomConnection, Stage, Stages
from ductflow_core.params import ParamsInvalid, Role, check_params
from ductflow_core.pipeline.where import also_wrong
from ductflow_core.plugin.registry import Registry, import_class

if TYPE_CHECKING:
    from ductflow_core.connection import Connection
    from ductflow_core.duck.database import StageDatabase


@attrs.frozen
class Resolved:
    """A stage's connection class and its params, already checked against the class.

    ``role`` is the kind of stage (``tap``, ``sink`` or ``sql``); ``resources`` is what the class's
    ``resources()`` said the stage reads or writes.
    """

    cls: type[Any]
    params: dict[str, Any]
    spec: CustomConnection
    role: Role | None = None
    resources: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``module.Class``, for messages."""
        return f"{self.cls.__module__}.{self.cls.__qualname__}"

    def create(
        self, name: str, *, c: StageDatabase | None, base_dir: Path, materialize: bool | None = None
    ) -> Connection:
        """An instance for stage ``name``, with the stage's params, config and fields (its ``init()`` runs here)."""
        return self.cls.create(
            name=name,
            c=c,
            params=self.params,
            config=self.spec.config,
            fields=self.spec.fields,
            locator=self.spec.locator,
            materialize=materialize,
            base_dir=base_dir,
            spec=self.spec,
        )


def resolve_connection(pipeline: Stages, stage: Stage, registry: Registry) -> Resolved:
    """Resolve one stage's connection; errors name file, line, stage and key."""
    spec: CustomConnection = stage.connection  # type: ignore[attr-defined]
    index = pipeline.index(stage.name)
    try:
        cls = _find_class(pipeline, stage, spec, registry)
    except PluginError as exc:
        key = _locator_key(pipeline, index, spec)
        raise pipeline.error(stage.name, key, exc.message, PluginError) from exc
    role: Role = stage.kind  # type: ignore[assignment]  # only tap, sink and sql stages have a connection
    try:
        params = check_params(cls, spec.params, role)
    except ParamsInvalid as exc:
        path, message = exc.errors[0]
        more = also_wrong(("connection", "params", *p) for p, _ in exc.errors[1:])
        raise pipeline.error(stage.name, ("connection", "params", *path), message + more) from None
    problem = _constructor_refuses(cls, params)
    if problem:
        raise pipeline.error(stage.name, ("connection", "params"), problem)
    if not implements(cls, role):
        raise pipeline.error(stage.name, ("kind",), not_implemented_message(cls, role))
    base_dir = pipeline.base_dir
    try:
        check = getattr(cls, "check_stage", None)
        if check is not None:
            check(params, role=role, base_dir=base_dir)
        found = getattr(cls, "resources", None)
        resources = tuple(found(params, role=role, base_dir=base_dir)) if found is not None else ()
    except ConnectorError as exc:
        # A class's own load-time check: a param that cannot work is the pipeline's fault, not the run's.
        param = getattr(exc, "param", None)
        key = ("connection", "params", param) if param else ("connection", "params")
        raise pipeline.error(stage.name, key, exc.message) from None
    except SystemExit as exc:
        # Left to propagate, the class would end `ductflow validate` with a code of its choosing and no message.
        message = f"{cls.__qualname__}'s load-time checks called sys.exit({exc.code if exc.code is not None else ''})"
        raise pipeline.error(stage.name, ("connection",), message, PluginError) from exc
    return Resolved(cls, params, spec, role, resources)


def _constructor_refuses(cls: type[Any], params: dict[str, Any]) -> str | None:
    """Why the class's own ``__init__`` would not accept ``params``, found without calling it."""
    from ductflow_core.connection import Connection

    init = cls.__init__
    if init is Connection.__init__ or attrs.has(cls):
        return None
    try:
        inspect.signature(init).bind(None, **params)
    except TypeError as exc:
        return f"{cls.__qualname__}() does not accept these params: {exc}"
    except ValueError:  # a signature Python cannot read: leave the check to the call
        return None
    return None


def _find_class(pipeline: Stages, stage: Stage, spec: CustomConnection, registry: Registry) -> type[Any]:
    if spec.locator and registry.has(spec.locator):
        return registry.connection_class(spec.locator)
    if spec.module and spec.classname:
        return import_class(spec.module, spec.classname, pipeline.base_dir, registry.policy)
    if spec.locator:
        raise PluginError(registry.unknown_message(spec.locator))
    raise PluginError("a connection needs a 'locator' (or 'kind: <locator>'), or both 'module' and 'classname'")


def _locator_key(pipeline: Stages, index: int, spec: CustomConnection) -> tuple[str, ...]:
    if not spec.locator and not (spec.module and spec.classname):
        return ("connection",)
    lines = pipeline.lines
    # A module that imported leaves the class to blame (missing, not a Connection, sync methods).
    blamed = "classname" if spec.module in sys.modules else "module"
    for key in ("locator", blamed, "kind"):
        if ("stages", index, "connection", key) in lines and (key != "module" or not spec.locator):
            return ("connection", key)
    return ("connection",)


def resolve_pipeline(
    pipeline: Stages,
    registry: Registry,
    names: set[str] | None = None,
    *,
    deps: Mapping[str, set[str]] | None = None,
    database: str | None = None,
) -> dict[str, Resolved]:
    """Resolve the connection of every stage (or of the ``names`` given) that has one.

    Then :func:`check_resources` refuses a sink that would write what a tap reads, or the run's own files
    (``database`` is the run's ``--database`` when one is given).
    """
    out: dict[str, Resolved] = {}
    for stage in pipeline.stages:
        if getattr(stage, "connection", None) is not None and (names is None or stage.name in names):
            out[stage.name] = resolve_connection(pipeline, stage, registry)
    check_resources(pipeline, out, deps=deps, database=database)
    return out


def _normal(resource: str) -> str:
    return resource.rstrip("/") or "/"


def _relation(sink: str, tap: str) -> str | None:
    """How the sink's resource overlaps the tap's: the same, holding it, inside it, or not at all (``None``)."""
    sink, tap = _normal(sink), _normal(tap)
    if sink == tap:
        return "writes what"
    if tap.startswith(sink.rstrip("/") + "/"):
        return "writes a folder holding what"
    if sink.startswith(tap.rstrip("/") + "/"):
        return "writes inside the folder that"
    return None


def check_resources(
    pipeline: Stages,
    resolved: dict[str, Resolved],
    *,
    deps: Mapping[str, set[str]] | None = None,
    database: str | None = None,
) -> None:
    """Refuse a sink whose resource is a tap's resource, or a folder holding it, or inside it.

    The one rule that keeps a sink from overwriting or deleting a pipeline's own input, for every
    connection class alike (each says what it touches through ``Connection.resources``). A tap that
    waits for the sink (``after:``, directly or not) reads what the sink wrote, and is allowed. The run's own
    files count as read by every stage: a sink never replaces the pipeline file or its database (``database``,
    the run's ``--database``, else the pipeline's ``database:``).
    Resources are compared as strings, ``/`` separating the parts: resolve paths before returning them.
    The message names the sink's param (or ``params``) line and the tap, never the resource itself,
    which may have come from the environment.
    """
    taps = [(name, r) for name, r in resolved.items() if r.role == "tap" and r.resources]
    sinks = [(name, r) for name, r in resolved.items() if r.role == "sink" and r.resources]
    if not sinks:
        return
    from ductflow_core.pipeline import plan

    for sink_name, sink in sinks:
        after_sink = plan.dependents(pipeline, sink_name, deps=deps)
        for tap_name, tap in taps:
            if tap_name in after_sink:
                continue
            for written in sink.resources:
                for read in tap.resources:
                    how = _relation(written, read)
                    if how is None:
                        continue
                    key = ("connection", "params", *_param_of(pipeline, sink, written))
                    where = pipeline.location(tap_name)
                    message = (
                        f"this sink {how} stage {tap_name!r} reads ({where}); a sink never writes the input of its run"
                    )
                    raise pipeline.error(sink_name, key, message)
    _check_run_files(pipeline, sinks, database)


def _run_files(pipeline: Stages, database: str | None) -> list[tuple[str, str]]:
    """The files the run itself reads or keeps: the pipeline file and its database (with DuckDB's WAL).

    ``database`` is the run's ``--database`` (relative to the working folder), else the pipeline's
    ``database:`` counts (relative to the pipeline's folder), as the run opens them.
    """
    files: list[tuple[str, str]] = []
    if pipeline.source != "<string>":
        source = Path(pipeline.source)
        source = source if source.is_absolute() else Path.cwd() / source
        files.append((os.path.realpath(source), "the pipeline file"))
    path = Path(database) if database else None
    if path is None and pipeline.settings.database:
        path = pipeline.base_dir / pipeline.settings.database
    if path is not None and "\x00" not in str(path):
        real = os.path.realpath(path)
        files += [(real, "the run's DuckDB database"), (real + ".wal", "the run's DuckDB database")]
    return files


def _check_run_files(pipeline: Stages, sinks: list[tuple[str, Resolved]], database: str | None) -> None:
    """Refuse a sink that would replace the pipeline file or the run's database, or a folder holding either."""
    run_files = _run_files(pipeline, database)
    for sink_name, sink in sinks:
        for written in sink.resources:
            for path, what in run_files:
                how = _relation(written, path)
                if how is not None and how != "writes inside the folder that":
                    key = ("connection", "params", *_param_of(pipeline, sink, written))
                    target = f"would replace {what}" if how == "writes what" else f"writes a folder holding {what}"
                    message = f"this sink {target}; a sink never writes what its own run reads or keeps"
                    raise pipeline.error(sink_name, key, message)


def _param_of(pipeline: Stages, res: Resolved, resource: str) -> tuple[str, ...]:
    """The param whose value names ``resource`` (a path, made absolute), to blame its line; else none."""
    target = _normal(resource)
    for key, value in res.spec.params.items():
        if not isinstance(value, str) or not value:
            continue
        candidate = _normal(os.path.normpath(os.path.join(pipeline.base_dir, value)))
        if candidate == target or candidate.startswith(target + "/") or target.startswith(candidate + "/"):
            return (key,)
        if value in resource:
            return (key,)
    return ()
