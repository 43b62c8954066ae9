"""A real PostgreSQL server for the suite: ``DUCTFLOW_TEST_PG_DSN``, or one started by ``scripts/pg-server.sh``.

Each test module gets its own database, dropped afterwards. No server means failed tests, never skipped ones.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from ductflow_core.sql import StageDatabase

from ductflow_postgres import PostgresConnection
from helpers import execute, with_database

REPO = Path(__file__).resolve().parents[3]
SERVER_SCRIPT = REPO / "scripts" / "pg-server.sh"


@pytest.fixture(scope="session")
def server_dsn() -> str:
    """DSN of a maintenance database on the test server."""
    dsn = os.environ.get("DUCTFLOW_TEST_PG_DSN")
    if dsn:
        return dsn
    try:
        done = subprocess.run([str(SERVER_SCRIPT), "start"], capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"no PostgreSQL server: set DUCTFLOW_TEST_PG_DSN or fix {SERVER_SCRIPT} ({exc})", pytrace=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        pytest.fail(
            f"no PostgreSQL server: set DUCTFLOW_TEST_PG_DSN, or make `{SERVER_SCRIPT} start` work "
            f"(exit {done.returncode}): {done.stderr.strip()[-2000:]}",
            pytrace=False,
        )
    return lines[-1]


@pytest.fixture(scope="module")
def pg_dsn(server_dsn: str) -> Iterator[str]:
    """DSN of a database created for this test module and dropped after it."""
    name = f"ductflow_test_{uuid.uuid4().hex[:12]}"
    try:
        execute(server_dsn, f'CREATE DATABASE "{name}"', autocommit=True)
    except Exception as exc:
        where = urlsplit(server_dsn)
        pytest.fail(
            f"cannot create a test database on the PostgreSQL server at {where.hostname}:{where.port}: "
            f"{str(exc).splitlines()[0]}",
            pytrace=False,
        )
    try:
        yield with_database(server_dsn, name)
    finally:
        execute(server_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', autocommit=True)


@pytest.fixture
def db(ductflow_facade: StageDatabase) -> StageDatabase:
    """The facade a stage's connection gets, on a fresh in-memory database (from Ductflow's pytest plugin)."""
    return ductflow_facade


@pytest.fixture
def make(db: StageDatabase, pg_dsn: str) -> Callable[..., PostgresConnection]:
    """Build a connection for stage ``name`` the way the runner does, against this module's database."""

    def build(name: str = "stage", **params: Any) -> PostgresConnection:
        params.setdefault("dsn", pg_dsn)
        if params["dsn"] is None:
            del params["dsn"]
        conn = PostgresConnection.create(name=name, c=db, params=params)
        assert isinstance(conn, PostgresConnection)
        return conn

    return build
