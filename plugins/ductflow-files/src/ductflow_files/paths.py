"""Where a connection's ``path`` points: resolving it and telling globs from plain paths."""

from __future__ import annotations

import os
from pathlib import Path

#: Characters DuckDB's readers expand; a path holding one is a pattern, not a name.
GLOB_CHARACTERS = frozenset("*?[")


def is_glob(path: str) -> bool:
    """Whether DuckDB would expand ``path`` as a pattern."""
    return any(char in GLOB_CHARACTERS for char in path)


def resolve(path: str, base_dir: Path | None) -> Path:
    """``path`` made absolute: ``~`` expanded, and a relative path taken from ``base_dir`` (else the cwd).

    Views created over a file may be read after the working folder changed, so
    nothing relative reaches DuckDB.
    """
    expanded = Path(path).expanduser()
    if expanded.is_absolute():
        return expanded
    return (base_dir or Path.cwd()).resolve() / expanded


def names_folder(path: str) -> bool:
    """Whether ``path`` is written as a folder: it ends in ``/``, ``/.`` or ``/..`` (or is ``.`` or ``..``)."""
    return os.path.basename(path) in ("", ".", "..")


def fixed_folder(pattern: Path) -> Path:
    """The folder a glob pattern's fixed part names: the parts before the first one with a glob character."""
    fixed: list[str] = []
    for part in pattern.parts[:-1]:
        if is_glob(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(pattern.anchor or ".")


def real_target(location: Path) -> Path:
    """A sink's target: its folder with every symlink resolved, and its own name as written.

    The last part is not resolved: a sink replaces what is at its path, and a symlink there is refused
    rather than followed to wherever it leads.
    """
    return Path(os.path.realpath(location.parent)) / location.name
