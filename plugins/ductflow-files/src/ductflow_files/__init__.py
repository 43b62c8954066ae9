"""Ductflow connections for CSV, Parquet and JSON files, read and written by DuckDB's own readers and ``COPY``.

Each entry point names its own module, and the names below are imported on first use, so a pipeline
that reads only Parquet never imports the CSV or JSON connection.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import FileConnection
    from .csvfile import CsvConnection
    from .jsonfile import JsonConnection
    from .parquetfile import ParquetConnection

_MODULES = {
    "CsvConnection": "csvfile",
    "FileConnection": "base",
    "JsonConnection": "jsonfile",
    "ParquetConnection": "parquetfile",
}

__all__ = ["CsvConnection", "FileConnection", "JsonConnection", "ParquetConnection"]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
