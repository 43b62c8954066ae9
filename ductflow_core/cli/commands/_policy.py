"""What every command that loads a pipeline shares: the ``pipeline`` argument and the policy flags with it.

A command takes a pipeline through :func:`pipeline_parent`, so it cannot take one without
``--allow-module`` and ``--plugins-only``; it builds its registry with :func:`registry_from`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ductflow_core.plugin.registry import Registry


def add_policy_flags(parser: argparse.ArgumentParser) -> None:
    """``--allow-module PATTERN`` (repeatable) and ``--plugins-only``."""
    parser.add_argument(
        "--allow-module",
        action="append",
        metavar="PATTERN",
        help="modules a pipeline's module: may import (fnmatch pattern, case-sensitive, repeatable; "
        "adds to DUCTFLOW_ALLOWED_MODULES)",
    )
    parser.add_argument(
        "--plugins-only", action="store_true", help="use installed plugins only; refuse every 'module:'"
    )


def pipeline_parent() -> argparse.ArgumentParser:
    """A parent parser with the ``pipeline`` argument and the policy flags, for every command that loads one."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("pipeline", help="pipeline YAML file")
    add_policy_flags(parent)
    return parent


def untrust_current_folder() -> None:
    """Take the current folder off ``sys.path`` where Python put it first (``python -m``), before any import.

    Nothing a command imports later, a plugin's own lazy imports included, may come from there.
    """
    from ductflow_core.plugin.installed import drop_implicit_entry

    drop_implicit_entry()


def registry_from(args: argparse.Namespace) -> Registry:
    """The installed plugins, under the environment's policy plus these flags (see :func:`untrust_current_folder`)."""
    from ductflow_core.plugin.policy import Policy
    from ductflow_core.plugin.registry import Registry

    untrust_current_folder()
    policy = Policy.from_env().with_modules(args.allow_module, args.plugins_only)
    return Registry(policy=policy)
