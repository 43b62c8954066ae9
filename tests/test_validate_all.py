"""``ductflow validate`` reports every independent problem of a pipeline (up to a limit); ``run`` the first only."""

from __future__ import annotations

from pathlib import Path

import pytest

from ductflow_core.cli.commands.validate import LIMIT
from ductflow_core.cli.main import main
from ductflow_core.errors import ExitCode, PipelineError, PipelineErrors
from ductflow_core.pipeline.loader import load_pipeline

NUMBERS = "{kind: CustomConnection, module: sample_connections, classname: Numbers, params: {%s}}"


def _errors(
    args: list[str], tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[str]]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    code = main([*args, "p.yaml"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, [line for line in err.splitlines() if line.startswith("error:")]


STRUCTURE = """\
databse: x.duckdb
stages:
  - {name: a, kind: nope}
  - {kind: transform, sql: 'SELECT 1'}
  - name: c
    kind: tap
    connection: {kind: CustomConnection, module: sample_connections, classname: Numbers, config: {timeout: abc}}
  - {name: d, kind: transform, sql: 'SELECT 1', after: zz}
"""


def test_validate_reports_every_independent_structure_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt top-level key and three broken stages give four lines in file order, then exit 2."""
    code, lines = _errors(["validate"], tmp_path, STRUCTURE, monkeypatch, capsys)
    assert code is ExitCode.INVALID
    assert lines == [
        "error: p.yaml:1: databse: unknown key 'databse' (did you mean 'database'?)",
        "error: p.yaml:3: stage 'a': kind: unknown stage kind 'nope'; expected one of tap, transform, sink, sql",
        "error: p.yaml:4: stage #2: missing key 'name'",
        "error: p.yaml:7: stage 'c': connection.config.timeout: expected a number, got 'abc'",
        "error: p.yaml:8: stage 'd': after: expected a list, got 'zz'",
    ]


def test_run_still_stops_at_the_first_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``run`` of the same pipeline prints only its first problem."""
    code, lines = _errors(["run"], tmp_path, STRUCTURE, monkeypatch, capsys)
    assert code is ExitCode.INVALID
    assert lines == ["error: p.yaml:1: databse: unknown key 'databse' (did you mean 'database'?)"]


def test_one_stage_gives_one_line_however_many_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Within one stage's structure only the first problem is a line; the others are named in it."""
    text = "- name: a\n  kind: transform\n  sql: 1\n  show: x\n  colour: red\n"
    code, lines = _errors(["validate"], tmp_path, text, monkeypatch, capsys)
    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith("error: p.yaml:5: stage 'a': colour: unknown key 'colour'")
    assert "also wrong: " in lines[0]


def test_validate_reports_each_stage_connection_and_sql_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Wrong params in two taps and a transform that is not a query are three lines, resolved for real."""
    text = (
        f"- {{name: a, kind: tap, connection: {NUMBERS % 'rows: abc'}}}\n"
        "- {name: b, kind: transform, sql: 'DELETE FROM a'}\n"
        f"- {{name: c, kind: tap, connection: {NUMBERS % 'rowz: 1'}}}\n"
        f"- {{name: d, kind: tap, connection: {NUMBERS % 'rows: 3'}}}\n"
    )
    code, lines = _errors(["validate"], tmp_path, text, monkeypatch, capsys)
    assert code == 2
    assert lines == [
        "error: p.yaml:1: stage 'a': connection.params.rows: expected int, got 'abc'",
        "error: p.yaml:2: stage 'b': sql: a transform is one SELECT query; this one starts with DELETE",
        "error: p.yaml:3: stage 'c': connection.params.rowz: unknown key 'rowz' (did you mean 'rows'?)",
    ]
    code, lines = _errors(["run"], tmp_path, text, monkeypatch, capsys)
    assert (code, len(lines)) == (2, 1)


def test_unset_variables_in_two_stages_are_two_lines_and_hide_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two stages using unset variables give one line each, no knock-on error, and no set value is printed."""
    monkeypatch.delenv("DUCTFLOW_G2_UNSET_A", raising=False)
    monkeypatch.delenv("DUCTFLOW_G2_UNSET_B", raising=False)
    monkeypatch.setenv("DUCTFLOW_G2_NAME", "topsecret")
    text = (
        "- {name: '${DUCTFLOW_G2_NAME}', kind: nope}\n"
        "- {name: b, kind: transform, sql: 'SELECT ${DUCTFLOW_G2_UNSET_A}'}\n"
        "- {name: c, kind: transform, sql: 'SELECT ${DUCTFLOW_G2_UNSET_B}'}\n"
    )
    code, lines = _errors(["validate"], tmp_path, text, monkeypatch, capsys)
    assert code == 2
    assert [line.split(": ", 3)[2] for line in lines] == ["stage '***'", "stage 'b'", "stage 'c'"]
    assert "environment variable DUCTFLOW_G2_UNSET_A is not set" in lines[1]
    assert "environment variable DUCTFLOW_G2_UNSET_B is not set" in lines[2]
    assert not any("topsecret" in line for line in lines)


def test_validate_stops_at_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Past the limit of problems, validate prints the first ones and one line saying it stopped looking."""
    text = "".join(f"- {{name: s{i}, kind: nope}}\n" for i in range(LIMIT + 5))
    code, lines = _errors(["validate"], tmp_path, text, monkeypatch, capsys)
    assert code == 2
    assert len(lines) == LIMIT + 1
    assert lines[0].startswith("error: p.yaml:1: stage 's0': kind: unknown stage kind 'nope'")
    assert lines[LIMIT - 1].startswith(f"error: p.yaml:{LIMIT}: stage 's{LIMIT - 1}': kind:")
    assert lines[-1] == f"error: p.yaml: more problems not checked after the first {LIMIT}; fix these first"


def test_loader_limit_raises_them_together_and_one_by_default() -> None:
    """load_pipeline with a limit raises PipelineErrors holding each problem; without, the first one alone."""
    text = "- {name: a, kind: nope}\n- {name: b, kind: transform, sql: 1}\n"
    with pytest.raises(PipelineErrors) as many:
        load_pipeline(text, env={}, limit=5)
    assert [(e.stage, e.line) for e in many.value.errors] == [("a", 1), ("b", 2)]
    assert str(many.value) == str(many.value.errors[0])
    with pytest.raises(PipelineError) as one:
        load_pipeline(text, env={})
    assert not isinstance(one.value, PipelineErrors)
    assert str(one.value) == str(many.value.errors[0])


def test_a_broken_file_is_one_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """YAML that does not parse, or has no stages list, is one line whatever validate's limit."""
    code, lines = _errors(["validate"], tmp_path, "stages: [\n  {name: a\n", monkeypatch, capsys)
    assert (code, len(lines)) == (2, 1)
    code, lines = _errors(["validate"], tmp_path, "database: x.duckdb\n", monkeypatch, capsys)
    assert (code, len(lines)) == (2, 1)
    assert lines[0] == "error: p.yaml:1: pipeline: missing key 'stages' (the list of stages)"


def test_misspelt_top_keys_explain_a_missing_stages_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no ``stages:`` but misspelt top-level keys, each misspelt key is a line, not "missing key 'stages'"."""
    code, lines = _errors(["validate"], tmp_path, "stagse: []\ndatabse: x\n", monkeypatch, capsys)
    assert code == 2
    assert lines == [
        "error: p.yaml:1: stagse: unknown key 'stagse' (did you mean 'stages'?)",
        "error: p.yaml:2: databse: unknown key 'databse' (did you mean 'database'?)",
    ]


REFERENCES = """\
- {name: a, kind: transform, sql: SELECT 1 AS x}
- {name: b, kind: transform, sql: SELECT 2 AS x, after: [nosuch]}
- {name: a, kind: transform, sql: SELECT 3 AS x}
- {name: c, kind: transform, sql: SELECT 4 AS x, from: ghost}
"""


def test_validate_reports_every_bad_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A duplicate name and an ``after`` and a ``from`` naming nothing, in three stages, give three lines."""
    code, errors = _errors(["validate"], tmp_path, REFERENCES, monkeypatch, capsys)
    assert code == ExitCode.INVALID
    assert errors == [
        "error: p.yaml:2: stage 'b': after[0]: no stage is called 'nosuch'",
        "error: p.yaml:3: stage 'a': name: duplicate stage name 'a'; the first is at p.yaml:1",
        "error: p.yaml:4: stage 'c': from: no stage is called 'ghost'",
    ]
    code, errors = _errors(["run"], tmp_path, REFERENCES, monkeypatch, capsys)
    assert (code, len(errors)) == (ExitCode.INVALID, 1)
