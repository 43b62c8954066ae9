"""Turning driver and DuckDB failures into one-line :class:`ConnectorError` messages without secrets."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ductflow_core.errors import ConnectorError, first_line

# Prefixes the driver, Arrow and DuckDB stack in front of the server's own words.
_NOISE = [
    re.compile(r"^[A-Z_]+: "),  # ADBC status code, e.g. "IO: "
    re.compile(r"^\[libpq\] "),
    re.compile(r"^Failed to (?:connect|execute (?:query|COPY statement)|prepare query)[^:]*: ", re.S),
    re.compile(r"^PGRES_[A-Z_]+ "),
    re.compile(r"^Execution error \[PGRES_[A-Z_]+\]: "),
    re.compile(r"^(?:ERROR|FATAL):\s+"),
    re.compile(r"^(?:Invalid Input Error|IO Error|Invalid Error|Conversion Error): ", re.I),
    re.compile(r"^arrow_scan: get_next failed\(\): ", re.I),
    # DuckDB reading a registered Arrow stream, and Arrow's status names for a Python generator's exception.
    re.compile(r"^reading the stream registered as '(?:[^']|'')*' failed: "),
    re.compile(r"^(?:Unknown error|Invalid|IOError|IO error): "),
    # libpq and driver function names: "PQgetCopyData() failed: ", "ReadRecord failed at row 0: ".
    re.compile(r"^\w+\(\) failed: "),
    re.compile(r"^\w+ failed at row \d+: "),
    re.compile(r"^\w+Error: "),
]
_QUERY_ECHO = re.compile(r"^Failed to execute query '.*?': ", re.S)
# What follows the cause and is never the user's: Arrow's Python traceback, the driver's echo of the query.
_TAILS = re.compile(r"(?:\.?\s*Detail: Python exception:|\s*Query was:).*", re.S)
# Names of the plugin's own temporary DuckDB objects, quoted, as DuckDB spells them in its messages.
_INTERNAL_NAME = re.compile(r"\s*(?:'|\")?__ductflow_\w+(?:'|\")?")
# pgpq's wording for a value its encoder refuses, e.g. a date outside PostgreSQL's range.
_ENCODE_REASON = re.compile(r'Encode \{ reason: "(.*?)" \}')
_SQLSTATE = re.compile(r"\.?\s*SQLSTATE: ([0-9A-Z]{5})")
# The server's context for a failed COPY row: which row and column, and the value as text when it had one.
_COPY_CONTEXT = re.compile(r'^COPY [^\n]*?, line (\d+), column ([^\n:]+?)(?:: "(.*)")?$', re.M)


def server_cause(exc: BaseException) -> str:
    """The server-side reason inside a driver error, as one line without the driver's internals.

    Every driver, DuckDB and Arrow error of this plugin passes through here (by :func:`connector_error`): what is
    kept is the first meaningful line of the reason; dropped are status prefixes, libpq function names, the query
    echo, Python tracebacks Arrow embeds, and the names of the plugin's temporary DuckDB objects.
    """
    code = sqlstate(exc)
    context = _COPY_CONTEXT.search(str(exc))
    text = _SQLSTATE.sub("", str(exc).strip())
    text = _TAILS.sub("", text)
    for _ in range(6):
        text = _QUERY_ECHO.sub("", text)
        for noise in _NOISE:
            text = noise.sub("", text).lstrip()
    text = _INTERNAL_NAME.sub("", text)
    encode = _ENCODE_REASON.search(text)
    if encode:
        text = f"cannot encode a value for PostgreSQL: {encode.group(1)}"
    line = first_line(text, fallback=type(exc).__name__)
    line = re.sub(r"\s{2,}", " ", line).rstrip(". ")
    if context:
        row, column, value = context.groups()
        shown = f": {value[:200]}" if value is not None else ""
        line += f" (column {column!r}, row {row}{shown})"
    return f"{line} (SQLSTATE {code})" if code else line


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE a driver error carries: psycopg's in an attribute, ADBC's in its text."""
    code = getattr(exc, "sqlstate", None)
    if isinstance(code, str) and code:
        return code
    found = _SQLSTATE.search(str(exc))
    return found.group(1) if found else None


def scrub(message: str, secrets: Iterable[str]) -> str:
    """``message`` with every secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message


def connector_error(context: str, exc: BaseException, secrets: Iterable[str]) -> ConnectorError:
    """A :class:`ConnectorError` saying ``context: cause``, with secrets removed."""
    if isinstance(exc, ConnectorError):
        return ConnectorError(scrub(exc.message, secrets))
    return ConnectorError(scrub(f"{context}: {server_cause(exc)}", secrets))


class StreamFailed(ConnectorError, OSError):
    """A streamed tap's read failed; raised inside the Arrow stream a later stage reads through DuckDB.

    That stage, not this plugin, reports the error, and Arrow puts the Python traceback after the message (as
    ``. Detail: Python exception: Traceback …``). The message ends in a newline so that the first line, the one a
    stage reports, stops at the cause; being an ``OSError`` makes Arrow call it ``IOError``, not ``Unknown error``.
    """

    def __init__(self, message: str) -> None:
        ConnectorError.__init__(self, message.rstrip("\n") + "\n")
