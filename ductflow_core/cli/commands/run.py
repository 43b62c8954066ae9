"""``ductflow run PIPELINE``: run a pipeline, reporting progress per stage."""

from __future__ import annotations

import argparse
from collections.abc import Coroutine
from typing import Any

from ductflow_core.cli.commands._policy import pipeline_parent, registry_from, untrust_current_folder
from ductflow_core.errors import ExitCode


def add_parser(sub: Any, name: str, common: argparse.ArgumentParser) -> None:
    """``run PIPELINE [--database FILE] [--stage NAME]...``."""
    parser = sub.add_parser(name, parents=[common, pipeline_parent()], help="run a pipeline")
    parser.add_argument("--database", metavar="FILE", help="DuckDB file to run in (default: the pipeline's database:)")
    parser.add_argument(
        "--stage", action="append", metavar="NAME", help="run only this stage and what it needs (repeatable)"
    )


def main(args: argparse.Namespace) -> int:
    """Load, validate and run; 0 when every stage finished."""
    untrust_current_folder()
    from ductflow_core import api
    from ductflow_core.run.session import start_database

    pipeline = api.load(args.pipeline)
    args.secrets = pipeline.secrets
    # Before the imports below: DuckDB opens on its own thread meanwhile.
    early = start_database(pipeline, args.database)
    try:
        import asyncio
        import sys

        from ductflow_core.cli.startup import resume
        from ductflow_core.run.builtin.progress import Progress
        from ductflow_core.run.output import Output
        from ductflow_core.run.session import run_all

        output = Output(secrets=pipeline.secrets)
        progress = Progress(output, live=sys.stderr.isatty())
        run = run_all(
            pipeline,
            database=args.database,
            stages=args.stage,
            plugins=[progress],
            output=output,
            registry=registry_from(args),
            early=early,
        )
        resume()
        asyncio.run(stoppable(run))
    finally:
        if early is not None:
            early.discard()
    return ExitCode.OK


async def stoppable(run: Coroutine[Any, Any, Any]) -> Any:
    """Await ``run``; SIGINT or SIGTERM cancels it cleanly and ends with exit code 130 or 143."""
    import asyncio
    import signal

    from ductflow_core.errors import RunInterrupted

    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(run)
    received: list[signal.Signals] = []

    def stop(sig: signal.Signals) -> None:
        received.append(sig)
        task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig)
    try:
        return await task
    except asyncio.CancelledError:
        if not received:
            raise
        sig = received[0]
        raise RunInterrupted(f"run stopped by {sig.name}", ExitCode(128 + int(sig))) from None
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
