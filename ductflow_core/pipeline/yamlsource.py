"""Read YAML into plain Python data while remembering the line of every key.

The line map lets any later check (a cattrs error, a missing stage) point to
``file:line``. ``${...}`` forms are replaced here from the environment given
(the grammar is in docs/pipeline.md, "Environment variables"); every value
taken from the environment is remembered, by path, so nothing prints it.

Hostile input is refused with one line: a text over :data:`MAX_CHARS`, nesting
deeper than :data:`MAX_DEPTH`, more than :data:`MAX_NODES` nodes composed or
visited (an alias counts each time it is used, so an alias bomb stops early),
and control characters YAML does not allow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs
import yaml
from yaml.composer import Composer
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from ductflow_core.errors import PipelineError

Path_ = tuple[Any, ...]

#: Longest pipeline text accepted, in characters; checked before parsing.
MAX_CHARS = 5 * 1024 * 1024
#: Deepest nesting of sequences and mappings, counting each alias used as one more level.
MAX_DEPTH = 100
#: Most nodes composed, and most nodes visited while building (an alias's nodes count each time it is used).
MAX_NODES = 50_000
#: Most scalar characters visited while building: a long string reused by many aliases is refused.
MAX_SCALAR_CHARS = 32 * 1024 * 1024

_PLAIN_MESSAGE_CHARS = 64 * 1024
_MERGE_TAG = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
# What YAML 1.1 forbids in a stream (tab, LF, CR and NEL are allowed); libyaml's message for them spans lines.
#: What YAML forbids in a stream; a one-line string holding one is YAML text, not a file name.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # YAML's line breaks, as its marks count them
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FORMS = "write ${NAME}, ${NAME:-default} or ${NAME:?message}, and $${ for a literal ${"

# libyaml, when PyYAML was built with it, parses much faster; the events and their marks are the same.
_FastParser: Any = getattr(getattr(yaml, "cyaml", None), "CParser", None)


@attrs.define
class Document:
    """YAML data with the line of each path and the values that came from the environment.

    ``env_values`` holds, per scalar path, every non-empty piece of its value taken from the environment
    (whatever its length); ``secrets`` those masked in free text: four characters or more, or naming a stage.
    ``problems`` are interpolation errors (a malformed ``${``, an unset variable), first one first.
    """

    data: Any
    lines: dict[Path_, int]
    secret_paths: set[Path_]
    secrets: set[str]
    missing_vars: list[tuple[Path_, str]]
    env_values: dict[Path_, list[str]] = attrs.field(factory=dict)
    problems: list[tuple[Path_, str]] = attrs.field(factory=list)


class _Alias(yaml.Node):
    """A use of an anchor (``*name``): the anchored node, and where the alias itself stands."""

    id = "alias"

    def __init__(self, target: yaml.Node, mark: Any) -> None:
        super().__init__(target.tag, None, mark, mark)
        self.target = target


class _Limits(Composer):
    """PyYAML's composer, counting nodes and depth, and keeping each alias's own position."""

    source = "<string>"

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):  # type: ignore[attr-defined]
            event = self.get_event()  # type: ignore[attr-defined]
            if event.anchor not in self.anchors:
                raise yaml.composer.ComposerError(
                    None, None, f"found undefined alias {event.anchor!r}", event.start_mark
                )
            self._count(event.start_mark)
            return _Alias(self.anchors[event.anchor], event.start_mark)
        mark = self.peek_event().start_mark  # type: ignore[attr-defined]
        self._count(mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise PipelineError(
                    f"not valid YAML: nested deeper than {MAX_DEPTH} levels", source=self.source, line=mark.line + 1
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _count(self, mark: Any) -> None:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise PipelineError(f"not valid YAML: more than {MAX_NODES} nodes", source=self.source, line=mark.line + 1)


class _PureComposer(Reader, Scanner, Parser, _Limits, Resolver):
    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        _Limits.__init__(self)
        Resolver.__init__(self)


if _FastParser is not None:

    class _FastComposer(_Limits, _FastParser, Resolver):
        def __init__(self, text: str) -> None:
            _FastParser.__init__(self, text)
            _Limits.__init__(self)
            Resolver.__init__(self)

    _COMPOSERS: tuple[type[Any], ...] = (_FastComposer, _PureComposer)
else:  # pragma: no cover - PyYAML without libyaml
    _COMPOSERS = (_PureComposer,)


def parse(text: str, source: str, env: Mapping[str, str]) -> Document:
    """Parse ``text``; raise :class:`PipelineError` with ``source:line`` for bad or hostile YAML."""
    if len(text) > MAX_CHARS:
        raise PipelineError(f"the pipeline is larger than {MAX_CHARS // (1024 * 1024)} MB", source=source)
    if bad := CONTROL_CHARACTERS.search(text):
        line = len(_LINE_BREAK.findall(text, 0, bad.start())) + 1
        code = f"U+{ord(bad.group()):04X}"
        problem = f"not valid YAML: control character {code} (YAML allows tab and newline)"
        raise PipelineError(problem, source=source, line=line)
    node = _compose(text, source)
    doc = Document(None, {}, set(), set(), [])
    if node is not None:
        builder = _Builder(doc, env, source)
        try:
            doc.data = builder.build(node, (), 0, None)
        except yaml.MarkedYAMLError as exc:  # a tag or value YAML parses but cannot construct
            raise PipelineError(_syntax_message(exc, source)) from None
    return doc


def _compose(text: str, source: str) -> yaml.Node | None:
    errors: list[yaml.YAMLError] = []
    # The pure-Python parser, there for its plainer messages, is much slower: only small texts get it.
    composers = _COMPOSERS if len(text) <= _PLAIN_MESSAGE_CHARS else _COMPOSERS[:1]
    for composer_class in composers:
        composer = composer_class(text)
        composer.source = source
        try:
            return composer.get_single_node()
        except yaml.YAMLError as exc:
            errors.append(exc)
            if "maximum nesting depth" in str(exc):
                break  # PyYAML's scanner is quadratic in flow depth: libyaml's message will do
            # Otherwise PyYAML's own parser says what is wrong more plainly: ask it again for the message.
    chosen = next((e for e in reversed(errors) if isinstance(e, yaml.MarkedYAMLError)), errors[-1])
    if isinstance(chosen, yaml.MarkedYAMLError):
        raise PipelineError(_syntax_message(chosen, source)) from None
    raise PipelineError(f"not valid YAML: {_one_line(str(chosen))}", source=source) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _syntax_message(exc: yaml.MarkedYAMLError, source: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 0
    problem = _one_line(exc.problem or exc.context or "syntax error")
    if "'\\t'" in problem or "\t" in problem:
        problem = "a tab character; YAML indents with spaces only"
    elif "maximum nesting depth" in problem:  # libyaml's own cap, past ours
        problem = f"nested deeper than {MAX_DEPTH} levels"
    return f"{source}:{line}: not valid YAML: {problem}"


class _Builder:
    def __init__(self, doc: Document, env: Mapping[str, str], source: str) -> None:
        self.doc = doc
        self.source = source
        self.env = env
        self.scalars = yaml.SafeLoader("")
        self.visits = 0
        self.chars = 0

    def _fail(self, line: int, problem: str) -> PipelineError:
        return PipelineError(f"not valid YAML: {problem}", source=self.source, line=line)

    def _enter(self, node: yaml.Node, alias_line: int | None, depth: int) -> tuple[yaml.Node, int | None, int]:
        """Follow aliases, counting every visit; inside an alias every line is the alias's own."""
        while True:
            self.visits += 1
            line = alias_line or node.start_mark.line + 1
            if self.visits > MAX_NODES:
                raise self._fail(line, f"more than {MAX_NODES} nodes once aliases are expanded")
            if depth > MAX_DEPTH:
                raise self._fail(line, f"nested deeper than {MAX_DEPTH} levels once aliases are expanded")
            if not isinstance(node, _Alias):
                return node, alias_line, depth
            alias_line = line
            node = node.target
            depth += 1

    def build(self, node: yaml.Node, path: Path_, depth: int, alias_line: int | None) -> Any:
        node, alias_line, depth = self._enter(node, alias_line, depth)
        line = alias_line or node.start_mark.line + 1
        self.doc.lines.setdefault(path, line)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
            # A scalar's tag is checked by constructing it; a collection's would be silently dropped.
            raise self._fail(line, f"the tag {node.tag!r} is not supported")
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key, key_line, value_node, value_alias in self._entries(node, alias_line, depth):
                key_path = (*path, key)
                self.doc.lines[key_path] = key_line
                out[key] = self.build(value_node, key_path, depth + 1, value_alias)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1, alias_line) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)  # the composer makes only these kinds
        return self._scalar(node, path)

    def _entries(
        self, node: yaml.MappingNode, alias_line: int | None, depth: int
    ) -> list[tuple[Any, int, yaml.Node, int | None]]:
        """The mapping's keys in order: its own, then those merged in with ``<<`` that it does not set.

        As YAML defines merge keys: a key written in the mapping wins over a merged one, and of several
        merged mappings the first that has a key wins. A key written twice in one mapping is an error.
        """
        own: list[tuple[Any, int, yaml.Node, int | None]] = []
        first_line: dict[Any, int] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            key_node, key_alias, _ = self._enter(key_node, alias_line, depth + 1)
            key_line = key_alias or key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            key = self._key(key_node, key_line)
            if key in first_line:
                raise PipelineError(
                    f"key {key!r} appears twice (first at line {first_line[key]})", source=self.source, line=key_line
                )
            first_line[key] = key_line
            own.append((key, key_line, value_node, alias_line))
        for merge in merges:
            merged, merged_alias, merged_depth = self._enter(merge, alias_line, depth + 1)
            line = merged_alias or merged.start_mark.line + 1
            sources = merged.value if isinstance(merged, yaml.SequenceNode) else [merged]
            for source in sources:
                source, source_alias, source_depth = self._enter(source, merged_alias, merged_depth + 1)
                if not isinstance(source, yaml.MappingNode):
                    raise self._fail(line, "'<<' merges a mapping or a list of mappings")
                for entry in self._entries(source, source_alias, source_depth):
                    if entry[0] not in first_line:
                        first_line[entry[0]] = entry[1]
                        own.append(entry)
        return own

    def _key(self, key_node: yaml.Node, line: int) -> Any:
        if not isinstance(key_node, yaml.ScalarNode):
            kind = "list" if isinstance(key_node, yaml.SequenceNode) else "dict"
            raise PipelineError(f"a key must be a plain word, got {kind}", source=self.source, line=line)
        key = self.scalars.construct_object(key_node)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            got = type(key).__name__
            raise PipelineError(f"a key must be a plain word, got {got}", source=self.source, line=line)
        return key if isinstance(key, str) else str(key)

    def _count_chars(self, text: str, path: Path_, node: yaml.Node) -> None:
        self.chars += len(text)
        if self.chars > MAX_SCALAR_CHARS:
            line = self.doc.lines.get(path, node.start_mark.line + 1)
            raise self._fail(
                line, f"more than {MAX_SCALAR_CHARS // (1024 * 1024)} MB of text once aliases are expanded"
            )

    def _scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        value = self.scalars.construct_object(node)
        if not isinstance(value, str):
            return value
        self._count_chars(value, path, node)
        if "${" not in value:
            return value
        try:
            result = _Template(self.env).expand(value)
        except _Malformed as exc:
            self.doc.problems.append((path, str(exc)))
            return value
        self._count_chars(result.text, path, node)  # a large variable used through many aliases
        for problem in result.problems:
            self.doc.problems.append((path, problem))
        for name in result.missing:
            self.doc.missing_vars.append((path, name))
        if result.from_env:
            self.doc.secret_paths.add(path)
            pieces = [v for v in result.from_env if v]
            # The whole value too: a message quoting `'x${A}'` quotes it whole, and part of it is a secret.
            if result.text and result.text not in pieces:
                pieces.append(result.text)
            self.doc.env_values.setdefault(path, []).extend(pieces)
            # A stage name is printed bare in progress lines: short ones are masked as words there (output.py).
            self.doc.secrets.update(v for v in pieces if (len(v) >= 4 and v in result.from_env) or _names_a_stage(path))
        if not node.style and result.whole:
            # (A plain scalar's style is None from PyYAML, "" from libyaml.)
            # An unquoted lone ${VAR} takes the YAML type of its value: `port: ${PORT:-5432}` is an int.
            tag = self.scalars.resolve(yaml.ScalarNode, result.text, (True, False))
            return self.scalars.construct_object(yaml.ScalarNode(tag, result.text))
        return result.text


def _names_a_stage(path: Path_) -> bool:
    """A stage's ``name``, ``from`` or an ``after`` entry, in the list form or under ``stages:``."""
    inner = path[1:] if path[:1] == ("stages",) else path
    if not inner or not isinstance(inner[0], int):
        return False
    return (len(inner) == 2 and inner[1] in ("name", "from")) or (len(inner) == 3 and inner[1] == "after")


class _Malformed(Exception):
    """A ``${`` that is none of the forms of the grammar."""


@attrs.define
class _Expanded:
    text: str = ""
    from_env: list[str] = attrs.field(factory=list)
    problems: list[str] = attrs.field(factory=list)
    missing: list[str] = attrs.field(factory=list)
    whole: bool = False

    def add(self, other: _Expanded) -> None:
        self.text += other.text
        self.from_env += other.from_env
        self.problems += other.problems
        self.missing += other.missing


class _Template:
    """The ``${...}`` grammar of docs/pipeline.md, expanded from ``env``.

    A ``$`` followed by anything but ``{`` (SQL's ``$$`` quoting, ``$1`` parameters) is plain text.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def expand(self, text: str) -> _Expanded:
        if text.startswith("${"):
            first, end = self._form(text, 0)
            if end == len(text):
                first.whole = True
                return first
        result, _, _ = self._text(text, 0, nested=False)
        return result

    def _text(self, text: str, pos: int, *, nested: bool) -> tuple[_Expanded, int, bool]:
        """Expand from ``pos`` to the end, or (``nested``) to the ``}`` closing a default; that ``}`` is eaten."""
        out = _Expanded()
        while True:
            start = text.find("${", pos)
            close = text.find("}", pos) if nested else -1
            if close != -1 and (start == -1 or close < start):
                out.text += text[pos:close]
                return out, close + 1, True
            if start == -1:
                if nested:
                    raise _Malformed(f"unclosed '${{': a default runs to the end of the value; {_FORMS}")
                out.text += text[pos:]
                return out, len(text), False
            if start > 0 and text[start - 1] == "$":
                # `$${...}` is the literal text `${...}`, up to its matching brace.
                end = _matching_brace(text, start + 1)
                out.text += text[pos : start - 1] + text[start:end]
                pos = end
                continue
            out.text += text[pos:start]
            part, pos = self._form(text, start)
            out.add(part)

    def _form(self, text: str, start: int) -> tuple[_Expanded, int]:
        name_match = _NAME.match(text, start + 2)
        if name_match is None:
            raise _Malformed(f"malformed {_snippet(text, start)}: '${{' must start a variable name; {_FORMS}")
        name, pos = name_match.group(), name_match.end()
        value = self.env.get(name)
        out = _Expanded()
        if text.startswith("}", pos):
            if value is None:
                out.missing.append(name)
                out.problems.append(
                    f"environment variable {name} is not set (write ${{{name}:-default}} for a default)"
                )
            else:
                out.from_env.append(value)
                out.text = value
            return out, pos + 1
        for operator in (":-", "-"):
            if text.startswith(operator, pos):
                default, end, _ = self._text(text, pos + len(operator), nested=True)
                use_default = value is None or (operator == ":-" and value == "")
                if use_default:
                    return default, end
                assert value is not None
                out.from_env.append(value)
                out.text = value
                return out, end
        for operator in (":?", "?"):
            if text.startswith(operator, pos):
                end = text.find("}", pos)
                if end == -1:
                    raise _Malformed(f"unclosed {_snippet(text, start)}; {_FORMS}")
                message = text[pos + len(operator) : end].strip()
                if value is None or (operator == ":?" and value == ""):
                    unset = "is not set" if value is None else "is empty"
                    out.problems.append(f"environment variable {name} {unset}" + (f": {message}" if message else ""))
                else:
                    out.from_env.append(value)
                    out.text = value
                return out, end + 1
        raise _Malformed(f"malformed {_snippet(text, start)}; {_FORMS}")


def _matching_brace(text: str, brace: int) -> int:
    """One past the ``}`` matching the ``{`` at ``brace``, or the end of ``text`` when it has none."""
    depth = 0
    for i in range(brace, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


def _snippet(text: str, start: int) -> str:
    end = text.find("}", start)
    piece = text[start : end + 1] if end != -1 else text[start:]
    return repr(piece if len(piece) <= 40 else piece[:39] + "…")
