"""Quoting of identifiers and literals that the core puts into DuckDB SQL."""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """Return ``name`` as a double-quoted SQL identifier, safe for any characters.

    A NUL cannot be part of an identifier, so it is refused rather than passed on.
    """
    if "\x00" in name:
        raise ValueError("identifier contains a NUL character")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Return ``value`` as a single-quoted SQL string literal."""
    if "\x00" in value:
        raise ValueError("string literal contains a NUL character")
    return "'" + value.replace("'", "''") + "'"
