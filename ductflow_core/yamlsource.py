"""Read YAML into plain Python data while remembering the line of every key.

The line map lets any later check (a cattrs error, a missing stage) point to
``file:line``. ``${VAR}`` and ``${VAR:-default}`` are replaced here, from the
environment given, and every replaced value is remembered as a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs
import yaml

from .errors import PipelineError

Path_ = tuple[Any, ...]

# libyaml, when PyYAML was built with it, composes ~10x faster; the nodes and their marks are the same.
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# `$${VAR}` stays literal as `${VAR}`; a plain `$$` (SQL dollar quoting) is left alone.
_VAR = re.compile(r"\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@attrs.define
class Document:
    """YAML data with the line of each path and the values that came from the environment."""

    data: Any
    lines: dict[Path_, int]
    secret_paths: set[Path_]
    secrets: set[str]
    missing_vars: list[tuple[Path_, str]]


def parse(text: str, source: str, env: Mapping[str, str]) -> Document:
    """Parse ``text``; raise :class:`PipelineError` with ``source:line`` for a YAML syntax error."""
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError:
        node = _compose_for_message(text, source)
    doc = Document(None, {}, set(), set(), [])
    if node is not None:
        builder = _Builder(doc, env, source)
        try:
            doc.data = builder.build(node, ())
        except yaml.MarkedYAMLError as exc:  # a tag or value YAML parses but cannot construct
            raise PipelineError(_syntax_message(exc, source)) from None
    return doc


def _compose_for_message(text: str, source: str) -> yaml.Node | None:
    # PyYAML's own composer says what is wrong more plainly than libyaml; on this path speed does not matter.
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise PipelineError(_syntax_message(exc, source)) from None
    except yaml.YAMLError as exc:
        raise PipelineError(f"{source}: not valid YAML: {exc}") from None


def _syntax_message(exc: yaml.MarkedYAMLError, source: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 0
    problem = (exc.problem or exc.context or "syntax error").strip()
    if "'\\t'" in problem or "\t" in problem:
        problem = "a tab character; YAML indents with spaces only"
    return f"{source}:{line}: not valid YAML: {problem}"


class _Builder:
    def __init__(self, doc: Document, env: Mapping[str, str], source: str) -> None:
        self.doc = doc
        self.source = source
        self.env = env
        self.scalars = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.doc.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)  # the composer makes only these three kinds
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[Any, Any]:
        self.scalars.flatten_mapping(node)  # honours YAML merge keys (<<)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.scalars.construct_object(key_node)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                line = key_node.start_mark.line + 1
                raise PipelineError(f"{self.source}:{line}: a key must be a plain word, got {type(key).__name__}")
            key = str(key) if not isinstance(key, str) else key
            if key in out:
                line = key_node.start_mark.line + 1
                first = self.doc.lines.get((*path, key))
                raise PipelineError(f"{self.source}:{line}: key {key!r} appears twice (first at line {first})")
            key_path = (*path, key)
            self.doc.lines[key_path] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, key_path)
        return out

    def _scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        value = self.scalars.construct_object(node)
        if not isinstance(value, str) or "$" not in value:
            return value
        replaced, used = self._interpolate(value, path)
        if not used:
            return replaced
        self.doc.secret_paths.add(path)
        if not node.style and (match := _VAR.fullmatch(value)) and not match.group(1):
            # (A plain scalar's style is None from PyYAML, "" from libyaml.)
            # An unquoted lone ${VAR} takes the YAML type of its value: `port: ${PORT}` is an int.
            tag = self.scalars.resolve(yaml.ScalarNode, replaced, (True, False))
            typed = self.scalars.construct_object(yaml.ScalarNode(tag, replaced))
            replaced = typed
        return replaced

    def _interpolate(self, text: str, path: Path_) -> tuple[str, bool]:
        used = False

        def sub(match: re.Match[str]) -> str:
            nonlocal used
            if match.group(1):
                return match.group(0)[1:]
            used = True
            name, default = match.group(2), match.group(3)
            value = self.env.get(name)
            if value is None or (value == "" and default is not None):
                if default is None:
                    self.doc.missing_vars.append((path, name))
                    return ""
                value = default
            if len(value) >= 4:
                self.doc.secrets.add(value)
            return value

        return _VAR.sub(sub, text), used
