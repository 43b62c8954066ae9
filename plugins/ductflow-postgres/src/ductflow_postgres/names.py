"""Qualified PostgreSQL names: parsed the way PostgreSQL reads them, always quoted when written into SQL."""

from __future__ import annotations

import attrs
from ductflow_core import sql
from ductflow_core.errors import ConnectorError

# PostgreSQL folds only A-Z in an unquoted name (in UTF-8 databases): ÄBC is the table Äbc.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def quote_ident(name: str) -> str:
    """Return ``name`` as a double-quoted identifier; any character is safe except NUL, which is refused."""
    try:
        return sql.quote_ident(name)
    except ValueError as exc:
        raise ConnectorError(str(exc)) from None


def quote_literal(value: str) -> str:
    """Return ``value`` as a standard-conforming string literal."""
    try:
        return sql.quote_literal(value)
    except ValueError as exc:
        raise ConnectorError(str(exc)) from None


@attrs.frozen
class TableName:
    """A table, optionally schema-qualified; ``schema`` is ``None`` when the search path decides."""

    schema: str | None
    table: str

    @property
    def sql(self) -> str:
        """The name as it goes into SQL, every part quoted."""
        parts = [self.schema, self.table] if self.schema is not None else [self.table]
        return ".".join(quote_ident(p) for p in parts)

    def sibling(self, table: str) -> TableName:
        """Another table in the same schema."""
        return TableName(self.schema, table)

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}" if self.schema is not None else self.table


def parse_table_name(text: str) -> TableName:
    """Split ``schema.table`` the way PostgreSQL does.

    Double-quoted parts are taken literally (``""`` is one quote); unquoted parts are folded to lower case, as
    PostgreSQL folds them. Anything that is not one or two well-formed parts is refused, so a value such as
    ``t; DROP TABLE x`` can only ever name a (missing) table, never run.
    """
    parts: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] == '"':
            i += 1
            buf: list[str] = []
            while True:
                if i >= n:
                    raise ConnectorError(f"table name {text!r} has an unterminated quote")
                if text[i] == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        buf.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(text[i])
                i += 1
            part = "".join(buf)
        else:
            start = i
            while i < n and text[i] not in '."':
                i += 1
            part = text[start:i].strip().translate(_ASCII_LOWER)
            if '"' in text[start : i + 1] and i < n and text[i] == '"':
                raise ConnectorError(f"table name {text!r} has a quote inside an unquoted part")
        if not part:
            raise ConnectorError(f"table name {text!r} has an empty part")
        parts.append(part)
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        if text[i] != ".":
            raise ConnectorError(f"table name {text!r} is malformed near position {i}")
        i += 1
    if len(parts) > 2:
        raise ConnectorError(f"table name {text!r} has more than two parts; use schema.table")
    if "\x00" in text:
        raise ConnectorError("table name contains a NUL character")
    return TableName(parts[0], parts[1]) if len(parts) == 2 else TableName(None, parts[0])
