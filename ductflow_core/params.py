"""Typed connection parameters: read a class's declared params and check YAML against them.

A connection declares params either as class annotations (``port: int = 5432``)
or as attrs fields. The declaration is turned into an attrs class once, so the
shared converter checks params with the same precise errors as the pipeline.

A param's annotation may carry constraints as :data:`typing.Annotated` metadata,
checked after the value has its declared type::

    skip: Annotated[int | None, Range(min=0), ReadOnly()] = None
    path: Annotated[str, NonEmpty()]
    partition_by: Annotated[list[str] | None, NonEmpty(), WriteOnly()] = None

:class:`Range` bounds a number, :class:`NonEmpty` refuses ``''`` (and blank
strings), ``[]`` and ``{}``, :class:`ReadOnly` allows the param on a tap stage
only and :class:`WriteOnly` on a sink stage only. ``null`` (the param left
unset) passes every constraint. Only params a stage gives are checked: defaults
are the class's own business. Range and NonEmpty are checked by the shared
converter as it structures each value (so pipeline models use them too); the
role constraints here, since only :func:`check_params` knows the stage's role.
"""

from __future__ import annotations

import functools
import sys
import types
import typing
from typing import Any

import attrs

from ductflow_core.pipeline import convert as _convert
from ductflow_core.pipeline.convert import Constraint, ConstraintViolation, NonEmpty, Range, ReadOnly, WriteOnly

__all__ = [
    "Constraint",
    "ConstraintViolation",
    "NonEmpty",
    "ParamsInvalid",
    "Range",
    "ReadOnly",
    "Role",
    "WriteOnly",
    "check_params",
    "constraints_of",
    "declared_params",
    "param_constraints",
]

_MISSING = attrs.NOTHING

#: The stage roles a connection can play, as ``check_params`` and ``Connection.check_stage`` name them.
Role = typing.Literal["tap", "sink", "sql"]


def constraints_of(typ: Any) -> tuple[Constraint, ...]:
    """The constraints in an annotation: ``Annotated`` metadata at the top or on a member of a union."""
    found = list(_convert.constraints_in(typ))
    if typing.get_origin(typ) is typing.Annotated:
        typ = typing.get_args(typ)[0]
    if typing.get_origin(typ) in (typing.Union, types.UnionType):
        for member in typing.get_args(typ):
            found.extend(_convert.constraints_in(member))
    return tuple(found)


def param_constraints(cls: type[Any]) -> dict[str, tuple[Constraint, ...]]:
    """``{param: constraints}`` for the params of ``cls`` that declare any."""
    return _constraints(cls)  # type: ignore[arg-type]


@functools.cache
def _constraints(cls: Any) -> dict[str, tuple[Constraint, ...]]:
    spec = declared_params(cls) or {}
    out = {name: constraints_of(typ) for name, (typ, _) in spec.items()}
    return {name: found for name, found in out.items() if found}


def _own_hints(cls: type[Any]) -> dict[str, Any]:
    """Annotations declared on the Connection subclasses of ``cls``'s MRO, evaluated, base first."""
    from ductflow_core.connection import Connection

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
    from ductflow_core.connection import Connection

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

    A class of only what a stage sets is far cheaper to generate (attrs and cattrs each compile code per field)
    and checks those params the same way; defaults stay with ``cls``.
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


def check_params(cls: type[Any], params: dict[str, Any], role: Role | None = None) -> dict[str, Any]:
    """Return ``params`` structured into the declared types and checked against their constraints.

    ``role`` is the kind of stage the params are for (``"tap"``, ``"sink"`` or ``"sql"``); ``None`` skips the
    :class:`ReadOnly`/:class:`WriteOnly` checks. For a class that declares nothing, ``params`` pass through as
    they are. Only keys that were given are returned: defaults stay with the class.

    :raises ParamsInvalid: with every problem found, as ``((param, ...), message)`` pairs.
    """
    spec = declared_params(cls)
    if spec is None:
        return dict(params)
    # An unknown key needs the whole class, so the error can list every param the class knows.
    # typeshed's functools.cache wants Hashable arguments and does not count type[Any] as one.
    model = _params_class(cls, frozenset(params) if params.keys() <= spec.keys() else None)  # type: ignore[arg-type]
    assert model is not None
    # A param on the wrong kind of stage is that, whatever its value: its role problem replaces any other.
    limits = param_constraints(cls)
    misplaced: dict[str, str] = {}
    for name in params:
        for constraint in limits.get(name, ()):
            # null is "not set": it passes every constraint, on either kind of stage.
            role_bound = isinstance(constraint, (ReadOnly, WriteOnly)) and params[name] is not None
            problem = constraint.problem(params[name], role) if role_bound else None
            if problem is not None:
                misplaced.setdefault(name, problem)
    try:
        structured = _convert.structure(params, model)
    except Exception as exc:
        found = [e for e in _convert.flatten(exc, model) if not (e[0] and e[0][0] in misplaced)]
        found = _without_misspelt_required(params, spec, found)
        raise ParamsInvalid(_in_given_order(params, found + [((n,), m) for n, m in misplaced.items()])) from exc
    if misplaced:
        raise ParamsInvalid([((n,), m) for n, m in misplaced.items()])
    # Range and NonEmpty were checked by the converter, field by field, as it structured the values.
    return {name: getattr(structured, name) for name in params}


def _without_misspelt_required(
    params: dict[str, Any], spec: dict[str, tuple[Any, Any]], errors: list[tuple[tuple[Any, ...], str]]
) -> list[tuple[tuple[Any, ...], str]]:
    """``errors`` less "missing required key" for a param an unknown key is a misspelling of.

    ``pth: x`` for a required ``path`` is one mistake: the unknown key's did-you-mean names it, and a second
    problem for the missing ``path`` would only send the reader looking for another.
    """
    import difflib

    unknown = [key for key in params if key not in spec]
    if not unknown:
        return errors
    missing = [e[0][0] for e in errors if len(e[0]) == 1 and e[1] == "missing required key"]
    meant = {match for key in unknown for match in difflib.get_close_matches(key, list(spec), n=1)}
    return [e for e in errors if not (len(e[0]) == 1 and e[0][0] in missing and e[0][0] in meant)]


def _in_given_order(
    params: dict[str, Any], errors: list[tuple[tuple[Any, ...], str]]
) -> list[tuple[tuple[Any, ...], str]]:
    order = {name: i for i, name in enumerate(params)}
    return sorted(errors, key=lambda e: order.get(e[0][0], len(order)) if e[0] else -1)
