"""``ductflow install`` / ``ductflow uninstall``: pip, run in Ductflow's own environment.

A bare plugin name gets the ``ductflow-`` prefix (``install postgres`` installs
``ductflow-postgres``); paths, URLs, options and requirements with a version
or extras are passed to pip as they are.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from ductflow_core.errors import DuctflowError, ExitCode

_BARE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class PipFailed(DuctflowError):
    """pip ran and failed; its own output has already said why."""


def add_parser(sub: Any, name: str, common: argparse.ArgumentParser) -> None:
    """``install NAME...`` or ``uninstall NAME...``, with ``--pip-arg ARG`` passed through."""
    installing = name == "install"
    verb = "install" if installing else "uninstall"
    parser = sub.add_parser(name, parents=[common], help=f"{verb} plugins with pip, into Ductflow's environment")
    parser.add_argument(
        "names",
        nargs="+",
        metavar="NAME",
        help="a plugin name ('postgres' means ductflow-postgres), or a path, URL or requirement",
    )
    parser.add_argument(
        "--pip-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="pass ARG to pip (repeatable), e.g. --pip-arg=--no-deps",
    )
    parser.set_defaults(pip_command=verb)


def requirement(name: str) -> str:
    """``postgres`` → ``ductflow-postgres``; anything that is not a bare name is left as it is."""
    if not _BARE.fullmatch(name) or "/" in name or name.endswith((".whl", ".zip", ".tar.gz")):
        return name
    lowered = name.lower().replace("_", "-")
    if lowered == "ductflow" or lowered.startswith("ductflow-"):
        return name
    return f"ductflow-{name}"


def pip_command(verb: str, names: list[str], pip_args: list[str]) -> list[str]:
    """The pip command line for ``verb`` (``install`` or ``uninstall``)."""
    import sys

    extra = ["--yes"] if verb == "uninstall" else []
    return [sys.executable, "-m", "pip", verb, *extra, *pip_args, *(requirement(n) for n in names)]


def main(args: argparse.Namespace) -> int:
    """Run pip, its output streaming to the terminal; a failure of pip is a one-line Ductflow error."""
    import subprocess

    command = pip_command(args.pip_command, args.names, args.pip_arg)
    print("running: " + " ".join(command[2:]), flush=True)
    # Inherited stdout and stderr: pip's progress reaches the terminal as it happens.
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise PipFailed(f"pip {args.pip_command} failed (exit {done.returncode}); see pip's output above")
    return ExitCode.OK
