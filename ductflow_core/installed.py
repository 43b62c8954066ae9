"""Entry points of the installed distributions, read straight from their ``*.dist-info`` folders.

``importlib.metadata`` answers the same question but imports the ``email``
package to do it, a large share of ``ductflow validate``'s start-up. Reading
``entry_points.txt`` directly is enough: the first distribution of a name on
``sys.path`` wins, as with ``importlib.metadata``.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

_SUFFIXES = (".dist-info", ".egg-info")


def normalize(name: str) -> str:
    """A distribution name in its comparable form (``Ductflow-Files`` → ``ductflow_files``)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _folders(paths: Iterable[str]) -> Iterator[Path]:
    seen: set[str] = set()
    for entry in paths:
        base = Path(entry or ".")
        try:
            names = sorted(os.listdir(base))
        except OSError:  # a zip file or a folder that went away
            continue
        for name in names:
            if not name.endswith(_SUFFIXES):
                continue
            stem = name.rsplit(".", 1)[0]
            key = normalize(stem.split("-", 1)[0])
            if key not in seen:
                seen.add(key)
                yield base / name


def parse_entry_points(text: str) -> Iterator[tuple[str, str, str]]:
    """``(group, name, value)`` for each line of an ``entry_points.txt``."""
    group = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
            continue
        name, sep, value = line.partition("=")
        if sep and group:
            yield group, name.strip(), value.strip()


def entry_points(groups: Iterable[str], paths: Iterable[str] | None = None) -> list[tuple[str, str, str, Path]]:
    """``(group, name, value, dist_folder)`` of every entry point in ``groups`` installed on ``paths``."""
    wanted = set(groups)
    found: list[tuple[str, str, str, Path]] = []
    for folder in _folders(sys.path if paths is None else paths):
        try:
            text = (folder / "entry_points.txt").read_text(encoding="utf-8")
        except OSError:
            continue
        found.extend((g, n, v, folder) for g, n, v in parse_entry_points(text) if g in wanted)
    return found


@functools.cache
def name_and_version(folder: Path) -> tuple[str, str]:
    """The ``Name`` and ``Version`` headers of a distribution's metadata file."""
    name = version = ""
    for filename in ("METADATA", "PKG-INFO"):
        try:
            text = (folder / filename).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            if not line.strip():
                break  # the headers end at the first blank line
            if line.startswith("Name:"):
                name = line[5:].strip()
            elif line.startswith("Version:"):
                version = line[8:].strip()
        break
    return name or folder.name.split("-", 1)[0], version or "?"


def load(value: str) -> object:
    """Import the object an entry point names: ``package.module:attribute.path``."""
    import importlib

    target = value.split("[", 1)[0].strip()  # drop an extras marker
    module, _, attribute = target.partition(":")
    obj: object = importlib.import_module(module.strip())
    for part in filter(None, attribute.strip().split(".")):
        obj = getattr(obj, part)
    return obj
