"""Memory scaling: does peak RSS stay flat when the data grows fourfold?

A streaming pipeline should need about the same memory for 20M rows as for
5M; a pipeline that holds whole tables needs four times as much.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

from .context import Context
from .datagen import ensure_dataset
from .harness import DUCTFLOW, REFERENCE, VARIANT, Contestant, Outcome, measure
from .workloads import postgres, w1_csv_to_parquet
from .workloads.base import (
    Check,
    duckdb_contestant,
    ductflow_contestant,
    row_count_verifier,
    write_script,
    write_yaml,
)

FACTOR = 4
RSS_LIMIT = 1.3

GEN_REFERENCE = """\
import sys

import duckdb

from benchmarks.genbatches import reader

con = duckdb.connect()
con.register("gen", reader(int(sys.argv[1])))
con.execute("COPY (SELECT * FROM gen) TO " + repr(sys.argv[2]) + " (FORMAT parquet)")
"""


def gen_contestants(ctx: Context, folder: Path) -> list[Contestant]:
    ours_out, ref_out = folder / "ductflow.parquet", folder / "duckdb.parquet"
    document = {
        "stages": [
            {
                "name": "gen",
                "kind": "tap",
                "connection": {
                    "kind": "CustomConnection",
                    "module": "benchmarks.benchgen",
                    "classname": "GenTap",
                    "params": {"rows": ctx.rows},
                },
            },
            {
                "name": "out",
                "kind": "sink",
                "from": "gen",
                "connection": {"kind": "parquet", "params": {"path": str(ours_out)}},
            },
        ]
    }
    yaml_path = write_yaml(folder / "gen.yaml", document)
    script = write_script(folder / "duckdb_gen.py", GEN_REFERENCE)
    return [
        ductflow_contestant(
            ctx, "ductflow", yaml_path, cleanup=[ours_out], verify=row_count_verifier(ours_out, ctx.rows)
        ),
        dataclasses.replace(
            duckdb_contestant(ctx, "duckdb", folder / "unused.py", []),
            argv=[ctx.python, str(script), str(ctx.rows), str(ref_out)],
            cleanup=[ref_out],
            verify=row_count_verifier(ref_out, ctx.rows),
        ),
    ]


def w1_contestants(ctx: Context, folder: Path) -> list[Contestant]:
    del folder  # W1 keeps its own folder; the context decides its data set.
    return w1_csv_to_parquet.build(dataclasses.replace(ctx, peers=False))


CASES = {
    "W1 CSV → Parquet": w1_contestants,
    "generator tap → Parquet": gen_contestants,
    # Loads facts_<4N> into the benchmark database on first use (about as long as a PG1 run at 4N).
    "PG1 PostgreSQL → Parquet": postgres.scaling_read,
    # Writes 4N rows into a table of its own, dropped after the run.
    "PG2 Parquet → PostgreSQL": postgres.scaling_write,
}


def run_scaling(ctx: Context) -> dict[str, Any]:
    """Measure each case at ``rows`` and ``FACTOR × rows``; one counted run each, peak RSS being steady."""
    sizes = [ctx.rows, ctx.rows * FACTOR]
    results: dict[str, dict[int, list[Outcome]]] = {name: {} for name in CASES}
    for rows in sizes:
        print(f"  scaling at {rows:,} rows: preparing data …", file=sys.stderr, flush=True)
        sized = dataclasses.replace(
            ctx, rows=rows, dataset=ensure_dataset(rows, ctx.data_dir), work_dir=ctx.work_dir / f"scaling-{rows}"
        )
        for name, build in CASES.items():
            print(f"  scaling: {name} at {rows:,} rows", file=sys.stderr, flush=True)
            folder = sized.folder(name.split()[0].lower())
            results[name][rows] = measure(build(sized, folder), warmups=0, runs=1, log_dir=folder / "logs")
    return summarize(sizes, results)


def summarize(sizes: list[int], results: dict[str, dict[int, list[Outcome]]]) -> dict[str, Any]:
    cases, checks = [], []
    for name, per_size in results.items():
        for role in (DUCTFLOW, VARIANT, REFERENCE):
            firsts = (next((o for o in per_size[rows] if o.role == role), None) for rows in sizes)
            picked = [o for o in firsts if o is not None]
            # A role only some sizes have (a peer, say) has no growth to show.
            if len(picked) != len(sizes):
                continue
            rss = [o.peak_rss_bytes for o in picked]
            growth = rss[1] / rss[0] if rss[0] and rss[1] else None
            cases.append(
                {
                    "case": name,
                    "runner": picked[0].name,
                    "role": role,
                    "peak_rss_mib": [None if r is None else round(r / 2**20, 1) for r in rss],
                    "median_s": [None if o.median_s is None else round(o.median_s, 3) for o in picked],
                    "errors": [o.error for o in picked if o.error],
                    "rss_growth": None if growth is None else round(growth, 3),
                }
            )
            if role == DUCTFLOW:
                checks.append(Check(f"{name}: peak RSS at {FACTOR}× rows ÷ at 1×", growth, RSS_LIMIT, "×").as_dict())
    return {"rows": sizes, "cases": cases, "checks": checks}
