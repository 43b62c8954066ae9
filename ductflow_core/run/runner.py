"""Run a pipeline: stages in dependency order, independent ones at the same time.

The first stage that fails stops the run: the others are cancelled (their
DuckDB queries interrupted) and the error names the stage, its connection
class and the cause.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ductflow_core.errors import ConnectorError, StageFailed
from ductflow_core.run.context import RunContext, StageResult

if TYPE_CHECKING:
    from ductflow_core.duck.database import Database


async def run_stages(run: RunContext, names: Iterable[str] | None = None, *, exact: bool = False) -> list[StageResult]:
    """Run the stages called ``names`` (default all) and what they depend on; results in finishing order.

    With ``exact``, run only the stages named, assuming what they need is already there.
    """
    pipeline = run.pipeline
    deps = run.plan.dependencies
    if names is None:
        wanted = {s.name for s in pipeline.stages}
    else:
        wanted = set(names) if exact else run.plan.select(pipeline, names)
    ordered = [n for n in run.plan.order if n in wanted]
    run.running(None if len(wanted) == len(pipeline.stages) else wanted)
    finished = {name: asyncio.Event() for name in ordered}
    results: list[StageResult] = []
    stopping = False

    async def one(name: str) -> None:
        for dep in deps[name]:
            if dep in finished:
                await finished[dep].wait()
        stage = pipeline[name]
        try:
            result = await run.hooks.run_stage(stage, run)
        except asyncio.CancelledError as exc:
            if stopping:
                raise
            # Not the run stopping it: the stage awaited something cancelled under it (a closing pool, say).
            # Taken as success, it would report a stage that never finished and leave its readers waiting.
            cause = RuntimeError("cancelled from inside the stage (it awaited a future someone else cancelled)")
            raise StageFailed(name, run.where(stage), cause, pipeline.location(name)) from exc
        except SystemExit as exc:
            # sys.exit() in a connection (on the loop, in init(), or in a function it ran on a worker thread)
            # is a failing stage: left to propagate, asyncio would end the whole run with its code and no error.
            exited = ConnectorError(f"the connection called {_exit_call(exc)}")
            raise StageFailed(name, run.where(stage), exited, pipeline.location(name)) from exc
        except Exception as exc:
            raise StageFailed(name, run.where(stage), exc, pipeline.location(name)) from exc
        results.append(result)
        finished[name].set()

    run.hooks.run_start(pipeline, ordered)
    error: BaseException | None = None
    tasks = [asyncio.ensure_future(one(name)) for name in ordered]
    try:
        await _first_failure(tasks)
    except BaseException as exc:
        error = exc
        raise
    finally:
        stopping = True
        await _cancel_all(tasks, run.database)
        run.hooks.run_end(pipeline, results, error)
    return results


def _exit_call(exc: SystemExit) -> str:
    code = exc.code
    if code is None or isinstance(code, int):
        return f"sys.exit({'' if code is None else code})"
    text = str(code).strip().splitlines()
    return f"sys.exit() with the message {text[0][:80]!r}" if text else "sys.exit()"


async def _first_failure(tasks: Sequence[asyncio.Future[Any]]) -> None:
    pending = set(tasks)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            error = None if task.cancelled() else task.exception()
            if error is not None:
                raise error


async def _cancel_all(tasks: Sequence[asyncio.Future[Any]], database: Database) -> None:
    live = [t for t in tasks if not t.done()]
    if live:
        database.interrupt_all()
        for task in live:
            task.cancel()
        await asyncio.gather(*live, return_exceptions=True)
    # Only the first failure is reported. Retrieving the others keeps asyncio from logging them at exit
    # ("Task exception was never retrieved"), unmasked, secrets and all.
    for task in tasks:
        if not task.cancelled():
            task.exception()
