"""A generator tap for the memory-scaling check: Arrow batches made in Python, streamed into DuckDB.

Referenced from pipeline YAML as ``module: benchmarks.benchgen``, ``classname: GenTap``.
"""

from __future__ import annotations

from ductflow_core.connection import Connection

from .genbatches import reader


class GenTap(Connection):
    """Taps ``rows`` generated rows: a stream its one reader consumes, or a table when it must be kept."""

    rows: int = 1_000_000

    async def tap(self, query: str | None = None) -> None:
        assert self.c is not None
        if self.materialize is False:
            # Registered under the stage's name, the batches flow straight into the stage that reads them.
            await self.c.register(self.name, reader(int(self.rows)))
            return
        source = f"{self.name}__gen"
        await self.c.register(source, reader(int(self.rows)))
        try:
            await self.c.sql(f"CREATE TABLE {self.c.quote(self.name)} AS SELECT * FROM {self.c.quote(source)}")
        finally:
            await self.c.unregister(source)
