"""Generated Arrow batches, shared by the generator tap and its plain-DuckDB reference."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

BATCH_ROWS = 65_536


def template_batch(size: int) -> pa.RecordBatch:
    """One batch's worth of columns; later batches only shift ``id``, so making data costs next to nothing."""
    ids = list(range(size))
    return pa.record_batch(
        {
            "id": pa.array(ids, pa.int64()),
            "k": pa.array([i * 7919 % 1000 for i in ids], pa.int32()),
            "qty": pa.array([i * 37 % 100 + 1 for i in ids], pa.int32()),
            "price": pa.array([i * 7919 % 1000003 / 100.0 for i in ids], pa.float64()),
            "name": pa.array([f"customer_{i * 2654435761 % 100000000:011d}" for i in ids], pa.string()),
            "note": pa.array([None if i % 5 == 0 else f"note {i:015d}" for i in ids], pa.string()),
        }
    )


def batches(rows: int, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    template = template_batch(batch_rows)
    for start in range(0, rows, batch_rows):
        size = min(batch_rows, rows - start)
        batch = template.slice(0, size)
        ids = pc.add(batch.column(0), pa.scalar(start, pa.int64()))
        yield pa.record_batch([ids, *batch.columns[1:]], schema=template.schema)


def reader(rows: int) -> pa.RecordBatchReader:
    """A stream of ``rows`` generated rows; nothing is held beyond the batch being read."""
    schema = template_batch(1).schema
    return pa.RecordBatchReader.from_batches(schema, batches(rows))
