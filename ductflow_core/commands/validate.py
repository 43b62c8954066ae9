"""``ductflow validate PIPELINE``: load, resolve every connection, check params; run nothing."""

from __future__ import annotations

import argparse
from typing import Any

from ._policy import pipeline_parent, registry_from, untrust_current_folder


def add_parser(sub: Any, name: str, common: argparse.ArgumentParser) -> None:
    """``validate PIPELINE``."""
    parser = sub.add_parser(name, parents=[common, pipeline_parent()], help="check a pipeline without running it")
    parser.add_argument("--print", action="store_true", help="print the resolved pipeline, secrets masked")
    parser.add_argument(
        "--parse-sql",
        action="store_true",
        help="also parse transform SQL with DuckDB (catches syntax errors; imports DuckDB, slower)",
    )


def main(args: argparse.Namespace) -> int:
    """Print a one-line verdict; 0 when the pipeline is valid."""
    untrust_current_folder()
    from .. import api

    pipeline = api.load(args.pipeline)
    args.secrets = pipeline.secrets
    resolved = api.validate(pipeline, registry=registry_from(args), parse_sql=args.parse_sql)
    if args.print:
        from ..render_pipeline import dump_masked

        print(dump_masked(pipeline), end="")
    stages, connections = len(pipeline.stages), len(resolved)
    print(
        f"{pipeline.source}: valid: {stages} stage{'s' if stages != 1 else ''}, "
        f"{connections} connection{'s' if connections != 1 else ''} resolved"
    )
    return 0
