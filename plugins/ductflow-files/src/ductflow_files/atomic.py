"""Putting a finished file or folder in place so readers never see half of one.

A sink writes into a hidden sibling of its target and only renames it into place
once the write succeeded; a sibling lives on the same file system, so the rename
does not copy.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path


def sibling(target: Path, purpose: str) -> Path:
    """A fresh hidden name next to ``target``, such as ``.totals.csv.tmp-1a2b3c4d``."""
    return target.parent / f".{target.name}.{purpose}-{secrets.token_hex(4)}"


def remove(path: Path) -> None:
    """Delete a file or a folder tree; a path that is already gone is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        # Not-a-directory: a parent is a file, so nothing can be at ``path``.
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            path.unlink()


def swap_into_place(staged: Path, target: Path) -> None:
    """Move ``staged`` to ``target``, replacing whatever is there.

    A file over a file (or over nothing) is one atomic ``os.replace``. A folder
    cannot replace a non-empty folder that way, so the old one is renamed aside
    first and put back if the second rename fails.
    """
    target_is_folder = target.is_dir() and not target.is_symlink()
    if not target_is_folder and (staged.is_file() or not os.path.lexists(target)):
        os.replace(staged, target)
        return
    aside = sibling(target, "old")
    os.rename(target, aside)
    try:
        os.rename(staged, target)
    except BaseException:
        os.rename(aside, target)
        raise
    remove(aside)
