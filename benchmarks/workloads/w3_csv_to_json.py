"""W3: read the CSV and write newline-delimited JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..context import Context
from ..harness import Contestant
from .base import Workload, duckdb_contestant, ductflow_variants, row_count_verifier, sql_str, versus_reference_checks


def pipeline(csv: Path, out: Path) -> dict[str, Any]:
    return {
        "stages": [
            {"name": "src", "kind": "tap", "connection": {"kind": "csv", "params": {"path": str(csv)}}},
            {
                "name": "out",
                "kind": "sink",
                "from": "src",
                "connection": {"kind": "json", "params": {"path": str(out)}},
            },
        ]
    }


def build(ctx: Context) -> list[Contestant]:
    folder = ctx.folder("w3")
    csv = ctx.dataset.csv
    ref_out = folder / "duckdb.jsonl"
    contestants = ductflow_variants(ctx, folder, "w3", lambda out: pipeline(csv, out), ".jsonl", ctx.rows, "read_json")
    contestants.append(
        duckdb_contestant(
            ctx,
            "duckdb",
            folder / "duckdb_w3.py",
            [f"COPY (SELECT * FROM read_csv({sql_str(csv)})) TO {sql_str(ref_out)} (FORMAT json)"],
            cleanup=[ref_out],
            verify=row_count_verifier(ref_out, ctx.rows, "read_json"),
        )
    )
    return contestants


WORKLOAD = Workload(
    key="W3",
    title="CSV → JSON lines",
    measures="Tap a CSV file and sink it as newline-delimited JSON: a text-heavy writer.",
    build=build,
    checks=lambda ctx, outcomes: versus_reference_checks(outcomes),
    charted=True,
)
