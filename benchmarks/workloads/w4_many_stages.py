"""W4: fifty stages over tiny tables, so the run is all per-stage overhead and no data work."""

from __future__ import annotations

from ..context import Context
from ..harness import DUCTFLOW, REFERENCE, Contestant, Outcome
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
TINY_ROWS = 100


def transform_sql(previous: str) -> str:
    return f"SELECT id, k + 1 AS k, qty * 2 AS qty FROM {previous}"


def build(ctx: Context) -> list[Contestant]:
    folder = ctx.folder("w4")
    tiny = folder / "tiny.csv"
    tiny.write_text("id,k,qty\n" + "".join(f"{i},{i % 7},{i % 13}\n" for i in range(TINY_ROWS)))
    ours_out, ref_out = folder / "ductflow.parquet", folder / "duckdb.parquet"
    # One tap, 48 transforms, one sink: the same fifty steps on both sides.
    stages: list[dict] = [{"name": "s00", "kind": "tap", "connection": {"kind": "csv", "params": {"path": str(tiny)}}}]
    statements = [f"CREATE TABLE s00 AS SELECT * FROM read_csv({sql_str(tiny)})"]
    for i in range(1, STAGES - 1):
        name, previous = f"s{i:02d}", f"s{i - 1:02d}"
        stages.append({"name": name, "kind": "transform", "sql": transform_sql(previous)})
        statements.append(f"CREATE TABLE {name} AS {transform_sql(previous)}")
    last = f"s{STAGES - 2:02d}"
    stages.append(
        {
            "name": "out",
            "kind": "sink",
            "from": last,
            "connection": {"kind": "parquet", "params": {"path": str(ours_out)}},
        }
    )
    statements.append(f"COPY {last} TO {sql_str(ref_out)} (FORMAT parquet)")
    yaml_path = write_yaml(folder / "w4.yaml", {"stages": stages})
    return [
        ductflow_contestant(
            ctx, "ductflow", yaml_path, cleanup=[ours_out], verify=row_count_verifier(ours_out, TINY_ROWS)
        ),
        duckdb_contestant(
            ctx,
            "duckdb",
            folder / "duckdb_w4.py",
            statements,
            cleanup=[ref_out],
            verify=row_count_verifier(ref_out, TINY_ROWS),
        ),
    ]


def checks(ctx: Context, outcomes: list[Outcome]) -> list[Check]:
    ours, ref = by_role(outcomes, DUCTFLOW), by_role(outcomes, REFERENCE)
    per_stage = None
    if ours and ref and ours.median_s is not None and ref.median_s is not None:
        per_stage = (ours.median_s - ref.median_s) / STAGES * 1000
    return [Check(f"overhead per stage, (ductflow − DuckDB) / {STAGES}", per_stage, 5.0, "ms")]


WORKLOAD = Workload(
    key="W4",
    title=f"{STAGES} tiny stages",
    measures=(
        f"A {STAGES}-stage pipeline (CSV tap, {STAGES - 2} transforms, Parquet sink) over {TINY_ROWS}-row tables, "
        f"against the same {STAGES} statements in one DuckDB process: the cost Ductflow adds per stage, "
        "start-up included."
    ),
    build=build,
    checks=checks,
    rows=lambda ctx: None,
)
