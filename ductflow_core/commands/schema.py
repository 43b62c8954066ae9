"""``ductflow schema PIPELINE STAGE``: the fields of one stage, from its connection's ``show_schema``."""

from __future__ import annotations

import argparse
import asyncio

from .. import api, schema


def main(args: argparse.Namespace) -> int:
    """Print ``name  type`` per field of the stage."""
    pipeline = api.load(args.pipeline)
    args.secrets = pipeline.secrets
    fields = asyncio.run(schema.stage_schema(pipeline, args.stage, database=args.database))
    width = max((len(f.name) for f in fields), default=0)
    for f in fields:
        print(f"{f.name.ljust(width)}  {f.type}{'' if f.nullable else ' NOT NULL'}")
    return 0
