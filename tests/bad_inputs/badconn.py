"""Connection classes that the bad-input corpus gets wrong on purpose."""

from __future__ import annotations

from typing import Literal

from ductflow_core.connection import Connection


class Typed(Connection):
    """Declares typed params."""

    port: int
    host: str = "localhost"
    mode: Literal["append", "replace"] = "append"
    tags: list[str] | None = None


class StrictInit(Connection):
    """Takes exactly one keyword, ``port``, through its own constructor."""

    def __init__(self, port: int) -> None:
        super().__init__(port=port)


class SyncSink(Connection):
    """Defines sink without async."""

    def sink(self, from_name: str) -> None:  # type: ignore[override]
        return None


class NotConnection:
    """Not derived from Connection."""


class LazyTap(Connection):
    """Forgets to create its table."""

    async def tap(self, query: str | None = None) -> None:
        return None


class Rows(Connection):
    """Taps three rows."""

    async def tap(self, query: str | None = None) -> None:
        await self.c.sql(f"CREATE TABLE {self.c.quote(self.name)} AS SELECT * FROM range(3) t(i)")
