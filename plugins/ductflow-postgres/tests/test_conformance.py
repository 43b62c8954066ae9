"""The core's conformance suite, run against the PostgreSQL connection and this module's database."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from ductflow_core.testing.conformance import ConnectionSuite

from ductflow_postgres import PostgresConnection
from helpers import execute


class TestPostgresConformance(ConnectionSuite):
    connection_class = PostgresConnection
    locator = "postgres"
    # Not exact: PostgreSQL has no TINYINT, so a TINYINT column comes back SMALLINT (values intact).
    bad_params: ClassVar[dict[str, object]] = {"port": "5432", "mode": "upsert"}
    dsn: str = ""

    @pytest.fixture(autouse=True)
    def _database(self, pg_dsn: str) -> None:
        self.dsn = pg_dsn

    def sink_params(self, tmp_path: Path, table: str) -> dict[str, Any]:
        return {"dsn": self.dsn, "table": table, "mode": "replace"}

    def tap_params(self, tmp_path: Path, table: str | None) -> dict[str, Any]:
        return {"dsn": self.dsn, "table": table or "pg_catalog.pg_namespace"}

    def cleanup(self, tmp_path: Path, table: str) -> None:
        execute(self.dsn, f'DROP TABLE IF EXISTS "{table}"')
