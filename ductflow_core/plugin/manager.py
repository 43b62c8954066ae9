"""Build plugin managers, and the typed facade the core calls hooks through."""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any

import pluggy

from ductflow_core import hookspecs
from ductflow_core.errors import PluginError, did_you_mean
from ductflow_core.plugin.registry import PluginInfo, Registry, default_registry, load_entry_point

if TYPE_CHECKING:
    from ductflow_core.connection import Connection
    from ductflow_core.models import Field, Stage, Stages
    from ductflow_core.run.context import RunContext, StageResult


def default_plugins() -> list[tuple[str, object]]:
    """The core's own features, written as plugins: ``(name, plugin)`` pairs."""
    # A door (tests/test_layers.py): the built-ins are run-time code; lazy, so plugin/ never loads run/ itself.
    from ductflow_core.run.builtin import operations, stage, timeout

    return [
        ("ductflow.operations", operations),
        ("ductflow.stage", stage),
        ("ductflow.timeout", timeout),
    ]


def make_plugin_manager(
    *,
    registry: Registry | None = None,
    load_entrypoints: bool = True,
    plugins: Iterable[object] = (),
) -> pluggy.PluginManager:
    """A fresh plugin manager: hookspecs, the default plugins, installed hook plugins, then ``plugins``.

    Nothing is loaded at import time; installed hook plugins (entry-point
    group ``ductflow``) are imported here, one at a time.
    """
    registry = registry or default_registry()
    pm = pluggy.PluginManager("ductflow")
    pm.add_hookspecs(hookspecs)
    for name, plugin in default_plugins():
        pm.register(plugin, name=name)
    if load_entrypoints:
        for info in registry.hook_plugins():
            _register_installed(pm, info, strict=registry.policy.strict)
    for plugin in plugins:
        given: str | None = getattr(plugin, "plugin_name", None)
        try:
            pm.register(plugin, name=given)
        except pluggy.PluginValidationError as exc:
            raise PluginError(_refused(given or type(plugin).__name__, exc)) from None
    check_hook_names(pm)
    if registry.policy.trace:
        from ductflow_core.run.builtin.trace import Trace

        Trace(pm)
    return pm


def check_hook_names(pm: pluggy.PluginManager) -> None:
    """Refuse a hook implementation whose name is no Ductflow hook (``ductflow_run_strat``), naming plugin and hook.

    :raises PluginError: with the closest hook name.
    """
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(_unknown_hook(pm, exc.plugin)) from None


def _unknown_hook(pm: pluggy.PluginManager, plugin: object) -> str:
    name = pm.get_name(plugin) or repr(plugin)
    specs = sorted(n for n, caller in vars(pm.hook).items() if not n.startswith("_") and caller.has_spec())
    unknown = sorted(c.name for c in pm.get_hookcallers(plugin) or () if not c.has_spec())
    hook = unknown[0] if unknown else "?"
    return f"plugin {name!r} implements {hook!r}, which is not a Ductflow hook{did_you_mean(hook, specs)}"


def _refused(name: str, exc: pluggy.PluginValidationError) -> str:
    """One line from pluggy's several: the hook, then what is wrong (an argument the hook does not pass, say)."""
    lines = str(exc).strip().splitlines() or [""]
    hook = re.search(r"for hook '(\w+)'", lines[0])
    return f"plugin {name!r}{f' in {hook.group(1)!r}' if hook else ''}: {lines[-1].strip()}"


def _register_installed(pm: pluggy.PluginManager, info: PluginInfo, *, strict: bool) -> None:
    # A broken hook plugin must not break every pipeline: it is skipped with a warning unless strict.
    name = f"{info.dist}:{info.name}"
    try:
        plugin = load_entry_point(info)
        try:
            pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(_refused(name, exc)) from None
        try:
            check_hook_names(pm)
        except PluginError:
            pm.unregister(plugin)
            raise
    except PluginError as exc:
        if strict:
            raise
        print(f"warning: {exc}; skipped (DUCTFLOW_STRICT_PLUGINS=1 makes this an error)", file=sys.stderr)


async def _await(result: Awaitable[Any] | None, hook: str) -> Any:
    if result is None:
        raise RuntimeError(f"no implementation of {hook} returned an awaitable")
    return await result if inspect.isawaitable(result) else result


class Hooks:
    """Typed, awaitable calls of every hook; the only place the core touches ``pm.hook``."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm

    async def tap(self, stage: Stage, connection: Connection, query: str | None) -> int | None:
        """Run ``ductflow_tap``."""
        call = self.pm.hook.ductflow_tap(stage=stage, connection=connection, query=query)
        return await _await(call, "ductflow_tap")

    async def sink(self, stage: Stage, connection: Connection, from_name: str) -> int | None:
        """Run ``ductflow_sink``."""
        call = self.pm.hook.ductflow_sink(stage=stage, connection=connection, from_name=from_name)
        return await _await(call, "ductflow_sink")

    async def sql(self, stage: Stage, connection: Connection, query: str) -> None:
        """Run ``ductflow_sql``."""
        await _await(self.pm.hook.ductflow_sql(stage=stage, connection=connection, query=query), "ductflow_sql")

    async def show_schema(self, stage: Stage, connection: Connection) -> list[Field]:
        """Run ``ductflow_show_schema``."""
        call = self.pm.hook.ductflow_show_schema(stage=stage, connection=connection)
        return list(await _await(call, "ductflow_show_schema") or [])

    async def run_stage(self, stage: Stage, run: RunContext) -> StageResult:
        """Run ``ductflow_run_stage``."""
        return await _await(self.pm.hook.ductflow_run_stage(stage=stage, run=run), "ductflow_run_stage")

    def run_start(self, pipeline: Stages, stages: list[str]) -> None:
        """Run ``ductflow_run_start``."""
        self.pm.hook.ductflow_run_start(pipeline=pipeline, stages=stages)

    def run_end(self, pipeline: Stages, results: list[StageResult], error: BaseException | None) -> None:
        """Run ``ductflow_run_end``."""
        self.pm.hook.ductflow_run_end(pipeline=pipeline, results=results, error=error)
