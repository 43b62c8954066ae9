"""What the CSV, Parquet and JSON connections share: finding files, tapping them and writing them safely."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from ductflow_core.connection import Connection
from ductflow_core.errors import ConnectorError, ParamError
from ductflow_core.models import Field
from ductflow_core.params import NonEmpty, Role, WriteOnly
from ductflow_core.sql import engine, quote_ident, quote_literal, without_trailing_semicolons

from .atomic import (
    STAGED_EXTENSION,
    TEMP_FOLDER,
    Refused,
    clean_legacy,
    clean_stale,
    is_empty_folder,
    kind_of,
    made_by_a_sink,
    name_staged_files,
    put_file,
    put_folder,
    staging,
)
from .exact import Column, refusal, select_list
from .paths import fixed_folder, is_glob, names_folder, real_target, resolve
from .sqltext import copy_statement, duckdb_reason, first_line, reader_call

if TYPE_CHECKING:
    from ductflow_core.sql import StageDatabase

#: What a tap makes when the stage says nothing: a TABLE (read once) rather than a VIEW (read per use).
DEFAULT_MATERIALIZE = True

_SUFFIX_COMPRESSION = MappingProxyType({".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"})


class FileConnection(Connection):
    """A connection to files of one format, read and written by DuckDB.

    Subclasses name the format and map their params onto DuckDB's reader and
    ``COPY`` options; everything else (paths, globs, the ``source`` view,
    atomic writes, errors) lives here.
    """

    #: DuckDB's name for the format in ``COPY ... (FORMAT ...)``.
    FORMAT = ""
    #: DuckDB's table function that reads the format.
    READER = ""
    #: What a folder given as ``path`` is read as: every such file below it, except hidden ones,
    #: which include the temporary files of a sink still writing there.
    FOLDER_GLOB = "**/[!.]*"
    #: Param name → DuckDB reader option, for params that apply when tapping.
    READ_OPTIONS: ClassVar[Mapping[str, str]] = MappingProxyType({})
    #: Param name → DuckDB ``COPY`` option, for params that apply when sinking.
    WRITE_OPTIONS: ClassVar[Mapping[str, str]] = MappingProxyType({})
    #: Param name → the values it accepts, checked in ``init()`` for instances built without the loader.
    CHOICES: ClassVar[Mapping[str, tuple[str, ...]]] = MappingProxyType({})

    path: Annotated[str, NonEmpty()]
    partition_by: Annotated[list[str] | None, NonEmpty(), WriteOnly()] = None
    overwrite: Annotated[bool, WriteOnly()] = True

    def init(self) -> None:
        """Check what one param alone cannot: a path is given, choices are known, partitions are named."""
        path = getattr(self, "path", None)
        if not isinstance(path, str) or not path:
            raise ConnectorError(f"{self.FORMAT} connection needs a 'path' param")
        for param, allowed in self.CHOICES.items():
            value = getattr(self, param)
            if value not in allowed:
                raise ConnectorError(
                    f"unknown {param} {value!r} for {path!r}; expected one of {', '.join(map(repr, allowed))}"
                )
        if self.partition_by is not None and not self.partition_by:
            raise ConnectorError(f"partition_by for {path!r} must name at least one column")

    # -- where the files are ------------------------------------------------------------------------------

    @property
    def location(self) -> Path:
        """The absolute path or pattern that ``path`` stands for."""
        return resolve(self.path, self.base_dir)

    def _read_target(self) -> tuple[str, bool]:
        """What DuckDB should read for ``path``, and whether that is a single, literal file."""
        location = self.location
        if is_glob(self.path):
            return str(location), False
        if location.is_dir():
            return str(location / self.FOLDER_GLOB), False
        return str(location), True

    async def _matches(self, pattern: str, literal: bool) -> bool:
        if literal:
            return os.path.isfile(pattern)
        rows = await self._db.fetchall(f"SELECT count(*) FROM glob({quote_literal(pattern)})")
        return bool(rows and rows[0][0])

    async def _require_files(self) -> tuple[str | list[str], bool]:
        """What to read, once the run's sandbox allowed it: the file, or the folder and every file matched.

        A sink's temporary area (``.ductflow-tmp/``) is never read: DuckDB's ``**`` descends into hidden
        folders, and a partitioned swap in progress (or killed) keeps whole folders of real files there.
        When a match lies in one, the files to read are given as a list without them.
        """
        pattern, literal = self._read_target()
        if literal:
            self._db.check_path(pattern)
            found = os.path.isfile(pattern)
        else:
            fixed = fixed_folder(Path(pattern))
            self._db.check_path(fixed)
            matched = await self._db.fetchall(f"SELECT file FROM glob({quote_literal(pattern)})")
            files = [str(file) for (file,) in matched]
            kept = [file for file in files if not _in_temporary_area(fixed, file)]
            for file in kept:
                # A match may be a symlink leading out of the sandbox.
                self._db.check_path(file)
            found = bool(kept)
            if found and len(kept) < len(files):
                return kept, literal
        if found:
            return pattern, literal
        where = "" if pattern == self.path else f" (looked for {pattern})"
        if literal:
            raise ConnectorError(f"file not found: {self.path!r}{where}")
        if not is_glob(self.path):
            raise ConnectorError(f"folder {self.path!r} holds no {self.FORMAT} files{where}")
        raise ConnectorError(f"no file matches {self.path!r}{where}")

    @property
    def _db(self) -> StageDatabase:
        if self.c is None:
            raise ConnectorError(f"{self.FORMAT} connection for {self.path!r} has no database")
        return self.c

    # -- options --------------------------------------------------------------------------------------------

    def reader_options(self, literal: bool) -> dict[str, object]:
        """DuckDB reader options from the params that are set."""
        options = {option: getattr(self, param) for param, option in self.READ_OPTIONS.items()}
        options = {key: value for key, value in options.items() if value is not None}
        # DuckDB guesses hive partitions from any ``k=v`` folder in the path; one named file has none.
        if literal and "hive_partitioning" in self.READ_OPTIONS.values():
            options.setdefault("hive_partitioning", False)
        return options

    def writer_options(self, target: Path) -> dict[str, object]:
        """``COPY`` options from the params that are set, ``FORMAT`` first."""
        options: dict[str, object] = {"FORMAT": self.FORMAT}
        for param, option in self.WRITE_OPTIONS.items():
            value = getattr(self, param)
            if value is not None:
                options[option] = value
        if options.get("COMPRESSION") == "auto":
            # The data goes to a temporary name first, so DuckDB cannot guess from the real one.
            suffix = "" if self.partition_by else target.suffix.lower()
            options["COMPRESSION"] = _SUFFIX_COMPRESSION.get(suffix, "none")
        return options

    def _check_role(self, role: str) -> None:
        if role == "tap":
            misplaced = set(self.params) - set(self.READ_OPTIONS) - {"path"}
            doing = "writing"
        else:
            misplaced = set(self.params) & (set(self.READ_OPTIONS) - set(self.WRITE_OPTIONS))
            doing = "reading"
        if misplaced:
            names = ", ".join(sorted(misplaced))
            raise ConnectorError(f"{names} only appl{'ies' if len(misplaced) == 1 else 'y'} when {doing} {self.path!r}")

    #: Options that add or reshape columns beyond what a reader detects; a view of a tap using one is not pinned.
    UNPINNABLE: ClassVar[frozenset[str]] = frozenset({"columns", "filename", "union_by_name"})

    async def view_reader_options(
        self, pattern: str | list[str], literal: bool, options: dict[str, object]
    ) -> dict[str, object]:
        """The reader options a tap's VIEW is created with; formats whose reader guesses on each bind pin it here."""
        return options

    def _pinnable(self, literal: bool, options: Mapping[str, object]) -> bool:
        """Whether what the reader detects can be fixed in a view: one named file, no option reshaping its columns."""
        return literal and not options.get("hive_partitioning") and not self.UNPINNABLE & options.keys()

    def materialized(self) -> bool:
        """Whether a tap makes a TABLE (``True``) or a lazy VIEW over the file (``False``)."""
        return DEFAULT_MATERIALIZE if self.materialize is None else bool(self.materialize)

    # -- the connection API -----------------------------------------------------------------------------

    async def tap(self, query: str | None = None) -> None:
        """Make table (or view) ``self.name`` from the file(s); ``query`` may select from them as ``source``."""
        duck = engine()  # here, not at the top: `ductflow validate` imports this module and never needs DuckDB

        self._check_role("tap")
        pattern, literal = await self._require_files()
        kind = "TABLE" if self.materialized() else "VIEW"
        options = self.reader_options(literal)
        if kind == "VIEW":
            # A view is bound again by every stage stacked on it, and with it the reader.
            options = await self.view_reader_options(pattern, literal, options)
        source = reader_call(self.READER, pattern, options)
        query = without_trailing_semicolons(query or "").strip()
        if not query:
            body = f"SELECT * FROM {source}"
        else:
            await self._db.require_query(query, f"the query of tap {self.name!r}")
            # On lines of its own, so a trailing ``-- comment`` in it cannot swallow the closing parenthesis.
            body = f"WITH source AS (SELECT * FROM {source}) SELECT * FROM (\n{query}\n)"
        create = f"CREATE OR REPLACE {kind} {quote_ident(self.name)} AS {body}"
        try:
            try:
                await self._db.execute(create)
            except duck.CatalogException as exc:
                # In a database file kept between runs, the name may be the other kind (a run with the other
                # ``materialize``); CREATE OR REPLACE refuses to turn one into the other. Rare, so handled here
                # rather than looked up in the catalog before every tap.
                if "trying to replace with type" not in str(exc):
                    raise
                await self._db.execute(f"DROP {'VIEW' if kind == 'TABLE' else 'TABLE'} {quote_ident(self.name)}")
                await self._db.execute(create)
        except duck.Error as exc:
            raise ConnectorError(f"cannot read {self.path!r}: {first_line(exc)}") from exc

    async def sink(self, from_name: str) -> None:
        """Write table ``from_name`` to ``path``: into the folder's temporary area first, renamed into place on success.

        Only a file, or a folder a partitioned sink made (or an empty one), is ever replaced; see
        :func:`sink_target_problem`.
        """
        duck = engine()

        self._check_role("sink")
        problem = sink_target_problem(self.params, self.base_dir)
        if problem is not None:
            raise ConnectorError(problem[1])
        target = real_target(self.location)
        self._db.check_path(target, write=True)
        try:
            self._db.check_path(target.parent / TEMP_FOLDER, write=True)
        except ConnectorError:
            raise ConnectorError(
                f"cannot write {self.path!r}: the sandbox allows the file but not its folder, where a sink writes "
                "first and renames the file into place; list the folder in allowed_directories"
            ) from None
        if not self.overwrite and os.path.lexists(target):
            raise ConnectorError(f"{self.path!r} exists and overwrite is false")
        select = await self.exact_select(from_name)
        try:
            await self._db.run(_prepare_folder, target)
            with staging(target.parent) as staged:
                options = self.writer_options(target)
                if self.partition_by:
                    options["FILE_EXTENSION"] = STAGED_EXTENSION
                await self._db.execute(copy_statement(select, str(staged.temp), options, self.partition_by))
                if self.partition_by:
                    await self._db.run(name_staged_files, staged.temp, self.FORMAT)
                    await self._db.run(put_folder, staged.temp, target, staged.aside)
                else:
                    await self._db.run(put_file, staged.temp, target)
        except duck.Error as exc:
            reason = duckdb_reason(exc)
            refused = refusal(reason)
            if refused is not None:
                raise ConnectorError(f"cannot write {self.path!r} exactly as {self.FORMAT}: {refused}") from exc
            raise ConnectorError(f"cannot write {self.path!r}: {reason}") from exc
        except Refused as exc:
            raise ConnectorError(f"cannot write {self.path!r}: {exc}; left as it is") from exc
        except OSError as exc:
            raise ConnectorError(f"cannot write {self.path!r}: {_os_reason(exc, target)}") from exc

    async def check(self, role: Role) -> None:
        """For ``ductflow validate --connect``: a tap's file exists (its glob matches, its folder holds files);
        a sink's folder exists or can be made, and it may write there. Looks only: nothing is created.
        """
        self._check_role(role)
        if role == "tap":
            pattern, literal = self._read_target()
            looked = "" if pattern == self.path else f" (looked for {pattern})"
            if literal:
                if not os.path.isfile(pattern):
                    raise ConnectorError(f"file not found: {self.path!r}{looked}")
                return
            import glob

            if not any(os.path.isfile(f) for f in glob.iglob(pattern, recursive=True)):
                if is_glob(self.path):
                    raise ConnectorError(f"no file matches {self.path!r}{looked}")
                raise ConnectorError(f"folder {self.path!r} holds no {self.FORMAT} files{looked}")
            return
        if role == "sink":
            problem = sink_target_problem(self.params, self.base_dir)
            if problem is not None:
                raise ConnectorError(problem[1])
            folder = real_target(self.location).parent
            existing = folder
            while not existing.exists() and existing != existing.parent:
                existing = existing.parent
            if not existing.is_dir():
                raise ConnectorError(f"cannot write {self.path!r}: {str(existing)!r} is not a folder")
            if not os.access(existing, os.W_OK | os.X_OK):
                raise ConnectorError(f"cannot write {self.path!r}: no permission to write in {str(existing)!r}")

    def exact_column(self, name: str, column_type: str) -> Column:
        """How the format writes a column of ``column_type`` exactly (see :mod:`.exact`); as it is by default."""
        return Column(name, quote_ident(name))

    async def exact_select(self, from_name: str) -> str:
        """The query the sink writes: ``SELECT *`` unless a column's type needs storing otherwise or checking.

        Decided from the column types alone (a ``DESCRIBE``); a column of a type that can fail is checked
        value by value inside the write itself (see :mod:`.exact`).
        """
        duck = engine()

        try:
            described = await self._db.fetchall(f"DESCRIBE SELECT * FROM {quote_ident(from_name)}")
        except duck.Error as exc:
            raise ConnectorError(f"cannot write {self.path!r}: {duckdb_reason(exc)}") from exc
        columns = [self.exact_column(str(row[0]), str(row[1])) for row in described]
        return f"SELECT {select_list(columns) or '*'} FROM {quote_ident(from_name)}"

    # -- load-time checks -------------------------------------------------------------------------------

    @classmethod
    def check_stage(cls, params: dict[str, Any], *, role: Role, base_dir: Path) -> None:
        """Refuse at load a sink onto a pattern or onto what it must not replace (:func:`sink_target_problem`)."""
        if role == "sink":
            problem = sink_target_problem(params, base_dir)
            if problem is not None:
                raise ParamError(*problem)

    @classmethod
    def resources(cls, params: dict[str, Any], *, role: Role, base_dir: Path) -> list[str]:
        """The real path a tap reads (for a glob, the folder of its fixed part) or a sink writes."""
        path = params.get("path")
        if not isinstance(path, str) or not path:
            return []
        location = resolve(path, base_dir)
        if is_glob(path):
            return [os.path.realpath(fixed_folder(location))] if role == "tap" else []
        return [os.path.realpath(location)]

    async def show_schema(self) -> list[Field]:
        """The tapped table's fields once it exists; else those of the file(s) at ``path``; else the core's default."""
        duck = engine()

        if self.c is None:
            return []
        if self.name and await self.c.table_exists(self.name):
            return await self.c.columns(self.name)
        pattern, literal = self._read_target()
        if await self._matches(pattern, literal):
            source = reader_call(self.READER, pattern, self.reader_options(literal))
            try:
                rows = await self.c.fetchall(f"DESCRIBE SELECT * FROM {source}")
            except duck.Error as exc:
                raise ConnectorError(f"cannot read {self.path!r}: {first_line(exc)}") from exc
            return [Field(name=row[0], type=row[1], nullable=row[2] != "NO") for row in rows]
        return await super().show_schema()


def _in_temporary_area(fixed: Path, file: str) -> bool:
    """Whether ``file``, matched below the folder ``fixed``, lies inside a sink's temporary area."""
    try:
        parts = Path(file).relative_to(fixed).parts
    except ValueError:
        parts = Path(file).parts
    return TEMP_FOLDER in parts[:-1]


def sink_target_problem(params: Mapping[str, Any], base_dir: Path | None) -> tuple[str, str] | None:
    """Why a sink with ``params`` must not write, as ``(param, message)``; ``None`` when it may.

    The one rule that keeps a sink from deleting what is not its own. A sink without ``partition_by`` writes
    one file: what is at its path must be a regular file or nothing (never a folder, a device, a FIFO, a
    socket or a symlink), and a path ending in ``/`` names a folder. A partitioned sink writes a folder: what
    is at its path must be a folder a sink made (it holds the marker, see :mod:`.atomic`), an empty folder, or
    nothing.
    """
    path = params.get("path")
    if not isinstance(path, str) or not path:
        return None
    if is_glob(path):
        return "path", f"cannot write to {path!r}: a sink path cannot be a pattern"
    partitioned = bool(params.get("partition_by"))
    if names_folder(path) and not partitioned:
        return "path", (
            f"{path!r} ends in '/', so names a folder; a sink without partition_by writes one file: "
            "name the file, or set partition_by to write a folder"
        )
    target = real_target(resolve(path, base_dir))
    found = "symbolic link" if os.path.islink(target) else kind_of(target)
    if found is None:
        return None
    if not partitioned:
        if found == "file":
            return None
        if found == "folder":
            return "path", (
                f"{path!r} is a folder; a sink without partition_by writes one file and never replaces a folder: "
                "name a file, or set partition_by"
            )
        return "path", f"{path!r} is a {found}; a sink writes only regular files, and never replaces a {found}"
    if found == "folder" and (made_by_a_sink(target) or is_empty_folder(target)):
        return None
    if found == "folder":
        return "path", (
            f"{path!r} is a folder that a sink did not make and that is not empty; a partitioned sink replaces "
            "only an empty folder or one it wrote before: choose another path, or empty it"
        )
    return "path", f"{path!r} is a {found}; a partitioned sink writes a folder and never replaces a {found}"


def _prepare_folder(target: Path) -> None:
    """Create the target's folder and delete what killed writes into it left behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target.parent)
    clean_legacy(target)


def _os_reason(exc: OSError, target: Path) -> str:
    """An OS error as one line: its reason, and the path it names unless that is the sink's own temporary one."""
    reason = exc.strerror or str(exc)
    name = os.fsdecode(exc.filename) if exc.filename is not None else ""
    if not name or TEMP_FOLDER in Path(name).parts or name == str(target):
        return reason
    return f"{reason}: {name}"
