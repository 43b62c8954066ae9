"""Entry points of the installed distributions, read straight from their ``*.dist-info`` folders.

``importlib.metadata`` answers the same question but imports the ``email``
package to do it, a large share of ``ductflow validate``'s start-up. Reading
``entry_points.txt`` directly is enough: the first distribution of a name on
``sys.path`` wins, as with ``importlib.metadata``.

Installed means found through the trusted part of ``sys.path``: not the folder Python
put first because it was the current one (``python -m``, ``python -c``), and not a
pipeline's folder (see :func:`add_local`). Code from those folders never stands in
for an installed package: not for an entry point, not for a pipeline's ``module:``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.machinery
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

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
    """``(group, name, value, dist_folder)`` of every entry point in ``groups`` installed on ``paths``.

    ``paths`` defaults to the trusted entries of ``sys.path`` (see :func:`trusted_paths`).
    """
    wanted = set(groups)
    found: list[tuple[str, str, str, Path]] = []
    for folder in _folders(trusted_paths() if paths is None else paths):
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


def _implicit_entry() -> str | None:
    """The entry Python put first on ``sys.path`` because it is the current folder, if it did."""
    if getattr(sys.flags, "safe_path", False) or not sys.path:
        return None
    first = sys.path[0]
    if first == "":
        return first
    with contextlib.suppress(OSError):
        if os.path.realpath(first) == os.path.realpath(os.getcwd()):
            return first
    return None


#: Read once, at import: later on sys.path[0] may be anything a program put there.
_IMPLICIT = _implicit_entry()
_LOCAL: set[str] = set()
_PATH_LOCK = threading.RLock()


def add_local(folder: str) -> None:
    """Put a pipeline's folder at the end of ``sys.path``: its modules import, and shadow nothing installed.

    A folder already on ``sys.path`` stays where it is, as trusted as it was.
    """
    with _PATH_LOCK:
        if folder not in sys.path:
            _LOCAL.add(folder)
            sys.path.append(folder)


def drop_implicit_entry() -> None:
    """Remove the current folder Python put first on ``sys.path`` (what ``python -P`` does), for the CLI."""
    global _IMPLICIT
    with _PATH_LOCK:
        if _IMPLICIT is not None and sys.path[:1] == [_IMPLICIT]:
            del sys.path[0]
            _IMPLICIT = None  # gone: a copy of the folder left on the path was put there on purpose


def trusted_paths() -> list[str]:
    """``sys.path`` without the implicit current folder and the pipeline folders added by :func:`add_local`.

    The implicit entry counts only while it is there once: the same folder added again (a ``.pth`` file,
    ``PYTHONPATH``) was put there on purpose.
    """
    implicit_alone = _IMPLICIT is not None and sys.path.count(_IMPLICIT) == 1
    return [e for e in sys.path if not (e == "" or e in _LOCAL or (implicit_alone and e == _IMPLICIT))]


@contextlib.contextmanager
def trusted_sys_path() -> Iterator[None]:
    """Import with ``sys.path`` cut to its trusted entries; entries added meanwhile are kept."""
    with _PATH_LOCK:
        saved = list(sys.path)
        sys.path[:] = trusted_paths()
        try:
            yield
        finally:
            added = [entry for entry in sys.path if entry not in saved]
            sys.path[:] = saved + added


def installed_spec(name: str) -> importlib.machinery.ModuleSpec | None:
    """Where the top-level module ``name`` is installed, ignoring ``sys.modules`` and untrusted folders."""
    with trusted_sys_path():
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            try:
                spec = find(name, None)
            except Exception:  # a finder that cannot answer for this name: the others still can
                continue
            if spec is not None:
                return spec
    return None


class ShadowedModule(ImportError):
    """A module already imported from somewhere else than where its package is installed."""


def _places(obj: Any) -> set[str]:
    """The real folders (a package, all parts of a namespace package) or file a module or spec comes from."""
    if isinstance(obj, ModuleType):
        locations = getattr(obj, "__path__", None)
        spec = getattr(obj, "__spec__", None)
        origin = getattr(spec, "origin", None) or getattr(obj, "__file__", None)
    else:
        locations = getattr(obj, "submodule_search_locations", None)
        origin = getattr(obj, "origin", None)
    if locations:
        return {os.path.realpath(p) for p in locations}
    if not origin:
        return set()
    return {origin if origin in ("built-in", "frozen") else os.path.realpath(origin)}


def check_not_shadowed(module: str) -> bool:
    """Whether ``module``'s top-level package is installed; raise if it was imported from elsewhere.

    :raises ShadowedModule: ``module`` or a package above it is in ``sys.modules`` from another place
        than the installed one (a pipeline-local copy imported first).
    """
    top = module.split(".", 1)[0]
    spec = installed_spec(top)
    if spec is None:
        return False
    loaded = sys.modules.get(top)
    if loaded is not None:
        here, there = _places(loaded), _places(spec)
        if not here or not here <= there:
            shown = ", ".join(sorted(here - there)) or "nowhere on disk"
            raise ShadowedModule(
                f"module {top!r} was imported from {shown}, not from where it is installed "
                f"({', '.join(sorted(there))}); a pipeline's own modules may not stand in for an installed package"
            )
    parts = module.split(".")
    for depth in range(2, len(parts) + 1):
        name = ".".join(parts[:depth])
        child, parent = sys.modules.get(name), sys.modules.get(".".join(parts[: depth - 1]))
        if child is None or parent is None:
            break
        folders = [os.path.realpath(p) for p in getattr(parent, "__path__", None) or []]
        places = _places(child)
        inside = [w for w in places if any(w == f or w.startswith(f.rstrip(os.sep) + os.sep) for f in folders)]
        if not places or len(inside) != len(places):
            shown = ", ".join(sorted(places)) or "nowhere on disk"
            raise ShadowedModule(f"module {name!r} was imported from {shown}, outside its package")
    return True


def import_installed(module: str) -> ModuleType:
    """Import ``module`` from where its package is installed (see :func:`check_not_shadowed`)."""
    check_not_shadowed(module)
    with trusted_sys_path():
        return importlib.import_module(module)


def load(value: str) -> object:
    """Import the object an entry point names: ``package.module:attribute.path``, from its installed package."""
    target = value.split("[", 1)[0].strip()  # drop an extras marker
    module, _, attribute = target.partition(":")
    obj: object = import_installed(module.strip())
    for part in filter(None, attribute.strip().split(".")):
        obj = getattr(obj, part)
    return obj
