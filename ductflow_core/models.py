"""The pipeline as Python objects: what a YAML file is structured into.

These classes hold data only; :mod:`ductflow_core.pipeline.loader` builds them from YAML
and reports errors with file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import attrs

from ductflow_core.errors import PipelineError
from ductflow_core.pipeline.convert import NonEmpty, Range

StageKind = Literal["tap", "transform", "sink", "sql"]

#: Most rows ``show:`` prints: more is not reading a table but dumping it.
MAX_SHOW = 10_000
#: Longest ``config.timeout``, 30 days in seconds: beyond it a timeout is not a bound, and far beyond it
#: (``.inf``, ``1e300``) the event loop cannot even schedule it.
MAX_TIMEOUT = 30 * 24 * 3600
#: Largest ``config.batch_size``: ten million rows of one narrow column are already hundreds of MB per batch.
MAX_BATCH_SIZE = 10_000_000


@attrs.frozen
class Field:
    """One column of a table: its name, DuckDB (or source) type, and nullability."""

    name: Annotated[str, NonEmpty()]
    type: Annotated[str, NonEmpty()]
    nullable: bool = True


@attrs.frozen
class ConnectionConfiguration:
    """Settings the core applies around every call of one connection.

    ``timeout`` bounds each tap/sink/sql call in seconds (above 0, at most
    :data:`MAX_TIMEOUT`); ``batch_size`` is the number of rows per Arrow batch a
    streaming sink should ask for (1 to :data:`MAX_BATCH_SIZE`).
    """

    timeout: Annotated[float, Range(min=0, max=MAX_TIMEOUT, exclusive_min=True)] | None = None
    batch_size: Annotated[int, Range(min=1, max=MAX_BATCH_SIZE)] = 122_880


@attrs.frozen
class CustomConnection:
    """Where a stage's connection class comes from and what it is given.

    ``locator`` is looked up among installed plugins first; when no plugin has
    that name, ``module`` and ``classname`` are imported.
    """

    kind: Literal["CustomConnection"] = "CustomConnection"
    module: Annotated[str, NonEmpty()] | None = None
    classname: Annotated[str, NonEmpty()] | None = None
    params: dict[str, Any] = attrs.Factory(dict)
    config: ConnectionConfiguration | None = None
    fields: list[Field] | None = None
    locator: Annotated[str, NonEmpty()] | None = None


@attrs.frozen(kw_only=True)
class Stage:
    """One step of a pipeline. Its ``name`` is also the DuckDB table it makes."""

    KIND: ClassVar[str] = ""

    name: str
    kind: StageKind
    show: Annotated[int, Range(min=0, max=MAX_SHOW)] = 0
    after: list[str] = attrs.Factory(list)

    @property
    def produces_table(self) -> bool:
        """Whether running the stage leaves a DuckDB table called ``name``."""
        return self.kind in ("tap", "transform")


@attrs.frozen(kw_only=True)
class TapStage(Stage):
    """Reads from a source through ``connection.tap(query)`` into table ``name``."""

    KIND: ClassVar[str] = "tap"
    connection: CustomConnection
    query: Annotated[str, NonEmpty()] | None = None
    materialize: bool | None = None


@attrs.frozen(kw_only=True)
class TransformStage(Stage):
    """Runs the DuckDB query ``sql``; its result becomes table ``name``."""

    KIND: ClassVar[str] = "transform"
    sql: str
    from_: str | None = attrs.field(default=None, alias="from_")
    materialize: bool | None = None


@attrs.frozen(kw_only=True)
class SinkStage(Stage):
    """Writes table ``from`` (default: the previous table) through ``connection.sink(from_name)``."""

    KIND: ClassVar[str] = "sink"
    connection: CustomConnection
    from_: str | None = attrs.field(default=None, alias="from_")


@attrs.frozen(kw_only=True)
class SqlStage(Stage):
    """Runs ``query`` on the connection's own system through ``connection.sql(query)``."""

    KIND: ClassVar[str] = "sql"
    connection: CustomConnection
    query: Annotated[str, NonEmpty()]


STAGE_CLASSES: dict[str, type[Stage]] = {cls.KIND: cls for cls in (TapStage, TransformStage, SinkStage, SqlStage)}


@attrs.frozen
class Sandbox:
    """Lock DuckDB's file access to the folders and files listed (relative to the pipeline's folder).

    With a sandbox, SQL in the pipeline (transforms, and connections that read
    or write through DuckDB) can touch no other file, and cannot change settings.
    """

    allowed_directories: list[str] = attrs.Factory(list)
    allowed_paths: list[str] = attrs.Factory(list)


@attrs.frozen
class Settings:
    """Pipeline-wide settings.

    ``database`` is the DuckDB file (in memory when absent); ``duckdb`` holds
    DuckDB configuration options passed when the database is opened;
    ``requires`` lists distributions (``ductflow-postgres>=0.2``) that must be
    installed; ``sandbox`` restricts DuckDB's file access.
    """

    database: Annotated[str, NonEmpty()] | None = None
    duckdb: dict[str, Any] = attrs.Factory(dict)
    requires: list[str] = attrs.Factory(list)
    sandbox: Sandbox | None = None


@attrs.frozen
class Stages:
    """A whole pipeline: its stages in file order, settings, and where it came from.

    ``Stages.load(path_or_text)`` reads one from a YAML file or YAML text.
    """

    stages: list[Stage]
    settings: Settings = Settings()
    source: str = "<string>"
    base_dir: Path = attrs.field(factory=Path.cwd)
    lines: dict[tuple[Any, ...], int] = attrs.field(factory=dict, eq=False, repr=False)
    secrets: frozenset[str] = attrs.field(default=frozenset(), eq=False, repr=False)
    secret_paths: frozenset[tuple[Any, ...]] = attrs.field(default=frozenset(), eq=False, repr=False)
    #: Per path, the pieces of its value that came from ``${VAR}``: error messages mask them (where.mask_env).
    env_values: dict[tuple[Any, ...], tuple[str, ...]] = attrs.field(factory=dict, eq=False, repr=False)

    @classmethod
    def load(cls, path_or_text: str | Path, *, env: dict[str, str] | None = None) -> Stages:
        """Read a pipeline from a file path or from YAML text; raise :class:`~ductflow_core.errors.PipelineError`."""
        # A door: reading files is the loader's job (pipeline/loader.py); lazy, so models imports no loader.
        from ductflow_core.pipeline.loader import load_pipeline

        return load_pipeline(path_or_text, env=env)

    def __iter__(self) -> Any:
        return iter(self.stages)

    def __len__(self) -> int:
        return len(self.stages)

    def __getitem__(self, key: int | str) -> Stage:
        if isinstance(key, int):
            return self.stages[key]
        for stage in self.stages:
            if stage.name == key:
                return stage
        raise KeyError(key)

    def index(self, name: str) -> int:
        """Position of the stage called ``name``."""
        for i, stage in enumerate(self.stages):
            if stage.name == name:
                return i
        raise KeyError(name)

    def location(self, name: str) -> str:
        """``file:line`` where the stage called ``name`` starts."""
        line = self.lines.get(("stages", self.index(name)))
        return f"{self.source}:{line}" if line else self.source

    def error(
        self, name: str, keys: tuple[str | int, ...], message: str, kind: type[PipelineError] = PipelineError
    ) -> PipelineError:
        """The ``kind`` of error at ``keys`` of the stage called ``name``, for a problem found after loading."""
        return self.error_at(("stages", self.index(name), *keys), message, kind)

    def error_at(
        self, path: tuple[str | int, ...], message: str, kind: type[PipelineError] = PipelineError
    ) -> PipelineError:
        """The ``kind`` of error at any key ``path`` of the pipeline (``("requires", 0)``), values from the
        environment masked as in every load error."""
        from ductflow_core.pipeline.where import locate

        stage_of = lambda i: self.stages[i].name  # noqa: E731
        return locate(self.source, self.lines, self.secret_paths, stage_of, path, message, self.env_values, kind)

    def error_text(self, name: str, keys: tuple[str | int, ...], message: str) -> str:
        """``file:line: stage 'name': key.path: message`` for a problem found after loading."""
        return str(self.error(name, keys, message))
