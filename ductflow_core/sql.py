"""The SQL and DuckDB helpers a connection plugin may use: the one public door to the core's internals.

Connections need more than :mod:`ductflow_core.connection`, :mod:`ductflow_core.errors` and
:mod:`ductflow_core.hookspecs` give them: quoting names and values into DuckDB SQL, DuckDB's own module (its
``connect`` and its exception classes, through :func:`engine`), the facade a stage's connection works on, and
the two small SQL text helpers the core's own checks use. They live in ``duck/`` and ``pipeline/``, whose
layout may change; this module's names will not. First-party plugins import nothing else from the core
(``tests/test_layers.py`` checks it).

Importing this module does not import DuckDB: :func:`engine` does, when first called.
"""

from __future__ import annotations

from ductflow_core.duck.database import Database, StageDatabase
from ductflow_core.duck.engine import engine
from ductflow_core.duck.names import quote_ident, quote_literal
from ductflow_core.errors import first_line
from ductflow_core.pipeline.sqlscan import statement_words, without_trailing_semicolons

__all__ = [
    "Database",
    "StageDatabase",
    "engine",
    "first_line",
    "quote_ident",
    "quote_literal",
    "statement_words",
    "without_trailing_semicolons",
]
