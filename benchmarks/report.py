"""Results on disk: the JSON record, a markdown table and a chart of the ratios."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TIME_RATIO_LIMIT = 1.10
RSS_RATIO_LIMIT = 1.25


def write_json(doc: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return path


def fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "—"
    return format(value, spec)


def cell(text: str | None) -> str:
    """``text`` made safe inside a markdown table cell."""
    return (text or "").replace("|", "\\|").replace("\n", " ")


def verdict(passed: bool | None) -> str:
    return {True: "✅ pass", False: "❌ fail", None: "— n/a"}[passed]


def markdown(doc: dict[str, Any]) -> str:
    """The tables of ``doc``: every runner's figures, then every target with its verdict."""
    head = (
        f"Run of {doc['started_at']} on `{doc['host']}` ({doc['cpu_count']} CPUs), "
        f"{doc['rows']:,} rows, {doc['warmups']} warm-up + {doc['runs']} counted run(s) per runner"
        f"{' — **--quick**' if doc['quick'] else ''}; DuckDB {doc['duckdb']}, Python {doc['python']}.\n"
    )
    lines = [head]
    if doc["workloads"]:
        lines += workload_markdown(doc["workloads"])
    scaling = doc.get("scaling")
    if scaling:
        lines += scaling_markdown(scaling)
    return "\n".join(lines) + "\n"


def workload_markdown(workloads: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| Workload | Runner | Median wall (s) | Rows/s | Peak RSS (MiB) | Time ÷ ref | RSS ÷ ref |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for wl in workloads:
        for r in wl["runners"]:
            if r["status"] != "ok":
                lines.append(f"| {wl['key']} {wl['title']} | {r['name']} | failed: {cell(r['error'])} | | | | |")
                continue
            lines.append(
                f"| {wl['key']} {wl['title']} | {r['name']}{' (ref)' if r['role'] == 'reference' else ''} "
                f"| {fmt(r['median_s'], '.3f')} | {fmt(r['rows_per_s'], ',')} | {fmt(r['peak_rss_mib'], '.0f')} "
                f"| {fmt(r.get('time_ratio'), '.2f')} | {fmt(r.get('rss_ratio'), '.2f')} |"
            )
    lines += ["", "| Target | Measured | Limit | Result |", "|---|---:|---:|---|"]
    for wl in workloads:
        for c in wl["checks"]:
            lines.append(
                f"| {wl['key']}: {c['name']} | {fmt(c['measured'], '.3f')} {c['unit']} | ≤ {c['limit']} {c['unit']} "
                f"| {verdict(c['passed'])} |"
            )
    return lines


def scaling_markdown(scaling: dict[str, Any]) -> list[str]:
    small, large = scaling["rows"]
    lines = [
        "",
        f"Memory scaling, {small:,} → {large:,} rows (one run each):",
        "",
        f"| Case | Runner | Peak RSS at {small:,} (MiB) | at {large:,} (MiB) | Growth | Wall (s) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for case in scaling["cases"]:
        rss, walls = case["peak_rss_mib"], case["median_s"]
        note = f" (failed: {cell(case['errors'][0])})" if case["errors"] else ""
        lines.append(
            f"| {case['case']} | {case['runner']}{note} | {fmt(rss[0], '.0f')} | {fmt(rss[1], '.0f')} "
            f"| {fmt(case['rss_growth'], '.2f')}× | {fmt(walls[0], '.2f')} / {fmt(walls[1], '.2f')} |"
        )
    lines += ["", "| Target | Measured | Limit | Result |", "|---|---:|---:|---|"]
    for c in scaling["checks"]:
        lines.append(f"| {c['name']} | {fmt(c['measured'], '.2f')}× | ≤ {c['limit']}× | {verdict(c['passed'])} |")
    return lines


def chart(doc: dict[str, Any], path: Path) -> Path | None:
    """A bar chart of every runner's time and RSS ratio to its reference; skipped without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("warning: matplotlib cannot be imported, so no chart (`nox -s bench` installs it)", file=sys.stderr)
        return None
    labels, times, rss = [], [], []
    for wl in doc["workloads"]:
        if not wl["charted"]:
            continue
        for r in wl["runners"]:
            if r.get("time_ratio") is not None:
                labels.append(f"{wl['key']} {r['name']}")
                times.append(r["time_ratio"])
                rss.append(r.get("rss_ratio") or 0.0)
    if not labels:
        return None
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(labels)), 4.5))
    xs = range(len(labels))
    width = 0.4
    ax.bar([x - width / 2 for x in xs], times, width, label="median time ÷ DuckDB")
    ax.bar([x + width / 2 for x in xs], rss, width, label="peak RSS ÷ DuckDB")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.axhline(
        TIME_RATIO_LIMIT, color="tab:blue", linestyle="--", linewidth=0.8, label=f"time target {TIME_RATIO_LIMIT}"
    )
    ax.axhline(
        RSS_RATIO_LIMIT, color="tab:orange", linestyle="--", linewidth=0.8, label=f"RSS target {RSS_RATIO_LIMIT}"
    )
    ax.set_xticks(list(xs), labels, rotation=30, ha="right")
    ax.set_ylabel("ratio to plain DuckDB (lower is better)")
    ax.set_title(f"Ductflow vs plain DuckDB — {doc['rows']:,} rows, {doc['host']}, {doc['date']}")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
