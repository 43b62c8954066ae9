"""Flags shared by the commands that load a pipeline's code: what they may import."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..discovery import Registry


def add_policy_flags(parser: argparse.ArgumentParser) -> None:
    """``--allow-module PATTERN`` (repeatable) and ``--plugins-only``."""
    parser.add_argument(
        "--allow-module",
        action="append",
        metavar="PATTERN",
        help="modules a pipeline's module: may import (fnmatch pattern, repeatable; adds to DUCTFLOW_ALLOWED_MODULES)",
    )
    parser.add_argument(
        "--plugins-only", action="store_true", help="use installed plugins only; refuse every 'module:'"
    )


def registry_from(args: argparse.Namespace) -> Registry:
    """The installed plugins, under the environment's policy plus these flags."""
    from ..discovery import Registry
    from ..policy import Policy

    policy = Policy.from_env().with_modules(args.allow_module, args.plugins_only)
    return Registry(policy=policy)
