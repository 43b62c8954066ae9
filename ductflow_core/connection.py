"""The base class every connection derives from.

A connection moves data between one outside system and the run's DuckDB
database. The core builds one instance per stage, with the stage's ``params``
as keyword arguments, and then awaits ``tap``, ``sink``, ``sql`` or
``show_schema`` through the plugin manager.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ductflow_core.errors import ConnectorError
from ductflow_core.models import ConnectionConfiguration, CustomConnection, Field

if TYPE_CHECKING:
    from ductflow_core.duck.database import StageDatabase
    from ductflow_core.params import Role


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
        from ductflow_core.params import declared_params

        return declared_params(cls)

    @classmethod
    def check_stage(cls, params: dict[str, Any], *, role: Role, base_dir: Path) -> None:
        """Refuse, at load, params that cannot work for a stage of ``role``; does nothing by default.

        Called by ``ductflow validate`` and before a run, once per stage, after ``params`` passed the
        declared types and constraints (see :mod:`ductflow_core.params`). ``params`` are the ones the
        stage gives (defaults are not filled in); ``role`` is ``"tap"``, ``"sink"`` or ``"sql"``;
        ``base_dir`` is the pipeline file's folder. Raise
        :class:`~ductflow_core.errors.ParamError` ``(param, message)``: the pipeline is refused with
        ``file:line: stage 'x': connection.params.<param>: <message>`` (exit 2) at that param's line.
        Look only, change nothing: validation must leave the world as it was.
        """

    @classmethod
    def resources(cls, params: dict[str, Any], *, role: Role, base_dir: Path) -> list[str]:
        """Identifiers of what a stage of ``role`` reads (a tap) or writes (a sink); ``[]`` by default.

        For files, a real absolute path (for a glob, the folder its fixed part names); for other
        systems, any string that names the same thing the same way every time, such as
        ``postgresql://host:port/db/schema.table``. After every stage is resolved, the core refuses
        a sink whose resource equals a tap's, or is a folder holding it, or lies inside it
        (``/a`` holds ``/a/b``; so does ``scheme://x`` hold ``scheme://x/y``), unless the tap waits
        for the sink (``after:``), so reads what the sink wrote. See
        :func:`ductflow_core.plugin.resolve.check_resources`.
        """
        return []

    @classmethod
    def locate(cls, name: str) -> type[Connection]:
        """Return the connection class installed under locator ``name``."""
        # A door: finding classes is the registry's job (plugin/registry.py); lazy, so a connection module
        # imports no plugin machinery (tests/test_layers.py lists this door).
        from ductflow_core.plugin.registry import default_registry

        return default_registry().connection_class(name)

    @property
    def conn(self) -> ConnectionHandle:
        """The stage's connection block: ``self.conn.cfg`` is the whole ``connection:`` and
        ``self.conn.locator()`` names where the class came from."""
        return ConnectionHandle(self)

    def init(self) -> None:
        """Set-up hook, called at the end of the base ``__init__``; does nothing by default."""

    async def tap(self, query: str | None = None) -> int | None:
        """Read from the source and create DuckDB table ``self.name``.

        May return the number of rows read. When ``self.materialize`` is false the
        stage may leave a view, or register a stream under ``self.name``, instead.
        A class that does not override it cannot be used in a tap stage: the
        pipeline is refused at load (see :func:`implements`).
        """
        raise ConnectorError(not_implemented_message(type(self), "tap"))

    async def sink(self, from_name: str) -> int | None:
        """Write DuckDB table ``from_name`` to the destination. May return rows written.

        A class that does not override it cannot be used in a sink stage.
        """
        raise ConnectorError(not_implemented_message(type(self), "sink"))

    async def sql(self, query: str) -> None:
        """Run ``query`` on the connection's own system.

        A class that does not override it cannot be used in an ``sql`` stage.
        """
        raise ConnectorError(not_implemented_message(type(self), "sql"))

    async def check(self, role: Role) -> None:
        """Make sure a stage of ``role`` can work, without moving data; does nothing by default.

        Called by ``ductflow validate --connect``, once per stage, on an instance built from the stage's
        params with no database (``self.c`` is ``None``); ``close()`` follows. Look, do not change: a tap's
        files exist, a server answers and accepts the credentials, the table a tap reads exists, a sink's
        folder can be made. Raise :class:`~ductflow_core.errors.ConnectorError` with the reason.
        """

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


def implements(cls: type[Any], role: str) -> bool:
    """Whether ``cls`` has its own ``tap``, ``sink`` or ``sql`` (``role``) rather than the base class's."""
    method = getattr(cls, role, None)
    return method is not None and method is not getattr(Connection, role)


def not_implemented_message(cls: type[Any], role: str) -> str:
    """The one-line reason a class without its own ``role`` method cannot serve a stage of that kind."""
    article = "an" if role == "sql" else "a"
    return (
        f"{cls.__module__}.{cls.__qualname__} does not implement {role}(), "
        f"so it cannot be used in {article} {role} stage"
    )


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
