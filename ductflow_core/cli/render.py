"""The resolved pipeline as YAML, for ``ductflow validate --print``: every value from ``${VAR}`` masked."""

from __future__ import annotations

from typing import Any

import yaml

from ductflow_core.models import Stages
from ductflow_core.pipeline.convert import CONVERTER
from ductflow_core.run.output import Output

MASK = "***"


def _written_at(path: tuple[Any, ...]) -> tuple[Any, ...]:
    """Where a resolved key was written: the short form ``connection: {kind: csv}`` becomes ``locator: csv``."""
    if path[-2:] == ("connection", "locator"):
        return (*path[:-1], "kind")
    return path


def _mask_paths(data: Any, path: tuple[Any, ...], secret_paths: frozenset[tuple[Any, ...]]) -> Any:
    if path in secret_paths or (path and _written_at(path) in secret_paths):
        return MASK
    if isinstance(data, dict):
        return {k: _mask_paths(v, (*path, k), secret_paths) for k, v in data.items()}
    if isinstance(data, list):
        return [_mask_paths(v, (*path, i), secret_paths) for i, v in enumerate(data)]
    return data


def _unset(value: Any) -> bool:
    """Whether ``value`` only repeats a default: nothing, empty, or the number 0 (``false`` is said, not implied)."""
    if isinstance(value, bool):
        return False
    return value is None or value == [] or value == {} or value == 0


def _prune(data: Any) -> Any:
    # Unset options would only be noise in the printout.
    if isinstance(data, dict):
        return {("from" if k == "from_" else k): _prune(v) for k, v in data.items() if not _unset(v)}
    if isinstance(data, list):
        return [_prune(v) for v in data]
    return data


def dump_masked(pipeline: Stages) -> str:
    """YAML text of ``pipeline`` after interpolation, with secret values replaced by ``***``."""
    settings = CONVERTER.unstructure(pipeline.settings)
    data = _prune({**settings, "stages": [CONVERTER.unstructure(s) for s in pipeline.stages]})
    masked = _mask_paths(data, (), pipeline.secret_paths)
    text = yaml.safe_dump(masked, sort_keys=False, allow_unicode=True)
    return Output(secrets=pipeline.secrets).mask(text)
