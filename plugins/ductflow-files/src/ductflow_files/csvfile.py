"""CSV files: ``read_csv`` to tap, ``COPY ... (FORMAT csv)`` to sink."""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated, Any, Literal, get_args

from ductflow_core.params import NonEmpty, Range, ReadOnly
from ductflow_core.sql import engine

from .base import FileConnection
from .exact import Column, csv_column
from .sqltext import reader_call

CsvCompression = Literal["auto", "none", "gzip", "zstd"]


#: How ``sniff_csv`` reports a character it found none of (no quoting, no comments).
_NONE_FOUND = "(empty)"


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
            "allow_quoted_nulls": "allow_quoted_nulls",
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

    delimiter: Annotated[str | None, NonEmpty()] = None
    header: bool | None = None
    quote: str | None = None
    escape: str | None = None
    nullstr: str | None = None
    compression: CsvCompression = "auto"
    columns: Annotated[dict[str, str] | None, NonEmpty(), ReadOnly()] = None
    skip: Annotated[int | None, Range(min=0), ReadOnly()] = None
    date_format: str | None = None
    timestamp_format: str | None = None
    all_varchar: Annotated[bool | None, ReadOnly()] = None
    sample_size: Annotated[int | None, Range(min=-1), ReadOnly()] = None
    ignore_errors: Annotated[bool | None, ReadOnly()] = None
    #: ``false`` (unlike DuckDB's default) reads ``""`` as an empty string: the sink writes NULL as nothing and an
    #: empty string as ``""``, so the two read back apart.
    allow_quoted_nulls: Annotated[bool, ReadOnly()] = False
    union_by_name: Annotated[bool | None, ReadOnly()] = None
    filename: Annotated[bool | None, ReadOnly()] = None
    hive_partitioning: Annotated[bool | None, ReadOnly()] = None

    async def view_reader_options(
        self, pattern: str | list[str], literal: bool, options: dict[str, object]
    ) -> dict[str, object]:
        """Options that fix what DuckDB's sniffer finds in the file now, so binding the view does not sniff again.

        Every stage stacked on a view binds it again, and ``read_csv`` sniffs the file on each bind (more for wide
        files). The sniffer's dialect and column types are the same ones ``read_csv``
        would use on its own; a sniff that fails leaves the options as they were, for the read to report.
        """
        duck = engine()

        if not self._pinnable(literal, options):
            return options
        try:
            found = await self._db.fetchall(
                "SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, HasHeader, Columns, "
                f"DateFormat, TimestampFormat FROM {reader_call('sniff_csv', pattern, options)}"
            )
        except duck.Error:
            return options
        if len(found) != 1 or not found[0][7]:
            return options
        sniffed: list[Any] = ["" if value == _NONE_FOUND else value for value in found[0]]
        delim, quote, escape, new_line, comment, skip, header, columns, date_format, timestamp_format = sniffed
        pinned = {key: value for key, value in options.items() if key not in ("sample_size", "all_varchar")}
        pinned.update(
            auto_detect=False,
            delim=delim,
            quote=quote,
            escape=escape,
            new_line=new_line,
            comment=comment,
            skip=int(skip),
            header=bool(header),
            columns={column["name"]: column["type"] for column in columns},
        )
        if date_format:
            pinned["dateformat"] = date_format
        if timestamp_format:
            pinned["timestampformat"] = timestamp_format
        return pinned

    def exact_column(self, name: str, column_type: str) -> Column:
        """See :func:`.exact.csv_column`: what the text of a value cannot carry is refused, naming the value."""
        return csv_column(name, column_type, self.date_format, self.timestamp_format)
