"""``ductflow plugins``: installed connection locators and hook plugins, with their distributions."""

from __future__ import annotations

import argparse
from typing import Any

from ductflow_core.errors import ExitCode


def add_parser(sub: Any, name: str, common: argparse.ArgumentParser) -> None:
    """``plugins [--json]``."""
    parser = sub.add_parser(name, parents=[common], help="list installed connection and hook plugins")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--requirements",
        action="store_true",
        help="print name==version of each installed distribution providing plugins (for requirements.txt)",
    )


def main(args: argparse.Namespace) -> int:
    """List plugins as a table, or as JSON with ``--json``."""
    import json

    from ductflow_core.plugin.registry import default_registry, plugin_status

    registry = default_registry()
    if args.requirements:
        pins = {i.dist.lower(): f"{i.dist}=={i.version}" for i in [*registry.locators(), *registry.hook_plugins()]}
        for key in sorted(pins):
            print(pins[key])
        return ExitCode.OK
    rows = [
        {
            "kind": "connection" if i.group == "ductflow.connections" else "hooks",
            "name": i.name,
            "target": i.value,
            "distribution": i.dist,
            "version": i.version,
            "status": plugin_status(registry, i),
        }
        for i in registry.everything()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return ExitCode.OK
    if not rows:
        print("no plugins installed")
        return ExitCode.OK
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        line = f"{r['kind']:<10}  {r['name']:<{width}}  {r['distribution']} {r['version']}  ({r['target']})"
        print(line if r["status"] == "ok" else f"{line}  [{r['status']}]")
    return ExitCode.OK
