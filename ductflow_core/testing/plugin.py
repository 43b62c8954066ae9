"""The pytest plugin shipped with Ductflow (entry point ``pytest11``): fixtures for plugin authors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ductflow_core.testing import FakeDistribution, RunOutcome, fake_registry, run_pipeline


@pytest.fixture
def ductflow_project(tmp_path: Path) -> Path:
    """An empty folder for a pipeline file and its data."""
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


@pytest.fixture
def ductflow_run(ductflow_project: Path) -> Callable[..., RunOutcome]:
    """Run YAML text (or a file) in process: ``ductflow_run(text, plugins=[...])`` gives a :class:`RunOutcome`."""

    def run(pipeline: str | Path, **kwargs: Any) -> RunOutcome:
        if isinstance(pipeline, str) and "\n" in pipeline:
            path = ductflow_project / "pipeline.yaml"
            path.write_text(pipeline, encoding="utf-8")
            pipeline = path
        kwargs.setdefault("database", ductflow_project / "run.duckdb")
        return run_pipeline(pipeline, **kwargs)

    return run


@pytest.fixture
def ductflow_db() -> Any:
    """A fresh in-memory :class:`~ductflow_core.duck.database.Database`, closed after the test."""
    from ductflow_core.duck.database import Database

    db = Database()
    yield db
    db.close()


@pytest.fixture
def ductflow_facade(ductflow_db: Any) -> Any:
    """A :class:`~ductflow_core.duck.database.StageDatabase` on :func:`ductflow_db`: a connection's ``self.c``."""
    return ductflow_db.facade()


@pytest.fixture
def ductflow_pm() -> Any:
    """A fresh plugin manager with only the core's default plugins (no installed hook plugins)."""
    from ductflow_core.plugin.manager import make_plugin_manager

    return make_plugin_manager(load_entrypoints=False)


@pytest.fixture
def fake_entry_points() -> Callable[..., Any]:
    """Build a registry from fake distributions: ``fake_entry_points({"ductflow.connections": {...}})``."""

    def make(entry_points: dict[str, dict[str, str]], name: str = "fake-plugin", version: str = "1.0") -> Any:
        return fake_registry(FakeDistribution(name, version, entry_points))

    return make


@pytest.fixture
def ductflow_registry() -> Any:
    """A fresh :class:`~ductflow_core.plugin.registry.Registry` of everything installed, read when the test starts.

    Unlike the process-wide default registry, it sees distributions installed
    after the test session began.
    """
    from ductflow_core.plugin.registry import Registry

    return Registry()
