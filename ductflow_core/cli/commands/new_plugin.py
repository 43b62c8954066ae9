"""``ductflow new-plugin NAME``: write a ready-to-install connection distribution ``ductflow-NAME``."""

from __future__ import annotations

import argparse
from typing import Any

from ductflow_core.errors import ExitCode


def add_parser(sub: Any, name: str, common: argparse.ArgumentParser) -> None:
    """``new-plugin NAME [--dir DIR]``."""
    parser = sub.add_parser(name, parents=[common], help="write a new connection plugin from a template")
    parser.add_argument("name", help="the plugin's name, also its locator (e.g. 'my-api')")
    parser.add_argument("--dir", default=".", metavar="DIR", help="folder to create ductflow-NAME in (default: .)")


def main(args: argparse.Namespace) -> int:
    """Write the distribution and say what to run next."""
    from pathlib import Path

    from ductflow_core.scaffold import create, names

    target = create(args.name, Path(args.dir))
    spelled = names(args.name)
    print(f"wrote {target}")
    print(f"  locator {spelled['locator']!r} -> {spelled['package']}:{spelled['class_name']}")
    print("next:")
    print(f"  cd {target}")
    print("  pip install -e '.[test]'")
    print("  pytest")
    return ExitCode.OK
