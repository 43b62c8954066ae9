"""The ``ductflow`` command: parses arguments and routes to :mod:`ductflow_core.cli.commands`.

Each command module offers ``add_parser(subparsers)`` and ``main(args) -> int``
and imports its heavy dependencies inside ``main``, so ``ductflow --help``
stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from ductflow_core import __version__

#: Subcommand name -> module in ductflow_core.cli.commands, in the order --help lists them.
COMMANDS = {
    "run": "run",
    "validate": "validate",
    "schema": "schema",
    "plugins": "plugins",
    "new-plugin": "new_plugin",
    "install": "install",
    "uninstall": "install",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of every subcommand, or of the one called ``only``."""
    parser = argparse.ArgumentParser(
        prog="ductflow",
        description="Move and reshape data with pipelines declared in YAML, on an embedded DuckDB database.",
    )
    parser.add_argument("--version", action="version", version=f"ductflow {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        if only is None or name == only:
            _command(module).add_parser(sub, name, common)
    return parser


def _command(module: str) -> ModuleType:
    return importlib.import_module(f".commands.{module}", __package__)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ductflow`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    # Building every subcommand's parser imports every command module; a run needs only its own.
    named = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(named if named in COMMANDS else None).parse_args(argv)
    from ductflow_core.cli.commands import guarded
    from ductflow_core.errors import ExitCode

    code = guarded(_command(COMMANDS[args.command]).main, args)
    if code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED) or _stuck_workers():
        # A stopped or failed run may leave a worker blocked in a connection's own code, which
        # ignores DuckDB's interrupt; don't wait for it at exit.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def console_main() -> int:
    """The ``ductflow`` console script: :func:`main`, with no garbage collection in start-up, and a quick exit."""
    from ductflow_core.cli import startup

    startup.pause()
    code = main()
    # Everything left is freed with the process; a last cyclic collection over every object the run created
    # buys nothing and costs more the longer the run. Python promises no __del__ at exit for such objects anyway.
    import gc

    gc.freeze()
    return code


def _stuck_workers() -> bool:
    import threading

    return any(t.name.startswith("ductflow-db") and t.is_alive() for t in threading.enumerate())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(console_main())
