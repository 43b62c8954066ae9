"""The conformance suite: the checks every connection should pass, enabled with a few lines.

A plugin's test module subclasses :class:`ConnectionSuite`, names its class and
says how to build params for a sink and for a tap that reads back what the
sink wrote::

    from ductflow_core.testing.conformance import ConnectionSuite

    class TestCsvConformance(ConnectionSuite):
        connection_class = CsvConnection
        locator = "csv"

        def sink_params(self, tmp_path, table):
            return {"path": str(tmp_path / f"{table}.csv")}

        def tap_params(self, tmp_path, table):
            return {"path": str(tmp_path / f"{table}.csv")}

Every check runs real pipelines in this process through
:func:`ductflow_core.testing.run_pipeline`, with a fresh plugin manager, except
the streaming check, which runs in a child process so its memory can be
measured. Capability flags (``can_tap``, ``can_sink``, ``reads_back``) turn off
checks that cannot apply; a check turned off that way is reported as skipped
with the flag that did it, and a check that applies is never skipped. The
round-trip checks need all three flags: without a tap that reads back, they
could not tell a sink that writes everything from one that writes nothing.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pytest
import yaml

from ductflow_core.connection import Connection
from ductflow_core.errors import DuctflowError, PipelineError, StageFailed
from ductflow_core.models import Field, Stages
from ductflow_core.plugin.registry import Registry, check_connection_class
from ductflow_core.testing import RunOutcome, run_pipeline

#: DuckDB type → two non-NULL sample values, as SQL text cast to the type. The second is an edge case.
TYPE_SAMPLES: Mapping[str, tuple[str, str]] = {
    "BOOLEAN": ("true", "false"),
    "TINYINT": ("127", "-128"),
    "SMALLINT": ("32767", "-32768"),
    "INTEGER": ("2147483647", "-2147483648"),
    "BIGINT": ("9223372036854775807", "-9223372036854775808"),
    "DOUBLE": ("3.141592653589793", "-0.001"),
    # Fifteen significant digits: exact in any correct reader, even one that goes through a double.
    "DECIMAL(18,3)": ("123456789012.345", "-0.001"),
    "VARCHAR": ("plain text", 'quote " comma , semicolon ; tab \t newline \n backslash \\ end'),
    "DATE": ("2024-02-29", "1970-01-01"),
    "TIMESTAMP": ("2024-02-29 13:45:01.123456", "1999-12-31 23:59:59"),
    "TIMESTAMPTZ": ("2024-02-29 13:45:01.5+00", "1999-12-31 23:00:00+05:30"),
    "BLOB": ("\\x00\\xFFbinary", "abc"),
    "INTEGER[]": ("[1, 2, NULL]", "[]"),
}

#: The flags a round trip needs: a check that cannot read back what it wrote checks nothing, so it is skipped.
_ROUND_TRIP: tuple[str, ...] = ("can_sink", "can_tap", "reads_back")

#: Every type the suite knows; a suite narrows it with ``types``.
ALL_TYPES: tuple[str, ...] = tuple(TYPE_SAMPLES)

#: Text that trips encoders: accents, emoji beyond the BMP, CJK, right-to-left, combining marks.
UNICODE_SAMPLES: tuple[str, ...] = (
    "ünïcødé café",
    "duck 🦆 and 𝄞",
    "日本語のテキスト",
    "שלום עולם",
    "e\u0301 (combining) and Å (precomposed)",
)

#: A column name that needs quoting everywhere: a space and non-ASCII letters.
UNICODE_COLUMN = "naïve 名前"


def column_for(type_name: str) -> str:
    """The column that holds ``type_name`` in the suite's tables: ``DECIMAL(18,3)`` → ``c_decimal_18_3``."""
    slug = re.sub(r"[^a-z0-9]+", "_", type_name.lower().replace("[]", "_list")).strip("_")
    return f"c_{slug}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _cast(text: str, type_name: str) -> str:
    return f"CAST({_literal(text)} AS {type_name})"


def typed_rows_sql(types: Sequence[str], *, nulls: bool) -> str:
    """A query giving ``id`` plus one column per type: two rows of samples, or with ``nulls`` two rows of NULLs."""
    rows = []
    for index in (0, 1):
        cells = [str(index + 1)]
        for type_name in types:
            cells.append(f"CAST(NULL AS {type_name})" if nulls else _cast(TYPE_SAMPLES[type_name][index], type_name))
        rows.append(f"({', '.join(cells)})")
    names = ", ".join(["id", *(f'"{column_for(t)}"' for t in types)])
    return f"SELECT * FROM (VALUES {', '.join(rows)}) AS v({names})"


def streaming_rows_sql(rows: int) -> str:
    """``rows`` generated rows about 80 bytes wide, so holding them all would show in memory."""
    return (
        "SELECT range AS id, 'row ' || range::VARCHAR || ' ' || repeat('x', 56) AS label, range * 0.5 AS half "
        f"FROM range({int(rows)})"
    )


_CHILD = r"""
import json, resource, sys
from ductflow_core.testing import run_pipeline

spec = json.loads(sys.argv[1])
scale = 1 if sys.platform == "darwin" else 1024

def peak():
    # On Linux, ru_maxrss carries the parent's peak across fork and exec; VmHWM is this process's own.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale

# A small run first, so one-time costs (imports, DuckDB start-up) are in the baseline.
run_pipeline(spec["warm"], database=spec["folder"] + "/warm.duckdb")
base = peak()
outcome = run_pipeline(spec["real"], database=spec["folder"] + "/real.duckdb")
counts = list(outcome.rows(spec["check"])[0]) if spec["check"] else None
print(json.dumps({"base": base, "peak": peak(), "counts": counts}))
"""


class ConnectionSuite:
    """Conformance checks for one connection class; subclass it in a test module (named ``Test…``).

    Set ``connection_class`` and override ``sink_params`` and ``tap_params``
    (or only the one that applies). Attributes narrow what is checked:

    * ``can_tap`` / ``can_sink``: the connection reads / writes at all;
    * ``reads_back``: a tap of ``tap_params(tmp_path, table)`` gives back what
      a sink of ``sink_params(tmp_path, table)`` wrote; without it (or without
      ``can_tap``) the round-trip checks are skipped, never passed;
    * ``types``: the DuckDB types (keys of :data:`TYPE_SAMPLES`) whose values
      must survive a sink and a tap; ``exact_types`` also demands their types;
    * ``empty_keeps_columns``: an empty table's columns survive (a format
      without a schema, such as JSON lines, cannot keep them);
    * ``typed_params`` and ``bad_params``: params are declared with types, and
      these wrong ones (by default one made from the declaration) fail at load;
    * ``large_rows`` and ``max_rss_growth_mb``: how many generated rows must
      stream through a sink and a tap, and how much the process may grow.
    """

    connection_class: ClassVar[type[Connection]]
    locator: ClassVar[str | None] = None
    can_tap: ClassVar[bool] = True
    can_sink: ClassVar[bool] = True
    reads_back: ClassVar[bool] = True
    types: ClassVar[Sequence[str]] = ALL_TYPES
    exact_types: ClassVar[bool] = False
    empty_keeps_columns: ClassVar[bool] = True
    typed_params: ClassVar[bool] = True
    bad_params: ClassVar[Mapping[str, Any] | None] = None
    large_rows: ClassVar[int] = 2_000_000
    max_rss_growth_mb: ClassVar[float] = 100.0
    #: DuckDB settings of every pipeline the suite runs; a tap may also fill ``memory_limit`` with its table.
    duckdb_settings: ClassVar[Mapping[str, Any]] = {"threads": 2, "memory_limit": "128MB"}

    # -- hooks the author overrides --------------------------------------------------------------------

    def sink_params(self, tmp_path: Path, table: str) -> dict[str, Any]:
        """Params of a sink writing a DuckDB table to a destination named after ``table`` (unique per check)."""
        raise NotImplementedError(
            f"{type(self).__name__} must override sink_params(tmp_path, table) (can_sink is true)"
        )

    def tap_params(self, tmp_path: Path, table: str | None) -> dict[str, Any]:
        """Params of a tap that reads back what ``sink_params(tmp_path, table)`` wrote.

        ``table`` is ``None`` for a connection that cannot sink: then return
        params for any small source that exists.
        """
        raise NotImplementedError(f"{type(self).__name__} must override tap_params(tmp_path, table) (can_tap is true)")

    def tap_query(self, table: str | None) -> str | None:
        """The tap stage's ``query:``, for a connection that needs one; none by default."""
        return None

    def missing_tap_params(self, tmp_path: Path) -> dict[str, Any]:
        """Params of a tap whose source does not exist; by default a read-back of a table never written."""
        return self.tap_params(tmp_path, self.unique("missing"))

    def cleanup(self, tmp_path: Path, table: str) -> None:
        """Remove what a sink of ``table`` left outside ``tmp_path`` (a database table…); nothing by default."""

    # -- helpers ---------------------------------------------------------------------------------------

    @staticmethod
    def unique(label: str) -> str:
        """A destination name no other check (or run) uses: ``conformance_<label>_<hex>``."""
        return f"conformance_{label}_{uuid.uuid4().hex[:8]}"

    def connection_spec(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The YAML ``connection:`` mapping naming the class by module and class name."""
        cls = self.connection_class
        if "." in cls.__qualname__ or cls.__module__ == "__main__":
            raise AssertionError(f"{cls.__qualname__} must be a top-level class of an importable module")
        return {"module": cls.__module__, "classname": cls.__qualname__, "params": dict(params)}

    def write_pipeline(self, folder: Path, name: str, stages: list[dict[str, Any]]) -> Path:
        """Write a pipeline file ``folder/name.yaml`` with the suite's DuckDB settings."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.yaml"
        doc = {"duckdb": dict(self.duckdb_settings), "stages": stages}
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    def sink_stages(self, tmp_path: Path, table: str, sql: str, *, materialize: bool = True) -> list[dict[str, Any]]:
        """A transform ``source`` running ``sql`` and a sink ``write`` of it to ``table``."""
        transform: dict[str, Any] = {"name": "source", "kind": "transform", "sql": sql}
        if not materialize:
            transform["materialize"] = False
        sink: dict[str, Any] = {"name": "write", "kind": "sink", "from": "source"}
        sink["connection"] = self.connection_spec(self.sink_params(tmp_path, table))
        return [transform, sink]

    def tap_stage(self, params: Mapping[str, Any], table: str | None, name: str = "back") -> dict[str, Any]:
        """A tap stage ``name`` with ``params`` (and the suite's ``tap_query``)."""
        stage: dict[str, Any] = {"name": name, "kind": "tap", "connection": self.connection_spec(params)}
        query = self.tap_query(table)
        if query is not None:
            stage["query"] = query
        return stage

    def run(self, tmp_path: Path, name: str, stages: list[dict[str, Any]], registry: Registry) -> RunOutcome:
        """Write and run a pipeline into its own DuckDB file ``tmp_path/name.duckdb``."""
        path = self.write_pipeline(tmp_path / "pipelines", name, stages)
        return run_pipeline(path, database=tmp_path / f"{name}.duckdb", registry=registry)

    def sink_then_tap(self, tmp_path: Path, registry: Registry, label: str, sql: str) -> RunOutcome:
        """Sink ``sql``'s rows, then tap them back as table ``back`` in the same run (source is table ``source``)."""
        table = self.unique(label)
        try:
            stages = self.sink_stages(tmp_path, table, sql)
            tap = self.tap_stage(self.tap_params(tmp_path, table), table)
            tap["after"] = ["write"]
            return self.run(tmp_path, label, [*stages, tap], registry)
        finally:
            self.cleanup(tmp_path, table)

    def tap_source(self, tmp_path: Path, registry: Registry, table: str) -> dict[str, Any]:
        """Params of a tap of a small existing source: written by a sink first when the connection reads back."""
        if self.can_sink and self.reads_back:
            seed = "SELECT * FROM (VALUES (1, 'one'), (2, 'two')) AS v(id, name)"
            self.run(tmp_path, f"seed_{table}", self.sink_stages(tmp_path, table, seed), registry)
            return self.tap_params(tmp_path, table)
        return self.tap_params(tmp_path, None)

    def _require(self, *flags: str) -> None:
        for flag in flags:
            if not getattr(self, flag):
                pytest.skip(f"{type(self).__name__}.{flag} is false")

    # -- the checks ------------------------------------------------------------------------------------

    def test_class_is_a_valid_connection(self) -> None:
        """The class derives from Connection and every operation is ``async def``."""
        assert check_connection_class(self.connection_class, self.connection_class.__qualname__)

    def test_locator_resolves_to_the_class(self, ductflow_registry: Registry) -> None:
        """The locator is installed (``pip install -e .``) and its entry point loads exactly this class."""
        if self.locator is None:
            pytest.skip(f"{type(self).__name__}.locator is not set")
        assert ductflow_registry.has(self.locator), ductflow_registry.unknown_message(self.locator)
        assert ductflow_registry.connection_class(self.locator) is self.connection_class

    def test_wrong_params_fail_at_load(self, tmp_path: Path, ductflow_registry: Registry) -> None:
        """A wrong-typed param and an unknown one each stop the pipeline before it runs, naming the param."""
        if not self.typed_params:
            pytest.skip(f"{type(self).__name__}.typed_params is false")
        declared = self.connection_class.declared_params()
        assert declared, (
            f"{self.connection_class.__qualname__} declares no params; declare them as class annotations "
            "(port: int = 5432) so wrong ones fail when the pipeline loads, or set typed_params = False"
        )
        bad = dict(self.bad_params) if self.bad_params is not None else _wrong_value(declared)
        assert bad, "set bad_params: no declared param has a type the suite can give a wrong value for"
        valid = self._valid_params(tmp_path)
        for key, value in [*bad.items(), ("conformance_no_such_param", 1)]:
            stage: dict[str, Any] = {"name": "wrong", "kind": "tap" if self.can_tap else "sink"}
            stage["connection"] = self.connection_spec({**valid, key: value})
            stages = [stage] if self.can_tap else [{"name": "s", "kind": "transform", "sql": "SELECT 1 AS x"}, stage]
            with pytest.raises(PipelineError) as info:
                self.run(tmp_path, f"wrong_{key}", stages, ductflow_registry)
            assert not isinstance(info.value, StageFailed), f"{key}={value!r} was only caught while running"
            assert f"connection.params.{key}" in str(info.value)
            assert not (tmp_path / f"wrong_{key}.duckdb").exists(), "the pipeline ran although a param was wrong"

    def _valid_params(self, tmp_path: Path) -> dict[str, Any]:
        if self.can_tap:
            return self.tap_params(tmp_path, self.unique("valid") if self.can_sink else None)
        return self.sink_params(tmp_path, self.unique("valid"))

    def test_tap_creates_exactly_its_table(self, tmp_path: Path, ductflow_registry: Registry) -> None:
        """A tap leaves exactly one table or view, named after its stage, and nothing else in the database."""
        self._require("can_tap")
        table = self.unique("exact")
        try:
            params = self.tap_source(tmp_path, ductflow_registry, table)
            outcome = self.run(tmp_path, "exact", [self.tap_stage(params, table, name="only")], ductflow_registry)
        finally:
            self.cleanup(tmp_path, table)
        assert _relations(outcome) == ["only"]
        if self.can_sink and self.reads_back:
            assert outcome.rows('SELECT count(*) FROM "only"') == [(2,)]

    def test_tap_twice_replaces_its_table(self, tmp_path: Path, ductflow_registry: Registry) -> None:
        """Running the same tap again on a kept database file replaces the table instead of failing or adding rows."""
        self._require("can_tap")
        table = self.unique("twice")
        try:
            params = self.tap_source(tmp_path, ductflow_registry, table)
            first = self.run(tmp_path, "twice", [self.tap_stage(params, table)], ductflow_registry)
            count = first.rows("SELECT count(*) FROM back")
            second = self.run(tmp_path, "twice", [self.tap_stage(params, table)], ductflow_registry)
        finally:
            self.cleanup(tmp_path, table)
        assert second.rows("SELECT count(*) FROM back") == count
        assert _relations(second) == ["back"]

    def test_show_schema_agrees_with_the_table(self, tmp_path: Path, ductflow_registry: Registry) -> None:
        """``show_schema()`` after a tap gives the table's columns and types; before it, at least the same names."""
        self._require("can_tap")
        table = self.unique("schema")
        try:
            params = self.tap_source(tmp_path, ductflow_registry, table)
            path = self.write_pipeline(tmp_path / "pipelines", "schema", [self.tap_stage(params, table)])
            pipeline = Stages.load(path)
            database = tmp_path / "schema.duckdb"
            before, _ = asyncio.run(_schemas(pipeline, "back", database, ductflow_registry))
            run_pipeline(pipeline, database=database, registry=ductflow_registry)
            after, columns = asyncio.run(_schemas(pipeline, "back", database, ductflow_registry))
        finally:
            self.cleanup(tmp_path, table)
        assert columns, "the tapped table has no columns"
        assert [(f.name, f.type) for f in after] == [(f.name, f.type) for f in columns]
        if before:
            assert [f.name for f in before] == [f.name for f in columns], "show_schema() before the tap disagrees"

    def test_sink_accepts_every_sample(self, tmp_path: Path, ductflow_registry: Registry) -> None:
        """A sink takes every type's samples, NULLs, unicode text and an empty table without failing.

        Passing it does not show that anything was written: the round-trip checks, which need
        ``can_tap`` and ``reads_back``, prove what was.
        """
        self._require("can_sink")
        types = self._types()
        values = ", ".join(f"({i}, {_literal(text)})" for i, text in enumerate(UNICODE_SAMPLES, 1))
        samples = {
            "types": typed_rows_sql(types, nulls=False),
            "nulls": typed_rows_sql(types, nulls=True),
            "unicode": f'SELECT * FROM (VALUES {values}) AS v(id, "{UNICODE_COLUMN}")',
            "empty": typed_rows_sql(types, nulls=False) + " WHERE false",
        }
        tables = {label: self.unique(label) for label in samples}
        stages: list[dict[str, Any]] = []
        for label, sql in samples.items():
            sink: dict[str, Any] = {"name": f"write_{label}", "kind": "sink", "from": f"source_{label}"}
            sink["connection"] = self.connection_spec(self.sink_params(tmp_path, tables[label]))
            if stages:
                # One sink at a time: sinks sharing one destination (a file database) may lock each other out.
                sink["after"] = [stages[-1]["name"]]
            stages += [{"name": f"source_{label}", "kind": "transform", "sql": sql}, sink]
        try:
            outcome = self.run(tmp_path, "samples", stages, ductflow_registry)
        finally:
            for table in tables.values():
                self.cleanup(tmp_path, table)
        written = sorted(r.name for r in outcome.results if r.kind == "sink")
        assert written == sorted(f"write_{label}" for label in samples)

    def test_every_type_round_trips(self, tmp_path: Path, ductflow_registry: Registry) -> None:
        """Two rows holding a sample of every type in ``types`` come back from a sink and a tap with equal values."""
        self._require(*_ROUND_TRIP)
        self._check_round_trip(tmp_path, ductflow_registry, "types", typed_rows_sql(self._types(), nulls=False), 2)

    def test_nulls_in_every_column_round_trip(self, tmp_path: Path, ductflow_registry: Registry) -> None:
        """Rows that are NULL in every column but the key come back NULL, not empty strings or zeros."""
        self._require(*_ROUND_TRIP)
        self._check_round_trip(tmp_path, ductflow_registry, "nulls", typed_rows_sql(self._types(), nulls=True), 2)

    def test_unicode_round_trips(self, tmp_path: Path, ductflow_registry: Registry) -> None:
        """Text beyond ASCII, in values and in a column name with a space, comes back byte for byte."""
        self._require(*_ROUND_TRIP)
        values = ", ".join(f"({i}, {_literal(text)})" for i, text in enumerate(UNICODE_SAMPLES, 1))
        sql = f'SELECT * FROM (VALUES {values}) AS v(id, "{UNICODE_COLUMN}")'
        self._check_round_trip(tmp_path, ductflow_registry, "unicode", sql, len(UNICODE_SAMPLES))

    def test_empty_table_round_trips(self, tmp_path: Path, ductflow_registry: Registry) -> None:
        """Sinking a table with no rows succeeds, and a tap of it gives an empty table (with its columns)."""
        self._require(*_ROUND_TRIP)
        sql = typed_rows_sql(self._types(), nulls=False) + " WHERE false"
        outcome = self.sink_then_tap(tmp_path, ductflow_registry, "empty", sql)
        assert outcome.rows("SELECT count(*) FROM back") == [(0,)]
        if self.empty_keeps_columns:
            assert _names(outcome, "back") == _names(outcome, "source")

    def test_large_table_streams(self, tmp_path: Path) -> None:
        """``large_rows`` generated rows go through a sink, then a tap, each in a child process that stays small."""
        self._require("can_sink")
        if self.large_rows <= 0:
            pytest.skip(f"{type(self).__name__}.large_rows is {self.large_rows}")
        sizes = {"warm": 10_000, "real": self.large_rows}
        tables = {step: self.unique(f"large_{step}") for step in sizes}
        folder = tmp_path / "pipelines"
        try:
            sink = {
                step: self.write_pipeline(
                    folder,
                    f"{step}_sink",
                    self.sink_stages(tmp_path, tables[step], streaming_rows_sql(rows), materialize=False),
                )
                for step, rows in sizes.items()
            }
            grown = _grown_mb(sink, tmp_path / "sink")
            assert grown <= self.max_rss_growth_mb, (
                f"sinking {self.large_rows} rows grew the process by {grown:.0f} MB (limit {self.max_rss_growth_mb:.0f}"
                " MB): write in batches (Relation.record_batches, or DuckDB COPY) instead of holding every row"
            )
            if not (self.can_tap and self.reads_back):
                return
            tap = {
                step: self.write_pipeline(
                    folder, f"{step}_tap", [self.tap_stage(self.tap_params(tmp_path, table), table)]
                )
                for step, table in tables.items()
            }
            check = "SELECT count(*), sum(id)::VARCHAR FROM back"
            grown, counts = _grown_mb(tap, tmp_path / "tap", check)
        finally:
            for table in tables.values():
                self.cleanup(tmp_path, table)
        n = self.large_rows
        assert counts == [n, str(n * (n - 1) // 2)], "the tap did not give back every row"
        limit = self.max_rss_growth_mb + _megabytes(self.duckdb_settings.get("memory_limit", "0MB"))
        assert grown <= limit, (
            f"tapping {self.large_rows} rows grew the process by {grown:.0f} MB (limit {limit:.0f} MB, DuckDB's "
            "memory_limit included): read in batches into DuckDB (a RecordBatchReader, or CREATE TABLE AS) "
            "instead of holding every row"
        )

    def test_missing_source_fails_naming_the_stage(self, tmp_path: Path, ductflow_registry: Registry) -> None:
        """A tap of a source that does not exist fails with a Ductflow error naming the stage, and leaves no table."""
        self._require("can_tap")
        stage = self.tap_stage(self.missing_tap_params(tmp_path), None, name="missing")
        with pytest.raises(StageFailed) as info:
            self.run(tmp_path, "missing", [stage], ductflow_registry)
        message = str(info.value)
        # The core may put the pipeline file and line in front: "pipeline.yaml:5: stage 'missing' (...".
        assert re.match(r"(.*:\d+: )?stage 'missing' \(", message), message
        assert info.value.stage == "missing"
        assert isinstance(info.value.cause, DuctflowError), (
            f"the connection raised {type(info.value.cause).__name__}, not a Ductflow error: raise "
            f"ductflow_core.errors.ConnectorError with a message a user can act on ({message})"
        )
        leftovers = RunOutcome([], "", "", tmp_path / "missing.duckdb")
        assert _relations(leftovers) == []

    # -- shared by the round-trip checks ---------------------------------------------------------------

    def _types(self) -> list[str]:
        unknown = [t for t in self.types if t not in TYPE_SAMPLES]
        assert not unknown, f"unknown types {unknown}; choose from {list(TYPE_SAMPLES)}"
        return list(self.types)

    def _check_round_trip(self, tmp_path: Path, registry: Registry, label: str, sql: str, rows: int) -> None:
        outcome = self.sink_then_tap(tmp_path, registry, label, sql)
        with _reader(outcome) as con:
            source, back = _typed_columns(con, "source"), _typed_columns(con, "back")
            assert [name for name, _ in back] == [name for name, _ in source], "the columns came back different"
            if self.exact_types:
                assert back == source, "the column types came back different (exact_types is true)"
            assert con.execute("SELECT count(*) FROM back").fetchall() == [(rows,)]
            mismatches = []
            for name, type_name in source:
                if name == "id":
                    continue
                col = '"' + name.replace('"', '""') + '"'
                found = con.execute(
                    f"SELECT s.id, s.{col}::VARCHAR, b.{col}::VARCHAR FROM source s "
                    f"FULL JOIN back b ON s.id = TRY_CAST(b.id AS BIGINT) "
                    f"WHERE s.{col} IS DISTINCT FROM TRY_CAST(b.{col} AS {type_name}) ORDER BY s.id LIMIT 3"
                ).fetchall()
                mismatches += [f"{name} ({type_name}) row {i}: wrote {w!r}, read {r!r}" for i, w, r in found]
        assert not mismatches, "values changed on the way through:\n  " + "\n  ".join(mismatches)


def _reader(outcome: RunOutcome) -> Any:
    """A read-only DuckDB connection to the run's database file, for many queries at the cost of one open."""
    return duckdb.connect(str(outcome.database), read_only=True)


def _typed_columns(con: Any, table: str) -> list[tuple[str, str]]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [(str(name), str(type_name)) for name, type_name in rows]


def _wrong_value(declared: Mapping[str, tuple[Any, Any]]) -> dict[str, Any]:
    """One declared param with a mapping as its value, which no scalar or list type accepts."""
    for name, (typ, _) in declared.items():
        text = str(typ)
        if typ is Any or "dict" in text or "Mapping" in text or "Any" in text:
            continue
        return {name: {"conformance": "a mapping where it does not belong"}}
    return {}


def _relations(outcome: RunOutcome) -> list[str]:
    if outcome.database is None or not outcome.database.exists():
        return []
    rows = outcome.rows(
        "SELECT table_name FROM duckdb_tables() WHERE NOT internal "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1"
    )
    return [r[0] for r in rows]


def _names(outcome: RunOutcome, table: str) -> list[str]:
    with _reader(outcome) as con:
        return [name for name, _ in _typed_columns(con, table)]


async def _schemas(pipeline: Stages, name: str, database: Path, registry: Registry) -> tuple[list[Field], list[Field]]:
    """``show_schema()`` of stage ``name`` through the hook, and the columns of its table (empty when absent)."""
    from ductflow_core.run.output import Output
    from ductflow_core.run.session import open_run

    quiet = Output(out=io.StringIO(), err=io.StringIO())
    async with open_run(pipeline, database=str(database), stages=[name], registry=registry, output=quiet) as run:
        facade = run.database.facade()
        stage = pipeline[name]
        connection = run.connect(stage, facade)
        try:
            shown = await run.hooks.show_schema(stage, connection)
        finally:
            await connection.close()
        columns = await facade.columns(name) if await facade.table_exists(name) else []
    return shown, columns


def _megabytes(size: object) -> float:
    match = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?)i?B?\s*", str(size), re.IGNORECASE)
    if not match:
        return 0.0
    scale = {"": 2**-20, "K": 2**-10, "M": 1.0, "G": 2**10, "T": 2**20}[match.group(2).upper()]
    return float(match.group(1)) * scale


def _grown_mb(pipelines: Mapping[str, Path], folder: Path, check: str | None = None) -> Any:
    """Run the ``warm`` then the ``real`` pipeline in a fresh child process; its peak growth in MB over the warm run.

    With ``check``, also return the first row of that query on the real run's database.
    """
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"warm": str(pipelines["warm"]), "real": str(pipelines["real"]), "folder": str(folder), "check": check}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise AssertionError(f"the streaming run failed (exit {proc.returncode}):\n{tail}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    grown = (report["peak"] - report["base"]) / 2**20
    return (grown, report["counts"]) if check else grown
