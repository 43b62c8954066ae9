"""Turning Python values into DuckDB SQL text: every value is a quoted literal or identifier, never raw text."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence

from ductflow_core.errors import first_line
from ductflow_core.sql import quote_ident, quote_literal


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


def reader_call(function: str, path: str | list[str], options: Mapping[str, object]) -> str:
    """A table-function call such as ``read_csv('a.csv', delim = ';')``; ``function`` and keys come from code."""
    args = [sql_value(path), *(f"{key} = {sql_value(value)}" for key, value in options.items())]
    return f"{function}({', '.join(args)})"


def copy_statement(
    select: str,
    target: str,
    options: Mapping[str, object],
    partition_by: Sequence[str] | None = None,
) -> str:
    """A ``COPY (select) TO target (...)`` statement; ``select`` and option keys come from code."""
    parts = [f"{key} {sql_value(value)}" for key, value in options.items()]
    if partition_by:
        parts.append("PARTITION_BY (" + ", ".join(quote_ident(column) for column in partition_by) + ")")
    return f"COPY ({select}) TO {quote_literal(target)} ({', '.join(parts)})"


#: DuckDB puts the cause of an I/O error in a JSON object inside its message.
_JSON_DETAIL = re.compile(r"\{\s*\"exception_type\".*\}")


def duckdb_reason(exc: BaseException) -> str:
    """DuckDB's error as one line for a user: an I/O error's JSON detail becomes its reason (``No space left...``).

    DuckDB reports a failed write as ``IO Error: ... [offset=...]: {"exception_type": ..., "errno": "28"}``,
    naming the temporary file; the reason the OS gave is the part that helps.
    """
    line = first_line(exc)
    found = _JSON_DETAIL.search(line)
    if found is None:
        return line
    try:
        detail = json.loads(found.group())
    except ValueError:
        return line[: found.start()].rstrip(": ") or line
    code = detail.get("errno") if isinstance(detail, dict) else None
    if isinstance(code, (str, int)) and str(code).isdigit() and int(code) > 0:
        return os.strerror(int(code))
    message = detail.get("exception_message") if isinstance(detail, dict) else None
    return first_line(str(message)) if message else line[: found.start()].rstrip(": ")
