"""The base class every connection derives from.

A connection moves data between one outside system and the run's DuckDB
database. The core builds one instance per stage, with the stage's ``params``
as keyword arguments, and then awaits ``tap``, ``sink``, ``sql`` or
``show_schema`` through the plugin manager.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .models import ConnectionConfiguration, CustomConnection, Field

if TYPE_CHECKING:
    from .db import StageDatabase


class Connection:
    """Base of every connection.

    Before ``init()`` runs, these are set: ``name`` (the stage name, which is
    also the DuckDB table a tap creates), ``c`` (the async DuckDB facade),
    ``config``, ``fields``, ``locator``, ``params``, ``materialize`` and
    ``base_dir``. Override ``init()`` for
    set-up instead of ``__init__``.

    Parameters may be declared with class annotations (``port: int = 5432``);
    then every param is checked against them when the pipeline loads, and each
    is also set as an attribute of the same name.
    """

    # Class-level defaults make a bare ``MyConnection(port=1)`` usable in tests.
    name: str = ""
    c: StageDatabase | None = None
    config: ConnectionConfiguration | None = None
    fields: list[Field] | None = None
    locator: str | None = None
    params: dict[str, Any] = {}  # noqa: RUF012 - replaced per instance
    #: The stage's ``materialize:`` setting; ``None`` leaves the choice to the connection.
    materialize: bool | None = None
    #: The pipeline file's folder: relative paths in params resolve against it.
    base_dir: Path = Path()

    def __init__(self, **params: Any) -> None:
        self.params = dict(params)
        if type(self).declared_params() is not None:
            for key, value in params.items():
                setattr(self, key, value)
        self.init()

    def __attrs_post_init__(self) -> None:
        # A subclass decorated with attrs gets attrs' __init__, which skips ours.
        self.init()

    @classmethod
    def create(
        cls,
        *,
        name: str,
        c: StageDatabase | None,
        params: dict[str, Any],
        config: ConnectionConfiguration | None = None,
        fields: list[Field] | None = None,
        locator: str | None = None,
        materialize: bool | None = None,
        base_dir: Path | None = None,
        spec: CustomConnection | None = None,
    ) -> Connection:
        """Build an instance for stage ``name``: context first, then ``__init__(**params)``."""
        self = cls.__new__(cls)
        # Set on the instance before __init__ so a subclass's own __init__ and init() see them.
        vars_ = self.__dict__ if hasattr(self, "__dict__") else None
        context = {
            "name": name,
            "c": c,
            "config": config or ConnectionConfiguration(),
            "fields": fields,
            "locator": locator,
            "params": dict(params),
            "materialize": materialize,
            "base_dir": base_dir if base_dir is not None else Path.cwd(),
            "_spec": spec,
        }
        if vars_ is not None:
            vars_.update(context)
        else:  # pragma: no cover - slotted subclasses
            for key, value in context.items():
                object.__setattr__(self, key, value)
        self.__init__(**params)  # type: ignore[misc]
        return self

    @classmethod
    def declared_params(cls) -> dict[str, Any] | None:
        """The typed parameters this class declares, as ``{name: (type, default)}``; ``None`` when it declares none."""
        from .params import declared_params

        return declared_params(cls)

    @classmethod
    def locate(cls, name: str) -> type[Connection]:
        """Return the connection class installed under locator ``name``."""
        from .discovery import default_registry

        return default_registry().connection_class(name)

    @property
    def conn(self) -> ConnectionHandle:
        """The stage's connection block: ``self.conn.cfg`` is the whole ``connection:`` and
        ``self.conn.locator()`` names where the class came from."""
        return ConnectionHandle(self)

    def init(self) -> None:
        """Set-up hook, called at the end of the base ``__init__``; does nothing by default."""

    async def tap(self, query: str | None = None) -> int | None:
        """Read from the source and create DuckDB table ``self.name``; a no-op by default.

        May return the number of rows read. When ``self.materialize`` is false the
        stage may leave a view, or register a stream under ``self.name``, instead.
        """
        return None

    async def sink(self, from_name: str) -> int | None:
        """Write DuckDB table ``from_name`` to the destination; a no-op by default. May return rows written."""
        return None

    async def sql(self, query: str) -> None:
        """Run ``query`` on the connection's own system; a no-op by default."""

    async def show_schema(self) -> list[Field]:
        """Return the fields of the stage's table (for a tap) or destination; by default the DuckDB table's."""
        if self.c is None:
            return []
        if await self.c.table_exists(self.name):
            return await self.c.columns(self.name)
        return list(self.fields or [])

    async def close(self) -> None:
        """Release outside resources; called once after the stage, also when it failed."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} stage={self.name!r}>"


class ConnectionHandle:
    """What ``Connection.conn`` gives: the stage's ``connection:`` block and its locator."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @property
    def cfg(self) -> CustomConnection:
        """The stage's ``connection:`` block, as loaded (params as the YAML gave them)."""
        spec = getattr(self._connection, "_spec", None)
        if isinstance(spec, CustomConnection):
            return spec
        c = self._connection
        return CustomConnection(params=dict(c.params), config=c.config, fields=c.fields, locator=c.locator)

    def locator(self) -> str:
        """The locator the class was found by, or ``module:Class`` when it came from module/classname."""
        cls = type(self._connection)
        return self._connection.locator or f"{cls.__module__}:{cls.__qualname__}"
