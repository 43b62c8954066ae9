"""What a run hands to every hook: :class:`RunContext`, a stage's :class:`StageResult`, the :class:`StagePlan`.

These are the hook types of :mod:`ductflow_core.hookspecs`; they live here, not in the runner, so that plugins
and the plugin manager can name them without importing the code that schedules stages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import attrs

from ductflow_core.duck.names import quote_ident
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


