"""The sink's fast writer: Arrow batches encoded to binary COPY by pgpq, sent by psycopg.

ADBC's ingest encodes value by value on the thread that also sends, and on a 2-core machine that thread was
the bound of a write (about 7 of 10 client CPU seconds for 5M rows). pgpq encodes whole columns and psycopg
passes the bytes on, which left 4.5 CPU seconds and made the server the bound (see DRIVER.md).

pgpq writes each Arrow type as one PostgreSQL type, so a table goes this way only when every column's target type
is one pgpq writes exactly; arrays of varchar, char or timestamptz stay with ADBC, which writes them natively.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa

from .client import Target, open_session
from .names import TableName, quote_ident
from .types import ColumnPlan, PgColumn

#: PostgreSQL base type -> the pgpq encoder (by its output type's name) that writes its binary form.
_WRITES: dict[str, str] = {
    "int2": "Int2",
    "int4": "Int4",
    "int8": "Int8",
    "float4": "Float4",
    "float8": "Float8",
    "text": "Text",
    "varchar": "Text",
    "bpchar": "Text",
    "bool": "Bool",
    # The sink sends dates and timestamps as the numbers that are their binary form (see types._as_pg_binary).
    "date": "Int4",
    "time": "Time",
    "timestamp": "Int8",
    "timestamptz": "Int8",
    "bytea": "Bytea",
    "numeric": "Numeric",
    # The sink sends a uuid as its 16 raw bytes, which is uuid's binary form; json's binary form is its text;
    # jsonb's is a version byte and the text, which pgpq writes when asked for Jsonb (see encoder_for).
    "uuid": "Bytea",
    # An interval goes as the 16 bytes of its binary form (see types._interval_as_pg_binary).
    "interval": "Bytea",
    "json": "Text",
    "jsonb": "Jsonb",
}


#: Element types of the arrays pgpq writes. A binary array names its element type, and the server refuses any other
#: than the column's: pgpq labels varchar and char elements text, and timestamptz elements timestamp.
_ARRAY_ELEMENTS = frozenset(
    {"int2", "int4", "int8", "float4", "float8", "numeric", "text", "bool", "date", "time", "timestamp", "bytea"}
)


def expected_encoders(plans: list[ColumnPlan], target: list[PgColumn]) -> list[str] | None:
    """The pgpq output type each planned column needs, or ``None`` when one of them is not pgpq's to write.

    A scalar's is pgpq's type name (``Int4``); an array's is pgpq's DDL for it (``INT4[]``), which names the element.
    """
    by_name = {col.name: col for col in target}
    wanted = []
    for plan in plans:
        col = by_name[plan.name]
        # A staged column travels as text (text[] for an array) into a staging table.
        found = _wanted("text" if plan.staged else col.base, col.is_array)
        if found is None:
            return None
        wanted.append(found)
    return wanted


def _wanted(base: str, is_array: bool) -> str | None:
    if not is_array:
        return _WRITES.get(base)
    return f"{base.upper()}[]" if base in _ARRAY_ELEMENTS else None


def encoder_for(schema: pa.Schema, wanted: list[str]) -> Any | None:
    """A pgpq encoder for ``schema`` whose outputs are ``wanted``, or ``None`` if pgpq would write other types."""
    import pgpq

    try:
        builders = {
            field.name: _jsonb_builder(field)
            if want == "Jsonb"
            else pgpq.ArrowToPostgresBinaryEncoder.infer_encoder(field)
            for field, want in zip(schema, wanted, strict=True)
        }
        encoder = pgpq.ArrowToPostgresBinaryEncoder.new_with_encoders(schema, builders)
    except Exception:  # pgpq has no encoder for one of the Arrow types
        return None
    got = [_output(column.data_type) for column in encoder.schema().columns]
    return encoder if got == wanted else None


def _output(pg_type: Any) -> str:
    """What :func:`expected_encoders` calls pgpq's output type ``pg_type``."""
    name = type(pg_type).__name__
    return str(pg_type.ddl()) if name == "List" else name


def _jsonb_builder(field: pa.Field) -> Any:
    """pgpq's encoder of a string column as jsonb; it raises for a column that is not a string."""
    from pgpq import encoders, schema

    kind = field.type
    if pa.types.is_large_string(kind):
        return encoders.LargeStringEncoderBuilder.new_with_output(field, schema.Jsonb())
    if pa.types.is_string_view(kind):
        return encoders.StringViewEncoderBuilder.new_with_output(field, schema.Jsonb())
    return encoders.StringEncoderBuilder.new_with_output(field, schema.Jsonb())


def connect(target: Target) -> Any:
    """A psycopg connection set up as :func:`.client.connect` sets up ADBC's, with no autocommit."""
    import psycopg

    # psycopg only waits for the socket to take more COPY data and never reads while it does: a server sending a
    # notice per row (a trigger's RAISE NOTICE) blocks on its own write and both sides wait for ever. Nothing reads
    # the notices anyway (ADBC drops them too); errors still arrive.
    return open_session(target, psycopg.connect, "SET client_min_messages = error")


#: Rows encoded at a time. Smaller pieces keep the sending thread fed: a large one holds the GIL while pgpq
#: encodes it, and the server drains its socket buffer and waits.
PIECE_ROWS = 16_384
#: Encoded pieces waiting for the sending thread; each is about 2 MB at PIECE_ROWS rows of ten columns.
QUEUE_DEPTH = 4


def copy_in(
    cur: Any,
    table: TableName,
    columns: Iterable[str],
    reader: pa.RecordBatchReader,
    encoder: Any,
    *,
    freeze: bool = False,
) -> int:
    """COPY every batch of ``reader`` into ``table``; return the rows.

    This thread reads and encodes while another sends, so the server is never left waiting on the encoder.
    ``freeze`` writes the rows already frozen; PostgreSQL allows it only into a plain table created or truncated
    earlier in the same transaction.
    """
    names = ", ".join(quote_ident(name) for name in columns)
    rows = 0
    options = "FORMAT binary, FREEZE" if freeze else "FORMAT binary"
    with cur.copy(f"COPY {table.sql} ({names}) FROM STDIN ({options})") as copy:
        sender = _Sender(copy.write)
        try:
            sender.put(encoder.write_header())
            for batch in reader:
                for start in range(0, batch.num_rows, PIECE_ROWS):
                    sender.put(encoder.write_batch(batch.slice(start, PIECE_ROWS)))
                rows += batch.num_rows
            sender.put(encoder.finish())
        finally:
            # Joined before the COPY ends either way: only one thread may use the connection at a time.
            sender.close()
    return rows


class _Sender:
    """A thread that hands queued buffers to ``write``; its first error is raised by the next put or close."""

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self._write = write
        self._queue: queue.Queue[bytes | None] = queue.Queue(QUEUE_DEPTH)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ductflow-postgres-copy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (buffer := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._write(buffer)
                except BaseException as exc:  # raised in the caller's thread by put() or close()
                    self._error = exc

    def put(self, buffer: bytes) -> None:
        """Queue ``buffer``, waiting while the queue is full; raise the sending thread's error, if any."""
        if self._error is not None:
            raise self._error
        self._queue.put(buffer)

    def close(self) -> None:
        """Wait for everything queued to be sent, then raise the sending thread's error, if any."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
