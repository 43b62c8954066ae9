"""Load a pipeline file into :class:`~ductflow_core.models.Stages`, with errors that point at file:line.

Every error names the file, the line, the stage and the key path inside it:
``pipeline.yaml:14: stage 'MySqlWriter': connection.params.port: expected int, got 'abc'``.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ductflow_core.errors import PipelineError, PipelineErrors, did_you_mean
from ductflow_core.models import STAGE_CLASSES, Settings, Stage, Stages
from ductflow_core.pipeline import convert as _convert
from ductflow_core.pipeline import where, yamlsource

Path_ = tuple[Any, ...]
_TOP_KEYS = ["stages", "database", "duckdb", "requires", "sandbox"]


class _Context:
    """What an error message needs: the source name, the line map and the raw data."""

    def __init__(self, source: str, doc: yamlsource.Document) -> None:
        self.source = source
        self.doc = doc

    def line(self, path: Path_) -> int | None:
        return where.line_of(self.doc.lines, path)

    def stage_of(self, index: int) -> str | int:
        """The name of the stage at ``index``, or its position from 1 when it has no name yet."""
        stages = self.doc.data.get("stages") if isinstance(self.doc.data, dict) else None
        raw = stages[index] if isinstance(stages, list) and index < len(stages) else None
        name = raw.get("name") if isinstance(raw, dict) else None
        return name if isinstance(name, str) else index + 1

    def error(self, path: Path_, message: str) -> PipelineError:
        doc = self.doc
        return where.locate(self.source, doc.lines, doc.secret_paths, self.stage_of, path, message, doc.env_values)


# A one-line string starting so, or holding `key: value` or a control character, is YAML text, not a file name.
_YAML_START = ("[", "{", "- ", "#", "---")


def _is_file_name(text: str) -> bool:
    """The rule of ``Stages.load(str)``: an existing file, else a one-line string that does not look like YAML."""
    if os.path.isfile(text):  # False for a NUL byte or a name too long
        return True
    one_line = text.strip()
    if not one_line or "\n" in text or "\r" in text or yamlsource.CONTROL_CHARACTERS.search(text):
        return False
    return not one_line.startswith(_YAML_START) and ": " not in one_line


def _read(path_or_text: str | Path) -> tuple[str, str, Path]:
    if isinstance(path_or_text, Path) or _is_file_name(path_or_text):
        path = Path(path_or_text)
        return _read_file(path), str(path), path.resolve().parent
    return path_or_text, "<string>", Path.cwd()


def _read_file(path: Path) -> str:
    """The text of the pipeline file at ``path``: a regular file of at most the size the loader takes.

    Opened without blocking and checked on the open descriptor, so a FIFO, a device (``/dev/zero``) or a
    folder is refused at once instead of hanging the command or filling its memory.
    """
    limit = 4 * yamlsource.MAX_CHARS  # a character is at most 4 bytes of UTF-8
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise PipelineError("no such pipeline file", source=str(path)) from None
    except OSError as exc:
        raise PipelineError(f"cannot read the pipeline file: {exc.strerror or exc}", source=str(path)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise PipelineError("cannot read the pipeline file: it is not a regular file", source=str(path))
    with os.fdopen(fd, "rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise PipelineError(f"the pipeline is larger than {yamlsource.MAX_CHARS // 2**20} MB", source=str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PipelineError(f"cannot read the pipeline file: {exc}", source=str(path)) from None


class _Found:
    """The problems found so far; raised at once when only the first is wanted, else once ``limit`` is passed."""

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 1)
        self.errors: list[PipelineError] = []
        self.bad: set[Path_] = set()  # a top-level key or ("stages", i) that has a problem already

    def add(self, error: PipelineError, area: Path_) -> None:
        if self.limit == 1:
            raise error
        self.bad.add(area)
        self.errors.append(error)
        if len(self.errors) > self.limit:
            raise self.result()

    def result(self) -> PipelineError:
        if len(self.errors) == 1:
            return self.errors[0]
        chosen = sorted(self.errors[: self.limit], key=lambda e: e.line or 0)
        return PipelineErrors(chosen, more=len(self.errors) > self.limit)


def _area(path: Path_) -> Path_:
    return path[:2] if path[:1] == ("stages",) else path[:1]


def load_pipeline(path_or_text: str | Path, *, env: Mapping[str, str] | None = None, limit: int = 1) -> Stages:
    """Read, interpolate, structure and check a pipeline; raise :class:`PipelineError` on a problem.

    With ``limit`` above 1, problems independent of each other (in different stages or top-level keys) are
    all looked for, up to ``limit``, and raised together as :class:`PipelineErrors`; a stage's or a
    setting's structure still gives its first problem only. A file that is not a pipeline at all (not YAML,
    no ``stages:`` list) is one problem whatever the limit.
    """
    found = _Found(limit)
    text, source, base_dir = _read(path_or_text)
    doc = yamlsource.parse(text, source, os.environ if env is None else env)
    ctx = _Context(source, doc)
    data = _normalise_top(doc, ctx, found)
    doc.data = data
    for path, name in doc.missing_vars:
        if _area(path) not in found.bad:
            message = f"environment variable {name} is not set (write ${{{name}:-default}} for a default)"
            found.add(ctx.error(path, message), _area(path))
    settings_data = {k: v for k, v in data.items() if k != "stages" and (k,) not in found.bad}
    try:
        settings = _structure(ctx, settings_data, Settings, ())
    except PipelineError as exc:
        found.add(exc, ("settings",))
        settings = None
    if settings is not None:
        from ductflow_core.pipeline.settings import settings_problems

        for key, message in settings_problems(settings, base_dir):
            found.add(ctx.error(key, message), _area(key))
    stages: list[Stage] = []
    for i, raw in enumerate(data["stages"]):
        if ("stages", i) in found.bad:
            continue
        try:
            stages.append(_stage(ctx, raw, i))
        except PipelineError as exc:
            found.add(exc, ("stages", i))
    if settings is None or found.errors:
        raise found.result()
    pipeline = Stages(
        stages=stages,
        settings=settings,
        source=source,
        base_dir=base_dir,
        lines=dict(doc.lines),
        secrets=frozenset(doc.secrets),
        secret_paths=frozenset(doc.secret_paths),
        env_values={path: tuple(values) for path, values in doc.env_values.items()},
    )
    from ductflow_core.pipeline.plan import check_references

    # Each stage's first bad reference is reported; with limit 1 that is the first of all, raised at once.
    check_references(pipeline, ctx.error, lambda exc, path: found.add(exc, _area(path)))
    if found.errors:
        raise found.result()
    return pipeline


def _normalise_top(doc: yamlsource.Document, ctx: _Context, found: _Found) -> dict[str, Any]:
    data = doc.data
    if data is None:
        empty = "the pipeline is empty; write a list of stages, or a mapping with 'stages:'"
        raise PipelineError(empty, source=ctx.source)
    if isinstance(data, list):
        # The list form: shift every recorded path under "stages" so both forms share one line map.
        doc.lines = {("stages", *p): line for p, line in doc.lines.items()}
        doc.secret_paths = {("stages", *p) for p in doc.secret_paths}
        doc.missing_vars = [(("stages", *p), n) for p, n in doc.missing_vars]
        doc.env_values = {("stages", *p): v for p, v in doc.env_values.items()}
        doc.problems = [(("stages", *p), m) for p, m in doc.problems]
        data = {"stages": data}
    if not isinstance(data, dict):
        raise ctx.error(
            (), f"expected a list of stages or a mapping with 'stages:', got {_convert.describe_value(data)}"
        )
    for key in data:
        if key not in _TOP_KEYS:
            found.add(ctx.error((key,), _convert.unknown_key_message(key, _TOP_KEYS)), (key,))
    stages = data.get("stages")
    if not isinstance(stages, list) or not stages:
        # A misspelt top-level key (``stagse:``) is the likely cause: it is the one to report.
        if found.errors:
            raise found.result()
        if "stages" not in data:
            raise ctx.error((), "missing key 'stages' (the list of stages)")
        if not isinstance(stages, list):
            raise ctx.error(("stages",), f"expected a list of stages, got {_convert.describe_value(stages)}")
        raise ctx.error(("stages",), "the pipeline has no stages")
    doc.data = data  # stage labels read the stages
    if doc.problems and found.limit == 1:
        path, message = min(doc.problems, key=lambda p: ctx.line(p[0]) or 0)
        raise ctx.error(path, message)
    for path, message in sorted(doc.problems, key=lambda p: ctx.line(p[0]) or 0):
        if _area(path) not in found.bad:
            found.add(ctx.error(path, message), _area(path))
    return data


#: Unicode categories a stage name may not use: controls, line and paragraph separators, lone surrogates.
_UNPRINTABLE = frozenset({"Cc", "Zl", "Zp", "Cs"})
#: Characters that reorder the text around them when printed (embeddings, overrides, isolates).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _stage(ctx: _Context, raw: Any, index: int) -> Stage:
    path: Path_ = ("stages", index)
    if not isinstance(raw, dict):
        raise ctx.error(path, f"expected a mapping with 'name' and 'kind', got {_convert.describe_value(raw)}")
    if "name" not in raw:
        raise ctx.error(path, "missing key 'name'")
    if not isinstance(raw["name"], str) or not raw["name"].strip():
        raise ctx.error((*path, "name"), f"expected a non-empty string, got {_convert.describe_value(raw['name'])}")
    if any(unicodedata.category(c) in _UNPRINTABLE or c in _BIDI_CONTROLS for c in raw["name"]):
        # A table name DuckDB would keep, but no progress line, error or `show:` could print it as one line
        # that reads as what it is (a line break, or text turned around by a bidi control, hides its meaning).
        raise ctx.error((*path, "name"), "a stage name cannot hold control characters (NUL, newline, tab, ...)")
    if "kind" not in raw:
        raise ctx.error(path, f"missing key 'kind' (one of {', '.join(STAGE_CLASSES)})")
    kind = raw["kind"]
    if not isinstance(kind, str) or kind not in STAGE_CLASSES:
        hint = did_you_mean(str(kind), STAGE_CLASSES)
        choices = ", ".join(STAGE_CLASSES)
        raise ctx.error((*path, "kind"), f"unknown stage kind {kind!r}; expected one of {choices}{hint}")
    data = dict(raw)
    if "from" in data:
        data["from_"] = data.pop("from")
    if isinstance(data.get("connection"), dict):
        data["connection"] = _short_form(ctx, data["connection"], (*path, "connection"))
    if isinstance(data.get("show"), bool):
        data["show"] = 10 if data["show"] else 0
    return _structure(ctx, data, STAGE_CLASSES[kind], path)


def _short_form(ctx: _Context, conn: dict[str, Any], path: Path_) -> dict[str, Any]:
    """``kind: csv`` means ``kind: CustomConnection`` with ``locator: csv``."""
    kind = conn.get("kind", "CustomConnection")
    if isinstance(kind, str) and not kind.strip():
        got = _convert.describe_value(kind)
        raise ctx.error((*path, "kind"), f"expected 'CustomConnection' or a locator, got {got}")
    if isinstance(kind, str) and kind != "CustomConnection" and ("module" in conn or "classname" in conn):
        # A locator that is not installed falls back to module/classname; taking a misspelt
        # `CustomConnection` for a locator would hide the typo behind that fallback.
        hint = did_you_mean(kind, ["CustomConnection"])
        raise ctx.error(
            (*path, "kind"),
            f"with 'module' and 'classname', kind is 'CustomConnection', got {kind!r}{hint}; "
            "name a plugin to prefer over them in 'locator:'",
        )
    if isinstance(kind, str) and kind != "CustomConnection" and "locator" not in conn:
        conn = {**conn, "kind": "CustomConnection", "locator": kind}
    elif "kind" not in conn:
        conn = {**conn, "kind": "CustomConnection"}
    return conn


def _yaml_keys(path: Path_) -> Path_:
    return tuple("from" if part == "from_" else part for part in path)


def _structure(ctx: _Context, data: dict[str, Any], cls: type[Any], path: Path_) -> Any:
    try:
        return _convert.structure(data, cls)
    except Exception as exc:
        problems = list(_convert.flatten(exc, cls))
        if not problems:  # pragma: no cover - a converter failure we cannot explain
            raise
        # A misspelt key usually explains a "missing" one, so it is the one to report.
        first = min(problems, key=lambda p: (not p[1].startswith("unknown key"), ctx.line((*path, *p[0])) or 0))
        sub, message = _yaml_keys(first[0]), first[1]
        extra = where.also_wrong(_yaml_keys(p[0]) for p in problems if p is not first)
        raise ctx.error((*path, *sub), message + extra) from None
