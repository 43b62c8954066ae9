"""JSON files: ``read_json`` to tap, ``COPY ... (FORMAT json)`` to sink."""

from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal, get_args

from ductflow_core.params import NonEmpty, Range, ReadOnly
from ductflow_core.sql import engine

from .base import FileConnection
from .exact import Column, json_column
from .sqltext import reader_call

JsonFormat = Literal["auto", "newline_delimited", "array"]
JsonCompression = Literal["auto", "none", "gzip", "zstd"]

#: Detected types DuckDB parses with a format it found in the sample and does not report: ``24-01-02`` may be
#: 2024-01-02 by detection and the year 24 by a pinned ``DATE`` column, so a view with one is not pinned.
_FORMAT_DETECTED = re.compile(r"\b(DATE|TIME|TIMESTAMP|INTERVAL)")


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
    columns: Annotated[dict[str, str] | None, NonEmpty(), ReadOnly()] = None
    date_format: str | None = None
    timestamp_format: str | None = None
    sample_size: Annotated[int | None, Range(min=-1), ReadOnly()] = None
    maximum_object_size: Annotated[int | None, Range(min=1), ReadOnly()] = None
    union_by_name: Annotated[bool | None, ReadOnly()] = None
    filename: Annotated[bool | None, ReadOnly()] = None
    hive_partitioning: Annotated[bool | None, ReadOnly()] = None

    async def view_reader_options(
        self, pattern: str | list[str], literal: bool, options: dict[str, object]
    ) -> dict[str, object]:
        """The detected column types, pinned, so that stages built on the view do not sample the file again.

        ``read_json`` samples the file on every bind, which ``columns`` given skips and which grows with the
        file. Pinned only when no column holds dates, times or timestamps (see ``_FORMAT_DETECTED``);
        a file DuckDB cannot describe is left as it was, for the read to report.
        """
        duck = engine()

        if not self._pinnable(literal, options):
            return options
        source = reader_call(self.READER, pattern, options)
        try:
            found = await self._db.fetchall(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})")
        except duck.Error:
            return options
        if not found or any(_FORMAT_DETECTED.search(str(column_type)) for _, column_type in found):
            return options
        pinned = {key: value for key, value in options.items() if key != "sample_size"}
        pinned["columns"] = {str(name): str(column_type) for name, column_type in found}
        return pinned

    def writer_options(self, target: Path) -> dict[str, object]:
        """As the base's, but ``format: array`` writes one JSON array and anything else one object a line."""
        options = super().writer_options(target)
        options["ARRAY"] = self.format == "array"
        return options

    def exact_column(self, name: str, column_type: str) -> Column:
        """See :func:`.exact.json_column`: what the text of a value cannot carry is refused, naming the value."""
        return json_column(name, column_type, self.date_format, self.timestamp_format)
