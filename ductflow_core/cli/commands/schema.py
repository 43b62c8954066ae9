"""``ductflow schema PIPELINE STAGE``: the fields of one stage, from its connection's ``show_schema``."""

from __future__ import annotations

import argparse
from typing import Any

from ductflow_core.cli.commands._policy import pipeline_parent, registry_from, untrust_current_folder
from ductflow_core.errors import ExitCode


def add_parser(sub: Any, name: str, common: argparse.ArgumentParser) -> None:
    """``schema PIPELINE STAGE [--database FILE]``."""
    parser = sub.add_parser(name, parents=[common, pipeline_parent()], help="show the schema of one stage")
    parser.add_argument("stage", help="stage name")
    parser.add_argument("--database", metavar="FILE", help="DuckDB file to use")


def main(args: argparse.Namespace) -> int:
    """Print ``name  type`` per field of the stage."""
    untrust_current_folder()
    import asyncio
    import sys

    from ductflow_core import api
    from ductflow_core.cli.startup import resume
    from ductflow_core.run import schema

    pipeline = api.load(args.pipeline)
    args.secrets = pipeline.secrets
    resume()
    registry = registry_from(args)
    fields = asyncio.run(schema.stage_schema(pipeline, args.stage, database=args.database, registry=registry))
    if not fields:
        # On stderr: stdout stays one line per field for scripts.
        print(f"stage {args.stage!r} reports no fields", file=sys.stderr)
    width = max((len(f.name) for f in fields), default=0)
    for f in fields:
        print(f"{f.name.ljust(width)}  {f.type}{'' if f.nullable else ' NOT NULL'}")
    return ExitCode.OK
