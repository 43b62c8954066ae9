"""``config.timeout`` of a connection: bound each tap, sink and sql call in time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Generator
from typing import Any

from ductflow_core import hookimpl
from ductflow_core.connection import Connection
from ductflow_core.errors import ConnectorError
from ductflow_core.models import Stage


def _bounded(connection: Connection, operation: str) -> Generator[None, Awaitable[Any], Awaitable[Any]]:
    inner = yield
    limit = connection.config.timeout if connection.config else None
    if not limit:
        return inner

    async def bounded() -> Any:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            return await asyncio.wait_for(inner, limit)
        except asyncio.TimeoutError:
            if loop.time() - started < limit:
                raise  # the operation's own timeout (a driver's, say), raised before the limit: not ours to name
            raise ConnectorError(f"{operation} timed out after {limit:g} s (config.timeout)") from None

    return bounded()


@hookimpl(wrapper=True)
def ductflow_tap(stage: Stage, connection: Connection, query: str | None) -> Generator[None, Any, Any]:
    """Apply ``config.timeout`` to a tap."""
    return (yield from _bounded(connection, "tap"))


@hookimpl(wrapper=True)
def ductflow_sink(stage: Stage, connection: Connection, from_name: str) -> Generator[None, Any, Any]:
    """Apply ``config.timeout`` to a sink."""
    return (yield from _bounded(connection, "sink"))


@hookimpl(wrapper=True)
def ductflow_sql(stage: Stage, connection: Connection, query: str) -> Generator[None, Any, Any]:
    """Apply ``config.timeout`` to an sql call."""
    return (yield from _bounded(connection, "sql"))
