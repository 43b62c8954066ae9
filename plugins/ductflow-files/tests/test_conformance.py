"""The core's conformance suite, run against the CSV, Parquet and JSON connections."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ductflow_core.testing.conformance import ConnectionSuite

from ductflow_files import CsvConnection, JsonConnection, ParquetConnection


class FileSuite(ConnectionSuite):
    """Each check writes to, and reads back from, its own file in the test's folder."""

    suffix = ""

    def sink_params(self, tmp_path: Path, table: str) -> dict[str, Any]:
        return {"path": str(tmp_path / "files" / f"{table}.{self.suffix}")}

    def tap_params(self, tmp_path: Path, table: str | None) -> dict[str, Any]:
        return {"path": str(tmp_path / "files" / f"{table}.{self.suffix}")}


class TestCsvConformance(FileSuite):
    connection_class = CsvConnection
    locator = "csv"
    suffix = "csv"
    bad_params: ClassVar[dict[str, object]] = {"delimiter": 5, "header": "maybe"}


class TestParquetConformance(FileSuite):
    connection_class = ParquetConnection
    locator = "parquet"
    suffix = "parquet"
    # Parquet stores the schema, so types come back exactly.
    exact_types = True
    bad_params: ClassVar[dict[str, object]] = {"compression": "zip"}


class TestJsonConformance(FileSuite):
    connection_class = JsonConnection
    locator = "json"
    suffix = "json"
    # A JSON-lines file with no lines has no keys: an empty table comes back without its columns.
    empty_keeps_columns = False
    bad_params: ClassVar[dict[str, object]] = {"format": "yaml"}
