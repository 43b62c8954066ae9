"""Turn a key path inside a pipeline into ``file:line: stage 'x': key.path: message``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

Path_ = tuple[Any, ...]


def dotted(path: Path_) -> str:
    """``("connection", "params", "port")`` as ``connection.params.port``; indexes as ``[2]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def also_wrong(paths: Iterable[Path_]) -> str:
    """`` (also wrong: config.timeout, params.port)`` for the other problems of a message, else ``""``."""
    others = dict.fromkeys(dotted(path) for path in paths)
    return f" (also wrong: {', '.join(others)})" if others else ""


def line_of(lines: Mapping[Path_, int], path: Path_) -> int | None:
    """The line of ``path``, or of the nearest enclosing key that has one."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def mask_value(message: str) -> str:
    """Drop the ``, got <value>`` part: the value came from the environment and is never shown."""
    head, sep, _ = message.partition(", got ")
    return f"{head}, got a value from the environment (hidden)" if sep else message


def format_error(
    source: str,
    lines: Mapping[Path_, int],
    secret_paths: frozenset[Path_] | set[Path_],
    stage_label: Callable[[int], str],
    path: Path_,
    message: str,
) -> str:
    """The one-line message for a problem at ``path``."""
    line = line_of(lines, path)
    where = f"{source}:{line}" if line else source
    if len(path) >= 2 and path[0] == "stages" and isinstance(path[1], int):
        key = dotted(path[2:])
        subject = stage_label(path[1]) + (f": {key}" if key else "")
    else:
        subject = dotted(path) or "pipeline"
    if path in secret_paths:
        message = mask_value(message)
    return f"{where}: {subject}: {message}"
