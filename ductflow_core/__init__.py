"""Ductflow: data pipelines declared in YAML, run on an embedded DuckDB database.

Importing this package is cheap: DuckDB, pyarrow and plugins load only when a
command needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

__version__ = "0.1.0"

#: Marks a plugin's hook implementations: ``@hookimpl`` or ``@hookimpl(wrapper=True)``.
hookimpl = pluggy.HookimplMarker("ductflow")

if TYPE_CHECKING:
    from ductflow_core.connection import Connection
    from ductflow_core.errors import ConnectorError, DuctflowError
    from ductflow_core.models import Field, Stages

__all__ = ["Connection", "ConnectorError", "DuctflowError", "Field", "Stages", "__version__", "hookimpl"]

_LAZY = {
    "Connection": "connection",
    "ConnectorError": "errors",
    "DuctflowError": "errors",
    "Field": "models",
    "Stages": "models",
}


def __getattr__(name: str) -> Any:
    # Lazy so `import ductflow_core` (and `ductflow --help`) stays fast.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)
