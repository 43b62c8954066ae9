"""``ductflow validate PIPELINE``: load, resolve every connection, check params; run nothing."""

from __future__ import annotations

import argparse

from .. import api


def main(args: argparse.Namespace) -> int:
    """Print a one-line verdict; 0 when the pipeline is valid."""
    pipeline = api.load(args.pipeline)
    args.secrets = pipeline.secrets
    resolved = api.validate(pipeline)
    print(f"{pipeline.source}: valid: {len(pipeline.stages)} stages, {len(resolved)} connections resolved")
    return 0
