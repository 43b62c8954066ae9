"""Typed connection parameters: read a class's declared params and check YAML against them.

A connection declares params either as class annotations (``port: int = 5432``)
or as attrs fields. The declaration is turned into an attrs class once, so the
shared converter checks params with the same precise errors as the pipeline.
"""

from __future__ import annotations

import functools
import sys
import typing
from typing import Any

import attrs

from . import _convert

_MISSING = attrs.NOTHING


def _own_hints(cls: type[Any]) -> dict[str, Any]:
    """Annotations declared on the Connection subclasses of ``cls``'s MRO, evaluated, base first."""
    from .connection import Connection

    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass is Connection or not (isinstance(klass, type) and issubclass(klass, Connection)):
            continue
        module = sys.modules.get(klass.__module__)
        globalns = vars(module) if module else {}
        for name, ann in vars(klass).get("__annotations__", {}).items():
            hints[name] = eval(ann, globalns, dict(vars(klass))) if isinstance(ann, str) else ann
    return hints


def declared_params(cls: type[Any]) -> dict[str, tuple[Any, Any]] | None:
    """``{name: (type, default)}`` for the params ``cls`` declares, or ``None`` when it declares none.

    A default of ``attrs.NOTHING`` marks a required param.
    """
    return _declared(cls)  # type: ignore[arg-type]


@functools.cache
def _declared(cls: Any) -> dict[str, tuple[Any, Any]] | None:
    if attrs.has(cls):
        return {a.name: (a.type, a.default) for a in attrs.fields(cls) if a.init}
    from .connection import Connection

    base = set(Connection.__annotations__)
    try:
        hints = _own_hints(cls)
    except Exception:
        # Annotations that cannot be resolved are not a typed declaration we can check.
        return None
    out: dict[str, tuple[Any, Any]] = {}
    for name, typ in hints.items():
        if name in base or name.startswith("_") or typing.get_origin(typ) is typing.ClassVar:
            continue
        out[name] = (typ, getattr(cls, name, _MISSING))
    return out or None


@functools.cache
def _params_class(cls: Any, given: frozenset[str] | None = None) -> type[Any] | None:
    """The attrs class that checks params of ``cls``: every declared param, or only the required and ``given`` ones.

    A class of only what a stage sets is far cheaper to generate (attrs and cattrs each compile code per field,
    about 5 ms for a class of twenty) and checks those params the same way; defaults stay with ``cls``.
    """
    spec = declared_params(cls)
    if spec is None:
        return None
    if given is not None:
        spec = {name: decl for name, decl in spec.items() if name in given or decl[1] is _MISSING}
    fields: dict[str, Any] = {}
    # attrs wants required fields before ones with defaults.
    for name, (typ, default) in sorted(spec.items(), key=lambda item: item[1][1] is not _MISSING):
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            fields[name] = attrs.field(type=typ, default=default)
        elif default is _MISSING:
            fields[name] = attrs.field(type=typ)
        else:
            fields[name] = attrs.field(type=typ, default=default)
    return attrs.make_class(f"{cls.__name__}Params", fields, frozen=True)


class ParamsInvalid(Exception):
    """Params do not match a class's declaration; ``errors`` holds ``(path, message)`` pairs."""

    def __init__(self, errors: list[tuple[tuple[Any, ...], str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in errors))
        self.errors = errors


def check_params(cls: type[Any], params: dict[str, Any]) -> dict[str, Any]:
    """Return ``params`` structured into the declared types; raise :class:`ParamsInvalid`.

    For a class that declares nothing, ``params`` pass through as they are.
    Only keys that were given are returned: defaults stay with the class.
    """
    spec = declared_params(cls)
    if spec is None:
        return dict(params)
    # An unknown key needs the whole class, so the error can list every param the class knows.
    # typeshed's functools.cache wants Hashable arguments and does not count type[Any] as one.
    model = _params_class(cls, frozenset(params) if params.keys() <= spec.keys() else None)  # type: ignore[arg-type]
    assert model is not None
    try:
        structured = _convert.structure(params, model)
    except Exception as exc:
        raise ParamsInvalid(list(_convert.flatten(exc, model))) from exc
    return {name: getattr(structured, name) for name in params}
