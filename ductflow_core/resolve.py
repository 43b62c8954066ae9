"""Find every stage's connection class and check its params, before anything runs."""

from __future__ import annotations

import inspect
import sys
from typing import Any

import attrs

from .discovery import Registry, import_class
from .errors import PipelineError, PluginError
from .models import CustomConnection, Stage, Stages
from .params import ParamsInvalid, check_params
from .where import also_wrong


@attrs.frozen
class Resolved:
    """A stage's connection class and its params, already checked against the class."""

    cls: type[Any]
    params: dict[str, Any]
    spec: CustomConnection

    @property
    def label(self) -> str:
        """``module.Class``, for messages."""
        return f"{self.cls.__module__}.{self.cls.__qualname__}"


def resolve_connection(pipeline: Stages, stage: Stage, registry: Registry) -> Resolved:
    """Resolve one stage's connection; errors name file, line, stage and key."""
    spec: CustomConnection = stage.connection  # type: ignore[attr-defined]
    index = pipeline.index(stage.name)
    try:
        cls = _find_class(pipeline, stage, spec, registry)
    except PluginError as exc:
        key = _locator_key(pipeline, index, spec)
        raise PluginError(pipeline.error_text(stage.name, key, exc.message)) from exc
    try:
        params = check_params(cls, spec.params)
    except ParamsInvalid as exc:
        path, message = exc.errors[0]
        more = also_wrong(("connection", "params", *p) for p, _ in exc.errors[1:])
        raise PipelineError(pipeline.error_text(stage.name, ("connection", "params", *path), message + more)) from None
    problem = _constructor_refuses(cls, params)
    if problem:
        raise PipelineError(pipeline.error_text(stage.name, ("connection", "params"), problem))
    return Resolved(cls, params, spec)


def _constructor_refuses(cls: type[Any], params: dict[str, Any]) -> str | None:
    """Why the class's own ``__init__`` would not accept ``params``, found without calling it."""
    from .connection import Connection

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


def resolve_pipeline(pipeline: Stages, registry: Registry, names: set[str] | None = None) -> dict[str, Resolved]:
    """Resolve the connection of every stage (or of the ``names`` given) that has one."""
    out: dict[str, Resolved] = {}
    for stage in pipeline.stages:
        if getattr(stage, "connection", None) is not None and (names is None or stage.name in names):
            out[stage.name] = resolve_connection(pipeline, stage, registry)
    return out
