"""Every DuckDB type, written by each sink and read back by its tap, is the same value, or the sink fails naming it.

Each case is written with the sink and read back with the tap: CSV and JSON with ``columns`` set to the
original types (text carries no types), Parquet as it is. Values are compared in DuckDB, both as values and
as their text, so ``-0.0`` against ``0.0`` or a lost time zone offset counts as a change.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ductflow_core.errors import ConnectorError
from helpers import FORMATS, make, rows, types_of

INTERVALS = (
    "[INTERVAL '-1 day', INTERVAL '1 microsecond', INTERVAL '1 month 2 days 3.000004 seconds', "
    "INTERVAL '-3 months', to_months(2147483647), to_days(-2147483648)::INTERVAL, "
    "INTERVAL '100000000 hours' - INTERVAL '1 microsecond', INTERVAL '-1 hour 1 second']"
)

#: name -> a DuckDB list expression whose elements are the values of the case (NULL is added to every case).
CASES = {
    "boolean": "[true, false]",
    "tinyint": "[-128, 127]::TINYINT[]",
    "smallint": "[-32768, 32767]::SMALLINT[]",
    "integer": "[-2147483648, 2147483647]::INTEGER[]",
    "bigint": "[-9223372036854775808, 9223372036854775807]::BIGINT[]",
    "hugeint": "['-99999999999999999999999999999999999999', '99999999999999999999999999999999999999']::HUGEINT[]",
    "utinyint": "[0, 255]::UTINYINT[]",
    "usmallint": "[0, 65535]::USMALLINT[]",
    "uinteger": "[0, 4294967295]::UINTEGER[]",
    "ubigint": "[0, 18446744073709551615]::UBIGINT[]",
    "uhugeint": "['0', '99999999999999999999999999999999999999']::UHUGEINT[]",
    "float": "['nan', 'inf', '-inf', '-0.0', '3.4028235e38', '1e-45', '0.1']::FLOAT[]",
    "double": "['nan', 'inf', '-inf', '-0.0', '1.7976931348623157e308', '5e-324', '0.1']::DOUBLE[]",
    "decimal38": "['-99999999999999999999999999999999999.999', '0.001', '-0.000']::DECIMAL(38,3)[]",
    "decimal4": "['-9.999', '0.001']::DECIMAL(4,3)[]",
    "varchar": "['a' || chr(0) || 'b', 'x' || chr(10) || 'y', 'q\"q', '', ' lead ', 'NULL',"
    " 'r' || chr(13) || chr(10) || 'n', 'ünï 🦆', ',;|']",
    "blob": "['\\x00\\xFF'::BLOB, 'abc'::BLOB, ''::BLOB, '\\x0A\\x22\\x2C'::BLOB]",
    "date": "['infinity', '-infinity', '5877642-06-25', '0001-01-01', '-0100-03-01', '2024-02-29']::DATE[]",
    "time": "['00:00:00', '23:59:59.999999', '24:00:00']::TIME[]",
    "time_ns": "['12:00:00.123456789', '00:00:00']::TIME_NS[]",
    "timetz": "['12:00:00+05:30', '01:02:03.456-08', '23:59:59.999999+15:59']::TIMETZ[]",
    "timestamp": "['infinity', '-infinity', '2024-01-01 12:00:00.123456', '0001-01-01', '290309-12-22 00:00:00',"
    " '-0100-01-01 00:00:00']::TIMESTAMP[]",
    "timestamp_s": "['2024-01-01 12:00:01', '1900-01-01']::TIMESTAMP_S[]",
    "timestamp_ms": "['2024-01-01 12:00:01.123']::TIMESTAMP_MS[]",
    "timestamp_ns": "['2024-01-01 12:00:01.123456789', '1677-09-22 00:00:00']::TIMESTAMP_NS[]",
    "timestamptz": "['infinity', '-infinity', '2024-01-01 12:00:00.123456+05:30']::TIMESTAMPTZ[]",
    "interval": INTERVALS,
    "uuid": "['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff']::UUID[]",
    "bit": "['0101'::BIT, '1'::BIT]",
    "enum": "['a', 'b,c']::ENUM('a', 'b,c')[]",
    "list": "[[1, NULL, 3], [], [NULL]]::INTEGER[][]",
    "list_of_text": "[['a,b', 'c\"d', NULL, '', 'NULL', ' x', '[', '''q'''], []]::VARCHAR[][]",
    "struct": "[{'a': 1, 'b': 'x,y'}, {'a': NULL, 'b': NULL}]::STRUCT(a INTEGER, b VARCHAR)[]",
    "map": "[MAP {'k': 1, 'j': 2}, MAP {}]::MAP(VARCHAR, INTEGER)[]",
    "array": "[[1, 2, 3]::INTEGER[3], [4, NULL, 6]::INTEGER[3]]",
    "json": "['{\"a\":[1,2]}', '\"s\"', '1.5', '[]', '12345678901234567890123']::JSON[]",
    "bignum": "['123456789012345678901234567890123456789012345678901234567890', '-1']::BIGNUM[]",
    "list_of_intervals": f"[{INTERVALS}, []]",
    "struct_of_wide_ints": "[{'h': 1::HUGEINT, 'u': 2::UHUGEINT}]::STRUCT(h HUGEINT, u UHUGEINT)[]",
    "map_of_timetz": "[MAP {'k': '12:00:00+05:30'::TIMETZ}]",
    "union_distinct_kinds": "[union_value(n := 1)::UNION(n INTEGER, s VARCHAR), union_value(s := 'x')]",
}

#: The cases each sink refuses, with the first value it names: no representation in the format keeps them.
REFUSED = {
    ("csv", "union_distinct_kinds"): "'1'",
    ("parquet", "union_distinct_kinds"): "'1'",
}

#: Types a JSON tap cannot take in ``columns`` (DuckDB's reader refuses them); they are written as their text.
JSON_AS_TEXT = ("BIT", "BIGNUM")


async def write_and_read(db, tmp_path: Path, fmt: str, case: str) -> tuple[list[tuple], dict[str, str]]:
    """Write the case with the sink, read it back with the tap; the rows that differ and the types read back."""
    await db.execute(
        f"CREATE OR REPLACE TABLE src AS SELECT unnest(x) AS v, unnest(range(1, len(x) + 1)) AS id "
        f"FROM (SELECT list_append({CASES[case]}, NULL) AS x)"
    )
    typed = await types_of(db, "src")
    target = tmp_path / f"{case}.{fmt}"
    await make(FORMATS[fmt], db, path=str(target)).sink("src")
    params: dict[str, object] = {}
    if fmt != "parquet":
        params["columns"] = {
            name: "VARCHAR" if fmt == "json" and kind in JSON_AS_TEXT else kind for name, kind in typed.items()
        }
    await make(FORMATS[fmt], db, name="back", path=str(target), **params).tap()
    differ = await rows(
        db,
        "SELECT id, s.v::VARCHAR, b.v::VARCHAR FROM src s FULL JOIN back b USING (id) "
        "WHERE s.v::VARCHAR IS DISTINCT FROM b.v::VARCHAR OR s.v IS DISTINCT FROM b.v",
    )
    return differ, await types_of(db, "back")


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_every_type_is_written_exactly_or_refused(db, tmp_path: Path, fmt: str, case: str) -> None:
    """Each value of each type reads back identical, or the sink fails naming the column and the first value."""
    refused = REFUSED.get((fmt, case))
    if refused is None:
        differ, _ = await write_and_read(db, tmp_path, fmt, case)
        assert differ == []
        return
    with pytest.raises(ConnectorError) as exc:
        await write_and_read(db, tmp_path, fmt, case)
    assert f"column 'v' holds {refused}" in str(exc.value)
    assert not (tmp_path / f"{case}.{fmt}").exists()


@pytest.mark.parametrize(
    ("case", "stored"),
    [
        ("interval", "VARCHAR"),
        ("timetz", "VARCHAR"),
        ("hugeint", "DECIMAL(38,0)"),
        ("uhugeint", "DECIMAL(38,0)"),
        ("list_of_intervals", "VARCHAR[]"),
        ("struct_of_wide_ints", "STRUCT(h DECIMAL(38,0), u DECIMAL(38,0))"),
    ],
)
async def test_parquet_stores_what_it_has_no_type_for_as_documented(db, tmp_path: Path, case: str, stored: str) -> None:
    """Parquet keeps INTERVAL and TIMETZ as their exact text and wide integers as DECIMAL(38,0), nested ones too."""
    differ, back = await write_and_read(db, tmp_path, "parquet", case)
    assert differ == []
    assert back["v"] == stored


@pytest.mark.parametrize(
    ("fmt", "expression", "value", "reason"),
    [
        (
            "parquet",
            "'170141183460469231731687303715884105727'::HUGEINT",
            "'170141183460469231731687303715884105727'",
            "more than 38 digits",
        ),
        (
            "parquet",
            "'-170141183460469231731687303715884105728'::HUGEINT",
            "'-170141183460469231731687303715884105728'",
            "more than 38 digits",
        ),
        (
            "parquet",
            "'100000000000000000000000000000000000000'::UHUGEINT",
            "'100000000000000000000000000000000000000'",
            "more than 38 digits",
        ),
        (
            "parquet",
            "{'x': '340282366920938463463374607431768211455'::UHUGEINT}",
            "'{'x': 340282366920938463463374607431768211455}'",
            "more than 38 digits",
        ),
        ("parquet", "union_value(s := 'x')::UNION(n INTEGER, s VARCHAR)", "'x'", "Parquet has no union type"),
        ("json", "'null'::JSON", "'null'", "reads back as SQL NULL"),
        ("json", "'{\"n\": 1.50}'::JSON", "'{\"n\": 1.50}'", "numbers pass through a double"),
        ("csv", "[union_value(n := 7)::UNION(n INTEGER, s VARCHAR)]", "'[7]'", "another member of its UNION"),
    ],
)
async def test_a_value_that_cannot_be_written_fails_naming_column_and_value(
    db, tmp_path: Path, fmt: str, expression: str, value: str, reason: str
) -> None:
    """The first value a format cannot hold fails the sink with column, value and reason; no file is written."""
    await db.execute(f'CREATE TABLE t AS SELECT 1 AS ok, {expression} AS "bad col" FROM range(3)')
    target = tmp_path / f"t.{fmt}"
    with pytest.raises(ConnectorError) as exc:
        await make(FORMATS[fmt], db, path=str(target)).sink("t")
    message = str(exc.value)
    assert f"column 'bad col' holds {value}, which" in message
    assert reason in message
    assert "\n" not in message
    assert not target.exists()


async def test_csv_date_and_timestamp_formats_that_drop_part_of_a_value_fail(db, tmp_path: Path) -> None:
    """A ``timestamp_format`` without seconds fails on the first timestamp that has some; one that fits writes."""
    await db.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES (TIMESTAMP '2024-01-01 10:00:00'), "
        "(TIMESTAMP '2024-01-01 10:00:30')) v(ts)"
    )
    with pytest.raises(ConnectorError, match=r"column 'ts' holds '2024-01-01 10:00:30', which does not survive"):
        await make(FORMATS["csv"], db, path=str(tmp_path / "t.csv"), timestamp_format="%Y-%m-%d %H:%M").sink("t")
    await db.execute("DELETE FROM t WHERE second(ts) <> 0")
    await make(FORMATS["csv"], db, path=str(tmp_path / "t.csv"), timestamp_format="%Y-%m-%d %H:%M").sink("t")
    assert (tmp_path / "t.csv").read_text().splitlines() == ["ts", "2024-01-01 10:00"]


async def test_csv_empty_string_and_null_read_back_apart(db, tmp_path: Path) -> None:
    """An empty string is written as ``""`` and NULL as nothing, and the CSV tap reads them back as written."""
    await db.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, ''), (2, NULL)) v(id, s)")
    await make(FORMATS["csv"], db, path=str(tmp_path / "t.csv")).sink("t")
    await make(FORMATS["csv"], db, name="back", path=str(tmp_path / "t.csv")).tap()
    assert await rows(db, "SELECT id, s FROM back ORDER BY id") == [(1, ""), (2, None)]


async def test_value_check_runs_in_the_write_so_a_stream_is_read_once(db, tmp_path: Path) -> None:
    """A column that needs checking is checked inside the COPY: a one-pass Arrow stream under it is written whole."""
    import pyarrow as pa

    batches = [pa.record_batch([pa.array(range(i * 100, (i + 1) * 100))], names=["i"]) for i in range(10)]
    await db.register("stream", pa.RecordBatchReader.from_batches(batches[0].schema, iter(batches)))
    await db.execute("CREATE VIEW wide AS SELECT i::HUGEINT AS h FROM stream")
    conn = make(FORMATS["parquet"], db, path=str(tmp_path / "t.parquet"))
    await conn.sink("wide")
    await make(FORMATS["parquet"], db, name="back", path=str(tmp_path / "t.parquet")).tap()
    assert await rows(db, "SELECT count(*), sum(h) FROM back") == [(1000, 499500)]
    assert (await types_of(db, "back"))["h"] == "DECIMAL(38,0)"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_ordinary_types_are_written_without_a_scan(db, tmp_path: Path, fmt: str) -> None:
    """A table of types every format holds is written with plain ``SELECT *``: nothing is read to check it."""
    await db.execute(
        "CREATE TABLE t AS SELECT 1 AS i, 'x' AS s, 1.5::DOUBLE AS d, DATE '2024-01-01' AS day, 2.50::DECIMAL(9,2) AS m"
    )
    conn = make(FORMATS[fmt], db, path=str(tmp_path / f"t.{fmt}"))
    assert await conn.exact_select("t") == 'SELECT * FROM "t"'


async def test_json_values_keep_their_content_whatever_their_spacing(db, tmp_path: Path) -> None:
    """A JSON column written pretty-printed reads back as the same JSON, spaces inside strings kept."""
    await db.execute("""CREATE TABLE t AS SELECT '{ "a b" : [ 1, "x  y" ] }'::JSON AS j""")
    await make(FORMATS["json"], db, path=str(tmp_path / "t.json")).sink("t")
    await make(FORMATS["json"], db, name="back", path=str(tmp_path / "t.json"), columns={"j": "JSON"}).tap()
    assert await rows(db, "SELECT j::VARCHAR FROM back") == [('{"a b":[1,"x  y"]}',)]


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("kind", ["TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMPTZ"])
async def test_a_format_that_keeps_every_part_writes_every_timestamp_kind(
    db, tmp_path: Path, fmt: str, kind: str
) -> None:
    """A nanosecond ``timestamp_format`` writes each kind of timestamp and reads back the same value."""
    await db.execute(f"CREATE TABLE t AS SELECT '2024-01-02 03:04:05.123456'::{kind} AS v")
    params = {"timestamp_format": "%Y-%m-%d %H:%M:%S.%n"}
    await make(FORMATS[fmt], db, path=str(tmp_path / f"t.{fmt}"), **params).sink("t")
    await make(FORMATS[fmt], db, name="back", path=str(tmp_path / f"t.{fmt}"), columns={"v": kind}, **params).tap()
    assert await rows(db, "SELECT count(*) FROM back JOIN t USING (v)") == [(1,)]


async def test_a_json_format_dropping_nanoseconds_fails(db, tmp_path: Path) -> None:
    """A microsecond format on a TIMESTAMP_NS that has nanoseconds fails naming the value, rather than cutting it."""
    await db.execute("CREATE TABLE t AS SELECT '2024-01-02 03:04:05.123456789'::TIMESTAMP_NS AS v")
    with pytest.raises(ConnectorError, match=r"column 'v' holds '2024-01-02 03:04:05\.123456789', which does not"):
        await make(FORMATS["json"], db, path=str(tmp_path / "t.json"), timestamp_format="%Y-%m-%d %H:%M:%S.%f").sink(
            "t"
        )


@pytest.mark.parametrize("column_type", ["HUGEINT", "UHUGEINT"])
async def test_plain_wide_integers_of_38_digits_are_written_exactly(db, tmp_path: Path, column_type: str) -> None:
    """A plain (U)HUGEINT column whose values have up to 38 digits is written to Parquet and read back equal."""
    most = "9" * 38
    low = "0" if column_type == "UHUGEINT" else f"-{most}"
    await db.execute(f"CREATE TABLE t AS SELECT unnest(['{low}', '{most}', NULL]::{column_type}[]) AS v")
    target = tmp_path / "t.parquet"
    await make(FORMATS["parquet"], db, path=str(target)).sink("t")
    rows = await db.fetchall(f"SELECT CAST(v AS VARCHAR) FROM read_parquet('{target}') ORDER BY v NULLS LAST")
    assert rows == [(low,), (most,), (None,)]
