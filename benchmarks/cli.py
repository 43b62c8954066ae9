"""``python -m benchmarks``: generate data, run the workloads, write the results."""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

from . import BENCH_DIR
from .context import Context, ductflow_executable
from .datagen import ensure_dataset
from .harness import REFERENCE, Outcome, measure, paired_ratio
from .report import chart, markdown, write_json
from .workloads import all_workloads
from .workloads.base import Workload, ratio

DEFAULT_ROWS = 5_000_000
QUICK_ROWS = 200_000


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument(
        "--rows", type=int, help=f"rows of generated data (default {DEFAULT_ROWS:,}; {QUICK_ROWS:,} with --quick)"
    )
    p.add_argument("--runs", type=int, help="counted runs per runner (default 3; 1 with --quick)")
    p.add_argument("--warmups", type=int, default=1, help="uncounted runs first (default 1)")
    p.add_argument("--workloads", help="comma-separated keys, e.g. W1,W3, or none (default: all)")
    p.add_argument("--quick", action="store_true", help="a smoke run: few rows, one counted run")
    p.add_argument(
        "--peers",
        action="store_true",
        help="also run the peers: pandas and dlt on W1, dlt and Sling on PG1/PG2 (in benchmarks/.peers)",
    )
    p.add_argument(
        "--scaling", action="store_true", help="peak RSS at --rows vs 4× --rows (W1, generator tap, PG1, PG2)"
    )
    p.add_argument("--data-dir", type=Path, default=BENCH_DIR / "data")
    p.add_argument("--work-dir", type=Path, default=BENCH_DIR / "work")
    p.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    p.add_argument(
        "--baseline",
        action="store_true",
        help="write the results as baseline.* instead of latest.* (the run later runs are compared with)",
    )
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    return p


def selected(spec: str | None, registry: dict[str, Workload]) -> list[Workload]:
    if not spec:
        return list(registry.values())
    if spec.strip().lower() == "none":
        return []
    keys = [k.strip().upper() for k in spec.split(",") if k.strip()]
    unknown = [k for k in keys if k not in registry]
    if unknown:
        raise SystemExit(f"unknown workload(s): {', '.join(unknown)}; known: {', '.join(registry)}")
    return [registry[k] for k in keys]


def run_workload(ctx: Context, workload: Workload) -> dict[str, Any]:
    runs = max(ctx.runs, workload.min_runs)
    print(f"{workload.key} {workload.title}: {runs} counted run(s)", file=sys.stderr, flush=True)
    contestants = workload.build(ctx)
    outcomes = measure(contestants, warmups=ctx.warmups, runs=runs, log_dir=ctx.work_dir / "logs" / workload.key)
    rows = workload.rows(ctx)
    return {
        "key": workload.key,
        "title": workload.title,
        "measures": workload.measures,
        "rows": rows,
        "runs": runs,
        "charted": workload.charted,
        "runners": runner_dicts(outcomes, rows),
        "checks": [c.as_dict() for c in workload.checks(ctx, outcomes)],
    }


def runner_dicts(outcomes: list[Outcome], rows: int | None) -> list[dict[str, Any]]:
    ref = next((o for o in outcomes if o.role == REFERENCE), None)
    found = []
    for o in outcomes:
        d = o.as_dict(rows)
        if ref is not None and o is not ref:
            d["time_ratio"] = rounded(paired_ratio(o, ref))
            d["rss_ratio"] = rounded(ratio(o.peak_rss_bytes, ref.peak_rss_bytes))
        found.append(d)
    return found


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    registry = all_workloads()
    if args.list:
        for wl in registry.values():
            print(f"{wl.key}  {wl.title}: {wl.measures}")
        return 0
    workloads = selected(args.workloads, registry)
    rows = args.rows or (QUICK_ROWS if args.quick else DEFAULT_ROWS)
    runs = args.runs or (1 if args.quick else 3)
    started = dt.datetime.now()
    print(f"data: {rows:,} rows under {args.data_dir}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    dataset = ensure_dataset(rows, args.data_dir)
    print(f"data ready in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    ctx = Context(
        rows=rows,
        runs=runs,
        warmups=args.warmups,
        dataset=dataset,
        work_dir=args.work_dir,
        data_dir=args.data_dir,
        quick=args.quick,
        peers=args.peers,
    )
    doc = header(ctx, started)
    doc["workloads"] = [run_workload(ctx, wl) for wl in workloads]
    if args.scaling:
        from .scaling import run_scaling

        doc["scaling"] = run_scaling(ctx)
    doc["finished_at"] = dt.datetime.now().isoformat(timespec="seconds")
    stem = result_stem(
        doc, [wl.key for wl in workloads], list(registry), scaling=args.scaling, baseline=args.baseline
    )
    json_path = write_json(doc, args.results_dir / f"{stem}.json")
    table = markdown(doc)
    (args.results_dir / f"{stem}.md").write_text(table)
    png = chart(doc, args.results_dir / f"{stem}.png")
    print(table)
    print(f"wrote {json_path}, {json_path.with_suffix('.md')}" + (f", {png}" if png else ""), file=sys.stderr)
    return 0


def result_stem(
    doc: dict[str, Any], ran: list[str], known: list[str], *, scaling: bool, baseline: bool = False
) -> str:
    """``latest`` for a full run (``baseline`` with ``--baseline``); a partial run adds what it did.

    The folder keeps one baseline and the latest run, and git keeps the history, so names carry no date
    (the date is in the file). A partial run never overwrites the full one: ``latest`` (every workload),
    ``latest-W2-W4``, ``latest-PG1-PG2-peers``, ``latest-scaling`` (``--workloads none --scaling``), ``…-quick``.
    """
    parts = ["baseline" if baseline else "latest"]
    if set(ran) != set(known):
        parts += ran
    if doc["peers"]:
        parts.append("peers")
    if scaling:
        parts.append("scaling")
    if doc["quick"]:
        parts.append("quick")
    return "-".join(parts)


def header(ctx: Context, started: dt.datetime) -> dict[str, Any]:
    return {
        "schema": 1,
        "date": started.date().isoformat(),
        "started_at": started.isoformat(timespec="seconds"),
        "host": re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname()) or "host",
        "platform": platform.platform(),
        "cpu_count": _cpu_count(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "ductflow_cli": ductflow_executable(),
        "rows": ctx.rows,
        "runs": ctx.runs,
        "warmups": ctx.warmups,
        "quick": ctx.quick,
        "peers": ctx.peers,
    }


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
