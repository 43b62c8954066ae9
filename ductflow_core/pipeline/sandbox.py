"""The ``sandbox:`` of a run, by real paths: what DuckDB is told, and what a connection checks a path against.

DuckDB's ``allowed_directories`` check compares path strings, so a symlink inside an allowed folder
(``data/etc -> /etc``) or a listed folder that is itself a symlink (``data -> /etc``) would lead out
of it. Here every entry is resolved to its real path; an entry written as a relative path must stay
inside the pipeline's folder once resolved; and before a run every allowed folder is walked (bounded,
see :data:`WALK_LIMIT`) for symlinks that lead outside the allowed set.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import attrs

from ductflow_core.errors import PipelineError

#: Most entries (files, folders, links) looked at below the allowed folders before a run. Past it the
#: run is refused rather than half-checked: a link beyond the bound would be an unchecked way out.
WALK_LIMIT = 100_000


def real(path: str | os.PathLike[str]) -> str:
    """``path`` made absolute with every symlink resolved; parts that do not exist yet are kept as written."""
    return os.path.realpath(os.path.abspath(os.fspath(path)))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


@attrs.frozen
class RunSandbox:
    """The real folders and files a run may touch, and the spellings DuckDB is given for them.

    ``directories`` and ``paths`` are real paths. ``duckdb_directories`` and ``duckdb_paths`` add the
    entries as written (made absolute), which DuckDB compares against the paths SQL names; each of them
    was checked to resolve to one of the real ones.
    """

    directories: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    duckdb_directories: tuple[str, ...] = ()
    duckdb_paths: tuple[str, ...] = ()

    def allows(self, real_path: str) -> bool:
        """Whether the real path ``real_path`` is an allowed file or inside an allowed folder."""
        return real_path in self.paths or any(_inside(real_path, d) for d in self.directories)

    def problem(self, path: str | os.PathLike[str], write: bool = False) -> str | None:
        """Why ``path`` (a file, folder or glob pattern) may not be read (or written), else ``None``.

        A pattern is checked by its real fixed part: its matches must be checked one by one as well,
        since a match may be a symlink.
        """
        target = real(path)
        if self.allows(target):
            return None
        verb = "write" if write else "read"
        shown = os.fspath(path)
        via = "" if os.path.abspath(shown) == target else f" (it resolves to {target})"
        return f"cannot {verb} {shown!r}{via}: it is outside the sandbox's allowed_directories and allowed_paths"


def resolve(
    base_dir: Path,
    directories: Iterable[str],
    paths: Iterable[str],
    where: dict[tuple[str, int], str],
    hidden: frozenset[tuple[str, int]] = frozenset(),
) -> RunSandbox:
    """Resolve ``sandbox:`` entries against ``base_dir``.

    :param where: ``(key, index) -> "file:line"`` of each entry, for messages.
    :param hidden: the ``(key, index)`` of entries from ``${VAR}``: their real path is not shown either.
    :raises PipelineError: an entry written as a relative path whose real path leaves ``base_dir``.
    """
    base_real = real(base_dir)
    spelled: dict[str, list[str]] = {"allowed_directories": [], "allowed_paths": []}
    reals: dict[str, list[str]] = {"allowed_directories": [], "allowed_paths": []}
    for key, entries in (("allowed_directories", directories), ("allowed_paths", paths)):
        for index, entry in enumerate(entries):
            written = os.path.normpath(os.path.join(base_dir, entry))
            resolved = real(written)
            relative = not os.path.isabs(entry)
            if relative and not _inside(resolved, base_real):
                said = "it resolves" if (key, index) in hidden else f"{entry!r} resolves to {resolved},"
                raise PipelineError(
                    f"{where.get((key, index), '?')}: sandbox.{key}[{index}]: {said} "
                    "outside the pipeline's folder; write a path that leaves it as an absolute path"
                )
            spelled[key].append(written)
            reals[key].append(resolved)
    dirs = tuple(dict.fromkeys(reals["allowed_directories"]))
    files = tuple(dict.fromkeys(reals["allowed_paths"]))
    return RunSandbox(
        directories=dirs,
        paths=files,
        duckdb_directories=tuple(dict.fromkeys([*dirs, *spelled["allowed_directories"]])),
        duckdb_paths=tuple(dict.fromkeys([*files, *spelled["allowed_paths"]])),
    )


def _depth_inside(path: str, folders: Iterable[str]) -> int:
    """How many names ``path`` is below the outermost of ``folders`` holding it; -1 when none does."""
    depths = [len(os.path.relpath(path, f).split(os.sep)) if path != f else 0 for f in folders if _inside(path, f)]
    return max(depths, default=-1)


def escaping_link(sandbox: RunSandbox, limit: int = WALK_LIMIT) -> tuple[str, str] | None:
    """The first symlink below an allowed folder that leads outside the sandbox, as ``(link, why)``.

    ``why`` is its target and how it leads outside, for ``"<link> is a symlink to <why>"``.

    A link leads outside when its target is outside, and also when its target is a folder fewer names
    below an allowed folder than the link itself is: DuckDB resolves ``..`` by the text of a path, the
    system by the folder a link points to, so ``data/x/link/../f`` with ``link -> data`` is the text
    ``data/x/f`` and the file ``../f`` next to ``data``. Links are not followed while walking: the
    folder a link points to inside the sandbox is walked as the folder it is.

    :raises PipelineError: more than ``limit`` entries below the allowed folders.
    """
    roots = [d for d in sandbox.directories if os.path.isdir(d)]
    roots = [d for d in roots if not any(o != d and _inside(d, o) for o in roots)]
    seen = 0
    stack = [(d, 0) for d in roots]
    while stack:
        folder, depth = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # unreadable here is unreadable to DuckDB too
        for entry in entries:
            seen += 1
            if seen > limit:
                raise PipelineError(
                    f"sandbox: more than {limit} files below the allowed directories to check for symlinks "
                    "leading outside; list narrower folders"
                )
            if entry.is_symlink():
                target = real(entry.path)
                if not sandbox.allows(target):
                    return entry.path, f"{target}, outside the sandbox"
                if os.path.isdir(target) and _depth_inside(target, sandbox.directories) < depth + 1:
                    return entry.path, f"{target}, a folder from which '..' after the link leads outside the sandbox"
            elif entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, depth + 1))
    return None
