"""DuckDB's engine, imported without the Python layer of its package until something needs that layer.

DuckDB's Python package is a C++ extension (``_duckdb``: connections, statements, results, errors) under a
Python layer that the package's ``__init__`` sets up: relations through ``con.sql``, scanning Arrow objects
for ``register``, expressions, typing helpers. The extension imports several times faster than the package
(docs/performance.md), so a run executes its own SQL on the extension alone and imports the package only when the layer
is asked for (``self.c.raw``, ``self.c.sql``, ``self.c.register``). The package adds its methods to the
extension's connection class, so a connection opened before it gains them too.

Plugins that only run statements and catch DuckDB's errors can use :func:`engine` the same way; ``import
duckdb`` works as ever and costs the package's import.
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType


@functools.cache
def engine() -> ModuleType:
    """The module with DuckDB's ``connect``, connection class and exceptions, the Python layer not imported.

    DuckDB releases that ship the extension as the top-level module ``_duckdb`` (2.0 does) give it; others give
    the ``duckdb`` package itself. Either way its exceptions are the classes ``duckdb`` exports.
    """
    try:
        return importlib.import_module("_duckdb")
    except ImportError:
        return python_api()


def python_api() -> ModuleType:
    """The ``duckdb`` package, imported (once) with its Python layer; connections opened earlier gain it too."""
    return importlib.import_module("duckdb")
