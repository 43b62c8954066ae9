"""Run a pipeline: stages in dependency order, independent ones at the same time.

The first stage that fails stops the run: the others are cancelled (their
DuckDB queries interrupted) and the error names the stage, its connection
class and the cause.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ductflow_core.duck.names import quote_ident
from ductflow_core.errors import ConnectorError, StageFailed
from ductflow_core.models import Stage, Stages
from ductflow_core.pipeline import plan
from ductflow_core.plugin.resolve import Resolved

if TYPE_CHECKING:
    from ductflow_core.connection import Connection
    from ductflow_core.duck.database import Database, StageDatabase
    from ductflow_core.plugin.manager import Hooks
    from ductflow_core.run.output import Output


def _names_or_none(names: Iterable[str] | None) -> frozenset[str] | None:
    return None if names is None else frozenset(names)


@attrs.define
class StageResult:
    """What one finished stage did: rows moved (``None`` when unknown) and wall seconds."""

    name: str
    kind: str
    rows: int | None
    seconds: float


@attrs.frozen
class StagePlan:
    """Which stage waits for which, and an order that respects it: computed once per run."""

    dependencies: Mapping[str, set[str]]
    order: list[str]

    @classmethod
    def of(cls, pipeline: Stages) -> StagePlan:
        """The plan of ``pipeline`` under the rules of :mod:`ductflow_core.pipeline.plan`."""
        deps = plan.dependencies(pipeline)
        return cls(deps, plan.order(pipeline, deps=deps))

    def select(self, pipeline: Stages, names: Iterable[str]) -> set[str]:
        """The named stages and every stage they depend on (see :func:`ductflow_core.pipeline.plan.select`)."""
        return plan.select(pipeline, names, deps=self.dependencies)


@attrs.define
class RunContext:
    """Everything a stage needs while it runs; passed to ``ductflow_run_stage``.

    Built by :func:`ductflow_core.run.session.open_run`; ``stages`` is what the run will run (default: all).
    """

    pipeline: Stages
    database: Database
    hooks: Hooks
    resolved: dict[str, Resolved]
    output: Output
    #: Facades of finished stages left as views, handed on to the one stage that reads them.
    kept: dict[str, StageDatabase] = attrs.Factory(dict)
    plan: StagePlan = attrs.field(kw_only=True)
    stages: frozenset[str] | None = attrs.field(kw_only=True, default=None, converter=_names_or_none)
    readers: dict[str, set[str]] = attrs.field(init=False)
    tables: dict[str, bool] = attrs.field(init=False)

    @plan.default
    def _plan(self) -> StagePlan:
        return StagePlan.of(self.pipeline)

    def __attrs_post_init__(self) -> None:
        self._decide()

    def running(self, names: Iterable[str] | None) -> None:
        """Decide tables and views for a run of ``names`` only: a stage whose reader is not run is a table."""
        chosen = _names_or_none(names)
        if chosen != self.stages:
            self.stages = chosen
            self._decide()

    def _decide(self) -> None:
        self.readers = plan.consumers(self.pipeline, self.stages)
        self.tables = plan.materialization(self.pipeline, self.readers, deps=self.plan.dependencies)

    def materialized(self, stage: Stage) -> bool:
        """Whether the stage makes a table, not a view (see :func:`~ductflow_core.pipeline.plan.materialization`)."""
        return self.tables[stage.name]

    async def facade_for(self, stage: Stage) -> StageDatabase:
        """The DuckDB facade the stage runs on.

        A stage reading a view-like stage runs on that stage's facade: objects a
        tap registered (a stream of Arrow batches, say) are visible there only.
        Reading two such stages, it can have one facade only; a second source
        its facade cannot see is first copied into a table on its own facade.
        """
        sources = sorted(n for n, readers in self.readers.items() if stage.name in readers and n in self.kept)
        if not sources:
            return self.database.facade()
        facade = self.kept.pop(sources[0])
        for name in sources[1:]:
            other = self.kept.pop(name)
            if await facade.relation_kind(name) is None:
                # The source's own name resolves to its cursor-bound object there; the table lands in main.
                await other.execute(f"CREATE TABLE {quote_ident(name)} AS SELECT * FROM {quote_ident(name)}")
        return facade

    def keep(self, stage: Stage, facade: StageDatabase) -> None:
        """Hold a view-like stage's facade for the stage that reads it."""
        if stage.produces_table and not self.materialized(stage):
            self.kept[stage.name] = facade

    def connect(self, stage: Stage, facade: StageDatabase) -> Connection:
        """Build the stage's connection instance (its ``init()`` runs here)."""
        materialize = self.materialized(stage) if stage.produces_table else None
        return self.resolved[stage.name].create(
            stage.name, c=facade, base_dir=self.pipeline.base_dir, materialize=materialize
        )

    def where(self, stage: Stage) -> str:
        """The stage's connection class (or ``transform``), for messages."""
        res = self.resolved.get(stage.name)
        return res.label if res else stage.kind

    def input_of(self, stage: Stage) -> str | None:
        """The table a sink or transform reads."""
        return plan.input_of(self.pipeline, stage)


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
