"""Reader and writer options reach DuckDB and change what is read or written."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from ductflow_core.sql import quote_literal
from helpers import make, rows, types_of

from ductflow_files import CsvConnection, JsonConnection, ParquetConnection


@pytest.fixture
async def orders(db):
    await db.execute(
        "CREATE TABLE orders AS SELECT i AS id, ['north', 'south'][i % 2 + 1] AS region, i * 2.5 AS amount "
        "FROM range(6) t(i)"
    )


async def test_csv_writer_uses_delimiter_header_and_null_string(db, tmp_path: Path) -> None:
    """``delimiter``, ``header: false`` and ``nullstr`` shape the CSV text that is written."""
    await db.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a'), (2, NULL)) v(n, s)")
    target = tmp_path / "t.csv"
    await make(CsvConnection, db, path=str(target), delimiter=";", header=False, nullstr="NA").sink("t")
    assert target.read_text().splitlines() == ["1;a", "2;NA"]


async def test_csv_reader_uses_delimiter_header_quote_null_and_skip(db, tmp_path: Path) -> None:
    """Reading honours ``skip``, ``header``, ``delimiter``, ``quote`` and ``nullstr`` as given."""
    source = tmp_path / "odd.csv"
    source.write_text("junk line\nid|label\n1|'x|y'\n2|-\n")
    conn = make(
        CsvConnection, db, name="odd", path=str(source), skip=1, header=True, delimiter="|", quote="'", nullstr="-"
    )
    await conn.tap()
    assert await rows(db, "SELECT id, label FROM odd ORDER BY id") == [(1, "x|y"), (2, None)]


async def test_csv_columns_all_varchar_and_formats(db, tmp_path: Path) -> None:
    """``columns`` fixes the types, ``date_format`` parses them, ``all_varchar`` turns detection off."""
    source = tmp_path / "dates.csv"
    source.write_text("day,n\n29/02/2024,007\n01/01/1970,10\n")
    await make(
        CsvConnection,
        db,
        name="typed",
        path=str(source),
        columns={"day": "DATE", "n": "VARCHAR"},
        date_format="%d/%m/%Y",
    ).tap()
    assert await types_of(db, "typed") == {"day": "DATE", "n": "VARCHAR"}
    assert await rows(db, "SELECT strftime(day, '%Y-%m-%d'), n FROM typed ORDER BY day") == [
        ("1970-01-01", "10"),
        ("2024-02-29", "007"),
    ]
    await make(CsvConnection, db, name="text", path=str(source), all_varchar=True).tap()
    assert set((await types_of(db, "text")).values()) == {"VARCHAR"}


async def test_csv_writer_formats_dates_and_timestamps(db, tmp_path: Path) -> None:
    """``date_format`` and ``timestamp_format`` decide how a sink spells dates and timestamps."""
    await db.execute("CREATE TABLE t AS SELECT DATE '2024-02-29' AS d, TIMESTAMP '2024-02-29 13:45:00' AS ts")
    target = tmp_path / "t.csv"
    await make(
        CsvConnection, db, path=str(target), date_format="%d.%m.%Y", timestamp_format="%H:%M:%S.%f %d/%m/%Y"
    ).sink("t")
    assert target.read_text().splitlines() == ["d,ts", "29.02.2024,13:45:00.000000 29/02/2024"]


@pytest.mark.parametrize(("cls", "suffix"), [(CsvConnection, ".csv.gz"), (JsonConnection, ".json.gz")])
async def test_compression_follows_the_file_suffix_by_default(db, orders, tmp_path: Path, cls, suffix: str) -> None:
    """A ``.gz`` target is gzip-compressed even though DuckDB first writes it under a temporary name."""
    target = tmp_path / f"orders{suffix}"
    await make(cls, db, path=str(target)).sink("orders")
    with gzip.open(target, "rt", encoding="utf-8") as handle:
        assert "north" in handle.read()
    await make(cls, db, name="back", path=str(target)).tap()
    assert await rows(db, "SELECT count(*) FROM back") == await rows(db, "SELECT count(*) FROM orders")


@pytest.mark.parametrize("cls", [CsvConnection, JsonConnection])
async def test_explicit_zstd_compression_round_trips(db, orders, tmp_path: Path, cls) -> None:
    """``compression: zstd`` writes zstd frames under any file name, and reading with it gets the rows back."""
    target = tmp_path / "orders.data"
    await make(cls, db, path=str(target), compression="zstd").sink("orders")
    assert target.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"  # the zstd frame magic number
    await make(cls, db, name="back", path=str(target), compression="zstd").tap()
    assert await rows(db, "SELECT id, region FROM back ORDER BY id") == await rows(
        db, "SELECT id, region FROM orders ORDER BY id"
    )


@pytest.mark.parametrize("codec", ["zstd", "gzip", "uncompressed", "snappy"])
async def test_parquet_compression_and_row_group_size(db, tmp_path: Path, codec: str) -> None:
    """The Parquet codec and row-group size asked for are the ones recorded in the file's metadata."""
    await db.execute("CREATE TABLE numbers AS SELECT i FROM range(10000) t(i)")
    target = tmp_path / "numbers.parquet"
    await make(ParquetConnection, db, path=str(target), compression=codec, row_group_size=4096).sink("numbers")
    meta = await rows(db, f"SELECT compression, row_group_num_rows FROM parquet_metadata({quote_literal(str(target))})")
    assert {row[0].lower() for row in meta} == {codec}
    assert sorted(row[1] for row in meta) == [10000 - 2 * 4096, 4096, 4096]


async def test_json_format_array_or_lines(db, orders, tmp_path: Path) -> None:
    """``format: array`` writes one JSON array; ``newline_delimited`` writes one object per line."""
    array, lines = tmp_path / "a.json", tmp_path / "l.json"
    await make(JsonConnection, db, path=str(array), format="array").sink("orders")
    await make(JsonConnection, db, path=str(lines), format="newline_delimited").sink("orders")
    assert array.read_text().lstrip().startswith("[")
    assert all(line.startswith("{") for line in lines.read_text().splitlines())
    await make(JsonConnection, db, name="from_array", path=str(array), format="array").tap()
    await make(JsonConnection, db, name="from_lines", path=str(lines), format="newline_delimited").tap()
    assert await rows(db, "SELECT * FROM from_array ORDER BY id") == await rows(
        db, "SELECT * FROM from_lines ORDER BY id"
    )


async def test_json_columns_pick_the_types(db, tmp_path: Path) -> None:
    """``columns`` on a JSON tap reads only the named keys, as the named types."""
    source = tmp_path / "events.json"
    source.write_text('{"id": "1", "at": "2024-01-02", "extra": true}\n{"id": "2", "at": "2024-01-03"}\n')
    await make(JsonConnection, db, name="events", path=str(source), columns={"id": "INTEGER", "at": "DATE"}).tap()
    assert await types_of(db, "events") == {"id": "INTEGER", "at": "DATE"}
    assert await rows(db, "SELECT id FROM events ORDER BY id") == [(1,), (2,)]


@pytest.mark.parametrize("cls", [CsvConnection, ParquetConnection, JsonConnection])
async def test_partition_by_writes_a_hive_folder_that_reads_back(db, orders, tmp_path: Path, cls) -> None:
    """``partition_by`` writes one ``column=value`` folder per value; tapping the folder brings the rows back."""
    target = tmp_path / "out" / "orders"
    await make(cls, db, path=str(target), partition_by=["region"]).sink("orders")
    assert sorted(p.name for p in target.iterdir()) == [".ductflow-sink", "region=north", "region=south"]
    # A hidden file, like a crashed sink's temporary one, is not part of the folder's data.
    (target / "region=north" / f".data.{cls.FORMAT}.tmp-0000").write_bytes(b"garbage")
    await make(cls, db, name="back", path=str(target)).tap()
    assert await rows(db, "SELECT id, region FROM back ORDER BY id") == await rows(
        db, "SELECT id, region FROM orders ORDER BY id"
    )


async def test_glob_reads_every_matching_file_with_filename_and_union_by_name(db, tmp_path: Path) -> None:
    """A glob taps all matching files; ``union_by_name`` lines columns up by name and ``filename`` says where from."""
    (tmp_path / "2024-01.csv").write_text("id,qty\n1,5\n")
    (tmp_path / "2024-02.csv").write_text("qty,id,note\n7,2,late\n")
    (tmp_path / "notes.txt").write_text("not data\n")
    conn = make(CsvConnection, db, name="months", path=str(tmp_path / "2024-*.csv"), union_by_name=True, filename=True)
    await conn.tap()
    got = await rows(db, "SELECT id, qty, note, parse_filename(filename) FROM months ORDER BY id")
    assert got == [(1, 5, None, "2024-01.csv"), (2, 7, "late", "2024-02.csv")]


async def test_hive_partitioning_can_be_switched_off(db, tmp_path: Path) -> None:
    """``hive_partitioning: false`` keeps ``key=value`` folder names out of the columns."""
    folder = tmp_path / "year=2024"
    folder.mkdir()
    await db.execute(f"COPY (SELECT 1 AS n) TO {quote_literal(str(folder / 'a.parquet'))} (FORMAT parquet)")
    pattern = str(tmp_path / "*" / "*.parquet")
    await make(ParquetConnection, db, name="with", path=pattern, hive_partitioning=True).tap()
    await make(ParquetConnection, db, name="without", path=pattern, hive_partitioning=False).tap()
    assert list(await types_of(db, "with")) == ["n", "year"]
    assert list(await types_of(db, "without")) == ["n"]


async def test_a_single_named_file_never_grows_hive_columns(db, tmp_path: Path) -> None:
    """A plain file path inside a ``key=value`` folder reads only the file's own columns."""
    folder = tmp_path / "k=1"
    folder.mkdir()
    (folder / "a.csv").write_text("n\n1\n")
    await make(CsvConnection, db, name="t", path=str(folder / "a.csv")).tap()
    assert list(await types_of(db, "t")) == ["n"]
