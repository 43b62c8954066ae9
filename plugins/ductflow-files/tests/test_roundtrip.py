"""Each format writes a table of the common DuckDB types and reads it back unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import FORMATS, TYPED_TABLE, make, rows, types_of

from ductflow_files import CsvConnection, JsonConnection, ParquetConnection


@pytest.fixture
async def typed(db):
    await db.execute(TYPED_TABLE)
    return await types_of(db, "typed")


async def test_parquet_round_trip_keeps_values_and_types(db, typed, tmp_path: Path) -> None:
    """A Parquet file written from a table reads back with the same rows and the same column types."""
    target = tmp_path / "typed.parquet"
    await make(ParquetConnection, db, path=str(target)).sink("typed")
    await make(ParquetConnection, db, name="back", path=str(target)).tap()
    assert await types_of(db, "back") == typed
    assert await rows(db, "SELECT * FROM back ORDER BY id") == await rows(db, "SELECT * FROM typed ORDER BY id")


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        pytest.param(CsvConnection, {}, id="csv"),
        pytest.param(CsvConnection, {"delimiter": "|", "compression": "gzip"}, id="csv-pipe-gzip"),
        pytest.param(JsonConnection, {"format": "newline_delimited"}, id="ndjson"),
        pytest.param(JsonConnection, {"format": "array"}, id="json-array"),
    ],
)
async def test_text_formats_round_trip_with_declared_columns(db, typed, tmp_path: Path, cls, params) -> None:
    """CSV and JSON read back with ``columns`` set to the original types give the original rows, NULLs included."""
    target = tmp_path / f"typed.{cls.FORMAT}"
    await make(cls, db, path=str(target), **params).sink("typed")
    await make(cls, db, name="back", path=str(target), columns=typed, **params).tap()
    assert await types_of(db, "back") == typed
    assert await rows(db, "SELECT * FROM back ORDER BY id") == await rows(db, "SELECT * FROM typed ORDER BY id")


@pytest.mark.parametrize(
    ("fmt", "detected"),
    [("csv", ("day", "ts", "flag", "txt")), ("json", ("day", "flag", "txt"))],
)
async def test_text_formats_infer_the_types_back(db, typed, tmp_path: Path, fmt: str, detected: tuple[str]) -> None:
    """Without ``columns``, DuckDB's detection recovers the typed columns and the values from the text."""
    target = tmp_path / f"typed.{fmt}"
    await make(FORMATS[fmt], db, path=str(target)).sink("typed")
    await make(FORMATS[fmt], db, name="back", path=str(target)).tap()
    inferred = await types_of(db, "back")
    for column in detected:
        assert inferred[column] == typed[column], column
    assert await rows(db, "SELECT id, big, txt, day, ts::VARCHAR, flag FROM back ORDER BY id") == await rows(
        db, "SELECT id, big, txt, day, ts::VARCHAR, flag FROM typed ORDER BY id"
    )
