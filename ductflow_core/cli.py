"""The ``ductflow`` command: parses arguments and routes to :mod:`ductflow_core.commands`.

Only argparse is imported up front, so ``ductflow --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="ductflow",
        description="Move and reshape data with pipelines declared in YAML, on an embedded DuckDB database.",
    )
    parser.add_argument("--version", action="version", version=f"ductflow {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser("run", parents=[common], help="run a pipeline")
    run.add_argument("pipeline", help="pipeline YAML file")
    run.add_argument("--database", metavar="FILE", help="DuckDB file to run in (default: the pipeline's database:)")
    run.add_argument(
        "--stage", action="append", metavar="NAME", help="run only this stage and what it needs (repeatable)"
    )

    validate = sub.add_parser("validate", parents=[common], help="check a pipeline without running it")
    validate.add_argument("pipeline", help="pipeline YAML file")

    plugins = sub.add_parser("plugins", parents=[common], help="list installed connection and hook plugins")
    plugins.add_argument("--json", action="store_true", help="print JSON")

    schema = sub.add_parser("schema", parents=[common], help="show the schema of one stage")
    schema.add_argument("pipeline", help="pipeline YAML file")
    schema.add_argument("stage", help="stage name")
    schema.add_argument("--database", metavar="FILE", help="DuckDB file to use")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ductflow`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    module = importlib.import_module(f".commands.{args.command}", __package__)
    from .commands import guarded

    return guarded(module.main, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
