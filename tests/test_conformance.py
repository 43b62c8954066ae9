"""The conformance suite: a well-behaved connection passes it, and each kind of broken one fails the right check."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ductflow_core.connection import Connection
from ductflow_core.errors import ConnectorError
from ductflow_core.models import Field
from ductflow_core.testing.conformance import ALL_TYPES, ConnectionSuite, column_for, typed_rows_sql

pytest_plugins = ["pytester"]

HERE = Path(__file__).parent


class ArrowFiles(Connection):
    """Keeps each table as ``<folder>/<table>.parquet``, written and read in Arrow batches by Python code."""

    folder: str
    table: str
    batch_size: int = 50_000

    def path(self) -> Path:
        return Path(self.folder) / f"{self.table}.parquet"

    async def sink(self, from_name: str) -> None:
        rel = await self.c.sql(f"SELECT * FROM {self.c.quote(from_name)}")
        schema = await self.c.run(lambda: rel.raw.limit(0).to_arrow_table().schema)
        self.path().parent.mkdir(parents=True, exist_ok=True)
        writer = pq.ParquetWriter(self.path(), schema)
        try:
            async for batch in rel.record_batches(self.batch_size):
                # The facade is busy streaming, so the blocking write goes to a thread of its own.
                await asyncio.to_thread(writer.write_batch, batch)
        finally:
            writer.close()

    async def tap(self, query: str | None = None) -> None:
        if not self.path().is_file():
            raise ConnectorError(f"no table {self.table!r} in {self.folder!r}")
        await self.load(self.path())

    async def load(self, path: Path) -> None:
        parquet = pq.ParquetFile(path)
        reader = pa.RecordBatchReader.from_batches(parquet.schema_arrow, parquet.iter_batches(self.batch_size))
        scratch = f"{self.name}__batches"
        await self.c.register(scratch, reader)
        try:
            await self.c.execute(f"CREATE TABLE {self.c.quote(self.name)} AS SELECT * FROM {self.c.quote(scratch)}")
        finally:
            await self.c.unregister(scratch)


class LeavesScratch(ArrowFiles):
    """Broken: keeps a scratch table next to the one its tap should make."""

    async def tap(self, query: str | None = None) -> None:
        await super().tap(query)
        await self.c.execute(f"CREATE OR REPLACE TABLE {self.c.quote(self.name + '_scratch')} AS SELECT 1 AS one")


class HoldsEverything(ArrowFiles):
    """Broken: fetches every row into Python before writing any."""

    async def sink(self, from_name: str) -> None:
        rel = await self.c.sql(f"SELECT * FROM {self.c.quote(from_name)}")
        schema = await self.c.run(lambda: rel.raw.limit(0).to_arrow_table().schema)
        rows = await rel.fetchall()
        table = pa.Table.from_pylist([dict(zip(schema.names, row, strict=True)) for row in rows], schema=schema)
        self.path().parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, self.path())


class AsciiOnly(ArrowFiles):
    """Broken: replaces every non-ASCII character of names and text with '?'."""

    async def sink(self, from_name: str) -> None:
        columns = await self.c.columns(from_name)
        cells = []
        for f in columns:
            name = f.name.encode("ascii", "replace").decode()
            value = self.c.quote(f.name)
            if f.type == "VARCHAR":
                value = f"regexp_replace({value}, '[^\\x01-\\x7F]', '?', 'g')"
            cells.append(f"{value} AS {self.c.quote(name)}")
        await self.c.execute(f"CREATE TEMP VIEW ascii AS SELECT {', '.join(cells)} FROM {self.c.quote(from_name)}")
        try:
            await super().sink("ascii")
        finally:
            await self.c.execute("DROP VIEW ascii")


class RawErrors(ArrowFiles):
    """Broken: lets the OS error of a missing file escape instead of saying what is wrong."""

    async def tap(self, query: str | None = None) -> None:
        await self.load(self.path())


class WrongSchema(ArrowFiles):
    """Broken: describes every column as VARCHAR."""

    async def show_schema(self) -> list[Field]:
        fields = await super().show_schema()
        return [Field(f.name, "VARCHAR", f.nullable) for f in fields]


class Untyped(Connection):
    """Broken: declares no params, so a wrong one is found only when the stage runs, if ever."""

    sink = ArrowFiles.sink
    tap = ArrowFiles.tap
    load = ArrowFiles.load
    path = ArrowFiles.path

    def init(self) -> None:
        self.folder = self.params["folder"]
        self.table = self.params["table"]
        self.batch_size = int(self.params.get("batch_size", 50_000))


class Generated(Connection):
    """Taps ``rows`` generated rows; it cannot sink."""

    rows: int = 3

    async def tap(self, query: str | None = None) -> None:
        if self.rows < 0:
            raise ConnectorError(f"cannot generate {self.rows} rows")
        await self.c.execute(f"CREATE TABLE {self.c.quote(self.name)} AS SELECT range AS n FROM range({self.rows})")


class ArrowFilesSuite(ConnectionSuite):
    """Each check keeps its tables in the test's own folder."""

    connection_class = ArrowFiles
    exact_types = True

    def sink_params(self, tmp_path: Path, table: str) -> dict[str, Any]:
        return {"folder": str(tmp_path / "tables"), "table": table}

    def tap_params(self, tmp_path: Path, table: str | None) -> dict[str, Any]:
        return {"folder": str(tmp_path / "tables"), "table": table}


class TestArrowFilesConformance(ArrowFilesSuite):
    """The well-behaved connection, through every check at full size."""


SUITES = """
from test_conformance import {name}, Generated, ArrowFilesSuite
from ductflow_core.testing.conformance import ConnectionSuite


class TestBroken(ArrowFilesSuite):
    connection_class = {name}
    large_rows = {large_rows}


class TestTapOnly(ConnectionSuite):
    connection_class = Generated
    can_sink = False

    def tap_params(self, tmp_path, table):
        return {{"rows": 3}}

    def missing_tap_params(self, tmp_path):
        return {{"rows": -1}}
"""


def run_suites(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    """Run a generated test module in a pytest subprocess (DuckDB's native module cannot be imported twice)."""
    pytester.makepyfile(test_suites=source)
    # The generated module imports this one, from the folder it lives in.
    pytester._monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:asyncio", "--junitxml=report.xml", *args)


def outcomes(pytester: pytest.Pytester, name: str, large_rows: int = 200_000) -> dict[str, dict[str, str]]:
    """Run the suite against connection ``name``; ``{class: {check: outcome}}``."""
    run_suites(pytester, SUITES.format(name=name, large_rows=large_rows), "-k", "TestBroken")
    found: dict[str, dict[str, str]] = {}
    for case in ElementTree.parse(pytester.path / "report.xml").iter("testcase"):
        verdicts = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        cls = case.attrib["classname"].rsplit(".", 1)[-1]
        found.setdefault(cls, {})[case.attrib["name"]] = verdicts[0] if verdicts else "passed"
    return found


CHECKS = {name for name in dir(ConnectionSuite) if name.startswith("test_")}


@pytest.mark.parametrize(
    ("name", "failing", "large_rows"),
    [
        ("LeavesScratch", {"test_tap_creates_exactly_its_table", "test_tap_twice_replaces_its_table"}, 0),
        ("HoldsEverything", {"test_large_table_streams"}, 600_000),
        ("AsciiOnly", {"test_unicode_round_trips"}, 0),
        ("RawErrors", {"test_missing_source_fails_naming_the_stage"}, 0),
        ("WrongSchema", {"test_show_schema_agrees_with_the_table"}, 0),
        ("Untyped", {"test_wrong_params_fail_at_load"}, 0),
    ],
)
def test_broken_connection_fails_exactly_its_check(
    pytester: pytest.Pytester, name: str, failing: set[str], large_rows: int
) -> None:
    """Each broken connection fails the check for what it breaks and passes every other that applies."""
    found = outcomes(pytester, name, large_rows)["TestBroken"]
    assert {check for check, outcome in found.items() if outcome == "failure"} == failing
    skipped = {"test_locator_resolves_to_the_class"} | ({"test_large_table_streams"} if not large_rows else set())
    assert {check for check, outcome in found.items() if outcome == "skipped"} == skipped
    assert set(found) == CHECKS


def test_capabilities_declared_absent_are_skipped_by_name(pytester: pytest.Pytester) -> None:
    """A tap-only connection passes every tap check and skips the sink checks, naming the flag in the reason."""
    result = run_suites(pytester, SUITES.format(name="ArrowFiles", large_rows=0), "-rs", "-k", "TestTapOnly")
    sink_checks = [
        "test_sink_accepts_every_sample",
        "test_every_type_round_trips",
        "test_nulls_in_every_column_round_trip",
        "test_unicode_round_trips",
        "test_empty_table_round_trips",
        "test_large_table_streams",
    ]
    result.assert_outcomes(passed=len(CHECKS) - len(sink_checks) - 1, skipped=len(sink_checks) + 1)
    # pytest groups equal skip reasons, in an order of its own: match each line on its own.
    result.stdout.fnmatch_lines([f"SKIPPED [[]{len(sink_checks)}[]] *: TestTapOnly.can_sink is false"])
    result.stdout.fnmatch_lines(["SKIPPED [[]1[]] *: TestTapOnly.locator is not set"])


def test_locator_that_is_not_installed_fails(pytester: pytest.Pytester) -> None:
    """A suite naming a locator no installed distribution provides fails that check with the installed list."""
    source = (
        "from test_conformance import ArrowFilesSuite\n\n\nclass TestNamed(ArrowFilesSuite):\n    locator = 'nowhere'\n"
    )
    result = run_suites(pytester, source, "-k", "locator")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*unknown locator 'nowhere'*installed locators:*"])


def test_typed_rows_cover_every_type_with_two_samples_and_nulls() -> None:
    """The typed table has an id plus one column per known type, and the NULL variant is NULL but for the id."""
    with duckdb.connect() as con:
        rows = con.execute(typed_rows_sql(ALL_TYPES, nulls=False)).fetchall()
        described = con.execute(f"DESCRIBE {typed_rows_sql(ALL_TYPES, nulls=False)}").fetchall()
        nulls = con.execute(typed_rows_sql(ALL_TYPES, nulls=True)).fetchall()
    assert [r[0] for r in described] == ["id", *map(column_for, ALL_TYPES)]
    assert [r[1] for r in described][1:] == [_duck(t) for t in ALL_TYPES]
    assert all(value is not None for row in rows for value in row)
    assert nulls == [(1, *[None] * len(ALL_TYPES)), (2, *[None] * len(ALL_TYPES))]


def _duck(type_name: str) -> str:
    return {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}.get(type_name, type_name)


def test_broken_suite_reports_what_changed(pytester: pytest.Pytester) -> None:
    """A failed round trip says what came back different."""
    result = run_suites(pytester, SUITES.format(name="AsciiOnly", large_rows=0), "-k", "TestBroken and unicode")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: the columns came back different"])


def test_file_connection_of_the_tests_writes_parquet(tmp_path: Path) -> None:
    """The well-behaved connection really writes a Parquet file that pyarrow reads."""
    from ductflow_core.testing import run_pipeline

    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        "- {name: src, kind: transform, sql: SELECT 1 AS x}\n"
        "- {name: out, kind: sink, connection: {module: test_conformance, classname: ArrowFiles, "
        f"params: {{folder: '{tmp_path}', table: t}}}}}}\n"
    )
    run_pipeline(pipeline, database=tmp_path / "run.duckdb")
    assert pq.read_table(tmp_path / "t.parquet").to_pylist() == [{"x": 1}]
