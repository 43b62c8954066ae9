"""W5: start-up, the wait a person has before anything runs."""

from __future__ import annotations

from ..context import Context
from ..harness import REFERENCE, Contestant, Outcome
from .base import Check, Workload, ductflow_contestant, write_yaml

HELP_LIMIT_S = 0.150
VALIDATE_LIMIT_S = 0.350


def build(ctx: Context) -> list[Contestant]:
    folder = ctx.folder("w5")
    document = {
        "stages": [
            {"name": "src", "kind": "tap", "connection": {"kind": "csv", "params": {"path": str(ctx.dataset.csv)}}},
            {"name": "big", "kind": "transform", "sql": "SELECT * FROM src WHERE qty > 50"},
            {
                "name": "out",
                "kind": "sink",
                "from": "big",
                "connection": {"kind": "parquet", "params": {"path": str(folder / "never-written.parquet")}},
            },
        ]
    }
    yaml_path = write_yaml(folder / "w5.yaml", document)
    help_ = ductflow_contestant(ctx, "ductflow --help", yaml_path)
    help_.argv = [help_.argv[0], "--help"]
    return [
        help_,
        ductflow_contestant(ctx, "ductflow validate", yaml_path, command="validate"),
        # Not a target, only a yardstick: what the interpreter plus DuckDB cost before any Ductflow code.
        Contestant("python -c 'import duckdb'", REFERENCE, [ctx.python, "-c", "import duckdb"], env=ctx.child_env()),
    ]


def checks(ctx: Context, outcomes: list[Outcome]) -> list[Check]:
    by_name = {o.name: o.median_s for o in outcomes}
    return [
        Check("`ductflow --help` median wall", by_name.get("ductflow --help"), HELP_LIMIT_S, "s"),
        Check("`ductflow validate` (3 stages) median wall", by_name.get("ductflow validate"), VALIDATE_LIMIT_S, "s"),
    ]


WORKLOAD = Workload(
    key="W5",
    title="Start-up",
    measures="`ductflow --help` and `ductflow validate` of a 3-stage pipeline: absolute wall time, median of ≥10 runs.",
    build=build,
    checks=checks,
    rows=lambda ctx: None,
    min_runs=10,
)
