"""Per-stage progress: rows, seconds and rows/s, live on a terminal, plain lines elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Generator
from typing import Any

from ductflow_core import hookimpl
from ductflow_core.models import Stage, Stages
from ductflow_core.run.context import RunContext, StageResult
from ductflow_core.run.output import Output

#: Below this a stage's rate mostly measures start-up and timer noise, so it is not printed.
RATE_AFTER_SECONDS = 1.0


def describe(result: StageResult, *, streamed_to: str | None = None) -> str:
    """``orders (tap): 1,000,000 rows in 2.50 s (400,000 rows/s)``; the rate only past a second.

    A stage left as a view has moved no rows yet when it finishes: unless its connection reported a count,
    its line names the stage that reads it (``streamed_to``), whose own line counts the rows.
    """
    seconds = f"{result.seconds:.2f} s"
    if result.rows is None:
        if streamed_to:
            return f"{result.name} ({result.kind}): streamed to {streamed_to}, ready in {seconds}"
        return f"{result.name} ({result.kind}): done in {seconds}"
    rate = ""
    if result.seconds >= RATE_AFTER_SECONDS and result.rows:
        rate = f" ({result.rows / result.seconds:,.0f} rows/s)"
    noun = "row" if result.rows == 1 else "rows"
    return f"{result.name} ({result.kind}): {result.rows:,} {noun} in {seconds}{rate}"


def _reader_of(stage: Stage, run: RunContext) -> str | None:
    """The stages reading ``stage`` when ``stage`` is a view, else ``None``."""
    if run.tables.get(stage.name, True):
        return None
    readers = sorted(run.readers.get(stage.name, ()))
    return ", ".join(readers) or None


class Progress:
    """Reports each stage as it finishes; on a terminal also a live line of what is running."""

    plugin_name = "ductflow.progress"

    def __init__(self, output: Output, *, live: bool) -> None:
        self.output = output
        self.live = live
        self.running: dict[str, float] = {}
        self._ticker: asyncio.Task[None] | None = None

    def _line(self, text: str) -> None:
        if self.live:
            self.output.status("\r\x1b[2K" + text)
            self._redraw()
        else:
            self.output.status(text)

    def _redraw(self) -> None:
        if not self.running:
            self.output.status("\r\x1b[2K", end="")
            return
        now = time.perf_counter()
        parts = ", ".join(f"{n} {now - t:.1f}s" for n, t in self.running.items())
        self.output.status(f"\r\x1b[2K… running: {parts}", end="")

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            self._redraw()

    @hookimpl(wrapper=True)
    def ductflow_run_stage(self, stage: Stage, run: RunContext) -> Generator[None, Any, Awaitable[StageResult]]:
        """Time the stage and print its line when it finishes."""
        inner = yield

        async def reported() -> StageResult:
            self.running[stage.name] = time.perf_counter()
            if self.live and self._ticker is None:
                self._ticker = asyncio.ensure_future(self._tick())
            try:
                result: StageResult = await inner
            finally:
                self.running.pop(stage.name, None)
            self._line("✓ " + describe(result, streamed_to=_reader_of(stage, run)))
            return result

        return reported()

    @hookimpl
    def ductflow_run_start(self, pipeline: Stages, stages: list[str]) -> None:
        """Remember when the run started."""
        self.started = time.perf_counter()

    @hookimpl
    def ductflow_run_end(self, pipeline: Stages, results: list[StageResult], error: BaseException | None) -> None:
        """Stop the live line and print the run's summary."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(Exception):
                self.output.status("\r\x1b[2K", end="")
            self._ticker = None
        seconds = time.perf_counter() - getattr(self, "started", time.perf_counter())
        done = len(results)
        if error is None:
            self.output.status(f"pipeline finished: {done} stage{'s' if done != 1 else ''} in {seconds:.2f} s")
        else:
            names = ", ".join(r.name for r in results) or "none"
            self.output.status(f"pipeline stopped after {seconds:.2f} s; finished stages: {names}")
