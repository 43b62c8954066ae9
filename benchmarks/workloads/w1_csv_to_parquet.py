"""W1: read the CSV and write it as Parquet, the plainest move there is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..context import Context
from ..harness import Contestant
from ..peers import peer_contestants
from .base import Workload, duckdb_contestant, ductflow_variants, row_count_verifier, sql_str, versus_reference_checks


def pipeline(csv: Path, out: Path) -> dict[str, Any]:
    return {
        "stages": [
            {"name": "src", "kind": "tap", "connection": {"kind": "csv", "params": {"path": str(csv)}}},
            {
                "name": "out",
                "kind": "sink",
                "from": "src",
                "connection": {"kind": "parquet", "params": {"path": str(out)}},
            },
        ]
    }


def build(ctx: Context) -> list[Contestant]:
    folder = ctx.folder("w1")
    csv = ctx.dataset.csv
    ref_out = folder / "duckdb.parquet"
    contestants = ductflow_variants(
        ctx, folder, "w1", lambda out: pipeline(csv, out), ".parquet", ctx.rows, "read_parquet"
    )
    contestants.append(
        duckdb_contestant(
            ctx,
            "duckdb",
            folder / "duckdb_w1.py",
            [f"COPY (SELECT * FROM read_csv({sql_str(csv)})) TO {sql_str(ref_out)} (FORMAT parquet)"],
            cleanup=[ref_out],
            verify=row_count_verifier(ref_out, ctx.rows),
        )
    )
    if ctx.peers:
        contestants += peer_contestants(ctx, folder)
    return contestants


WORKLOAD = Workload(
    key="W1",
    title="CSV → Parquet",
    measures="Tap a CSV file and sink it to Parquet: parsing, type detection and Parquet encoding, end to end.",
    build=build,
    checks=lambda ctx, outcomes: versus_reference_checks(outcomes),
    charted=True,
)
