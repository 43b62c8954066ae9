"""Loading pipeline files: the accepted shapes and the one-line errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from ductflow_core.errors import PipelineError
from ductflow_core.models import CustomConnection, SinkStage, Stages, TapStage, TransformStage

GUIDE_STAGE = """\
- name: MySqlWriter
  kind: sink
  connection:
    kind: CustomConnection
    module: myapp.connectors.database
    classname: MySQL
    params:
      port: 5555
"""


def load(text: str, tmp_path: Path, env: dict[str, str] | None = None) -> Stages:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text, encoding="utf-8")
    return Stages.load(path, env=env or {})


def test_guide_yaml_verbatim(tmp_path: Path) -> None:
    """The guide's sink stage, verbatim after a tap, loads into a CustomConnection with its params."""
    text = "- name: src\n  kind: tap\n  connection: {kind: csv, params: {path: a.csv}}\n" + GUIDE_STAGE
    pipeline = load(text, tmp_path)
    sink = pipeline["MySqlWriter"]
    assert isinstance(sink, SinkStage)
    assert sink.connection == CustomConnection(
        kind="CustomConnection", module="myapp.connectors.database", classname="MySQL", params={"port": 5555}
    )


def test_mapping_form_with_settings(tmp_path: Path) -> None:
    """A mapping with stages and settings gives the database file and DuckDB options."""
    text = (
        "database: run.duckdb\nduckdb: {threads: 2}\nstages:\n"
        "  - {name: a, kind: tap, connection: {kind: csv}}\n"
        "  - {name: b, kind: transform, sql: SELECT * FROM a}\n"
    )
    pipeline = load(text, tmp_path)
    assert pipeline.settings.database == "run.duckdb"
    assert pipeline.settings.duckdb == {"threads": 2}
    assert isinstance(pipeline["b"], TransformStage)
    assert pipeline.base_dir == tmp_path.resolve()


def test_short_form_kind_is_a_locator(tmp_path: Path) -> None:
    """``kind: parquet`` in a connection means CustomConnection with locator parquet."""
    pipeline = load("- {name: a, kind: tap, connection: {kind: parquet, params: {path: x}}}\n", tmp_path)
    tap = pipeline["a"]
    assert isinstance(tap, TapStage)
    assert tap.connection.kind == "CustomConnection"
    assert tap.connection.locator == "parquet"


def test_env_vars_are_interpolated_and_typed(tmp_path: Path) -> None:
    """``${VAR}`` and ``${VAR:-default}`` come from the environment; a lone unquoted one takes its YAML type."""
    text = (
        "- name: a\n  kind: tap\n  connection:\n    kind: csv\n    params:\n"
        "      port: ${PORT}\n      host: ${HOST:-localhost}\n      dsn: 'postgresql://u:${PW}@h/db'\n"
        "      literal: $${NOT_A_VAR}\n"
    )
    pipeline = load(text, tmp_path, env={"PORT": "5432", "PW": "s3cret-pw"})
    params = pipeline["a"].connection.params  # type: ignore[attr-defined]
    assert params == {
        "port": 5432,
        "host": "localhost",
        "dsn": "postgresql://u:s3cret-pw@h/db",
        "literal": "${NOT_A_VAR}",
    }
    assert "s3cret-pw" in pipeline.secrets


BAD = [
    ("- name: a\n  kind: tap\n\tconnection: {kind: csv}\n", "3: not valid YAML: a tab character"),
    ("- name: a\n  kind: [tap\n", "not valid YAML"),
    ("", "the pipeline is empty"),
    ("name: a\nkind: tap\n", "pipeline.yaml:1: name: unknown key 'name'"),
    ("stages: {a: 1}\n", "pipeline.yaml:1: stages: expected a list of stages, got a mapping"),
    ("- kind: tap\n  connection: {kind: csv}\n", "pipeline.yaml:1: stage #1: missing key 'name'"),
    ("- name: a\n  connection: {kind: csv}\n", "pipeline.yaml:1: stage 'a': missing key 'kind'"),
    ("- name: a\n  kind: tapp\n", "pipeline.yaml:2: stage 'a': kind: unknown stage kind 'tapp'; expected one of"),
    (
        "- name: a\n  kind: tap\n  conection: {kind: csv}\n",
        "pipeline.yaml:3: stage 'a': conection: unknown key 'conection' (did you mean 'connection'?)",
    ),
    (
        "- name: a\n  kind: tap\n  connection: {kind: csv, config: {timeout: soon, batch_size: many}}\n",
        "pipeline.yaml:3: stage 'a': connection.config.timeout: expected a number, got 'soon' "
        "(also wrong: connection.config.batch_size)",
    ),
    (
        "- name: a\n  kind: tap\n  connection:\n    kind: CustomConection\n    module: m\n    classname: C\n",
        "pipeline.yaml:4: stage 'a': connection.kind: with 'module' and 'classname', kind is 'CustomConnection', "
        "got 'CustomConection' (did you mean 'CustomConnection'?)",
    ),
    (
        "- name: a\n  kind: tap\n  connection: {kind: csv}\n  show: many\n",
        "pipeline.yaml:4: stage 'a': show: expected int, got 'many'",
    ),
    (
        "- name: a\n  kind: tap\n  connection: {kind: csv, config: {timeout: soon}}\n",
        "pipeline.yaml:3: stage 'a': connection.config.timeout: expected a number, got 'soon'",
    ),
    ("- name: a\n  kind: tap\n", "pipeline.yaml:1: stage 'a': connection: missing required key"),
    ("- name: a\n  kind: transform\n", "pipeline.yaml:1: stage 'a': sql: missing required key"),
    (
        "- name: a\n  kind: tap\n  connection: {kind: csv}\n- name: a\n  kind: tap\n  connection: {kind: csv}\n",
        "pipeline.yaml:4: stage 'a': name: duplicate stage name 'a'; the first is at",
    ),
    (
        "- {name: orders, kind: tap, connection: {kind: csv}}\n- {name: Orders, kind: tap, connection: {kind: csv}}\n",
        "pipeline.yaml:2: stage 'Orders': name: duplicate stage name 'Orders' (DuckDB's table names ignore case: "
        "it clashes with 'orders'); the first is at",
    ),
    (
        "- name: a\n  kind: tap\n  connection: {kind: csv}\n- name: b\n  kind: sink\n  from: c\n"
        "  connection: {kind: csv}\n",
        "pipeline.yaml:6: stage 'b': from: no stage is called 'c'",
    ),
    (
        "- name: a\n  kind: sink\n  connection: {kind: csv}\n",
        "pipeline.yaml:1: stage 'a': a sink needs an input",
    ),
    (
        "- {name: a, kind: transform, sql: SELECT 1, from: b}\n- {name: b, kind: transform, sql: SELECT 2, from: a}\n",
        "stages depend on each other in a cycle: a -> b -> a",
    ),
    (
        "- name: a\n  kind: tap\n  connection:\n    kind: csv\n    params: {password: '${DB_PASSWORD}'}\n",
        "pipeline.yaml:5: stage 'a': connection.params.password: environment variable DB_PASSWORD is not set",
    ),
    ("- name: a\n  kind: tap\n  kind: sink\n", "pipeline.yaml:3: key 'kind' appears twice (first at line 2)"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m[:40] for _, m in BAD])
def test_bad_pipeline_gives_one_precise_line(text: str, message: str, tmp_path: Path) -> None:
    """Each broken pipeline fails to load with a one-line message naming file, line, stage and key."""
    with pytest.raises(PipelineError) as info:
        load(text, tmp_path)
    text_ = str(info.value)
    assert message in text_
    assert "\n" not in text_
    assert info.value.exit_code == 2


def test_env_value_is_never_shown_in_an_error(tmp_path: Path) -> None:
    """A wrong value that came from ``${VAR}`` is described without being printed."""
    text = "- name: a\n  kind: tap\n  connection: {kind: csv, config: {timeout: '${T}'}}\n"
    with pytest.raises(PipelineError) as info:
        load(text, tmp_path, env={"T": "hunter2-secret"})
    assert "hunter2-secret" not in str(info.value)
    assert "connection.config.timeout: expected a number, got a value from the environment (hidden)" in str(info.value)


def test_from_defaults_to_the_previous_table_stage(tmp_path: Path) -> None:
    """A sink without ``from`` reads the nearest tap or transform before it, skipping sql stages."""
    from ductflow_core.pipeline import plan

    text = (
        "- {name: a, kind: tap, connection: {kind: csv}}\n"
        "- {name: b, kind: transform, sql: SELECT * FROM a}\n"
        "- {name: ddl, kind: sql, query: CREATE TABLE t (x INT), connection: {kind: csv}}\n"
        "- {name: out, kind: sink, connection: {kind: csv}}\n"
    )
    pipeline = load(text, tmp_path)
    assert plan.input_of(pipeline, pipeline["out"]) == "b"
    assert plan.dependencies(pipeline)["out"] == {"b", "ddl"}
