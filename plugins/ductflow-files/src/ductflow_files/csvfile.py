"""CSV files: ``read_csv`` to tap, ``COPY ... (FORMAT csv)`` to sink."""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal, get_args

from .base import FileConnection

CsvCompression = Literal["auto", "none", "gzip", "zstd"]


class CsvConnection(FileConnection):
    """Delimited text files. Unset options are left to DuckDB's sniffer when reading."""

    FORMAT = "csv"
    READER = "read_csv"
    FOLDER_GLOB = "**/[!.]*.csv*"
    READ_OPTIONS = MappingProxyType(
        {
            "delimiter": "delim",
            "header": "header",
            "quote": "quote",
            "escape": "escape",
            "nullstr": "nullstr",
            "compression": "compression",
            "columns": "columns",
            "skip": "skip",
            "date_format": "dateformat",
            "timestamp_format": "timestampformat",
            "all_varchar": "all_varchar",
            "sample_size": "sample_size",
            "ignore_errors": "ignore_errors",
            "union_by_name": "union_by_name",
            "filename": "filename",
            "hive_partitioning": "hive_partitioning",
        }
    )
    WRITE_OPTIONS = MappingProxyType(
        {
            "delimiter": "DELIMITER",
            "header": "HEADER",
            "quote": "QUOTE",
            "escape": "ESCAPE",
            "nullstr": "NULLSTR",
            "compression": "COMPRESSION",
            "date_format": "DATEFORMAT",
            "timestamp_format": "TIMESTAMPFORMAT",
        }
    )
    CHOICES = MappingProxyType({"compression": get_args(CsvCompression)})

    delimiter: str | None = None
    header: bool | None = None
    quote: str | None = None
    escape: str | None = None
    nullstr: str | None = None
    compression: CsvCompression = "auto"
    columns: dict[str, str] | None = None
    skip: int | None = None
    date_format: str | None = None
    timestamp_format: str | None = None
    all_varchar: bool | None = None
    sample_size: int | None = None
    ignore_errors: bool | None = None
    union_by_name: bool | None = None
    filename: bool | None = None
    hive_partitioning: bool | None = None
