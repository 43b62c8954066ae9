"""Helpers for testing Ductflow plugins and pipelines; fixtures live in :mod:`.plugin`.

``FakeDistribution`` stands in for an installed distribution so a test can
offer entry points without installing anything.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import attrs

from ductflow_core.models import Stages
from ductflow_core.plugin.registry import Registry
from ductflow_core.run.context import StageResult
from ductflow_core.run.output import Output


class FakeDistribution(metadata.Distribution):
    """A distribution that exists only in memory, with the entry points given.

    ``entry_points`` maps a group to ``{name: "module:attr"}``.
    """

    def __init__(self, name: str, version: str = "0.0.0", entry_points: Mapping[str, Mapping[str, str]] = ()) -> None:  # type: ignore[assignment]
        self._name = name
        self._version = version
        self._eps = {group: dict(eps) for group, eps in dict(entry_points).items()}

    def read_text(self, filename: str) -> str | None:
        if filename in ("METADATA", "PKG-INFO"):
            return f"Metadata-Version: 2.1\nName: {self._name}\nVersion: {self._version}\n"
        if filename == "entry_points.txt":
            return "".join(
                f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) for group, eps in self._eps.items()
            )
        return None

    def locate_file(self, path: Any) -> Path:
        return Path(str(path))


def fake_registry(*distributions: metadata.Distribution) -> Registry:
    """A registry that sees only ``distributions``."""
    return Registry(distributions=list(distributions))


@attrs.define
class RunOutcome:
    """What an in-process run left behind: per-stage results, stdout and stderr text, the database file."""

    results: list[StageResult]
    stdout: str
    stderr: str
    database: Path | None

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        """Run ``query`` on the run's DuckDB file and return all rows."""
        import duckdb

        if self.database is None:
            raise ValueError("this run used the pipeline's own database setting; pass database= to inspect it")
        with duckdb.connect(str(self.database), read_only=True) as con:
            return con.execute(query).fetchall()

    def result(self, name: str) -> StageResult:
        """The result of stage ``name``."""
        return next(r for r in self.results if r.name == name)


def run_pipeline(
    pipeline: str | Path | Stages,
    *,
    database: Path | None = None,
    plugins: Iterable[object] = (),
    registry: Registry | None = None,
    stages: Iterable[str] | None = None,
) -> RunOutcome:
    """Run a pipeline in this process with a fresh plugin manager; keep its DuckDB file for inspection."""
    from ductflow_core import api
    from ductflow_core.plugin.manager import make_plugin_manager

    loaded = pipeline if isinstance(pipeline, Stages) else Stages.load(pipeline)
    out, err = io.StringIO(), io.StringIO()
    output = Output(out=out, err=err, secrets=loaded.secrets)
    pm = make_plugin_manager(registry=registry, plugins=plugins)
    results = asyncio.run(
        api.arun(
            loaded,
            database=str(database) if database is not None else None,
            pm=pm,
            output=output,
            registry=registry,
            stages=stages,
        )
    )
    return RunOutcome(results, out.getvalue(), err.getvalue(), database)
