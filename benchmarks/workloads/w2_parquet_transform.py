"""W2: two Parquet taps joined and grouped by a transform stage, written back to Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from ..context import Context
from ..datagen import fact_query
from ..harness import Contestant
from .base import Workload, duckdb_contestant, ductflow_variants, row_count_verifier, sql_str, versus_reference_checks

# Grouping by (k, d) keeps about 1.46 million groups at 5M rows, so the sink still has real work.
TRANSFORM = (
    "SELECT f.k, m.segment, f.d, count(*) AS n, sum(f.qty) AS qty, sum(f.amount) AS amount, "
    "avg(f.price * m.weight) AS weighted_price FROM {facts} AS f JOIN {dims} AS m USING (k) "
    "GROUP BY f.k, m.segment, f.d"
)


def expected_groups(rows: int) -> int:
    query = f"SELECT count(*) FROM (SELECT DISTINCT k, d FROM ({fact_query(rows)}))"
    [(n,)] = duckdb.connect().execute(query).fetchall()
    return int(n)


def pipeline(facts: Path, dims: Path, out: Path) -> dict[str, Any]:
    return {
        "stages": [
            {"name": "facts", "kind": "tap", "connection": {"kind": "parquet", "params": {"path": str(facts)}}},
            {"name": "dims", "kind": "tap", "connection": {"kind": "parquet", "params": {"path": str(dims)}}},
            {"name": "summary", "kind": "transform", "sql": TRANSFORM.format(facts="facts", dims="dims")},
            {
                "name": "out",
                "kind": "sink",
                "from": "summary",
                "connection": {"kind": "parquet", "params": {"path": str(out)}},
            },
        ]
    }


def build(ctx: Context) -> list[Contestant]:
    folder = ctx.folder("w2")
    facts, dims = ctx.dataset.parquet, ctx.dataset.dim_parquet
    ref_out = folder / "duckdb.parquet"
    groups = expected_groups(ctx.rows)
    contestants = ductflow_variants(
        ctx, folder, "w2", lambda out: pipeline(facts, dims, out), ".parquet", groups, "read_parquet"
    )
    query = TRANSFORM.format(facts=f"read_parquet({sql_str(facts)})", dims=f"read_parquet({sql_str(dims)})")
    contestants.append(
        duckdb_contestant(
            ctx,
            "duckdb",
            folder / "duckdb_w2.py",
            [f"COPY ({query}) TO {sql_str(ref_out)} (FORMAT parquet)"],
            cleanup=[ref_out],
            verify=row_count_verifier(ref_out, groups),
        )
    )
    return contestants


WORKLOAD = Workload(
    key="W2",
    title="Parquet → JOIN + GROUP BY → Parquet",
    measures="Two Parquet taps, a transform joining and aggregating them (~1.5M groups at 5M rows), a Parquet sink.",
    build=build,
    checks=lambda ctx, outcomes: versus_reference_checks(outcomes),
    charted=True,
    # About a second a job, of which Ductflow's fixed start-up is a tenth: it needs more rounds than W1 or W3.
    min_runs=10,
)
