"""The one cattrs converter that turns YAML data into Ductflow's objects.

It is strict where YAML is loose: ``"5"`` is not an int and ``"yes"`` is not a
bool, so a wrong type is reported instead of guessed. Errors come back as
``(path, message)`` pairs, the path being a tuple of keys and indexes.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import cattrs
import cattrs.cols as cols
import cattrs.gen
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from ductflow_core.errors import did_you_mean

Path_ = tuple[Any, ...]


class TypeMismatch(TypeError):
    """A YAML value is not of the type a field declares."""

    def __init__(self, expected: str, value: Any) -> None:
        super().__init__(f"expected {expected}, got {describe_value(value)}")
        self.value = value


def describe_value(value: Any) -> str:
    """Show a YAML value the way a user wrote it: ``'abc'``, ``12``, ``a list``."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _strict_str(value: Any, _: type) -> str:
    if isinstance(value, str):
        return value
    raise TypeMismatch("a string", value)


def _strict_int(value: Any, _: type) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeMismatch("int", value)


def _strict_float(value: Any, _: type) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TypeMismatch("a number", value)


def _strict_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeMismatch("true or false", value)


def _path(value: Any, _: type) -> Path:
    if isinstance(value, str):
        return Path(value)
    raise TypeMismatch("a path", value)


def _list_factory(typ: Any, conv: cattrs.Converter) -> Any:
    inner = cols.list_structure_factory(typ, conv)

    def structure_list(value: Any, cls: Any) -> Any:
        # A YAML string is iterable but is never meant as a list of its characters.
        if not isinstance(value, (list, tuple)):
            raise TypeMismatch("a list", value)
        return inner(value, cls)

    return structure_list


def _mapping_factory(typ: Any, conv: cattrs.Converter) -> Any:
    inner = cols.mapping_structure_factory(typ, conv)

    def structure_mapping(value: Any, cls: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeMismatch("a mapping", value)
        return inner(value, cls)

    return structure_mapping


def _attrs_factory(cls: Any, conv: cattrs.Converter) -> Any:
    inner = cattrs.gen.make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=True)

    def structure_attrs(value: Any, cl: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeMismatch("a mapping", value)
        return inner(value, cl)

    return structure_attrs


@attrs.frozen
class Range:
    """A number must lie in ``[min, max]`` (either bound may be left out); NaN is never in range.

    With ``exclusive_min``, ``min`` itself is out of range too (``Range(min=0, exclusive_min=True)``: above 0).
    """

    min: float | None = None
    max: float | None = None
    exclusive_min: bool = attrs.field(default=False, kw_only=True)

    def problem(self, value: Any, role: str | None) -> str | None:
        """Why ``value`` breaks the constraint, or ``None``."""
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if value != value:  # NaN compares false with every bound
            return f"must be a number{self._span()}, got nan"
        if self.min is not None and (value <= self.min if self.exclusive_min else value < self.min):
            return f"must be {'>' if self.exclusive_min else '>='} {_number(self.min)}, got {_number(value)}"
        if self.max is not None and value > self.max:
            return f"must be <= {_number(self.max)}, got {_number(value)}"
        return None

    def _span(self) -> str:
        if self.min is not None and self.max is not None:
            if self.exclusive_min:
                return f" above {_number(self.min)} and at most {_number(self.max)}"
            return f" from {_number(self.min)} to {_number(self.max)}"
        if self.min is not None:
            return f" {'>' if self.exclusive_min else '>='} {_number(self.min)}"
        return f" <= {_number(self.max)}" if self.max is not None else ""


@attrs.frozen
class NonEmpty:
    """A string, list or mapping must not be empty; a string of only white space counts as empty."""

    def problem(self, value: Any, role: str | None) -> str | None:
        """Why ``value`` breaks the constraint, or ``None``."""
        if isinstance(value, (str, list, tuple, dict, set, frozenset)) and len(value) == 0:
            return "must not be empty"
        if isinstance(value, str) and not value.strip():
            return "must not be blank (only white space)"
        return None


@attrs.frozen
class ReadOnly:
    """The param only means something when reading: it is refused on any stage but a tap."""

    def problem(self, value: Any, role: str | None) -> str | None:
        """Why the param cannot be given on a stage of ``role``, or ``None``."""
        return "only applies to a tap" if role is not None and role != "tap" else None


@attrs.frozen
class WriteOnly:
    """The param only means something when writing: it is refused on any stage but a sink."""

    def problem(self, value: Any, role: str | None) -> str | None:
        """Why the param cannot be given on a stage of ``role``, or ``None``."""
        return "only applies to a sink" if role is not None and role != "sink" else None


Constraint = Range | NonEmpty | ReadOnly | WriteOnly
_CONSTRAINTS = (Range, NonEmpty, ReadOnly, WriteOnly)


class ConstraintViolation(ValueError):
    """A value of the right type breaks a constraint declared on its field (see :func:`constraints_in`)."""


def constraints_in(typ: Any) -> tuple[Constraint, ...]:
    """The constraints in ``Annotated[T, ...]`` metadata of ``typ`` itself (not of its members)."""
    if typing.get_origin(typ) is not typing.Annotated:
        return ()
    return tuple(m for m in typ.__metadata__ if isinstance(m, _CONSTRAINTS))


def _annotated_factory(typ: Any, conv: cattrs.Converter) -> Any:
    inner_type = typing.get_args(typ)[0]
    inner = conv.get_structure_hook(inner_type)
    # Roles are checked by check_params, which knows the stage; the converter checks values only.
    checks = [c for c in constraints_in(typ) if isinstance(c, (Range, NonEmpty))]

    def structure_checked(value: Any, _: Any) -> Any:
        result = inner(value, inner_type)
        for check in checks:
            problem = check.problem(result, None)
            if problem is not None:
                raise ConstraintViolation(problem)
        return result

    return structure_checked


def _number(value: float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_structure_hook_factory(attrs.has, _attrs_factory)
    conv.register_structure_hook_factory(cols.is_mutable_sequence, _list_factory)
    conv.register_structure_hook_factory(cols.is_mapping, _mapping_factory)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(float, _strict_float)
    conv.register_structure_hook(bool, _strict_bool)
    conv.register_structure_hook(Path, _path)
    conv.register_structure_hook_factory(lambda t: bool(constraints_in(t)), _annotated_factory)
    return conv


CONVERTER = _make_converter()


def structure(data: Any, cls: type[Any]) -> Any:
    """Structure ``data`` into ``cls`` with the shared converter."""
    return CONVERTER.structure(data, cls)


def field_aliases(cls: type[Any]) -> dict[str, str]:
    """Map each attrs field's Python name to the key users write (``from_`` is ``from``)."""
    return {a.name: a.name.rstrip("_") for a in attrs.fields(cls)} if attrs.has(cls) else {}


def flatten(exc: BaseException, cls: type[Any] | None = None, path: Path_ = ()) -> Iterator[tuple[Path_, str]]:
    """Turn a cattrs error tree into ``(path, message)`` pairs, leaves only."""
    if isinstance(exc, ForbiddenExtraKeysError):
        known = sorted(field_aliases(exc.cl).values()) if exc.cl else []
        for key in sorted(exc.extra_fields):
            yield (*path, key), unknown_key_message(key, known)
        return
    if isinstance(exc, ClassValidationError):
        aliases = field_aliases(exc.cl) if hasattr(exc, "cl") else {}
        for sub in exc.exceptions:
            note = _note(sub)
            if note is None:
                yield from flatten(sub, None, path)
                continue
            name, typ = note
            key = aliases.get(name, name)
            if isinstance(sub, KeyError):
                yield (*path, key), "missing required key"
            else:
                yield from flatten(sub, typ, (*path, key))
        return
    if isinstance(exc, IterableValidationError):
        # A list's items, or a mapping's values, are of the last type argument.
        item = typing.get_args(cls)[-1] if typing.get_args(cls) else None
        for sub in exc.exceptions:
            index = _index_note(sub)
            yield from flatten(sub, item, (*path, index) if index is not None else path)
        return
    if isinstance(exc, (TypeMismatch, ConstraintViolation)):
        yield path, str(exc)
        return
    yield path, _plain_message(exc, cls)


def _note(exc: BaseException) -> tuple[str, Any] | None:
    for note in getattr(exc, "__notes__", ()):
        if hasattr(note, "name") and hasattr(note, "type"):
            return note.name, note.type
    return None


def _index_note(exc: BaseException) -> Any:
    # List items carry an index; mapping values carry their key under the same name.
    for note in getattr(exc, "__notes__", ()):
        if hasattr(note, "index"):
            return note.index
    return None


def _plain_message(exc: BaseException, cls: type[Any] | None) -> str:
    text = str(exc)
    if _literals(cls):
        value = getattr(exc, "value", None) or _value_from(text)
        return f"expected one of {_literal_choices(cls)}, got {describe_value(value)}"
    if isinstance(exc, (TypeError, ValueError)) and cls is not None:
        return f"expected {_type_name(cls)}: {text}"
    return text


def _value_from(text: str) -> Any:
    # cattrs' literal error reads "<value> not in literal <choices>".
    return text.split(" not in literal", 1)[0].strip()


def _literals(cls: Any) -> list[Any]:
    """The values a ``Literal`` type (or an optional one) allows; empty for any other type."""
    if typing.get_origin(cls) is typing.Literal:
        return list(typing.get_args(cls))
    if typing.get_origin(cls) in (typing.Union, types.UnionType):
        return [value for arg in typing.get_args(cls) for value in _literals(arg)]
    return []


def _literal_choices(cls: Any) -> str:
    return ", ".join(repr(c) for c in _literals(cls)) or "the allowed values"


def _type_name(cls: Any) -> str:
    return getattr(cls, "__name__", None) or str(cls).replace("typing.", "")


def unknown_key_message(key: str, known: list[str]) -> str:
    """``unknown key 'prot' (did you mean 'port'?)`` with the closest known key, if any."""
    hint = did_you_mean(key, known) or (f"; expected one of: {', '.join(known)}" if known else "")
    return f"unknown key {key!r}{hint}"
