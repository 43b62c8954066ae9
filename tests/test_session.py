"""One builder opens every run: api.arun, ``ductflow schema`` and the conformance suite, each planned once."""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sample_connections as sc
from conftest import conn

from ductflow_core import api
from ductflow_core.errors import PipelineError
from ductflow_core.models import Stages
from ductflow_core.pipeline import plan
from ductflow_core.run import schema
from ductflow_core.run.runner import run_stages
from ductflow_core.run.session import open_run
from ductflow_core.testing.conformance import _schemas

PIPELINE = (
    "stages:\n"
    f"  - {{name: nums, kind: tap, connection: {conn('Numbers', rows=6)}}}\n"
    f"  - {{name: more, kind: tap, connection: {conn('Numbers', rows=3)}}}\n"
    '  - {name: both, kind: transform, sql: "SELECT n FROM nums UNION ALL SELECT n FROM more"}\n'
    f"  - {{name: out, kind: sink, connection: {conn('Collect', batch_size=2)}}}\n"
    f"  - {{name: csv, kind: sink, from: both, connection: {conn('CsvFile', path='out.csv')}}}\n"
)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count calls of plan.dependencies and plan.materialization (every caller looks them up on the module)."""
    calls = {"dependencies": 0, "materialization": 0}
    for name in calls:
        real = getattr(plan, name)

        def wrapper(*args: Any, _real: Callable[..., Any] = real, _name: str = name, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(plan, name, wrapper)
    return calls


def _load(tmp_path: Path, text: str = PIPELINE) -> Stages:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text, encoding="utf-8")
    return Stages.load(path)


def test_a_run_plans_its_stages_once(tmp_path: Path, counted: dict[str, int]) -> None:
    """A whole run, resource checks of its file sink included, computes dependencies and tables once."""
    pipeline = _load(tmp_path)
    counted.update(dependencies=0, materialization=0)
    results = api.run(pipeline, database=str(tmp_path / "run.duckdb"))
    assert sorted(r.name for r in results) == ["both", "csv", "more", "nums", "out"]
    assert len(sc.Collect.received["out"]) == 9
    assert counted == {"dependencies": 1, "materialization": 1}


def test_a_run_of_some_stages_plans_once(tmp_path: Path, counted: dict[str, int]) -> None:
    """Running one stage and what it needs computes dependencies and tables once, for that selection."""
    pipeline = _load(tmp_path)
    counted.update(dependencies=0, materialization=0)
    results = api.run(pipeline, database=str(tmp_path / "run.duckdb"), stages=["both"])
    assert sorted(r.name for r in results) == ["both", "more", "nums"]
    assert counted == {"dependencies": 1, "materialization": 1}


def test_schema_plans_once(tmp_path: Path, counted: dict[str, int]) -> None:
    """``ductflow schema`` of a transform computes the stage dependencies once while it runs the taps it needs."""
    pipeline = _load(tmp_path)
    counted.update(dependencies=0)
    fields = asyncio.run(schema.stage_schema(pipeline, "both", database=str(tmp_path / "run.duckdb")))
    assert [f.name for f in fields] == ["n"]
    assert counted["dependencies"] == 1


def test_open_run_gives_the_planned_selection(tmp_path: Path) -> None:
    """open_run with stage names yields a context limited to them and what they need, and closes its database."""
    pipeline = _load(tmp_path)

    async def go() -> tuple[frozenset[str] | None, dict[str, bool], Any]:
        async with open_run(pipeline, database=str(tmp_path / "run.duckdb"), stages=["both"]) as run:
            await run_stages(run, ["both"])
            return run.stages, dict(run.tables), run.database

    stages, tables, database = asyncio.run(go())
    assert stages == {"both", "nums", "more"}
    # Nothing runs after 'both' in this selection: its table is the result, not a view.
    assert tables["both"] is True
    with pytest.raises(duckdb.ConnectionException, match="closed"):
        database.statement_kinds("SELECT 1")


def test_conformance_schema_check_gets_the_run_lock_down(tmp_path: Path) -> None:
    """The conformance suite's show_schema check opens its run like ``ductflow run``: a sandbox escape is refused."""
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    os.symlink(outside, folder / "data" / "away")
    pipeline = _load(
        folder,
        "sandbox:\n  allowed_directories: [data]\nstages:\n"
        f"  - {{name: back, kind: tap, connection: {conn('Numbers', rows=2)}}}\n",
    )
    with pytest.raises(PipelineError, match=r"sandbox\.allowed_directories.*is a symlink to"):
        asyncio.run(_schemas(pipeline, "back", tmp_path / "s.duckdb", api.default_registry()))


def test_start_up_plumbing_is_not_public() -> None:
    """The public API opens no database early: no begin_database, and neither arun nor open_database takes opening=."""
    assert not hasattr(api, "begin_database")
    assert "opening" not in inspect.signature(api.arun).parameters
    assert "opening" not in inspect.signature(api.open_database).parameters


def test_a_run_parses_its_transforms_in_one_query(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run reads the syntax trees of all its transforms with one DuckDB query, not one query per transform."""
    from ductflow_core.duck.database import Database

    calls = {"one": 0, "all": 0}
    one, every = Database.serialize, Database.serialize_all

    def serialize(self: Database, sql: str) -> str:
        calls["one"] += 1
        return one(self, sql)

    def serialize_all(self: Database, sqls: list[str]) -> list[str]:
        calls["all"] += 1
        return every(self, sqls)

    monkeypatch.setattr(Database, "serialize", serialize)
    monkeypatch.setattr(Database, "serialize_all", serialize_all)
    stages = "".join(
        f"- name: s{i}\n  kind: transform\n  sql: SELECT {i} AS x{' FROM s' + str(i - 1) if i else ''}\n"
        for i in range(5)
    )
    results = api.run(Stages.load(stages))
    assert len(results) == 5
    assert calls == {"one": 0, "all": 1}
