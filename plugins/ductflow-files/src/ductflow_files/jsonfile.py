"""JSON files: ``read_json`` to tap, ``COPY ... (FORMAT json)`` to sink."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Literal, get_args

from .base import FileConnection

JsonFormat = Literal["auto", "newline_delimited", "array"]
JsonCompression = Literal["auto", "none", "gzip", "zstd"]


class JsonConnection(FileConnection):
    """JSON files of one object per line (``newline_delimited``) or one top-level array of objects (``array``)."""

    FORMAT = "json"
    READER = "read_json"
    FOLDER_GLOB = "**/[!.]*.json*"
    READ_OPTIONS = MappingProxyType(
        {
            "format": "format",
            "compression": "compression",
            "columns": "columns",
            "date_format": "dateformat",
            "timestamp_format": "timestampformat",
            "sample_size": "sample_size",
            "maximum_object_size": "maximum_object_size",
            "union_by_name": "union_by_name",
            "filename": "filename",
            "hive_partitioning": "hive_partitioning",
        }
    )
    WRITE_OPTIONS = MappingProxyType(
        {
            "format": "ARRAY",
            "compression": "COMPRESSION",
            "date_format": "DATEFORMAT",
            "timestamp_format": "TIMESTAMPFORMAT",
        }
    )
    CHOICES = MappingProxyType({"format": get_args(JsonFormat), "compression": get_args(JsonCompression)})

    format: JsonFormat = "auto"
    compression: JsonCompression = "auto"
    columns: dict[str, str] | None = None
    date_format: str | None = None
    timestamp_format: str | None = None
    sample_size: int | None = None
    maximum_object_size: int | None = None
    union_by_name: bool | None = None
    filename: bool | None = None
    hive_partitioning: bool | None = None

    def writer_options(self, target: Path) -> dict[str, object]:
        """As the base's, but ``format: array`` writes one JSON array and anything else one object a line."""
        options = super().writer_options(target)
        options["ARRAY"] = self.format == "array"
        return options
