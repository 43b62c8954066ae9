"""Helpers for the tests: building connections the way the core does, and reading results back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ductflow_core.models import Field
from ductflow_core.sql import StageDatabase

from ductflow_files import CsvConnection, FileConnection, JsonConnection, ParquetConnection

FORMATS: dict[str, type[FileConnection]] = {"csv": CsvConnection, "parquet": ParquetConnection, "json": JsonConnection}

# Every common DuckDB type, awkward text, and a row of NULLs.
TYPED_TABLE = """
CREATE TABLE typed AS SELECT * FROM (VALUES
    (1, 10000000000::BIGINT, 1.25::DOUBLE, 12.345::DECIMAL(10, 3), 'plain',
     DATE '2024-02-29', TIMESTAMP '2024-02-29 13:45:01.5', true),
    (2, -7::BIGINT, -0.5::DOUBLE, -0.001::DECIMAL(10, 3), 'ünïcødé 🦆 «a, "b"; c»' || chr(10) || 'next line',
     DATE '1970-01-01', TIMESTAMP '1999-12-31 23:59:59', false),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) AS v(id, big, dbl, dec, txt, day, ts, flag)
"""


def make(
    cls: type[FileConnection],
    db: StageDatabase,
    name: str = "stage",
    base_dir: Path | None = None,
    materialize: bool | None = None,
    **params: Any,
) -> FileConnection:
    """Build a connection the way the core does for a stage."""
    conn = cls.create(name=name, c=db, params=params, base_dir=base_dir, materialize=materialize)
    assert isinstance(conn, FileConnection)
    return conn


async def rows(db: StageDatabase, query: str) -> list[tuple[Any, ...]]:
    relation = await db.sql(query)
    assert relation is not None
    return await relation.fetchall()


async def types_of(db: StageDatabase, table: str) -> dict[str, str]:
    fields: list[Field] = await db.columns(table)
    return {field.name: field.type for field in fields}


def siblings(folder: Path, missing_ok: bool = False) -> list[str]:
    """Names in ``folder``, hidden ones included, sorted; with ``missing_ok`` a missing folder has none."""
    if missing_ok and not folder.exists():
        return []
    return sorted(entry.name for entry in folder.iterdir())
