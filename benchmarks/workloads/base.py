"""The shape of a workload and the helpers most workloads share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..context import Context, ductflow_executable
from ..harness import DUCTFLOW, REFERENCE, VARIANT, Contestant, Outcome, paired_ratio


@dataclass(frozen=True)
class Check:
    """One target: a measured figure against its limit (``passed`` is None when it could not be measured)."""

    name: str
    measured: float | None
    limit: float
    unit: str

    @property
    def passed(self) -> bool | None:
        return None if self.measured is None else self.measured <= self.limit

    def as_dict(self) -> dict[str, Any]:
        measured = None if self.measured is None else round(self.measured, 4)
        return {"name": self.name, "measured": measured, "limit": self.limit, "unit": self.unit, "passed": self.passed}


@dataclass(frozen=True)
class Workload:
    """A named job, the contestants that do it, and the targets it is judged by."""

    key: str
    title: str
    measures: str
    build: Callable[[Context], list[Contestant]]
    checks: Callable[[Context, list[Outcome]], list[Check]]
    #: Rows moved per run, for rows/s; None where rows/s means nothing.
    rows: Callable[[Context], int | None] = lambda ctx: ctx.rows
    #: Lower bound on counted runs (start-up figures need many to be stable).
    min_runs: int = 0
    #: Whether its ratios to the reference are targets, and so belong on the chart.
    charted: bool = False


def write_yaml(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def write_script(path: Path, code: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(code)
    return path


def sql_str(value: object) -> str:
    """``value`` as a SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def ductflow_contestant(ctx: Context, name: str, pipeline: Path, *, command: str = "run", **kw: Any) -> Contestant:
    exe = ductflow_executable()
    return Contestant(
        name=name,
        role=DUCTFLOW,
        argv=[exe or "ductflow", command, str(pipeline)],
        env=ctx.child_env(),
        unavailable=None if exe else "ductflow CLI not found next to this interpreter or on PATH",
        **kw,
    )


def streaming(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every tap and transform set to ``materialize: false`` (views instead of tables)."""
    stages = [dict(s, materialize=False) if s["kind"] in ("tap", "transform") else s for s in document["stages"]]
    return {**document, "stages": stages}


def ductflow_variants(
    ctx: Context,
    folder: Path,
    key: str,
    document: Callable[[Path], dict[str, Any]],
    out_suffix: str,
    rows: int,
    reader: str,
) -> list[Contestant]:
    """Ductflow as configured by default, and the same pipeline with ``materialize: false``."""
    found = []
    for name, role, shape in (("ductflow", DUCTFLOW, dict), ("ductflow materialize=false", VARIANT, streaming)):
        out = folder / f"{name.replace(' ', '-').replace('=', '-')}{out_suffix}"
        yaml_path = write_yaml(folder / f"{key}-{role}.yaml", shape(document(out)))
        contestant = ductflow_contestant(
            ctx, name, yaml_path, cleanup=[out], verify=row_count_verifier(out, rows, reader)
        )
        contestant.role = role
        found.append(contestant)
    return found


def duckdb_contestant(ctx: Context, name: str, script: Path, statements: list[str], **kw: Any) -> Contestant:
    """A plain-DuckDB child process running ``statements`` on one in-memory connection."""
    body = ",\n    ".join(repr(s) for s in statements)
    code = (
        "import duckdb\n\n"
        "con = duckdb.connect()\n"
        f"for statement in [\n    {body},\n]:\n"
        "    con.execute(statement)\n"
        "con.close()\n"
    )
    write_script(script, code)
    return Contestant(name=name, role=REFERENCE, argv=[ctx.python, str(script)], env=ctx.child_env(), **kw)


def by_role(outcomes: list[Outcome], role: str) -> Outcome | None:
    return next((o for o in outcomes if o.role == role), None)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def versus_reference_checks(
    outcomes: list[Outcome], *, time_limit: float = 1.10, rss_limit: float = 1.25
) -> list[Check]:
    """Ductflow's time (median over rounds of the ratio within a round) and peak RSS, each against plain DuckDB's."""
    ours, ref = by_role(outcomes, DUCTFLOW), by_role(outcomes, REFERENCE)
    ours_m = ours.peak_rss_bytes if ours else None
    ref_m = ref.peak_rss_bytes if ref else None
    return [
        Check("median of per-round time ÷ DuckDB", paired_ratio(ours, ref), time_limit, "×"),
        Check("peak RSS ÷ DuckDB", ratio(ours_m, ref_m), rss_limit, "×"),
    ]


def row_count_verifier(path: Path, expected: int, reader: str = "read_parquet") -> Callable[[], str | None]:
    """Checks, once after the warm-up, that the output holds every row."""

    def verify() -> str | None:
        import duckdb

        target = path
        if path.is_dir():
            target = path / "**" / ("*.parquet" if reader == "read_parquet" else "*")
        try:
            [(count,)] = duckdb.connect().execute(f"SELECT count(*) FROM {reader}({sql_str(target)})").fetchall()
        except Exception as exc:
            return f"output unreadable: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        return None if count == expected else f"output has {count} rows, expected {expected}"

    return verify
