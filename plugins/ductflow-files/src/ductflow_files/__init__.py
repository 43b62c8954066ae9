"""Ductflow connections for CSV, Parquet and JSON files, read and written by DuckDB's own readers and ``COPY``."""

from .base import FileConnection
from .csvfile import CsvConnection
from .jsonfile import JsonConnection
from .parquetfile import ParquetConnection

__all__ = ["CsvConnection", "FileConnection", "JsonConnection", "ParquetConnection"]
