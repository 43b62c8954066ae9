"""Writing every value exactly: how each sink stores the DuckDB types its format cannot hold as they are.

The rule: a value is written so that the tap reads the same value back, or the sink fails naming the column
and the first value it cannot write. Which columns need anything is decided from their TYPES alone (a
``DESCRIBE``, no data read); only a column of a type that can actually fail gets a check, which runs inside
the ``COPY``, so a table of ordinary types is written with the same ``SELECT *`` as ever. The plugin README
has the table, per format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import attrs
from ductflow_core.sql import quote_ident, quote_literal

#: The widest integer Parquet stores as a number: DECIMAL(38, 0).
PARQUET_INTEGER = "DECIMAL(38,0)"

# A type name in a type string, where it stands as a type: followed by ``[``, ``,``, ``)`` or the end. Quoted
# field names and ENUM labels are skipped by matching them first, and a bare field name is followed by its type.
_TYPE_WORDS = re.compile(
    r"""("(?:[^"]|"")*"|'(?:[^']|'')*')"""
    r"""|\b(UHUGEINT|HUGEINT|INTERVAL|TIME WITH TIME ZONE|UNION)\b(?=\s*(?:\[|,|\)|\(|$))"""
)

#: How Parquet stores the types it has no exact type for, by type name: always exact, so never scanned.
_PARQUET_TEXT = {"INTERVAL": "VARCHAR", "TIME WITH TIME ZONE": "VARCHAR"}
#: How Parquet stores integers wider than its own: exact up to 38 digits, so scanned for wider values.
_PARQUET_WIDE = {"HUGEINT": PARQUET_INTEGER, "UHUGEINT": PARQUET_INTEGER}


@attrs.frozen
class Column:
    """How one column is written: the expression, and what a value it cannot write looks like (``None``: any)."""

    name: str
    expression: str
    #: A SQL condition true for a value that would not be written exactly; ``None`` when every value is.
    offending: str | None = None
    #: Why such a value cannot be written, ending a sentence that begins with the value.
    reason: str = ""


def type_words(column_type: str) -> list[str]:
    """The type names of interest in ``column_type`` (nested ones too), outside quoted names and labels."""
    return [match.group(2) for match in _TYPE_WORDS.finditer(column_type) if match.group(2)]


def _rewrite(column_type: str, replacements: Mapping[str, str]) -> str:
    def swap(match: re.Match[str]) -> str:
        word = match.group(2)
        return replacements.get(word, match.group(0)) if word else match.group(0)

    return _TYPE_WORDS.sub(swap, column_type)


def _round_trip(ref: str, column_type: str, stored: str) -> str:
    """A condition true where casting to ``stored`` and back does not give the value again."""
    return f"TRY_CAST(TRY_CAST({ref} AS {stored}) AS {column_type}) IS DISTINCT FROM {ref}"


def parquet_column(name: str, column_type: str) -> Column:
    """Parquet: INTERVAL and TIMETZ as text, (U)HUGEINT as DECIMAL(38,0); UNION is refused (see the README)."""
    ref = quote_ident(name)
    words = set(type_words(column_type))
    if "UNION" in words:
        return Column(name, ref, f"{ref} IS NOT NULL", "is a UNION value, and Parquet has no union type")
    replacements = {word: stored for word, stored in {**_PARQUET_TEXT, **_PARQUET_WIDE}.items() if word in words}
    if not replacements:
        return Column(name, ref)
    stored = _rewrite(column_type, replacements)
    expression = f"CAST({ref} AS {stored})"
    if words.isdisjoint(_PARQUET_WIDE):
        return Column(name, expression)
    reason = f"has more than 38 digits, and Parquet's widest integer is {PARQUET_INTEGER}"
    if column_type in _PARQUET_WIDE:
        # A plain column: one comparison per value, about half the cost of casting there and back.
        return Column(name, expression, _over_38_digits(ref, column_type), reason)
    return Column(name, expression, _round_trip(ref, column_type, stored), reason)


def _over_38_digits(ref: str, column_type: str) -> str:
    """A condition true where a (U)HUGEINT value has more digits than DECIMAL(38,0) holds."""
    most = "9" * 38
    if column_type == "UHUGEINT":
        return f"{ref} > {most}::UHUGEINT"
    return f"{ref} NOT BETWEEN -{most}::HUGEINT AND {most}::HUGEINT"


#: The type a value and its formatted-and-parsed text are compared in.
_COMPARED_AS = {"TIMESTAMP_S": "TIMESTAMP", "TIMESTAMP_MS": "TIMESTAMP"}


def _formats_check(
    name: str, column_type: str, date_format: str | None, timestamp_format: str | None
) -> tuple[str, str] | None:
    """For a DATE or TIMESTAMP column written with a user's format: the values that format does not keep."""
    ref = quote_ident(name)
    if column_type == "DATE" and date_format:
        fmt = date_format
    elif column_type.startswith("TIMESTAMP") and timestamp_format:
        fmt = timestamp_format
    else:
        return None
    text = f"strftime({ref}, {quote_literal(fmt)})"
    # Compared in a type that holds both sides exactly: DuckDB will not cast TIMESTAMP_NS to TIMESTAMP_S.
    common = _COMPARED_AS.get(column_type, column_type)
    parsed = f"try_strptime({text}, {quote_literal(fmt)})"
    condition = f"TRY_CAST({parsed} AS {common}) IS DISTINCT FROM CAST({ref} AS {common})"
    return condition, f"does not survive the format {fmt!r} (write it without one, or with one that keeps it all)"


def csv_column(name: str, column_type: str, date_format: str | None, timestamp_format: str | None) -> Column:
    """CSV: text that reads back as the same value; a UNION value whose text reads back as another member fails."""
    ref = quote_ident(name)
    if "UNION" in type_words(column_type):
        condition = _round_trip(ref, column_type, "VARCHAR")
        return Column(name, ref, condition, "reads back from text as another member of its UNION")
    found = _formats_check(name, column_type, date_format, timestamp_format)
    return Column(name, ref, *found) if found else Column(name, ref)


def json_column(name: str, column_type: str, date_format: str | None, timestamp_format: str | None) -> Column:
    """JSON: a JSON value DuckDB's writer would change fails; dates and times as for CSV.

    The writer embeds a JSON column's values as JSON, parsed and written again: a JSON ``null`` reads back
    as SQL NULL, and numbers pass through a double (``1.50`` becomes ``1.5``, ``-0`` becomes ``0``). Values
    are compared with whitespace removed, which is all a rewrite may change.
    """
    ref = quote_ident(name)
    if column_type == "JSON":
        condition = (
            f"json_type({ref}) = 'NULL' OR regexp_replace(CAST(json({ref}) AS VARCHAR), '\\s+', '', 'g') "
            f"IS DISTINCT FROM regexp_replace(CAST({ref} AS VARCHAR), '\\s+', '', 'g')"
        )
        reason = "DuckDB's JSON writer would change (JSON null reads back as SQL NULL; numbers pass through a double)"
        return Column(name, ref, condition, reason)
    found = _formats_check(name, column_type, date_format, timestamp_format)
    return Column(name, ref, *found) if found else Column(name, ref)


#: What the error a refused value raises inside the ``COPY`` starts with, so the sink can tell it from others.
REFUSAL = "ductflow refuses a value: "


def _checked(column: Column) -> str:
    """The column's expression, raising an error that names column and value where the value cannot be written.

    The check runs inside the ``COPY`` itself, in the same pass as the write: nothing is read twice (a view is
    not computed again, a stream is not used up), and the first value found stops the write.
    """
    ref = quote_ident(column.name)
    text = f"replace(replace(CAST({ref} AS VARCHAR), chr(10), '\\n'), chr(13), '\\r')"
    shown = f"CASE WHEN length({text}) > 80 THEN left({text}, 79) || '…' ELSE {text} END"
    message = f"{quote_literal(f'{REFUSAL}column {column.name!r} holds ' + chr(39))} || {shown} || "
    message += quote_literal(f"', which {column.reason}")
    return f"CASE WHEN {column.offending} THEN error({message}) ELSE {column.expression} END"


def select_list(columns: Sequence[Column]) -> str | None:
    """The select list that writes ``columns``, or ``None`` when ``*`` writes every one as it is and needs no check."""
    if all(column.expression == quote_ident(column.name) and column.offending is None for column in columns):
        return None
    parts = []
    for column in columns:
        ref = quote_ident(column.name)
        expression = column.expression if column.offending is None else _checked(column)
        parts.append(ref if expression == ref else f"{expression} AS {ref}")
    return ", ".join(parts)


def refusal(message: str) -> str | None:
    """The part of a DuckDB error's first line after :data:`REFUSAL`, when the error is a refused value."""
    _, found, rest = message.partition(REFUSAL)
    return rest if found else None
