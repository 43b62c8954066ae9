"""The ``${...}`` grammar: each documented form, each malformed one refused at file:line, and fuzzing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ductflow_core.errors import DuctflowError, PipelineError
from ductflow_core.models import Stages


def pipeline_text(template: str) -> str:
    """A one-transform pipeline whose SQL is ``template``, single-quoted in YAML."""
    quoted = template.replace("'", "''")
    return f"- name: t\n  kind: transform\n  sql: '{quoted}'\n"


def sql_of(tmp_path: Path, template: str, env: dict[str, str]) -> str:
    """Load the pipeline of ``template`` from a file and return its SQL."""
    path = tmp_path / "pipeline.yaml"
    path.write_text(pipeline_text(template), encoding="utf-8")
    return Stages.load(path, env=env)["t"].sql  # type: ignore[attr-defined, no-any-return]


FORMS = [
    ("${A}", {"A": "x1"}, "x1"),
    ("${A}", {"A": ""}, ""),
    ("${A:-dflt}", {}, "dflt"),
    ("${A:-dflt}", {"A": ""}, "dflt"),
    ("${A:-dflt}", {"A": "set"}, "set"),
    ("${A-dflt}", {}, "dflt"),
    ("${A-dflt}", {"A": ""}, ""),
    ("${A:-${B}}", {"B": "from-b"}, "from-b"),
    ("${A:-pre ${B:-inner} post}", {}, "pre inner post"),
    ("${A:-}", {}, ""),
    ("${A:?give A}", {"A": "ok"}, "ok"),
    ("${A?give A}", {"A": ""}, ""),
    ("$${A}", {"A": "no"}, "${A}"),
    ("$${A:-${B}}", {"B": "no"}, "${A:-${B}}"),
    ("SELECT $$x$$, $1, $tag$y$tag$", {}, "SELECT $$x$$, $1, $tag$y$tag$"),
    ("cost $5 {x} }", {}, "cost $5 {x} }"),
    ("a${A}b${B:-c}d", {"A": "1"}, "a1bcd"),
]


def test_each_documented_form_expands(tmp_path: Path) -> None:
    """Each form of the grammar in docs/pipeline.md expands to what the table there says."""
    got = {(template, str(env)): sql_of(tmp_path, template, env) for template, env, _ in FORMS}
    assert got == {(template, str(env)): expected for template, env, expected in FORMS}


MALFORMED = ["${A_${B}}", "${1X}", "${X:}", "${}", "${X", "${X:-abc", "${X:+y}", "${ X}", "${X:?msg"]


@pytest.mark.parametrize("template", MALFORMED)
def test_malformed_forms_are_refused_at_file_line(tmp_path: Path, template: str) -> None:
    """A ``${`` that is no form of the grammar is a PipelineError at the value's line, not literal text."""
    env = {"A_x": "1", "B": "x", "X": "set", "A": "a"}
    with pytest.raises(PipelineError) as info:
        sql_of(tmp_path, f"SELECT {template}", env)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'pipeline.yaml'}:3: stage 't': sql: ")
    assert "${" in message
    assert "\n" not in message


def test_required_variable_names_itself_and_the_message_never_the_value(tmp_path: Path) -> None:
    """``${NAME:?message}`` unset fails with exit code 2, naming NAME and the message."""
    with pytest.raises(PipelineError) as info:
        sql_of(tmp_path, "SELECT '${TENANT:?set TENANT to the customer id}'", {})
    assert str(info.value).endswith("sql: environment variable TENANT is not set: set TENANT to the customer id")
    assert info.value.exit_code == 2
    with pytest.raises(PipelineError, match="environment variable TENANT is empty"):
        sql_of(tmp_path, "SELECT '${TENANT:?}'", {"TENANT": ""})


def test_unused_default_with_unset_variable_is_no_error(tmp_path: Path) -> None:
    """A default is only expanded when used: its unset variable does not matter when the outer one is set."""
    assert sql_of(tmp_path, "${A:-${NEVER}}", {"A": "ok"}) == "ok"


_NAMES = st.sampled_from(["A", "B", "C_1", "_D"])
_PIECES = st.one_of(
    st.text(alphabet="abcxyz ${}:-?_'", max_size=6),
    _NAMES.map(lambda n: "${" + n + "}"),
    st.tuples(_NAMES, st.text(alphabet="xyz ${}", max_size=5)).map(lambda t: "${" + t[0] + ":-" + t[1] + "}"),
    st.tuples(_NAMES, st.sampled_from([":-", "-", ":?", "?", ":", ""])).map(lambda t: "${" + t[0] + t[1]),
    st.just("$${A}"),
    st.just("$$"),
)
# Letters no message of Ductflow's and no template above contains, so finding one in a message is a leak.
_ENV = st.dictionaries(_NAMES, st.text(alphabet="QWZXKJ", max_size=8))


# A `${` not followed by a name, or a name followed by none of `}`, `:-`, `-`.
_MALFORMED = re.compile(r"\$\{(?![A-Za-z_])|\$\{[A-Za-z_]\w*(?![\w}]|:-|-)")


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=6).map("".join), _ENV)
def test_fuzzed_templates_never_trace_and_never_print_env_values(template: str, env: dict[str, str]) -> None:
    """Any template with any environment loads or fails with one DuctflowError line that shows no env value."""
    try:
        sql = Stages.load(pipeline_text(template), env=env)["t"].sql  # type: ignore[attr-defined]
    except DuctflowError as exc:
        message = str(exc)
        assert "\n" not in message
        assert message.startswith("<string>:3: ")
        for value in env.values():
            if value:
                assert value not in message
    else:
        if "$$" not in template and "?" not in template:
            # Outside escapes and `?` messages every `${` starts a form: a malformed one cannot have loaded.
            assert not _MALFORMED.search(template), sql


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abc xyz-", min_size=1, max_size=10), st.text(alphabet="QWZ", min_size=4, max_size=6))
def test_fuzzed_defaults_are_never_masked(default: str, value: str) -> None:
    """A default written in the pipeline is not a secret: nothing of it is masked in validate --print."""
    from ductflow_core.cli.render import dump_masked

    pipeline = Stages.load(pipeline_text("SELECT '${UNSET:-" + default + "} corp'"), env={"OTHER": value})
    assert pipeline["t"].sql == f"SELECT '{default} corp'"  # type: ignore[attr-defined]
    assert not pipeline.secrets
    assert not pipeline.secret_paths
    assert "***" not in dump_masked(pipeline)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="QWZXKJ", min_size=1, max_size=12), st.sampled_from(["after: ['${SET}']", "from: '${SET}'"]))
def test_fuzzed_env_values_are_masked_whatever_their_length(value: str, key: str) -> None:
    """A stage reference from the environment naming no stage is reported without its value, whatever its length."""
    text = f"- {{name: a, kind: transform, sql: SELECT 1}}\n- {{name: b, kind: transform, sql: SELECT 2, {key}}}\n"
    with pytest.raises(PipelineError) as info:
        Stages.load(text, env={"SET": value})
    assert "no stage is called '***'" in str(info.value)
    assert value not in str(info.value)
