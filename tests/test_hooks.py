"""Hook plugins: every operation goes through the plugin manager and can be observed or replaced."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import sample_connections as sc
from conftest import conn

from ductflow_core import hookimpl, hookspecs
from ductflow_core.testing import RunOutcome

Run = Callable[..., RunOutcome]
PIPELINE = (
    f"- {{name: nums, kind: tap, query: the-query, show: 1, connection: {conn('Numbers', rows=6)}}}\n"
    f"- {{name: ddl, kind: sql, query: ANALYZE, connection: {conn('Recorder')}}}\n"
    f"- {{name: out, kind: sink, from: nums, connection: {conn('Collect')}}}\n"
)


class Observer:
    """A wrapper plugin that records every operation hook call and how long its awaitable took."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    def _timed(self, hook: str, stage: Any, inner: Any) -> Any:
        async def timed() -> Any:
            started = time.perf_counter()
            try:
                return await inner
            finally:
                self.calls.append((hook, stage.name, time.perf_counter() - started))

        return timed()

    @hookimpl(wrapper=True)
    def ductflow_tap(self, stage: Any, connection: Any, query: Any) -> Generator[None, Any, Any]:
        return self._timed("tap", stage, (yield))

    @hookimpl(wrapper=True)
    def ductflow_sink(self, stage: Any, connection: Any, from_name: Any) -> Generator[None, Any, Any]:
        return self._timed("sink", stage, (yield))

    @hookimpl(wrapper=True)
    def ductflow_sql(self, stage: Any, connection: Any, query: Any) -> Generator[None, Any, Any]:
        return self._timed("sql", stage, (yield))

    @hookimpl(wrapper=True)
    def ductflow_show_schema(self, stage: Any, connection: Any) -> Generator[None, Any, Any]:
        return self._timed("show_schema", stage, (yield))


def test_ductflow_tap_sink_sql_show_schema_wrappers_observe_every_call(ductflow_run: Run) -> None:
    """A wrapper sees each tap, sql, sink and show_schema call, with its stage and a duration."""
    observer = Observer()
    ductflow_run(PIPELINE, plugins=[observer])
    seen = sorted((hook, stage) for hook, stage, _ in observer.calls)
    assert seen == [("show_schema", "nums"), ("sink", "out"), ("sql", "ddl"), ("tap", "nums")]
    assert all(seconds >= 0 for *_, seconds in observer.calls)


def test_ductflow_tap_implementation_replaces_the_connection(ductflow_run: Run) -> None:
    """A plain implementation that returns an awaitable runs instead of the connection's own tap."""

    class Replace:
        @hookimpl
        def ductflow_tap(self, stage: Any, connection: Any, query: Any) -> Any:
            async def other() -> int:
                await connection.c.sql(f"CREATE TABLE {connection.c.quote(stage.name)} AS SELECT 42 AS n")
                return 1

            return other()

    outcome = ductflow_run(PIPELINE, plugins=[Replace()])
    assert outcome.rows("SELECT n FROM nums") == [(42,)]
    assert [r["n"] for r in sc.Collect.received["out"]] == [42]


def test_ductflow_sink_wrapper_replaces_the_result(ductflow_run: Run) -> None:
    """A wrapper can replace the row count a sink reports."""

    class Override:
        @hookimpl(wrapper=True)
        def ductflow_sink(self, stage: Any, connection: Any, from_name: Any) -> Generator[None, Any, Any]:
            inner = yield

            async def doubled() -> int:
                return int(await inner) * 2

            return doubled()

    outcome = ductflow_run(PIPELINE, plugins=[Override()])
    assert outcome.result("out").rows == 12


def test_ductflow_sql_receives_the_stage_query(ductflow_run: Run) -> None:
    """The sql hook is called with the stage's query, and the default passes it to the connection."""
    seen: list[str] = []

    class Spy:
        @hookimpl
        def ductflow_sql(self, stage: Any, connection: Any, query: str) -> None:
            seen.append(query)

    ductflow_run(PIPELINE, plugins=[Spy()])
    assert seen == ["ANALYZE"]
    assert ("ddl", "ANALYZE") in sc.Recorder.queries


def test_ductflow_show_schema_implementation_changes_show_output(ductflow_run: Run) -> None:
    """A plugin's show_schema result is what ``show:`` prints."""
    from ductflow_core.models import Field

    class Schema:
        @hookimpl
        def ductflow_show_schema(self, stage: Any, connection: Any) -> Any:
            async def fields() -> list[Field]:
                return [Field("renamed", "INTEGER", nullable=False)]

            return fields()

    outcome = ductflow_run(PIPELINE, plugins=[Schema()])
    assert "  renamed  INTEGER NOT NULL" in outcome.stdout


def test_ductflow_run_stage_wrapper_sees_every_stage_kind(ductflow_run: Run) -> None:
    """A run_stage wrapper is called once per stage, transforms included, and gets each result."""
    results: list[tuple[str, str]] = []

    class Stages:
        @hookimpl(wrapper=True)
        def ductflow_run_stage(self, stage: Any, run: Any) -> Generator[None, Any, Any]:
            inner = yield

            async def record() -> Any:
                result = await inner
                results.append((result.name, result.kind))
                return result

            return record()

    ductflow_run(PIPELINE + "- {name: t, kind: transform, sql: SELECT 1 AS one}\n", plugins=[Stages()])
    assert sorted(results) == [("ddl", "sql"), ("nums", "tap"), ("out", "sink"), ("t", "transform")]


def test_ductflow_run_start_and_run_end_bracket_the_run(ductflow_run: Run) -> None:
    """run_start gets the planned stages in order; run_end gets every result and no error."""
    events: list[Any] = []

    class Bracket:
        @hookimpl
        def ductflow_run_start(self, pipeline: Any, stages: list[str]) -> None:
            events.append(("start", stages))

        @hookimpl
        def ductflow_run_end(self, pipeline: Any, results: list[Any], error: Any) -> None:
            events.append(("end", sorted(r.name for r in results), error))

    ductflow_run(PIPELINE, plugins=[Bracket()])
    assert events == [("start", ["nums", "ddl", "out"]), ("end", ["ddl", "nums", "out"], None)]


def test_every_hook_has_a_test_of_its_own() -> None:
    """Each hookspec is named by at least one test function in this module."""
    specs = [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("ductflow_")]
    tests = [name for name in globals() if name.startswith("test_")]
    untested = [s for s in specs if not any(s.removeprefix("ductflow_") in t for t in tests)]
    assert specs
    assert not untested, f"hooks without a test: {untested}"


def test_plugin_managers_are_fresh(tmp_path: Path) -> None:
    """Two plugin managers built by the factory share no registered plugins."""
    from ductflow_core.plugin.manager import make_plugin_manager

    first = make_plugin_manager(load_entrypoints=False, plugins=[Observer()])
    second = make_plugin_manager(load_entrypoints=False)
    assert len(first.get_plugins()) == len(second.get_plugins()) + 1
