"""Connection classes the core's tests run: small, real, and writing real DuckDB tables."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import pyarrow as pa

from ductflow_core.connection import Connection
from ductflow_core.duck.names import quote_literal
from ductflow_core.errors import ConnectorError, ParamError
from ductflow_core.params import NonEmpty, Range, ReadOnly, WriteOnly


class Numbers(Connection):
    """Taps ``rows`` integers (0..rows-1) with their squares."""

    rows: int = 10
    delay: float = 0.0

    async def tap(self, query: str | None = None) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        table = pa.table({"n": pa.array(range(self.rows), pa.int64()), "sq": [i * i for i in range(self.rows)]})
        await self.c.register(f"tmp_{self.name}", table)
        await self.c.sql(f"CREATE TABLE {self.c.quote(self.name)} AS SELECT * FROM {self.c.quote('tmp_' + self.name)}")
        await self.c.unregister(f"tmp_{self.name}")


class Collect(Connection):
    """Sinks into the class-level ``received`` dict: ``{stage: rows}``, streaming record batches."""

    received: ClassVar[dict] = {}
    batch_size: int = 4
    mode: Literal["append", "replace"] = "replace"
    delay: float = 0.0

    async def sink(self, from_name: str) -> int:
        if self.delay:
            await asyncio.sleep(self.delay)
        rel = await self.c.sql(f"SELECT * FROM {self.c.quote(from_name)} ORDER BY 1")
        rows: list[dict] = []
        async for batch in rel.record_batches(self.batch_size):
            rows.extend(batch.to_pylist())
        Collect.received[self.name] = rows
        return len(rows)


class Untyped(Connection):
    """Declares no params: whatever the YAML gives reaches ``init()`` as ``self.params``."""

    seen: ClassVar[dict] = {}

    def init(self) -> None:
        Untyped.seen[self.name] = dict(self.params)

    async def tap(self, query: str | None = None) -> None:
        await self.c.sql(f"CREATE TABLE {self.c.quote(self.name)} AS SELECT {len(self.params)} AS n")


class Sleeper(Connection):
    """Taps one row after sleeping ``seconds`` in a DuckDB-free way, recording start and end times."""

    seconds: float = 0.3
    log: ClassVar[list] = []

    async def tap(self, query: str | None = None) -> None:
        started = time.perf_counter()
        await self.c.run(time.sleep, self.seconds)
        Sleeper.log.append((self.name, started, time.perf_counter()))
        await self.c.sql(f"CREATE TABLE {self.c.quote(self.name)} AS SELECT 1 AS one")


class Failing(Connection):
    """Fails its tap with a ConnectorError, or with a plain bug when ``bug`` is true."""

    bug: bool = False

    async def tap(self, query: str | None = None) -> None:
        if self.bug:
            raise ZeroDivisionError("division by zero")
        raise ConnectorError("the source refused the request")


class CancelledUnder(Connection):
    """A tap that awaits a future something else has cancelled, as a closing connection pool might."""

    async def tap(self, query: str | None = None) -> None:
        future = asyncio.get_running_loop().create_future()
        future.cancel()
        await future


class DriverTimeout(Connection):
    """A tap whose driver gives up on its own, with a TimeoutError of its own."""

    async def tap(self, query: str | None = None) -> None:
        raise TimeoutError("login to db.example.com timed out")


class NoTable(Connection):
    """A tap that forgets to create its table."""

    async def tap(self, query: str | None = None) -> None:
        return None


class SyncTap(Connection):
    """Wrongly defines tap as a plain function."""

    def tap(self, query: str | None = None) -> None:  # type: ignore[override]
        return None


class NotAConnection:
    """Has the methods but not the base class."""

    async def tap(self, query: str | None = None) -> None:
        return None


class Recorder(Connection):
    """Records every sql() query it is given, and taps one row."""

    queries: ClassVar[list] = []

    async def sql(self, query: str) -> None:
        Recorder.queries.append((self.name, query))

    async def tap(self, query: str | None = None) -> None:
        Recorder.queries.append((self.name, query))
        await self.c.sql(f"CREATE TABLE {self.c.quote(self.name)} AS SELECT 1 AS one")


class Stream(Connection):
    """Taps ``rows`` generated rows as a stream of Arrow batches; a table only when asked to materialize."""

    rows: int = 1000

    async def tap(self, query: str | None = None) -> None:
        def batches():  # type: ignore[no-untyped-def]
            for start in range(0, self.rows, 100):
                stop = min(start + 100, self.rows)
                yield pa.record_batch({"i": pa.array(range(start, stop), pa.int64())})

        reader = pa.RecordBatchReader.from_batches(pa.schema({"i": pa.int64()}), batches())
        if self.materialize is False:
            # Registered under the stage's own name: the reading stage streams it, nothing is stored.
            await self.c.register(self.name, reader)
            return
        await self.c.register(f"tmp_{self.name}", reader)
        await self.c.sql(f"CREATE TABLE {self.c.quote(self.name)} AS SELECT * FROM {self.c.quote('tmp_' + self.name)}")
        await self.c.unregister(f"tmp_{self.name}")


class CountRows(Connection):
    """Sinks by streaming record batches and counting them, keeping nothing."""

    async def sink(self, from_name: str) -> int:
        rel = await self.c.sql(f"SELECT * FROM {self.c.quote(from_name)}")
        total = 0
        async for batch in rel.record_batches():
            total += batch.num_rows
        return total


class GcProbe(Connection):
    """Taps one row: whether Python's cyclic garbage collector is on while a connection runs."""

    async def tap(self, query: str | None = None) -> None:
        await self.c.execute(f"CREATE TABLE {self.c.quote(self.name)} AS SELECT ? AS collecting", [gc.isenabled()])


class LayerProbe(Connection):
    """Taps one row: whether DuckDB's Python package (``duckdb``) had been imported when the tap ran."""

    async def tap(self, query: str | None = None) -> None:
        imported = "duckdb" in sys.modules
        await self.c.execute(f"CREATE TABLE {self.c.quote(self.name)} AS SELECT ? AS imported", [imported])


class RawProbe(Connection):
    """Taps one row through the relation API of ``self.c.raw``, which DuckDB's Python package provides."""

    async def tap(self, query: str | None = None) -> None:
        raw = self.c.raw
        await self.c.run(lambda: raw.sql(f"CREATE TABLE {self.c.quote(self.name)} AS SELECT 42 AS answer"))


class Constrained(Connection):
    """Declares params with constraints; taps ``count`` rows and sinks by counting its input."""

    count: Annotated[int, Range(min=1, max=1000)] = 3
    label: Annotated[str, NonEmpty()] = "x"
    ratio: Annotated[float, Range(min=0, max=1)] = 0.5
    skip: Annotated[int | None, Range(min=0), ReadOnly()] = None
    partition_by: Annotated[list[str] | None, NonEmpty(), WriteOnly()] = None

    async def tap(self, query: str | None = None) -> None:
        await self.c.sql(f"CREATE TABLE {self.c.quote(self.name)} AS SELECT range AS n FROM range({self.count})")

    async def sink(self, from_name: str) -> int:
        return await self.c.count(from_name)


class CsvFile(Connection):
    """Reads or writes one real CSV file at ``path``; says what it touches and refuses a folder as a sink target."""

    path: Annotated[str, NonEmpty()]

    @classmethod
    def check_stage(cls, params: dict, *, role: str, base_dir: Path) -> None:  # type: ignore[override]
        target = Path(base_dir, params["path"])
        if role == "sink" and target.is_dir():
            raise ParamError("path", "is a folder; a sink writes one file")
        if params["path"] == "whole":
            raise ParamError(None, "these params cannot work together")
        if params["path"] == "exit":
            sys.exit(4)

    @classmethod
    def resources(cls, params: dict, *, role: str, base_dir: Path) -> list[str]:  # type: ignore[override]
        return [os.path.realpath(Path(base_dir, params["path"]))]

    async def tap(self, query: str | None = None) -> None:
        path = str(Path(self.base_dir, self.path))
        await self.c.sql(f"CREATE TABLE {self.c.quote(self.name)} AS SELECT * FROM read_csv({quote_literal(path)})")

    async def sink(self, from_name: str) -> None:
        path = str(Path(self.base_dir, self.path))
        await self.c.sql(f"COPY {self.c.quote(from_name)} TO {quote_literal(path)} (HEADER)")


class Exits(Connection):
    """Calls ``sys.exit(code)`` from the tap on the event loop, from ``init()``, or in a function run by ``c.run``."""

    where: Literal["loop", "init", "thread"] = "loop"
    code: int = 3

    def init(self) -> None:
        if self.where == "init":
            sys.exit(self.code)

    async def tap(self, query: str | None = None) -> None:
        if self.where == "thread":
            await self.c.run(sys.exit, self.code)
        sys.exit(self.code)
