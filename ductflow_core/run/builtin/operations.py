"""Default implementations of the operation hooks: call the connection's own method.

They run last (``trylast``), so any other plugin's implementation comes first.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from ductflow_core import hookimpl
from ductflow_core.connection import Connection
from ductflow_core.models import Field, Stage


@hookimpl(trylast=True)
def ductflow_tap(stage: Stage, connection: Connection, query: str | None) -> Awaitable[Any]:
    """Await ``connection.tap(query)``."""
    return connection.tap(query)


@hookimpl(trylast=True)
def ductflow_sink(stage: Stage, connection: Connection, from_name: str) -> Awaitable[Any]:
    """Await ``connection.sink(from_name)``."""
    return connection.sink(from_name)


@hookimpl(trylast=True)
def ductflow_sql(stage: Stage, connection: Connection, query: str) -> Awaitable[Any]:
    """Await ``connection.sql(query)``."""
    return connection.sql(query)


@hookimpl(trylast=True)
def ductflow_show_schema(stage: Stage, connection: Connection) -> Awaitable[list[Field]]:
    """Await ``connection.show_schema()``."""
    return connection.show_schema()
