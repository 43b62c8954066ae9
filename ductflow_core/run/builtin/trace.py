"""``DUCTFLOW_TRACE_HOOKS=1``: one stderr line per hook call with its implementations and duration.

One tracer for every hook, through pluggy's ``add_hookcall_monitoring``: a hook added to
:mod:`ductflow_core.hookspecs` is traced without a line here.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TextIO

import pluggy

from ductflow_core.run.output import mask_secrets


class Trace:
    """Times every hook call; an awaitable result is timed until it is awaited to the end."""

    def __init__(self, pm: pluggy.PluginManager, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        # Calls nest (a hook called while another one runs its implementations): a stack pairs them.
        self._started: list[float] = []
        # Stage names may come from ${VAR}; the run's first hook call hands over the pipeline and its secrets.
        self._secrets: frozenset[str] = frozenset()
        self.undo: Callable[[], None] = pm.add_hookcall_monitoring(self._before, self._after)

    def _before(self, hook: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
        pipeline = kwargs.get("pipeline") or getattr(kwargs.get("run"), "pipeline", None)
        if pipeline is not None:
            self._secrets = frozenset(getattr(pipeline, "secrets", ()))
        self._started.append(time.perf_counter())

    def _after(
        self, outcome: pluggy.Result[Any], hook: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]
    ) -> None:
        started = self._started.pop()
        # pluggy calls the last registered implementation first.
        via = ", ".join(i.plugin_name for i in reversed(impls))
        stage = kwargs.get("stage")
        label = f"{hook}{f' stage={stage.name!r}' if stage is not None else ''} via [{via}]"
        result = outcome.exception is None and outcome.get_result()
        if outcome.exception is None and inspect.isawaitable(result):
            outcome.force_result(self._timed(result, label, started))
        else:
            self._emit(label, started)

    async def _timed(self, result: Awaitable[Any], label: str, started: float) -> Any:
        try:
            return await result
        finally:
            self._emit(label, started)

    def _emit(self, label: str, started: float) -> None:
        seconds = time.perf_counter() - started
        self.stream.write(mask_secrets(f"trace: {label} {seconds * 1000:.1f} ms", self._secrets) + "\n")
        self.stream.flush()
