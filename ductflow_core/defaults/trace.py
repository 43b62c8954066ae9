"""``DUCTFLOW_TRACE_HOOKS=1``: one stderr line per hook call with its implementations and duration."""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Generator
from typing import Any, TextIO

import pluggy

from .. import hookimpl


class Trace:
    """Wraps every hook; awaitable results are timed until they are awaited to the end."""

    def __init__(self, pm: pluggy.PluginManager, stream: TextIO | None = None) -> None:
        self.pm = pm
        self.stream = stream or sys.stderr

    def _plugins(self, hook: str) -> str:
        impls = getattr(self.pm.hook, hook).get_hookimpls()
        return ", ".join(i.plugin_name for i in reversed(impls) if i.plugin is not self)

    def _emit(self, hook: str, stage: Any, started: float) -> None:
        label = f" stage={stage.name!r}" if stage is not None else ""
        seconds = time.perf_counter() - started
        self.stream.write(f"trace: {hook}{label} via [{self._plugins(hook)}] {seconds * 1000:.1f} ms\n")
        self.stream.flush()

    def _around(self, hook: str, stage: Any) -> Generator[None, Any, Any]:
        started = time.perf_counter()
        result = yield
        if not inspect.isawaitable(result):
            self._emit(hook, stage, started)
            return result

        async def timed() -> Any:
            try:
                return await result
            finally:
                self._emit(hook, stage, started)

        return timed()

    @hookimpl(wrapper=True, tryfirst=True)
    def ductflow_tap(self, stage: Any, connection: Any, query: Any) -> Generator[None, Any, Any]:
        """Trace ``ductflow_tap``."""
        return (yield from self._around("ductflow_tap", stage))

    @hookimpl(wrapper=True, tryfirst=True)
    def ductflow_sink(self, stage: Any, connection: Any, from_name: Any) -> Generator[None, Any, Any]:
        """Trace ``ductflow_sink``."""
        return (yield from self._around("ductflow_sink", stage))

    @hookimpl(wrapper=True, tryfirst=True)
    def ductflow_sql(self, stage: Any, connection: Any, query: Any) -> Generator[None, Any, Any]:
        """Trace ``ductflow_sql``."""
        return (yield from self._around("ductflow_sql", stage))

    @hookimpl(wrapper=True, tryfirst=True)
    def ductflow_show_schema(self, stage: Any, connection: Any) -> Generator[None, Any, Any]:
        """Trace ``ductflow_show_schema``."""
        return (yield from self._around("ductflow_show_schema", stage))

    @hookimpl(wrapper=True, tryfirst=True)
    def ductflow_run_stage(self, stage: Any, run: Any) -> Generator[None, Any, Any]:
        """Trace ``ductflow_run_stage``."""
        return (yield from self._around("ductflow_run_stage", stage))

    @hookimpl(wrapper=True, tryfirst=True)
    def ductflow_run_start(self, pipeline: Any, stages: Any) -> Generator[None, Any, Any]:
        """Trace ``ductflow_run_start``."""
        return (yield from self._around("ductflow_run_start", None))

    @hookimpl(wrapper=True, tryfirst=True)
    def ductflow_run_end(self, pipeline: Any, results: Any, error: Any) -> Generator[None, Any, Any]:
        """Trace ``ductflow_run_end``."""
        return (yield from self._around("ductflow_run_end", None))
