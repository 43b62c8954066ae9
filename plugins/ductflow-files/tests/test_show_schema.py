"""``show_schema`` reports the tapped table, else the file at ``path``, else the core's default."""

from __future__ import annotations

from pathlib import Path

from ductflow_core.models import Field
from helpers import make

from ductflow_files import CsvConnection, ParquetConnection


async def test_tap_reports_its_table_after_running(db, tmp_path: Path) -> None:
    """After a tap with a query, the schema is that of the resulting table, not of the raw file."""
    source = tmp_path / "in.csv"
    source.write_text("a,b\n1,x\n")
    conn = make(CsvConnection, db, name="t", path=str(source))
    await conn.tap("SELECT b, a * 2 AS doubled FROM source")
    assert [f.name for f in await conn.show_schema()] == ["b", "doubled"]


async def test_tap_reports_the_file_before_running(db, tmp_path: Path) -> None:
    """Before the tap has run, the schema is read from the file with the connection's options."""
    source = tmp_path / "in.csv"
    source.write_text("a;b\n1;2024-01-01\n")
    conn = make(CsvConnection, db, name="t", path=str(source), delimiter=";")
    assert await conn.show_schema() == [Field("a", "BIGINT"), Field("b", "DATE")]
    assert not await db.table_exists("t")


async def test_sink_reports_the_existing_target(db, tmp_path: Path) -> None:
    """A sink whose target exists reports the target's columns and types."""
    await db.execute("CREATE TABLE src AS SELECT 1::SMALLINT AS n, 'x' AS s")
    target = tmp_path / "out.parquet"
    await make(ParquetConnection, db, path=str(target)).sink("src")
    sink = make(ParquetConnection, db, name="write_out", path=str(target))
    assert await sink.show_schema() == await db.columns("src")


async def test_sink_reports_a_partitioned_target_folder(db, tmp_path: Path) -> None:
    """A partitioned target folder is described with its partition column."""
    await db.execute("CREATE TABLE src AS SELECT i, i % 2 AS part FROM range(4) t(i)")
    target = tmp_path / "parts"
    await make(ParquetConnection, db, path=str(target), partition_by=["part"]).sink("src")
    sink = make(ParquetConnection, db, name="write_out", path=str(target), partition_by=["part"])
    assert sorted(f.name for f in await sink.show_schema()) == ["i", "part"]


async def test_sink_without_target_falls_back_to_declared_fields(db, tmp_path: Path) -> None:
    """With no target file yet, the sink reports what the core's default gives: the declared fields."""
    declared = [Field("n", "INTEGER")]
    sink = ParquetConnection.create(
        name="write_out", c=db, params={"path": str(tmp_path / "none.parquet")}, fields=declared
    )
    assert await sink.show_schema() == declared
