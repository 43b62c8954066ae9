"""Turning Python values into DuckDB SQL text: every value is a quoted literal or identifier, never raw text."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ductflow_core.sqlnames import quote_ident, quote_literal


def sql_value(value: object) -> str:
    """Render ``value`` (bool, int, float, str, or a list or dict of those) as a DuckDB literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        # int() drops any subclass whose __str__ could print something other than digits.
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot put {value!r} into SQL")
        return repr(float(value))
    if isinstance(value, str):
        return quote_literal(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{quote_literal(str(key))}: {sql_value(item)}" for key, item in value.items())
        return "{" + items + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(sql_value(item) for item in value) + "]"
    raise TypeError(f"cannot put a {type(value).__name__} into SQL")


def reader_call(function: str, path: str, options: Mapping[str, object]) -> str:
    """A table-function call such as ``read_csv('a.csv', delim = ';')``; ``function`` and keys come from code."""
    args = [sql_value(path), *(f"{key} = {sql_value(value)}" for key, value in options.items())]
    return f"{function}({', '.join(args)})"


def copy_statement(
    table: str,
    target: str,
    options: Mapping[str, object],
    partition_by: Sequence[str] | None = None,
) -> str:
    """A ``COPY (SELECT * FROM table) TO target (...)`` statement; option keys come from code."""
    parts = [f"{key} {sql_value(value)}" for key, value in options.items()]
    if partition_by:
        parts.append("PARTITION_BY (" + ", ".join(quote_ident(column) for column in partition_by) + ")")
    return f"COPY (SELECT * FROM {quote_ident(table)}) TO {quote_literal(target)} ({', '.join(parts)})"


def strip_statement(query: str) -> str:
    """``query`` without the trailing semicolons and blanks that would break it inside parentheses."""
    return query.strip().rstrip(";").rstrip()


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an error's text: DuckDB puts the useful part there."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__
