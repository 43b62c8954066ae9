"""Where a connection's ``path`` points: resolving it and telling globs from plain paths."""

from __future__ import annotations

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
