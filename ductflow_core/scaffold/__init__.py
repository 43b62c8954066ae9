"""Write a new connection plugin distribution from the templates in ``template/``.

Templates are plain files with ``$name``-style placeholders (:class:`string.Template`);
a ``.tmpl`` suffix is dropped and a ``__package__`` folder takes the package's name.
"""

from __future__ import annotations

import keyword
import re
import string
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from ductflow_core.errors import DuctflowError

_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


class ScaffoldError(DuctflowError):
    """The plugin cannot be written: a bad name, or a folder that is already in use."""


def names(name: str) -> dict[str, str]:
    """Every spelling of a plugin name the templates use: ``my-api`` → locator, distribution, package, class."""
    locator = name.removeprefix("ductflow-")
    if not _NAME.fullmatch(locator):
        raise ScaffoldError(
            f"plugin name {name!r} must be lower-case letters and digits, words joined by '-' (like 'my-api')"
        )
    package = "ductflow_" + locator.replace("-", "_")
    if keyword.iskeyword(package):  # pragma: no cover - the prefix makes this impossible today
        raise ScaffoldError(f"plugin name {name!r} makes the package name {package!r}, a Python keyword")
    words = locator.split("-")
    return {
        "locator": locator,
        "distribution": f"ductflow-{locator}",
        "package": package,
        "class_name": "".join(w.capitalize() for w in words) + "Connection",
        "title": " ".join(words),
    }


def create(name: str, parent: Path) -> Path:
    """Write distribution ``ductflow-<name>`` into ``parent/ductflow-<name>`` and return that folder."""
    values = names(name)
    target = parent / values["distribution"]
    if target.exists() and any(target.iterdir()):
        raise ScaffoldError(f"{target} already exists and is not empty")
    _copy(resources.files(__package__).joinpath("template"), target, values)
    return target


def _copy(source: Traversable, target: Path, values: dict[str, str]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__":
            continue
        name = values["package"] if entry.name == "__package__" else entry.name.removesuffix(".tmpl")
        if entry.is_dir():
            _copy(entry, target / name, values)
        else:
            text = entry.read_text(encoding="utf-8")
            if entry.name.endswith(".tmpl"):
                text = string.Template(text).substitute(values)
            (target / name).write_text(text, encoding="utf-8")
