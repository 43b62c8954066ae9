"""Structured errors: exit codes as an enum, one first-line helper, PipelineError with fields."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import attrs
import duckdb
import pytest

from ductflow_core.cli.main import main
from ductflow_core.errors import DuctflowError, ExitCode, PipelineError, StageFailed, first_line

Cli = Callable[..., subprocess.CompletedProcess[str]]


@attrs.frozen
class Choice:
    """A structure with Literal fields, for the converter's messages."""

    modes: list[Literal["a", "b"]]
    one: Literal["x", "z"] | None = None


def test_exit_codes_are_the_documented_numbers() -> None:
    """ExitCode names the five codes ductflow exits with, 130 and 143 being 128 + SIGINT and SIGTERM."""
    assert [(c.name, int(c)) for c in ExitCode] == [
        ("OK", 0),
        ("FAILED", 1),
        ("INVALID", 2),
        ("INTERRUPTED", 130),
        ("TERMINATED", 143),
    ]
    assert ExitCode(128 + int(signal.SIGINT)) is ExitCode.INTERRUPTED
    assert ExitCode(128 + int(signal.SIGTERM)) is ExitCode.TERMINATED


def test_error_classes_carry_exit_code_members() -> None:
    """An invalid pipeline's error exits INVALID and a failed run's FAILED, as ExitCode members."""
    assert PipelineError.exit_code is ExitCode.INVALID
    assert StageFailed.exit_code is ExitCode.FAILED
    assert DuctflowError.exit_code is ExitCode.FAILED


def test_cli_returns_exit_code_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ductflow entry point returns an ExitCode member: INVALID for a broken pipeline, OK for a valid one."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("- {name: a, kind: nope}\n", encoding="utf-8")
    (tmp_path / "good.yaml").write_text("- {name: a, kind: transform, sql: 'SELECT 1 AS x'}\n", encoding="utf-8")
    assert main(["validate", "bad.yaml"]) is ExitCode.INVALID
    assert main(["validate", "good.yaml"]) is ExitCode.OK


def test_first_line_of_a_real_duckdb_error() -> None:
    """first_line keeps the first non-blank line of DuckDB's multi-line parser error, stripped."""
    con = duckdb.connect()
    with pytest.raises(duckdb.Error) as caught:
        con.execute("SELECT FROM WHERE")
    assert "\n" in str(caught.value)
    line = first_line(caught.value)
    assert line == str(caught.value).strip().splitlines()[0].strip()
    assert line.startswith("Parser Error:")
    assert "\n" not in line


def test_first_line_skips_blank_lines_and_falls_back() -> None:
    """Blank leading lines are skipped; an empty error gives its class name, an empty text the fallback or ''."""
    assert first_line(ValueError("\n  \n  the cause  \ncontext")) == "the cause"
    assert first_line(ValueError("")) == "ValueError"
    assert first_line(ValueError(""), fallback="") == ""
    assert first_line("") == ""
    assert first_line("   \n", fallback="none") == "none"


def test_plugins_use_the_core_first_line() -> None:
    """The files plugin's and the PostgreSQL plugin's error helpers are the core's first_line, not copies."""
    from ductflow_files import sqltext
    from ductflow_postgres.errors import server_cause

    assert sqltext.first_line is first_line
    assert server_cause(RuntimeError("\n\nERROR:  relation \"x\" does not exist\nLINE 1: ...")) == (
        'relation "x" does not exist'
    )
    assert server_cause(RuntimeError("")) == "RuntimeError"


def _load_error(path_or_text: str | Path, env: dict[str, str] | None = None) -> PipelineError:
    from ductflow_core.models import Stages

    with pytest.raises(PipelineError) as info:
        Stages.load(path_or_text, env=env or {})
    return info.value


def test_pipeline_error_carries_where_as_fields(tmp_path: Path) -> None:
    """A wrong param type gives source, line, stage and key path as fields, and str() joins them as before."""
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "- name: nums\n  kind: tap\n  connection:\n    kind: CustomConnection\n"
        "    module: sample_connections\n    classname: Numbers\n    config: {timeout: abc}\n",
        encoding="utf-8",
    )
    error = _load_error(path)
    assert (error.source, error.line, error.stage, error.key_path) == (
        str(path),
        7,
        "nums",
        ("connection", "config", "timeout"),
    )
    assert error.message.startswith("expected")
    assert str(error) == f"{path}:7: stage 'nums': connection.config.timeout: {error.message}"


def test_unnamed_stage_is_its_position() -> None:
    """A stage without a name is named by its position from 1, as the int field ``stage`` and ``stage #2``."""
    error = _load_error("- {name: a, kind: transform, sql: 'SELECT 1'}\n- {kind: transform, sql: 'SELECT 2'}\n")
    assert error.stage == 2
    assert error.key_path == ()
    assert str(error) == "<string>:2: stage #2: missing key 'name'"


def test_whole_pipeline_and_top_level_key_errors() -> None:
    """An error at no key is about the pipeline; one at a top-level key has no stage and that key as its path."""
    whole = _load_error("database: x.duckdb\n")
    assert (whole.stage, whole.key_path, whole.line) == (None, (), 1)
    assert str(whole) == "<string>:1: pipeline: missing key 'stages' (the list of stages)"
    top = _load_error("stages: [{name: a, kind: transform, sql: 'SELECT 1'}]\ndatabse: x.duckdb\n")
    assert (top.stage, top.key_path, top.line) == (None, ("databse",), 2)
    assert str(top).startswith("<string>:2: databse: unknown key 'databse' (did you mean 'database'?)")


def test_file_level_error_has_source_only(tmp_path: Path) -> None:
    """A missing pipeline file is reported as ``file: message`` from the source field, with no line or key."""
    error = _load_error(tmp_path / "nowhere.yaml")
    assert (error.source, error.line, error.stage, error.key_path) == (str(tmp_path / "nowhere.yaml"), None, None, ())
    assert str(error) == f"{tmp_path / 'nowhere.yaml'}: no such pipeline file"


def test_fields_hold_no_value_from_the_environment() -> None:
    """A stage name and a message built from ${VAR} are masked in the fields themselves, not only in str()."""
    error = _load_error("- {name: '${N}', kind: nope}\n", env={"N": "topsecret"})
    assert error.stage == "***"
    assert "topsecret" not in error.message
    assert "topsecret" not in str(error)
    assert str(error).startswith("<string>:1: stage '***': kind: unknown stage kind 'nope'")


def test_pipeline_error_formats_its_own_fields() -> None:
    """Built by hand, a PipelineError joins whichever fields it has; with none it is its message."""
    assert str(PipelineError("bad")) == "bad"
    assert str(PipelineError("bad", source="p.yaml")) == "p.yaml: bad"
    assert str(PipelineError("bad", source="p.yaml", line=3, key_path=("duckdb", "threads"))) == (
        "p.yaml:3: duckdb.threads: bad"
    )
    full = PipelineError("bad", source="p.yaml", line=3, stage="load", key_path=("connection", "params", "port"))
    assert str(full) == "p.yaml:3: stage 'load': connection.params.port: bad"
    assert str(PipelineError("bad", source="p.yaml", line=4, stage=3, key_path=("sql",))) == (
        "p.yaml:4: stage #3: sql: bad"
    )


def test_error_found_after_loading_has_fields(tmp_path: Path) -> None:
    """A loaded pipeline builds a PipelineError for a stage's key with the stage's line, name and key path."""
    from ductflow_core.models import Stages

    pipeline = Stages.load("- {name: a, kind: transform, sql: 'SELECT 1'}\n- name: b\n  kind: transform\n  sql: x\n")
    error = pipeline.error("b", ("sql",), "not a query")
    assert (error.source, error.line, error.stage, error.key_path) == ("<string>", 4, "b", ("sql",))
    assert pipeline.error_text("b", ("sql",), "not a query") == str(error) == "<string>:4: stage 'b': sql: not a query"


def test_a_locator_claimed_twice_is_a_plugin_conflict() -> None:
    """Two distributions claiming one locator raise PluginConflict, which `plugins` shows as a conflict by type."""
    from ductflow_core.errors import PluginConflict
    from ductflow_core.plugin.registry import plugin_status
    from ductflow_core.testing import FakeDistribution, fake_registry

    registry = fake_registry(
        FakeDistribution("first-dist", "1.0", {"ductflow.connections": {"dup": "sample_connections:Numbers"}}),
        FakeDistribution("second-dist", "3.0", {"ductflow.connections": {"dup": "sample_connections:Untyped"}}),
    )
    with pytest.raises(PluginConflict):
        registry.connection_class("dup")
    info = next(i for i in registry.locators() if i.name == "dup")
    assert plugin_status(registry, info).startswith("conflict: locator 'dup' is claimed by two distributions")


def test_sandbox_refused_by_duckdb_settings_is_blamed_by_key(tmp_path: Path) -> None:
    """DuckDB refusing the sandbox under a duckdb: setting gives an error at the duckdb: key, as fields."""
    from ductflow_core import api
    from ductflow_core.models import Stages

    (tmp_path / "data").mkdir()
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "duckdb: {lock_configuration: true}\nsandbox: {allowed_directories: [data]}\n"
        "stages:\n  - {name: t, kind: transform, sql: SELECT 1 AS x}\n",
        encoding="utf-8",
    )
    with pytest.raises(PipelineError) as info:
        api.open_database(Stages.load(path)).close()
    error = info.value
    assert (error.source, error.line, error.stage, error.key_path) == (str(path), 1, None, ("duckdb",))
    assert str(error).startswith(f"{path}:1: duckdb: sandbox: cannot be applied with these duckdb: settings (")


def test_literal_choices_come_from_the_declared_type() -> None:
    """A value outside a Literal, in a list or optional, is reported with the choices its type declares."""
    from cattrs.errors import ClassValidationError

    from ductflow_core.pipeline import convert as _convert

    with pytest.raises(ClassValidationError) as info:
        _convert.structure({"modes": ["a", "c"], "one": "y"}, Choice)
    assert sorted(_convert.flatten(info.value, Choice)) == [
        (("modes", 1), "expected one of 'a', 'b', got 'c'"),
        (("one",), "expected one of 'x', 'z', got 'y'"),
    ]


def test_documented_exit_statuses_are_the_enum() -> None:
    """docs/cli.md's exit status table lists exactly the ExitCode values, in order."""
    import re

    doc = (Path(__file__).parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    table = doc.split("## Exit status", 1)[1].split("\n\n| Status", 1)[1].split("\n\n", 1)[0]
    assert [int(n) for n in re.findall(r"^\| (\d+) \|", table, re.M)] == [int(c) for c in ExitCode]


def test_requires_errors_carry_their_key() -> None:
    """A malformed or missing ``requires:`` entry is a PipelineError at ``requires[i]`` or ``requires``, as fields."""
    from ductflow_core.models import Stages
    from ductflow_core.pipeline.requirements import check_requirements

    stages = "stages:\n  - {name: a, kind: transform, sql: SELECT 1}\n"
    with pytest.raises(PipelineError) as bad:
        check_requirements(Stages.load(f"requires:\n  - pyyaml\n  - '!!nope'\n{stages}"))
    assert (bad.value.line, bad.value.key_path) == (3, ("requires", 1))
    assert str(bad.value).startswith("<string>:3: requires[1]: not a requirement: ")
    with pytest.raises(PipelineError) as missing:
        check_requirements(Stages.load(f"requires: [surely-not-installed-g2]\n{stages}"))
    assert (missing.value.line, missing.value.key_path) == (1, ("requires",))
    assert str(missing.value).startswith("<string>:1: requires: missing surely-not-installed-g2 (not installed)")


def test_yaml_level_errors_carry_their_line() -> None:
    """A duplicate key or a control character is a PipelineError with the line as a field and no key path."""
    twice = _load_error("- name: a\n  kind: transform\n  name: b\n")
    assert (twice.source, twice.line, twice.stage, twice.key_path) == ("<string>", 3, None, ())
    assert str(twice) == "<string>:3: key 'name' appears twice (first at line 1)"
    control = _load_error("- {name: a, kind: transform, sql: SELECT 1}\n- \x07\n")
    assert (control.line, control.message) == (
        2,
        "not valid YAML: control character U+0007 (YAML allows tab and newline)",
    )


def test_unknown_stage_name_error_has_the_source_field() -> None:
    """Selecting a stage nobody defines is a PipelineError whose source is a field and whose text is unchanged."""
    from ductflow_core import api
    from ductflow_core.models import Stages

    pipeline = Stages.load("- {name: orders, kind: transform, sql: SELECT 1 AS x}\n")
    with pytest.raises(PipelineError) as info:
        api.validate(pipeline, stages=["order"], parse_sql=False)
    assert (info.value.source, info.value.line, info.value.key_path) == ("<string>", None, ())
    assert str(info.value) == "<string>: no stage is called 'order' (did you mean 'orders'?)"



def test_resolve_errors_are_structured(tmp_path: Path) -> None:
    """A wrong param and an unknown locator found while resolving carry stage, key path and line as fields."""
    from ductflow_core.errors import PluginError
    from ductflow_core.models import Stages
    from ductflow_core.plugin.registry import default_registry
    from ductflow_core.plugin.resolve import resolve_connection

    pipeline = Stages.load(
        "- name: a\n  kind: tap\n  connection:\n    kind: CustomConnection\n    module: sample_connections\n"
        "    classname: Numbers\n    params: {rows: abc}\n"
        "- {name: b, kind: tap, connection: {kind: no-such-locator-g2}}\n"
    )
    with pytest.raises(PipelineError) as param:
        resolve_connection(pipeline, pipeline.stages[0], default_registry())
    assert (param.value.stage, param.value.key_path, param.value.line) == ("a", ("connection", "params", "rows"), 7)
    with pytest.raises(PluginError) as plugin:
        resolve_connection(pipeline, pipeline.stages[1], default_registry())
    assert (plugin.value.stage, plugin.value.key_path, plugin.value.line) == ("b", ("connection", "kind"), 8)
    assert str(plugin.value).startswith("<string>:8: stage 'b': connection.kind: unknown locator 'no-such-locator-g2'")


def test_sandbox_symlink_leading_out_is_blamed_by_fields(tmp_path: Path) -> None:
    """A link below an allowed folder leading outside is refused with source, line and key path as fields."""
    import os

    from ductflow_core.api import run_sandbox
    from ductflow_core.models import Stages

    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (tmp_path / "secret.csv").write_text("x\n1\n", encoding="utf-8")
    os.symlink(tmp_path / "secret.csv", project / "data" / "s.csv")
    path = project / "pipeline.yaml"
    path.write_text(
        "sandbox:\n  allowed_directories:\n    - data\nstages:\n  - {name: t, kind: transform, sql: SELECT 1}\n",
        encoding="utf-8",
    )
    with pytest.raises(PipelineError) as info:
        run_sandbox(Stages.load(path))
    error = info.value
    assert (error.source, error.line, error.key_path) == (str(path), 3, ("sandbox", "allowed_directories"))
    assert str(error).startswith(f"{path}:3: sandbox.allowed_directories: ")
    assert "s.csv is a symlink to" in error.message
