"""Putting a finished file or folder in place so readers never see half of one, and deleting nothing else.

A sink writes into ``<folder>/.ductflow-tmp/`` (``folder`` being the target's own folder) and renames the
result into place only once the write succeeded; that folder is on the same file system, so the rename
does not copy. Globs users write over the destination folder (``out/*``, ``out/*.parquet``,
``out/**/*.parquet``) do not reach it: DuckDB's ``*`` matches files, not folders, and the temporary names
end in ``.tmp``, never in a format's suffix. ``out/**`` does reach it while a write runs or after one was
killed; the next write into the folder removes what a killed one left.

Each temporary entry ``<token>.tmp`` (and ``<token>.old``, a folder moved aside) belongs to the lock file
``<token>.lock``, which its writer holds an ``fcntl.flock`` on from before the entry exists until after it
is gone. A writer that was killed holds no lock any more, so whoever can take the lock may delete the
entries; a live writer's are never touched.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

#: The hidden folder, next to a sink's target, that holds its temporary files while it writes.
TEMP_FOLDER = ".ductflow-tmp"
#: An empty hidden folder inside a partitioned sink's output that marks it as made by a sink. A folder rather
#: than a file: DuckDB's globs list files only, so ``parts/*`` or ``parts/**`` never picks the marker up.
MARKER = ".ductflow-sink"

_LOCK = ".lock"
_OWNED = (".tmp", ".old")
#: Attempts at creating a lock file while another process empties and removes the temporary folder.
_ATTEMPTS = 20


class Refused(Exception):
    """What is at a sink's target is not the sink's to replace; the message says what it is."""


def kind_of(path: Path) -> str | None:
    """What is at ``path`` after following symlinks: ``"file"``, ``"folder"``, another kind's name, or ``None``."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def made_by_a_sink(folder: Path) -> bool:
    """Whether ``folder`` holds the marker a partitioned sink puts in every folder it writes."""
    return os.path.isdir(folder / MARKER) and not os.path.islink(folder / MARKER)


def is_empty_folder(folder: Path) -> bool:
    """Whether ``folder`` is a folder with nothing in it."""
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except OSError:
        return False


def remove(path: Path) -> None:
    """Delete a file or a folder tree; a path that is already gone is fine, and so is one that cannot go.

    Only ever called on this module's own temporary entries, after the real error (if any) was recorded:
    a failure to clean up must not replace it.
    """
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


def _lock_holds(fd: int, path: Path) -> bool:
    """Whether the file ``fd`` is open on is still the one at ``path`` (a cleaner may have unlinked it)."""
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except OSError:
        return False


class Staging:
    """The temporary name of one write into ``folder``, held under a lock until :meth:`close`.

    ``temp`` is where the write goes, ``aside`` where a folder being replaced is moved before it is deleted.
    """

    def __init__(self, folder: Path) -> None:
        self.area = folder / TEMP_FOLDER
        for _ in range(_ATTEMPTS):
            self.area.mkdir(exist_ok=True)
            token = secrets.token_hex(8)
            self.lock_path = self.area / (token + _LOCK)
            try:
                fd = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileNotFoundError:
                continue  # another process removed the empty area between mkdir and open
            fcntl.flock(fd, fcntl.LOCK_EX)
            if _lock_holds(fd, self.lock_path):
                self._fd = fd
                break
            # A cleaner took the file for a dead writer's before this lock was on it: start again.
            os.close(fd)
        else:  # pragma: no cover - only under a storm of concurrent cleaners
            raise OSError(errno.EAGAIN, "cannot create a temporary file", str(self.area))
        self.temp = self.area / (token + ".tmp")
        self.aside = self.area / (token + ".old")

    def close(self) -> None:
        """Delete the temporary entries, then the lock, then the area if it is empty."""
        remove(self.temp)
        remove(self.aside)
        with contextlib.suppress(OSError):
            self.lock_path.unlink()
        os.close(self._fd)
        with contextlib.suppress(OSError):
            self.area.rmdir()

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def staging(folder: Path) -> Iterator[Staging]:
    """A :class:`Staging` in ``folder`` (created if missing), closed on the way out whatever happens."""
    folder.mkdir(parents=True, exist_ok=True)
    with Staging(folder) as staged:
        yield staged


def clean_stale(folder: Path) -> None:
    """Delete what killed writes left in ``folder``'s temporary area; entries of live writes stay.

    A lock that can be taken has no writer: its entries go, then the lock. An entry whose lock file is gone
    was left by a write killed while cleaning up (a writer creates its lock before its entries and deletes
    it after them), so it goes too.
    """
    area = folder / TEMP_FOLDER
    try:
        names = os.listdir(area)
    except OSError:
        return
    tokens = {name[: -len(_LOCK)] for name in names if name.endswith(_LOCK)}
    for token in sorted(tokens):
        _clean_token(area, token)
    for name in names:
        token, dot, suffix = name.rpartition(".")
        if dot and f".{suffix}" in _OWNED and token not in tokens and not (area / (token + _LOCK)).exists():
            remove(area / name)
    with contextlib.suppress(OSError):
        area.rmdir()


#: The temporary names sinks used before the temporary area existed: ``.<target>.tmp-1a2b3c4d`` (``.old-`` for
#: a folder moved aside), next to the target. They had no lock, so only the current target's are removed.
_LEGACY = re.compile(r"\.(?P<target>.+)\.(?:tmp|old)-[0-9a-f]{8}")


def clean_legacy(target: Path) -> None:
    """Delete what a killed write of ``target`` by an earlier version of this plugin left next to it."""
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        found = _LEGACY.fullmatch(name)
        if found is not None and found.group("target") == target.name:
            remove(target.parent / name)


def _clean_token(area: Path, token: str) -> None:
    lock_path = area / (token + _LOCK)
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except OSError:
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # a live writer holds it
        if not _lock_holds(fd, lock_path):
            return
        _restore_aside(area, token, fd)
        for suffix in _OWNED:
            remove(area / (token + suffix))
        with contextlib.suppress(OSError):
            lock_path.unlink()
    finally:
        os.close(fd)


def _restore_aside(area: Path, token: str, lock_fd: int) -> None:
    """Put back a folder a killed write had moved aside before its own was in place (its target is missing).

    :func:`put_folder` writes the target's name into the lock before the first rename, so the folder
    cannot be mistaken for leftovers and deleted: until a later write succeeds, it is the last output.
    """
    aside = area / (token + ".old")
    if not os.path.isdir(aside):
        return
    os.lseek(lock_fd, 0, os.SEEK_SET)
    name = os.read(lock_fd, 4096).decode("utf-8", "surrogateescape")
    if not name or "/" in name or name in (".", ".."):
        return
    target = area.parent / name
    if not os.path.lexists(target):
        os.rename(aside, target)


def put_file(staged: Path, target: Path) -> None:
    """Rename the written file ``staged`` over ``target``: one atomic ``os.replace``.

    Checked again right before: whatever appeared at ``target`` since the sink started must still be a file.
    """
    found = "symbolic link" if os.path.islink(target) else kind_of(target)
    if found not in (None, "file"):
        raise Refused(f"it is a {found} now, not a file")
    os.replace(staged, target)


#: The extension a partitioned sink's files have while they are written: never a format's suffix, so no glob
#: for ``*.parquet``, ``*.csv*`` or ``*.json*`` reaches them, wherever the folder is.
STAGED_EXTENSION = "tmp"


def name_staged_files(staged: Path, extension: str) -> None:
    """Give the files of a written partitioned folder their real extension (``data_0.tmp.gz`` -> ``data_0.csv.gz``)."""
    marker = f".{STAGED_EXTENSION}"
    for folder, _, files in os.walk(staged):
        for name in files:
            head, found, tail = name.rpartition(marker)
            if found:
                os.rename(os.path.join(folder, name), os.path.join(folder, f"{head}.{extension}{tail}"))


def put_folder(staged: Path, target: Path, aside: Path) -> None:
    """Put the written folder ``staged`` at ``target``, replacing a folder a sink made or an empty one.

    A folder cannot replace a non-empty one in one rename, so the old one is moved to ``aside`` first and
    put back if the second rename fails; then it is deleted.
    """
    (staged / MARKER).mkdir(exist_ok=True)
    found = kind_of(target)
    if found is None:
        os.rename(staged, target)
        return
    if found != "folder" or os.path.islink(target) or not (made_by_a_sink(target) or is_empty_folder(target)):
        raise Refused("it is now something other than a folder a sink made or an empty folder")
    # Killed between the two renames, the old folder is all there is: the lock names where it belongs.
    lock_path = aside.with_name(aside.name[: -len(".old")] + _LOCK)
    lock_path.write_bytes(target.name.encode("utf-8", "surrogateescape"))
    os.rename(target, aside)
    try:
        os.rename(staged, target)
    except BaseException:
        os.rename(aside, target)
        raise
    remove(aside)
