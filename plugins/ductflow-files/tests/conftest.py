"""Fixtures: a fresh DuckDB database per test, and a facade on it like the one a stage gets."""

from __future__ import annotations

import pytest
from ductflow_core.sql import StageDatabase


@pytest.fixture
def db(ductflow_facade: StageDatabase) -> StageDatabase:
    """The facade a stage's connection gets, on a fresh in-memory database (from Ductflow's pytest plugin)."""
    return ductflow_facade
