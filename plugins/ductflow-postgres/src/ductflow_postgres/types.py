"""Type mapping between PostgreSQL, Arrow (what the driver speaks) and DuckDB.

Reading: the driver labels each Arrow field with its PostgreSQL type; fields it cannot decode arrive as opaque
extension types. Numerics are opaque strings, cast here to ``DECIMAL(p,s)`` so no value passes through a float.

Writing: the driver's binary COPY writes each Arrow type as one PostgreSQL type only, so every column is cast in
DuckDB to the Arrow type matching its target column ("direct"); dates and timestamps go as the integers that are
their binary form, so infinities survive. Columns with no such Arrow type travel as text and are cast by PostgreSQL
from a staging table ("staged").
"""

from __future__ import annotations

import re

import attrs
import pyarrow as pa
from ductflow_core import sql
from ductflow_core.errors import ConnectorError

from .names import quote_ident, quote_literal

MAX_DECIMAL_PRECISION = 38  # DuckDB's DECIMAL limit
#: What a tap makes of numerics DuckDB's DECIMAL cannot hold as declared, unless told otherwise (as DuckDB's own
#: PostgreSQL reader does).
DEFAULT_UNCONSTRAINED = "DOUBLE"

# PostgreSQL base type -> DuckDB type whose Arrow form the driver writes as that PostgreSQL type.
_DIRECT: dict[str, str] = {
    "int2": "SMALLINT",
    "int4": "INTEGER",
    "int8": "BIGINT",
    "float4": "FLOAT",
    "float8": "DOUBLE",
    "text": "VARCHAR",
    "varchar": "VARCHAR",
    "bpchar": "VARCHAR",
    "bool": "BOOLEAN",
    "date": "DATE",
    "time": "TIME",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMPTZ",
    "interval": "INTERVAL",
    "bytea": "BLOB",
    "uuid": "UUID",
    "json": "VARCHAR",
    "jsonb": "VARCHAR",
}
# DuckDB types with infinite values, which a sink sends as PostgreSQL's own binary numbers (see _as_pg_binary).
_HAS_INFINITIES = {"DATE", "TIMESTAMP", "TIMESTAMPTZ"}
# PostgreSQL's epoch, 2000-01-01, in days and in microseconds since 1970-01-01.
_PG_EPOCH_DAYS = 10_957
_PG_EPOCH_US = _PG_EPOCH_DAYS * 86_400_000_000
# These need their Arrow arrays relabelled with an extension type before the driver gets them.
_RELABEL = {"uuid": "uuid", "json": "json", "jsonb": "json"}

# DuckDB type (as information_schema spells it) -> PostgreSQL type for tables the sink creates.
_DUCK_TO_PG: dict[str, str] = {
    "TINYINT": "smallint",
    "UTINYINT": "smallint",
    "SMALLINT": "smallint",
    "USMALLINT": "integer",
    "INTEGER": "integer",
    "UINTEGER": "bigint",
    "BIGINT": "bigint",
    "UBIGINT": "numeric(20,0)",
    "HUGEINT": "numeric(39,0)",
    "UHUGEINT": "numeric(39,0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIME_NS": "time",
    "TIME WITH TIME ZONE": "timetz",
    "BIT": "bit varying",
    "BIGNUM": "numeric",
    "VARINT": "numeric",
    "INTERVAL": "interval",
    "BLOB": "bytea",
    "UUID": "uuid",
    # json keeps the text as written; jsonb would reorder keys and keep only the last of duplicate keys.
    "JSON": "json",
}
_DECIMAL = re.compile(r"^(?:DECIMAL|NUMERIC)\((\d+),\s*(\d+)\)$")
_LIST = re.compile(r"^(.*)\[\d*\]$")
_PG_NUMERIC = re.compile(r"^numeric\((\d+),(-?\d+)\)$")


@attrs.frozen
class PgColumn:
    """A column of a PostgreSQL table: ``sql_type`` as ``format_type`` spells it, ``base`` the (element) typname."""

    name: str
    sql_type: str
    base: str
    is_array: bool = False
    not_null: bool = False


@attrs.frozen
class ColumnPlan:
    """How one column travels to PostgreSQL: DuckDB select expression, staging type, and final cast."""

    name: str
    duck_expr: str
    wire_type: str
    staged: bool
    relabel: str | None = None


@attrs.frozen
class Shipping:
    """How a tap's rows leave the server: the query it runs, and what DuckDB must do with some of its columns.

    ``as_text``: columns sent as text (numerics, intervals), with the DuckDB type each becomes. ``dims``: array
    columns, with the name of the extra column carrying each one's number of dimensions (see :func:`tap_expressions`).
    ``unconstrained``: the DuckDB type of numerics DuckDB's DECIMAL cannot hold as declared (see
    :func:`unconstrained_numeric`).
    """

    query: str
    as_text: dict[str, str] = attrs.Factory(dict)
    dims: dict[str, str] = attrs.Factory(dict)
    unconstrained: str = DEFAULT_UNCONSTRAINED


def numeric_typmod(typmod: int) -> tuple[int, int] | None:
    """``(precision, scale)`` of a PostgreSQL numeric typmod, ``None`` when unconstrained."""
    if typmod < 4:
        return None
    value = typmod - 4
    scale = value & 0x7FF
    if scale > 1023:  # scale is an 11-bit signed field since PostgreSQL 15
        scale -= 2048
    return (value >> 16) & 0xFFFF, scale


def unconstrained_numeric(text: str) -> str:
    """The DuckDB type a tap gives numerics without a precision DuckDB can hold, checked and spelled canonically.

    ``DOUBLE`` (as DuckDB's own PostgreSQL reader does), ``VARCHAR`` (the exact digits), or ``DECIMAL(p,s)`` with
    p ≤ 38, which rounds to s decimal places, as PostgreSQL's own cast to ``numeric(p,s)`` does.
    """
    spelled = re.sub(r"\s+", "", text).upper()
    if spelled in ("DOUBLE", "VARCHAR"):
        return spelled
    decimal = _DECIMAL.match(spelled)
    fitting = _fitting_decimal(int(decimal.group(1)), int(decimal.group(2))) if decimal else None
    if fitting is not None:
        return fitting
    raise ConnectorError(
        f"unconstrained_numeric must be DOUBLE, VARCHAR or DECIMAL(p,s) with p from 1 to 38 and s from 0 to p, "
        f"not {text!r}"
    )


def _fitting_decimal(precision: int, scale: int) -> str | None:
    """``DECIMAL(precision,scale)`` when DuckDB's DECIMAL can hold that numeric exactly, else ``None``."""
    if 1 <= precision <= MAX_DECIMAL_PRECISION and 0 <= scale <= precision:
        return f"DECIMAL({precision},{scale})"
    return None


def duck_numeric(typmod: int, unconstrained: str) -> str:
    """DuckDB type for a PostgreSQL numeric: exact ``DECIMAL(p,s)`` when it fits, else ``unconstrained``."""
    ps = numeric_typmod(typmod)
    return (_fitting_decimal(*ps) if ps is not None else None) or unconstrained


def _pg_type(field: pa.Field) -> str:
    meta = field.metadata or {}
    return (meta.get(b"POSTGRESQL:type") or meta.get(b"ADBC:postgresql:typname") or b"?").decode()


def _typmod(field: pa.Field) -> int:
    meta = field.metadata or {}
    try:
        return int(meta.get(b"POSTGRESQL:typmod", b"-1"))
    except ValueError:
        return -1


def numeric_as_text(column: PgColumn, unconstrained: str) -> str | None:
    """For a numeric column a table tap asks the server to send as text, the DuckDB type it becomes; else ``None``.

    The driver turns each binary numeric into a string, value by value, the most expensive thing a read does;
    the server's own text output costs a fraction of that, and the string is the one the driver would have made,
    so the DuckDB cast that follows (``DECIMAL(p,s)``, or ``unconstrained`` as for every other numeric) is unchanged.
    """
    if column.base != "numeric" or column.is_array:
        return None
    match = _PG_NUMERIC.match(column.sql_type)
    return (_fitting_decimal(int(match.group(1)), int(match.group(2))) if match else None) or unconstrained


def interval_as_text(is_array: bool) -> tuple[str, str]:
    """The server-side cast and the DuckDB type of an interval column (or array) a tap reads as text.

    The driver decodes an interval into Arrow's month-day-nanosecond form, whose nanoseconds overflow 64 bits
    beyond about ±2,562,047 hours: such a value failed the whole read. PostgreSQL's text form (IntervalStyle
    ``postgres``, which tap sessions set) spells months, days and the time part apart, and DuckDB's INTERVAL, which
    holds PostgreSQL's whole range, parses it back field by field, exactly.
    """
    return ("::text[]", "INTERVAL[]") if is_array else ("::text", "INTERVAL")


def tap_select(table_sql: str, columns: list[PgColumn], unconstrained: str) -> Shipping:
    """The server query a table tap runs: numerics and intervals as text, each array column's dimensions beside it."""
    items = []
    as_text: dict[str, str] = {}
    for column in columns:
        col = quote_ident(column.name)
        duck_type = numeric_as_text(column, unconstrained)
        cast = "::text"
        if column.base == "interval":
            cast, duck_type = interval_as_text(column.is_array)
        if duck_type is None:
            items.append(col)
        else:
            items.append(f"{col}{cast} AS {col}")
            as_text[column.name] = duck_type
    counts, dims = _dimension_counts([c.name for c in columns if c.is_array], {c.name for c in columns})
    return Shipping(f"SELECT {', '.join(items + counts)} FROM {table_sql}", as_text, dims, unconstrained)


def wrapped_query(query: str, schema: pa.Schema, unconstrained: str) -> Shipping | None:
    """``query`` wrapped as :func:`tap_select` sends a table: numerics and intervals as text, array dimensions beside.

    ``schema`` is the driver's description of the query's result. ``None`` when no column is numeric, an interval or
    an array, or when the columns cannot each be named (two share a name).
    """
    names = schema.names
    if len(set(names)) != len(names):
        return None
    items = []
    as_text: dict[str, str] = {}
    for field in schema:
        col = quote_ident(field.name)
        if isinstance(field.type, pa.OpaqueType) and field.type.type_name == "numeric":
            items.append(f"{col}::text AS {col}")
            as_text[field.name] = duck_numeric(_typmod(field), unconstrained)
        elif _is_interval(field.type):
            cast, as_text[field.name] = interval_as_text(not pa.types.is_interval(field.type))
            items.append(f"{col}{cast} AS {col}")
        else:
            items.append(col)
    arrays = [field.name for field in schema if pa.types.is_list(field.type) or pa.types.is_large_list(field.type)]
    counts, dims = _dimension_counts(arrays, set(names))
    if not as_text and not dims:
        return None
    # Trailing semicolons and comments cut, and own lines, so nothing in the query can close or swallow the parenthesis.
    body = sql.without_trailing_semicolons(query)
    wrapped = f"SELECT {', '.join(items + counts)} FROM (\n{body}\n) AS _ductflow_query"
    return Shipping(wrapped, as_text, dims, unconstrained)


def _is_interval(typ: pa.DataType) -> bool:
    """Whether the driver describes an interval or an array of intervals."""
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        typ = typ.value_type
    return pa.types.is_interval(typ)


def _dimension_counts(arrays: list[str], taken: set[str]) -> tuple[list[str], dict[str, str]]:
    """Select items counting the dimensions of each of ``arrays``, and the name of each count by array column.

    The driver hands over a multi-dimensional array flattened (``{{1,2},{3,4}}`` as ``[1,2,3,4]``) with nothing to
    tell the two apart, and PostgreSQL does not hold an array column to its declared dimensions: the count, sent
    beside the array, lets DuckDB refuse such a value instead of keeping it flattened.
    """
    items: list[str] = []
    dims: dict[str, str] = {}
    for number, name in enumerate(arrays):
        count = f"__ductflow_ndims_{number}"
        while count in taken:
            count = "_" + count
        taken = taken | {count}
        items.append(f"array_ndims({quote_ident(name)}) AS {quote_ident(count)}")
        dims[name] = count
    return items, dims


def tap_expressions(schema: pa.Schema, shipping: Shipping, element_typmods: dict[str, int] | None = None) -> list[str]:
    """DuckDB select list that turns the driver's Arrow stream into properly typed DuckDB columns.

    ``shipping`` says how the server sent the columns; ``element_typmods`` gives, for array columns, the typmod of
    their elements (the driver does not report it). Raises :class:`ConnectorError` naming the first column whose
    PostgreSQL type has no DuckDB counterpart; a multi-dimensional array stops the read naming its column.
    """
    exprs: list[str] = []
    seen: set[str] = set()
    counts = set(shipping.dims.values())
    for field in schema:
        if field.name in counts:
            continue
        # Columns are picked by name: a second column of the same name would silently read the first one's values.
        if field.name in seen:
            raise ConnectorError(
                f"the query returns two columns named {field.name!r}; give them distinct names with AS"
            )
        seen.add(field.name)
        col = quote_ident(field.name)
        element_typmod = (element_typmods or {}).get(field.name, -1)
        value = _typed(field, col, shipping.as_text.get(field.name), element_typmod, shipping.unconstrained)
        count = shipping.dims.get(field.name)
        if count is not None:
            message = quote_literal(
                f"column {field.name!r} holds a multi-dimensional array, which would arrive flattened; read it as "
                f"text ({col}::text) and parse it in a transform"
            )
            value = f"CASE WHEN {quote_ident(count)} > 1 THEN error({message}) ELSE {value} END"
        exprs.append(f"{value} AS {col}")
    return exprs


def _typed(field: pa.Field, col: str, decimal: str | None, element_typmod: int, unconstrained: str) -> str:
    """The DuckDB expression of the driver's column ``col``, typed as its PostgreSQL column maps."""
    typ = field.type
    if decimal is not None:
        return f"CAST({col} AS {decimal})"
    if isinstance(typ, pa.OpaqueType):
        if typ.type_name != "numeric":
            raise _unmappable(field.name, typ.type_name)
        return f"CAST({col} AS {duck_numeric(_typmod(field), unconstrained)})"
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        item = typ.value_type
        if isinstance(item, pa.OpaqueType):
            if item.type_name != "numeric":
                raise _unmappable(field.name, _pg_type(field))
            return f"CAST({col} AS {duck_numeric(element_typmod, unconstrained)}[])"
        if pa.types.is_nested(item):
            raise _unmappable(field.name, _pg_type(field) + " (nested arrays)")
        infinite = _with_infinities("x", item)
        return f"list_transform({col}, lambda x: {infinite})" if infinite else col
    if pa.types.is_nested(typ) or pa.types.is_dictionary(typ):
        raise _unmappable(field.name, _pg_type(field))
    return _with_infinities(col, typ) or col


def _with_infinities(value: str, typ: pa.DataType) -> str | None:
    """``value`` with the driver's renderings of PostgreSQL's infinities made DuckDB's own; ``None`` if it has none."""
    if pa.types.is_timestamp(typ) and typ.unit == "us":
        duck = "TIMESTAMPTZ" if typ.tz else "TIMESTAMP"
        plus, minus = _INFINITE_MICROS
        return (
            f"CASE epoch_us({value}) WHEN {plus} THEN 'infinity'::{duck} WHEN {minus} THEN '-infinity'::{duck} "
            f"ELSE {value} END"
        )
    if pa.types.is_date32(typ):
        plus, minus = _INFINITE_DAYS
        return (
            f"CASE {value} - DATE '1970-01-01' WHEN {plus} THEN 'infinity'::DATE "
            f"WHEN {minus} THEN '-infinity'::DATE ELSE {value} END"
        )
    return None


# PostgreSQL's infinity and -infinity are the extreme int64 (timestamps, µs since 2000) and int32 (dates,
# days since 2000) values; the driver shifts them to 1970 as if they were times, and +infinity wraps around.
# The results lie far before any time PostgreSQL can hold (4713 BC), so they can only be the infinities.
_INFINITE_MICROS = ((2**63 - 1 + _PG_EPOCH_US) - 2**64, -(2**63) + _PG_EPOCH_US)
_INFINITE_DAYS = ((2**31 - 1 + _PG_EPOCH_DAYS) - 2**32, -(2**31) + _PG_EPOCH_DAYS)


def _unmappable(column: str, pg_type: str) -> ConnectorError:
    return ConnectorError(
        f"column {column!r} has PostgreSQL type {pg_type}, which has no DuckDB mapping; cast it in the query "
        "(for example to text)"
    )


def pg_columns_for_duck(columns: list[tuple[str, str]], primary_key: list[str] | None = None) -> list[PgColumn]:
    """PostgreSQL columns for a new table holding DuckDB columns ``(name, duckdb_type)``."""
    pk = set(primary_key or [])
    return [_pg_column_for_duck(name, duck_type, name in pk) for name, duck_type in columns]


def _pg_column_for_duck(name: str, duck_type: str, not_null: bool) -> PgColumn:
    text = duck_type.strip().upper()
    is_array = False
    match = _LIST.match(text)
    if match:
        is_array, text = True, match.group(1).strip()
        if _LIST.match(text):
            raise ConnectorError(f"column {name!r} has DuckDB type {duck_type}; nested lists cannot go to PostgreSQL")
    decimal = _DECIMAL.match(text)
    if decimal:
        sql_type = f"numeric({decimal.group(1)},{decimal.group(2)})"
    elif text.startswith("ENUM("):
        sql_type = "text"
    elif text in _DUCK_TO_PG:
        sql_type = _DUCK_TO_PG[text]
    else:
        raise ConnectorError(
            f"column {name!r} has DuckDB type {duck_type}, which has no PostgreSQL mapping; cast it in a transform "
            "(for example to JSON or VARCHAR)"
        )
    base = _BASE_OF_SQL.get(sql_type.split("(")[0], sql_type.split("(")[0])
    return PgColumn(name, sql_type + ("[]" if is_array else ""), base, is_array, not_null)


_BASE_OF_SQL = {
    "smallint": "int2",
    "integer": "int4",
    "bigint": "int8",
    "real": "float4",
    "double precision": "float8",
    "boolean": "bool",
    "timestamp": "timestamp",
    "timestamptz": "timestamptz",
}


def plan_columns(source: list[tuple[str, str]], target: list[PgColumn]) -> list[ColumnPlan]:
    """Plan each source column ``(name, duckdb_type)`` against the target column of the same name."""
    by_name = {col.name: col for col in target}
    plans = []
    for name, duck_type in source:
        col = by_name.get(name)
        if col is None:
            raise ConnectorError(f"column {name!r} is not in the target table")
        plans.append(_plan(name, duck_type, col))
    return plans


def _plan(name: str, duck_type: str, col: PgColumn) -> ColumnPlan:
    q = quote_ident(name)
    direct = _DIRECT.get(col.base)
    if col.base == "numeric":
        numeric = _PG_NUMERIC.match(col.sql_type.removesuffix("[]"))
        if numeric and int(numeric.group(1)) <= MAX_DECIMAL_PRECISION and int(numeric.group(2)) >= 0:
            direct = f"DECIMAL({numeric.group(1)},{numeric.group(2)})"
        elif _DECIMAL.match(duck_type.upper().removesuffix("[]")):
            direct = duck_type.upper().removesuffix("[]")
    relabel = _RELABEL.get(col.base)
    source = duck_type.upper()
    # An interval array goes as text: the writers' Arrow form of an interval counts nanoseconds in 64 bits, which
    # DuckDB fills by wrapping around beyond about ±2,562,047 hours (a scalar goes as its binary form instead).
    if direct is None or (col.is_array and (relabel is not None or col.base == "interval")):
        wire = "text[]" if col.is_array else "text"
        text = f"CAST({q} AS VARCHAR{'[]' if col.is_array else ''})"
        expr = _checked(name, q, source, "VARCHAR[]" if col.is_array else "VARCHAR", text, col)
        return ColumnPlan(name, f"{expr} AS {q}", wire, staged=True)
    duck = direct + ("[]" if col.is_array else "")
    if relabel == "uuid":
        # 16 raw bytes per value: the layout of Arrow's uuid extension type.
        uuid = _checked(name, q, source, "UUID", f"CAST({q} AS UUID)", col)
        expr = f"unhex(replace(CAST({uuid} AS VARCHAR), '-', '')) AS {q}"
        return ColumnPlan(name, expr, col.sql_type, staged=False, relabel="uuid")
    zoned = _across_zones(q, source, direct) if not col.is_array else None
    expr = _checked(name, q, source, duck, zoned if zoned is not None else f"CAST({q} AS {duck})", col)
    if direct == "INTERVAL":
        return ColumnPlan(name, f"{_interval_as_pg_binary(expr)} AS {q}", col.sql_type, staged=False)
    if direct in _HAS_INFINITIES and not col.is_array:
        return ColumnPlan(name, f"{_as_pg_binary(name, expr, direct)} AS {q}", col.sql_type, staged=False)
    if direct in _HAS_INFINITIES:
        # An array names its element type, so its times cannot travel as numbers (see _as_pg_binary), and neither
        # writer can send DuckDB's infinities as times: pgpq would shift them to a finite year 294247, ADBC fails
        # without a reason. Say which column it is instead. An array's infinities are its largest or smallest values.
        message = quote_literal(
            f"column {name!r} holds an infinite {direct.lower()} in an array, which cannot be written to PostgreSQL "
            "here; replace it in a transform (for example with NULL)"
        )
        expr = f"CASE WHEN isinf(list_max({expr})) OR isinf(list_min({expr})) THEN error({message}) ELSE {expr} END"
    return ColumnPlan(name, f"{expr} AS {q}", col.sql_type, staged=False, relabel=relabel)


def _interval_as_pg_binary(value: str) -> str:
    """A DuckDB INTERVAL ``value`` as the 16 bytes of PostgreSQL's binary interval: microseconds, days, months.

    Both writers would otherwise pass it through Arrow's month-day-nanosecond form, whose 64-bit nanoseconds DuckDB
    fills by wrapping around beyond about ±2,562,047 hours: a silently different interval. A scalar's bytes carry no
    type label, so either writer sends these as bytea and the server reads them as the interval column's own.
    """
    months = f"(datepart('year', {value}) * 12 + datepart('month', {value}))"
    days = f"datepart('day', {value})"
    micros = f"epoch_us({value} - to_months(CAST({months} AS INTEGER)) - to_days(CAST({days} AS INTEGER)))"
    # printf's %x writes a negative BIGINT in two's complement; the 32-bit fields are masked to their own bits.
    # One printf costs about half of hex() and lpad() per field.
    return (
        f"unhex(printf('%016x%08x%08x', CAST({micros} AS BIGINT), CAST({days} AS BIGINT) & 4294967295, "
        f"CAST({months} AS BIGINT) & 4294967295))"
    )


# Integer types by the values they hold, for casts that cannot change a value and so need no check.
_INT_RANGES: dict[str, tuple[int, int]] = {
    "TINYINT": (-(2**7), 2**7 - 1),
    "UTINYINT": (0, 2**8 - 1),
    "SMALLINT": (-(2**15), 2**15 - 1),
    "USMALLINT": (0, 2**16 - 1),
    "INTEGER": (-(2**31), 2**31 - 1),
    "UINTEGER": (0, 2**32 - 1),
    "BIGINT": (-(2**63), 2**63 - 1),
    "UBIGINT": (0, 2**64 - 1),
    "HUGEINT": (-(2**127), 2**127 - 1),
    "UHUGEINT": (0, 2**128 - 1),
}
# Pairs of (source, target) DuckDB types where every value of the source is one of the target, exactly.
_WIDENINGS = {
    ("FLOAT", "DOUBLE"),
    ("DATE", "TIMESTAMP"),
    ("DATE", "TIMESTAMPTZ"),
    ("TIMESTAMP_S", "TIMESTAMP"),
    ("TIMESTAMP_MS", "TIMESTAMP"),
    ("TIMESTAMP_S", "TIMESTAMPTZ"),
    ("TIMESTAMP_MS", "TIMESTAMPTZ"),
    ("TIMESTAMP", "TIMESTAMPTZ"),
    ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP"),
    ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"),
    ("ENUM", "VARCHAR"),
    ("JSON", "VARCHAR"),
}
_TEXTUAL = ("VARCHAR", "JSON")
# varchar(n) and char(n), as format_type spells them.
_VARCHAR_LENGTH = re.compile(r"^(?:character varying|character|varchar|char|bpchar)\((\d+)\)$")


def _lossless(source: str, target: str) -> bool:
    """Whether casting DuckDB type ``source`` to ``target`` keeps every value exactly (by type, not by value)."""
    if source == target or (source.split("(")[0], target) in _WIDENINGS or target == "VARCHAR":
        return True
    if source in _INT_RANGES:
        low, high = _INT_RANGES[source]
        if target in _INT_RANGES:
            return _INT_RANGES[target][0] <= low and high <= _INT_RANGES[target][1]
        if target in ("FLOAT", "DOUBLE"):
            return max(-low, high) <= 2 ** (24 if target == "FLOAT" else 53)
        decimal = _DECIMAL.match(target)
        if decimal is None:
            return False
        return len(str(max(-low, high))) <= int(decimal.group(1)) - int(decimal.group(2))
    wide, narrow = _DECIMAL.match(target), _DECIMAL.match(source)
    if wide and narrow:
        (p1, s1), (p2, s2) = (int(narrow.group(1)), int(narrow.group(2))), (int(wide.group(1)), int(wide.group(2)))
        return s2 >= s1 and p2 - s2 >= p1 - s1
    return False


def _shown(value: str) -> str:
    """DuckDB expression rendering ``value`` for a one-line message: NUL and line breaks escaped, long text cut."""
    text = f"CAST({value} AS VARCHAR)"
    return f"left(replace(replace(replace({text}, chr(0), '\\0'), chr(10), '\\n'), chr(13), '\\r'), 200)"


def _checked(name: str, q: str, source: str, target: str, expr: str, col: PgColumn) -> str:
    """``expr`` (``q`` of DuckDB type ``source`` cast towards ``target``), stopping the sink on a value it changes.

    The one rule of writing: a value reaches PostgreSQL exactly, or the sink stops naming the column and the value.
    A cast that can lose (a narrower or rounder type; nanoseconds; a NaN into a decimal) is checked by casting
    back; text that will not parse is caught before DuckDB's own message, which names no column; strings with a
    NUL character, which PostgreSQL's text cannot hold, are refused; numerics PostgreSQL itself casts from text
    are checked against the target's scale. Casts that cannot lose, by type, cost nothing.
    """
    is_list = source.endswith("[]") and target.endswith("[]")
    src, tgt = source.removesuffix("[]"), target.removesuffix("[]")
    conditions: list[tuple[str, str]] = []
    if src in _TEXTUAL and tgt != "BLOB":
        nul = "contains({}, chr(0))"
        has_nul = f"list_bool_or(list_transform({q}, lambda x: {nul.format('x')}))" if is_list else nul.format(q)
        conditions.append((has_nul, "a string with a NUL character, which PostgreSQL's text cannot hold"))
    length = _VARCHAR_LENGTH.match(col.sql_type)
    if length and src in _TEXTUAL and not is_list:
        # PostgreSQL refuses a longer value without naming the column, or cuts trailing spaces without a word.
        conditions.append((f"length({q}) > {length.group(1)}", f"more than {length.group(1)} characters"))
    if col.base in ("json", "jsonb") and src == "VARCHAR" and not is_list:
        # The server's refusal of a COPY value names neither value nor (in binary) anything but the row.
        conditions.append((f"NOT json_valid({q})", "text that is not valid JSON"))
    loss = _loss(q, src, tgt, is_list, col)
    if loss is not None:
        conditions.append((loss, f"a value its PostgreSQL type {col.sql_type} cannot hold exactly"))
    if not conditions:
        return expr
    branches = " ".join(
        f"WHEN {condition} THEN error({quote_literal(f'column {name!r} holds ')} || {_shown(q)} || "
        f"{quote_literal(f': {what}; convert it in a transform')})"
        for condition, what in conditions
    )
    return f"(CASE {branches} ELSE {expr} END)"


def _loss(q: str, src: str, tgt: str, is_list: bool, col: PgColumn) -> str | None:
    """A DuckDB condition true when casting ``q`` (type ``src``) to ``tgt`` would change it; ``None`` if it cannot."""
    numeric = _PG_NUMERIC.match(col.sql_type)
    if numeric and not is_list and _fitting_decimal(int(numeric.group(1)), int(numeric.group(2))) is None:
        # DuckDB has no DECIMAL of this precision or scale: PostgreSQL applies the typmod itself, rounding.
        return _numeric_text_loss(q, src, int(numeric.group(1)), int(numeric.group(2)))
    if src in _TEXTUAL and tgt != "VARCHAR":
        # Text is parsed, not converted: '007' is 7. What will not parse is the loss.
        suffix = "[]" if is_list else ""
        return f"({q} IS NOT NULL AND TRY_CAST({q} AS {tgt}{suffix}) IS NULL)"
    # Across zones (see _across_zones) the cast goes through the UTC wall clock: check that step.
    value, through = q, src
    if tgt == "TIMESTAMPTZ" and src != "TIMESTAMP WITH TIME ZONE" and not is_list:
        tgt = "TIMESTAMP"
    elif src == "TIMESTAMP WITH TIME ZONE" and tgt == "DATE" and not is_list:
        value, through = f"timezone('UTC', {q})", "TIMESTAMP"
    if _lossless(through, tgt) or through.startswith(("STRUCT", "MAP", "UNION")):
        return None
    suffix = "[]" if is_list else ""
    back = f"TRY_CAST(TRY_CAST({value} AS {tgt}{suffix}) AS {through}{suffix})"
    return f"({value} IS NOT NULL AND {back} IS DISTINCT FROM {value})"


def _numeric_text_loss(q: str, src: str, precision: int, scale: int) -> str | None:
    """For a numeric(p,s) column DuckDB's DECIMAL cannot be (p > 38, s < 0), a value PostgreSQL would round."""
    if not (src in _INT_RANGES or src in ("FLOAT", "DOUBLE") or _DECIMAL.match(src)):
        return None
    checks = [f"round({q}, {scale}) <> {q}", f"abs(CAST({q} AS DOUBLE)) >= 1e{precision - scale}"]
    if src in ("FLOAT", "DOUBLE"):
        checks.append(f"isinf({q})")
    return f"({q} IS NOT NULL AND ({' OR '.join(checks)}))"


def _as_pg_binary(name: str, value: str, duck: str) -> str:
    """A DuckDB date or timestamp ``value`` as the number that is PostgreSQL's binary form of it, infinities too.

    Binary COPY sends a timestamp as its int64 microseconds since 2000-01-01 (UTC for timestamptz) and a date as
    its int32 days since then; the extreme values are -infinity and infinity. A scalar's bytes are not labelled
    with a type, so either writer sends the number as a bigint or an integer, and the server reads it as the
    column's type. Their own conversions of times cannot express infinity. A value DuckDB holds but PostgreSQL
    cannot (before 4714-11-24 BC; dates after 5874897) stops the sink naming the column.
    """
    if duck == "DATE":
        bits, number, kind = 32, f"{value} - DATE '2000-01-01'", "INTEGER"
        in_range = f"{value} BETWEEN DATE '4714-11-24 (BC)' AND DATE '5874897-12-31'"
    else:
        bits, number, kind = 64, f"epoch_us({value}) - {_PG_EPOCH_US}", "BIGINT"
        # DuckDB's latest timestamp (294247) is before PostgreSQL's.
        in_range = f"{value} >= '4714-11-24 (BC) 00:00:00{'+00' if duck == 'TIMESTAMPTZ' else ''}'::{duck}"
    message = quote_literal(f"column {name!r} holds the {duck.lower()} ")
    reason = quote_literal(", outside PostgreSQL's range; replace it in a transform (for example with NULL)")
    return (
        f"CAST(CASE WHEN {value} = 'infinity'::{duck} THEN {2 ** (bits - 1) - 1} "
        f"WHEN {value} = '-infinity'::{duck} THEN {-(2 ** (bits - 1))} WHEN {in_range} THEN {number} "
        f"WHEN {value} IS NOT NULL THEN error({message} || CAST({value} AS VARCHAR) || {reason}) END AS {kind})"
    )


def _across_zones(q: str, source: str, target: str) -> str | None:
    """Between wall-clock and zoned time, read wall clocks as UTC, not as the zone of the machine running DuckDB.

    A plain CAST would use DuckDB's TimeZone setting, which follows the client's local zone, so the same
    pipeline would write other instants from another machine. PostgreSQL sessions here run in UTC too.
    """
    zoned_source = source == "TIMESTAMP WITH TIME ZONE"
    if target == "TIMESTAMPTZ" and not zoned_source and (source.startswith("TIMESTAMP") or source == "DATE"):
        return f"timezone('UTC', CAST({q} AS TIMESTAMP))"
    if zoned_source and target in ("TIMESTAMP", "DATE"):
        return f"CAST(timezone('UTC', {q}) AS {target})"
    return None


def relabel_batch(batch: pa.RecordBatch, relabels: dict[str, str]) -> pa.RecordBatch:
    """Give uuid and json columns the Arrow extension types the driver writes as PostgreSQL uuid and json."""
    arrays = []
    fields = []
    for field, array in zip(batch.schema, batch.columns, strict=True):
        kind = relabels.get(field.name)
        if kind == "uuid":
            array = pa.ExtensionArray.from_storage(pa.uuid(), array.cast(pa.binary(16)))
        elif kind == "json":
            storage = array if array.type == pa.string() else array.cast(pa.string())
            array = pa.ExtensionArray.from_storage(pa.json_(), storage)
        arrays.append(array)
        fields.append(pa.field(field.name, array.type, field.nullable))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
