"""Fixtures: a fresh DuckDB database per test, and a facade on it like the one a stage gets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ductflow_core.db import Database, StageDatabase


@pytest.fixture
def database() -> Iterator[Database]:
    db = Database(max_workers=4)
    yield db
    db.close()


@pytest.fixture
def db(database: Database) -> StageDatabase:
    return database.facade()
