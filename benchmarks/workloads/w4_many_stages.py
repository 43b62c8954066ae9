"""W4: fifty stages over tiny tables, so the run is all per-stage overhead and no data work."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from ..context import Context
from ..harness import DUCTFLOW, REFERENCE, VARIANT, Contestant, Outcome, rounds
from .base import (
    Check,
    Workload,
    by_role,
    duckdb_contestant,
    ductflow_contestant,
    row_count_verifier,
    sql_str,
    write_yaml,
)

STAGES = 50
#: A shorter twin of the pipeline: the difference between the two is per-stage cost with start-up cancelled out.
SHORT_STAGES = 10
TINY_ROWS = 100
LIMIT_MS = 5.0
BASELINE = "baseline"


def transform_sql(previous: str) -> str:
    return f"SELECT id, k + 1 AS k, qty * 2 AS qty FROM {previous}"


def chain(stages: int, tiny: Path, out: Path) -> tuple[dict[str, Any], list[str]]:
    """One tap, ``stages - 2`` transforms and one sink, as pipeline YAML and as the same DuckDB statements."""
    steps: list[dict[str, Any]] = [
        {"name": "s00", "kind": "tap", "connection": {"kind": "csv", "params": {"path": str(tiny)}}}
    ]
    statements = [f"CREATE TABLE s00 AS SELECT * FROM read_csv({sql_str(tiny)})"]
    for i in range(1, stages - 1):
        name, previous = f"s{i:02d}", f"s{i - 1:02d}"
        steps.append({"name": name, "kind": "transform", "sql": transform_sql(previous)})
        statements.append(f"CREATE TABLE {name} AS {transform_sql(previous)}")
    last = f"s{stages - 2:02d}"
    sink = {"kind": "parquet", "params": {"path": str(out)}}
    steps.append({"name": "out", "kind": "sink", "from": last, "connection": sink})
    statements.append(f"COPY {last} TO {sql_str(out.with_suffix('.ref.parquet'))} (FORMAT parquet)")
    return {"stages": steps}, statements


def contestants_for(ctx: Context, folder: Path, tiny: Path, stages: int, roles: tuple[str, str]) -> list[Contestant]:
    out = folder / f"out-{stages}.parquet"
    document, statements = chain(stages, tiny, out)
    yaml_path = write_yaml(folder / f"w4-{stages}.yaml", document)
    ours = ductflow_contestant(
        ctx, f"ductflow {stages} stages", yaml_path, cleanup=[out], verify=row_count_verifier(out, TINY_ROWS)
    )
    ref_out = out.with_suffix(".ref.parquet")
    ref = duckdb_contestant(
        ctx,
        f"duckdb {stages} statements",
        folder / f"duckdb_w4_{stages}.py",
        statements,
        cleanup=[ref_out],
        verify=row_count_verifier(ref_out, TINY_ROWS),
    )
    ours.role, ref.role = roles
    return [ours, ref]


def build(ctx: Context) -> list[Contestant]:
    folder = ctx.folder("w4")
    tiny = folder / "tiny.csv"
    tiny.write_text("id,k,qty\n" + "".join(f"{i},{i % 7},{i % 13}\n" for i in range(TINY_ROWS)))
    return contestants_for(ctx, folder, tiny, STAGES, (DUCTFLOW, REFERENCE)) + contestants_for(
        ctx, folder, tiny, SHORT_STAGES, (VARIANT, BASELINE)
    )


def checks(ctx: Context, outcomes: list[Outcome]) -> list[Check]:
    # Differences are taken within each round, then the median over rounds: the machine's speed drifts between
    # rounds by more than the few milliseconds per stage being measured.
    ours, ref, short, short_ref = (by_role(outcomes, role) for role in (DUCTFLOW, REFERENCE, VARIANT, BASELINE))
    full = rounds(ours, ref)
    per_stage = statistics.median((d - r) / STAGES * 1000 for d, r in full) if full else None
    extra = STAGES - SHORT_STAGES
    both = rounds(ours, ref, short, short_ref)
    marginal = statistics.median(((d - v) - (r - b)) / extra * 1000 for d, r, v, b in both) if both else None
    return [
        Check(f"overhead per stage, median of per-round (ductflow − DuckDB) / {STAGES}", per_stage, LIMIT_MS, "ms"),
        Check(f"diagnostic: same without start-up, from {STAGES} vs {SHORT_STAGES} stages", marginal, LIMIT_MS, "ms"),
    ]


WORKLOAD = Workload(
    key="W4",
    title=f"{STAGES} tiny stages",
    measures=(
        f"A {STAGES}-stage pipeline (CSV tap, {STAGES - 2} transforms, Parquet sink) over {TINY_ROWS}-row tables, "
        f"against the same {STAGES} statements in one DuckDB process: the cost Ductflow adds per stage, "
        f"start-up included. A {SHORT_STAGES}-stage twin of each gives the per-stage cost without start-up."
    ),
    build=build,
    checks=checks,
    rows=lambda ctx: None,
    # Each round takes about 2 s; the figure is a few milliseconds per stage, so it needs many rounds.
    min_runs=10,
)
