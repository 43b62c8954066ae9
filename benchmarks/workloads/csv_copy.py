"""What W1 and W3 share: tap the CSV, sink it in another format, against DuckDB's own ``COPY``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..context import Context
from ..harness import Contestant
from .base import duckdb_contestant, ductflow_variants, row_count_verifier, sql_str


def pipeline(csv: Path, out: Path, locator: str) -> dict[str, Any]:
    """A two-stage pipeline: a csv tap and a sink of the given locator."""
    return {
        "stages": [
            {"name": "src", "kind": "tap", "connection": {"kind": "csv", "params": {"path": str(csv)}}},
            {
                "name": "out",
                "kind": "sink",
                "from": "src",
                "connection": {"kind": locator, "params": {"path": str(out)}},
            },
        ]
    }


def contestants(ctx: Context, key: str, locator: str, ext: str, copy_format: str, reader: str) -> list[Contestant]:
    """Ductflow's variants and the DuckDB reference, writing ``ext`` files read back with ``reader``."""
    folder = ctx.folder(key)
    csv = ctx.dataset.csv
    ref_out = folder / f"duckdb{ext}"
    found = ductflow_variants(ctx, folder, key, lambda out: pipeline(csv, out, locator), ext, ctx.rows, reader)
    found.append(
        duckdb_contestant(
            ctx,
            "duckdb",
            folder / f"duckdb_{key}.py",
            [f"COPY (SELECT * FROM read_csv({sql_str(csv)})) TO {sql_str(ref_out)} (FORMAT {copy_format})"],
            cleanup=[ref_out],
            verify=row_count_verifier(ref_out, ctx.rows, reader),
        )
    )
    return found
