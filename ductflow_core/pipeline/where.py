"""Turn a key path inside a pipeline into ``file:line: stage 'x': key.path: message``, secrets masked."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ductflow_core.errors import PipelineError

Path_ = tuple[Any, ...]

MASK = "***"
#: Keys whose values other messages quote bare (stage names in a cycle, in a label), so masked as words.
_NAME_KEYS = ("name", "from", "after")
_DID_YOU_MEAN = re.compile(r" \(did you mean '[^']*'\?\)")


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


def mask_env(text: str, path: Path_, env_values: Mapping[Path_, Iterable[str]]) -> str:
    """``text``, a message about ``path``, with every value that came from the environment shown as ``***``.

    Quoted (``'value'``), a value is masked whatever its length; anywhere else when it has four characters or
    more. A value of ``path`` itself (or below it), or a stage name, ``from`` or ``after`` entry, is masked as
    a whole word whatever its length too: those are what such a message is about.
    """
    words: dict[str, bool] = {}
    for where, values in env_values.items():
        about = where[: len(path)] == path or any(key in _NAME_KEYS for key in where[-2:])
        for value in values:
            if value:
                words[value] = words.get(value, False) or about
    for value in sorted(words, key=len, reverse=True):
        for quoted in {repr(value), f"'{value}'", f'"{value}"'}:
            text = text.replace(quoted, f"'{MASK}'")
        if len(value) >= 4:
            text = text.replace(value, MASK)
        elif words[value]:
            text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", MASK, text)
    return text


def format_error(
    source: str | None, line: int | None, stage: str | int | None, key_path: Path_, message: str
) -> str:
    """``source:line: stage 'x': key.path: message``, leaving out the parts that are ``None`` or empty.

    ``stage`` is a stage's name, or its position from 1 (``stage #2``) when it has none.
    """
    key = dotted(key_path)
    if stage is not None:
        label = f"stage {stage!r}" if isinstance(stage, str) else f"stage #{stage}"
        subject = label + (f": {key}" if key else "")
    else:
        subject = key
    text = f"{subject}: {message}" if subject else message
    if source is None:
        return text
    return f"{source}:{line}: {text}" if line else f"{source}: {text}"


def locate(
    source: str,
    lines: Mapping[Path_, int],
    secret_paths: frozenset[Path_] | set[Path_],
    stage_of: Callable[[int], str | int],
    path: Path_,
    message: str,
    env_values: Mapping[Path_, Iterable[str]] | None = None,
    kind: type[PipelineError] = PipelineError,
) -> PipelineError:
    """The :class:`PipelineError` for a problem at ``path``; no value from the environment is ever in it.

    ``stage_of`` gives a stage's name from its index (or its position from 1 when it has none); ``kind`` is the
    class of the error (a :class:`~ductflow_core.errors.PluginError` for a plugin's problem).
    ``env_values`` (per path, the pieces of its value taken from the environment) lets every such piece be
    masked by :func:`mask_env`, in the message and in the stage's name, whoever wrote the message.
    """
    stage: str | int | None = None
    key_path = path
    if len(path) >= 2 and path[0] == "stages" and isinstance(path[1], int):
        stage, key_path = stage_of(path[1]), path[2:]
    if path in secret_paths:
        message = mask_value(message)
    if not path:
        # At no key, the problem is the whole pipeline's: ``pipeline.yaml:1: pipeline: missing key 'stages'``.
        message = f"pipeline: {message}"
    if env_values:
        if any(where[: len(path)] == path for where in env_values):
            # A suggestion close to a value from the environment tells something about that value.
            message = _DID_YOU_MEAN.sub("", message)
        message = mask_env(message, path, env_values)
        if isinstance(stage, str):
            stage = mask_env(stage, path, env_values)
        key_path = tuple(mask_env(part, path, env_values) if isinstance(part, str) else part for part in key_path)
    return kind(message, source=source, line=line_of(lines, path), stage=stage, key_path=key_path)
