"""Turning driver and DuckDB failures into one-line :class:`ConnectorError` messages without secrets."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ductflow_core.errors import ConnectorError

# Prefixes the driver stacks in front of the server's own words.
_NOISE = [
    re.compile(r"^[A-Z_]+: "),  # ADBC status code, e.g. "IO: "
    re.compile(r"^\[libpq\] "),
    re.compile(r"^Failed to (?:connect|execute (?:query|COPY statement)|prepare query)[^:]*: ", re.S),
    re.compile(r"^PGRES_[A-Z_]+ "),
    re.compile(r"^(?:ERROR|FATAL):\s+"),
    re.compile(r"^(?:Invalid Input Error|IO Error|Invalid Error|Invalid Error): ", re.I),
    re.compile(r"^arrow_scan: get_next failed\(\): ", re.I),
    re.compile(r"^\w+Error: "),
]
_QUERY_ECHO = re.compile(r"^Failed to execute query '.*?': ", re.S)
# pgpq's wording for a value its encoder refuses, e.g. a date outside PostgreSQL's range.
_ENCODE_REASON = re.compile(r'Encode \{ reason: "(.*?)" \}')
_SQLSTATE = re.compile(r"\.?\s*SQLSTATE: ([0-9A-Z]{5})")


def server_cause(exc: BaseException) -> str:
    """The server-side reason inside a driver error, as one line."""
    text = str(exc).strip()
    for _ in range(4):
        text = _QUERY_ECHO.sub("", text)
        for noise in _NOISE:
            text = noise.sub("", text).lstrip()
    code = sqlstate(exc)
    text = _SQLSTATE.sub("", text)
    encode = _ENCODE_REASON.search(text)
    if encode:
        text = f"cannot encode a value for PostgreSQL: {encode.group(1)}"
    line = next((part.strip() for part in text.splitlines() if part.strip()), "") or type(exc).__name__
    line = re.sub(r"\s{2,}", " ", line).rstrip(". ")
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
