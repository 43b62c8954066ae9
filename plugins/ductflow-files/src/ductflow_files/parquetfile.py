"""Parquet files: ``read_parquet`` to tap, ``COPY ... (FORMAT parquet)`` to sink."""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated, Literal, get_args

from ductflow_core.params import Range, ReadOnly, WriteOnly

from .base import FileConnection
from .exact import Column, parquet_column

ParquetCompression = Literal["snappy", "zstd", "gzip", "lz4", "brotli", "uncompressed"]


class ParquetConnection(FileConnection):
    """Parquet files; their types and compression travel inside them, so reading needs few options."""

    FORMAT = "parquet"
    READER = "read_parquet"
    FOLDER_GLOB = "**/[!.]*.parquet"
    READ_OPTIONS = MappingProxyType(
        {
            "union_by_name": "union_by_name",
            "hive_partitioning": "hive_partitioning",
            "filename": "filename",
        }
    )
    WRITE_OPTIONS = MappingProxyType(
        {
            "compression": "COMPRESSION",
            "compression_level": "COMPRESSION_LEVEL",
            "row_group_size": "ROW_GROUP_SIZE",
        }
    )
    CHOICES = MappingProxyType({"compression": get_args(ParquetCompression)})

    compression: Annotated[ParquetCompression, WriteOnly()] = "snappy"
    compression_level: Annotated[int | None, WriteOnly()] = None
    row_group_size: Annotated[int | None, Range(min=1), WriteOnly()] = None
    union_by_name: Annotated[bool | None, ReadOnly()] = None
    hive_partitioning: Annotated[bool | None, ReadOnly()] = None
    filename: Annotated[bool | None, ReadOnly()] = None

    def exact_column(self, name: str, column_type: str) -> Column:
        """INTERVAL and TIMETZ as text, (U)HUGEINT as DECIMAL(38,0), UNION refused: :func:`.exact.parquet_column`."""
        return parquet_column(name, column_type)
