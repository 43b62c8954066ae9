"""Hostile or odd YAML: refused fast with one line and a line number, or loaded as YAML defines it."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ductflow_core.errors import PipelineError
from ductflow_core.models import Stages
from ductflow_core.pipeline import yamlsource


def laughs(levels: int) -> str:
    """The "billion laughs" alias bomb: each level is nine aliases of the one above."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def refused(text: str) -> tuple[str, float]:
    """Load ``text``; return its one-line error and the seconds it took."""
    start = time.perf_counter()
    with pytest.raises(PipelineError) as info:
        Stages.load(text, env={})
    took = time.perf_counter() - start
    message = str(info.value)
    assert "\n" not in message
    return message, took


def peak_bytes(text: str) -> int:
    """The most memory Python allocated while refusing ``text`` (traced, so much slower than a real load)."""
    tracemalloc.start()
    try:
        with pytest.raises(PipelineError):
            Stages.load(text, env={})
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("levels", [6, 9, 12])
def test_alias_bomb_is_refused_fast(levels: int) -> None:
    """An alias bomb (up to 9**12 nodes expanded) is one line with its line number, under 1 s and 100 MB."""
    message, took = refused(laughs(levels))
    # 9**5 nodes, on line 5, are the first past the cap.
    assert message == f"<string>:5: not valid YAML: more than {yamlsource.MAX_NODES} nodes once aliases are expanded"
    assert took < 1.0
    assert peak_bytes(laughs(levels)) < 100 * 2**20


@pytest.mark.parametrize("depth", [500, 5_000, 100_000])
@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_one_line(depth: int, style: str) -> None:
    """Nesting 500, 5 000 or 100 000 deep, flow or block, is one line naming the depth limit, no RecursionError."""
    text = "stages: " + "[" * depth + "]" * depth + "\n" if style == "flow" else "stages:\n" + "- " * depth + "x\n"
    message, took = refused(text)
    line = 1 if style == "flow" else 2
    assert message == f"<string>:{line}: not valid YAML: nested deeper than 100 levels"
    assert took < 1.0


def test_nesting_limit_is_exactly_100_levels() -> None:
    """100 levels of nesting load (failing later, on the pipeline's shape); 101 are refused at the line."""

    def nested(depth: int) -> str:
        # The stage list and the stage mapping are two levels; `x:` holds the rest.
        return "- name: a\n  kind: transform\n  sql: SELECT 1\n  x: " + "[" * (depth - 2) + "]" * (depth - 2) + "\n"

    with pytest.raises(PipelineError, match="unknown key 'x'"):
        Stages.load(nested(100), env={})
    message, _ = refused(nested(101))
    assert message == "<string>:4: not valid YAML: nested deeper than 100 levels"


def test_self_referencing_alias_is_one_line() -> None:
    """An anchor that contains its own alias is refused at the alias's line, not an endless recursion."""
    message, _ = refused("- name: a\n  kind: transform\n  x: &x [1, *x]\n")
    assert message == "<string>:3: not valid YAML: nested deeper than 100 levels once aliases are expanded"


def test_many_nodes_are_refused_fast() -> None:
    """A file of more nodes than the cap is refused while composing, within 1 s."""
    text = "stages: [" + "1," * 2_000_000 + "1]\n"
    message, took = refused(text)
    assert message == f"<string>:1: not valid YAML: more than {yamlsource.MAX_NODES} nodes"
    assert took < 1.0
    assert peak_bytes(text) < 100 * 2**20


def test_long_string_reused_by_aliases_is_refused() -> None:
    """A long string used many times through aliases is refused by the expanded-text cap."""
    text = "a: &a '" + "x" * 4_000_000 + "'\nb: [" + ",".join(["*a"] * 10) + "]\n"
    message, took = refused(text)
    assert message.startswith("<string>:2: not valid YAML: more than 32 MB of text")
    assert took < 1.0


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    """A pipeline file over the size limit is refused by its size, naming the file."""
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * (4 * yamlsource.MAX_CHARS) + "\n")
    with pytest.raises(PipelineError, match=r"big\.yaml: the pipeline is larger than 5 MB$"):
        Stages.load(path, env={})
    with pytest.raises(PipelineError, match=r"^<string>: the pipeline is larger than 5 MB$"):
        Stages.load("#" * (yamlsource.MAX_CHARS + 1) + "\n", env={})


@pytest.mark.parametrize(("char", "code"), [("\x00", "U+0000"), ("\x07", "U+0007"), ("\x9b", "U+009B")])
def test_control_character_is_one_line_with_its_line(char: str, code: str) -> None:
    """A raw NUL or other control character is one line with the line it is on."""
    message, _ = refused(f"- name: a\n  kind: transform\n  sql: SELECT 1{char}\n")
    assert message == f"<string>:3: not valid YAML: control character {code} (YAML allows tab and newline)"
    # A one-line string with a NUL is YAML text (no file name holds one), refused the same way.
    message, _ = refused(char)
    assert message == f"<string>:1: not valid YAML: control character {code} (YAML allows tab and newline)"
    # Counted as YAML counts lines: a CR alone, CRLF and U+2028 end a line too.
    message, _ = refused(f"- name: a\r  kind: transform\r\n  sql: SELECT 1\u2028{char}\n")
    assert message.startswith("<string>:4: ")


def test_stage_reused_by_alias_is_blamed_on_the_alias_line() -> None:
    """A duplicate stage made by ``- *s`` is reported at the alias's line, not the anchor's."""
    text = "- &s\n  name: a\n  kind: transform\n  sql: SELECT 1\n- name: b\n  kind: transform\n  sql: SELECT 2\n- *s\n"
    with pytest.raises(PipelineError) as info:
        Stages.load(text, env={})
    assert str(info.value) == "<string>:8: stage 'a': name: duplicate stage name 'a'; the first is at <string>:2"


def test_merge_key_with_override_works() -> None:
    """``<<: *base`` then ``name: b`` makes a stage named b with the rest from base; explicit keys win."""
    text = (
        "- &base\n  name: a\n  kind: transform\n  sql: SELECT 1\n"
        "- <<: *base\n  name: b\n"
        "- <<: [{name: z, sql: SELECT 3}, *base]\n  name: c\n"
    )
    pipeline = Stages.load(text, env={})
    assert [(s.name, s.sql) for s in pipeline.stages] == [("a", "SELECT 1"), ("b", "SELECT 1"), ("c", "SELECT 3")]  # type: ignore[attr-defined]
    assert pipeline.lines[("stages", 1, "name")] == 6
    assert pipeline.lines[("stages", 1, "sql")] == 5  # merged: blamed on the `<<: *base` line
    plain = "base: &b {x: 1, y: 2}\nother: &o {y: 3, z: 4}\nm: {<<: [*b, *o], x: 9}\n"
    assert yamlsource.parse(plain, "<string>", {}).data == yaml.safe_load(plain)


def test_key_given_twice_explicitly_next_to_a_merge_is_an_error() -> None:
    """A key written twice in one mapping is still an error when the mapping also merges another."""
    text = "- &base {name: a, kind: transform, sql: SELECT 1}\n- <<: *base\n  name: b\n  name: c\n"
    with pytest.raises(PipelineError, match=r"^<string>:4: key 'name' appears twice \(first at line 3\)$"):
        Stages.load(text, env={})


def test_merge_of_a_scalar_is_one_line() -> None:
    """``<<: 3`` is refused with the line, as YAML merges only mappings."""
    with pytest.raises(PipelineError, match=r"^<string>:1: not valid YAML: '<<' merges a mapping"):
        Stages.load("- {<<: 3, name: a, kind: transform, sql: SELECT 1}\n", env={})


def test_existing_path_without_yaml_suffix_is_a_file(tmp_path: Path) -> None:
    """A pipeline file named without ``.yaml`` is read as a file, and its errors name it."""
    path = tmp_path / "pipeline"
    path.write_text("- name: a\n  kind: transform\n  sql: SELECT 1\n  oops: 1\n")
    with pytest.raises(PipelineError) as info:
        Stages.load(str(path), env={})
    assert str(info.value).startswith(f"{path}:4: stage 'a': oops: unknown key")
    # One-line YAML text (a flow list, a `- ` item, a `key: value`) is still text.
    for text in [
        "[{name: a, kind: transform}]",
        "- {name: a, kind: transform}",
        "stages: [{name: a, kind: transform}]",
    ]:
        with pytest.raises(PipelineError, match=r"^<string>:1: stage 'a': sql: missing required key"):
            Stages.load(text, env={})


def test_missing_path_without_suffix_says_no_such_file(tmp_path: Path) -> None:
    """A one-line string that looks like a path and names nothing is 'no such pipeline file', not YAML text."""
    with pytest.raises(PipelineError, match=r"nothing/here: no such pipeline file$"):
        Stages.load(str(tmp_path / "nothing" / "here"), env={})


_KEYS = st.sampled_from(["name", "kind", "sql", "x", "<<"])
_SCALARS = st.sampled_from(["a", "transform", "SELECT 1", "1", "*A", "*B", "[]", "{}", "${X:-a}"])


@st.composite
def yaml_structures(draw: st.DrawFn) -> str:
    """Small YAML texts built from anchors, aliases, merge keys and deep or wide nesting."""
    lines = ["- &A {name: a, kind: transform, sql: SELECT 1}", "- &B [1, 2]"]
    for _ in range(draw(st.integers(0, 4))):
        shape = draw(st.sampled_from(["map", "deep", "wide", "merge"]))
        if shape == "map":
            pairs = draw(st.lists(st.tuples(_KEYS, _SCALARS), max_size=4))
            lines.append("- {" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}")
        elif shape == "deep":
            depth = draw(st.sampled_from([1, 2, 50, 98, 99, 100, 101, 400, 2_000]))
            lines.append("- " + "[" * depth + draw(_SCALARS) + "]" * depth)
        elif shape == "wide":
            lines.append("- [" + ", ".join(draw(st.lists(st.sampled_from(["*A", "*B", "1"]), max_size=30))) + "]")
        else:
            lines.append("- <<: " + draw(st.sampled_from(["*A", "*B", "[*A, *A]", "1", "{name: m}"])))
            lines.append("  name: " + draw(st.sampled_from(["m", "a", "*A"])))
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None)
@given(yaml_structures())
def test_fuzzed_yaml_structure_loads_or_is_one_numbered_line(text: str) -> None:
    """Aliases, depth and merge keys in any mix end in a load or one PipelineError line with a line number, fast."""
    start = time.perf_counter()
    try:
        Stages.load(text, env={})
    except PipelineError as exc:
        message = str(exc)
        assert "\n" not in message
        assert message.startswith("<string>:")
        assert message.split(":")[1].isdigit(), message
    assert time.perf_counter() - start < 1.0


def test_large_variable_reused_by_aliases_is_refused() -> None:
    """A short file whose one ``${BIG}`` is used thousands of times through aliases is refused, fast."""
    text = 'a: &a "${BIG}"\nb: &b [' + ",".join(["*a"] * 200) + "]\nc: [" + ",".join(["*b"] * 200) + "]\n"
    start = time.perf_counter()
    with pytest.raises(PipelineError, match=r"^<string>:3: not valid YAML: more than 32 MB of text"):
        Stages.load(text, env={"BIG": "x" * 100_000})
    assert time.perf_counter() - start < 1.0


def test_tag_on_a_mapping_is_refused_not_dropped() -> None:
    """A Python or custom tag on a mapping or list is refused at its line instead of being silently ignored."""
    message, _ = refused("- name: a\n  kind: transform\n  x: !!python/object/apply:os.system {args: [ls]}\n")
    assert (
        message
        == "<string>:3: not valid YAML: the tag 'tag:yaml.org,2002:python/object/apply:os.system' is not supported"
    )
    message, _ = refused("- !custom [1]\n")
    assert message == "<string>:1: not valid YAML: the tag '!custom' is not supported"


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_a_pipeline_path_that_is_no_regular_file_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    """A FIFO, a device or a folder given as the pipeline is refused in one line, not hanging or filling memory."""
    import os

    path = tmp_path / "p.yaml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path = Path("/dev/zero")
    started = time.perf_counter()
    with pytest.raises(PipelineError) as exc:
        Stages.load(path)
    assert time.perf_counter() - started < 1
    assert str(exc.value) == f"{path}: cannot read the pipeline file: it is not a regular file"
