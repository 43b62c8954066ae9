"""``ductflow run PIPELINE``: run a pipeline, reporting progress per stage."""

from __future__ import annotations

import argparse
import asyncio
import sys

from .. import api
from ..defaults.progress import Progress
from ..output import Output
from ..plugins import make_plugin_manager


def main(args: argparse.Namespace) -> int:
    """Load, validate and run; 0 when every stage finished."""
    pipeline = api.load(args.pipeline)
    args.secrets = pipeline.secrets
    output = Output(secrets=pipeline.secrets)
    progress = Progress(output, live=sys.stderr.isatty())
    pm = make_plugin_manager(plugins=[progress])
    asyncio.run(api.arun(pipeline, database=args.database, stages=args.stage, pm=pm, output=output))
    return 0
