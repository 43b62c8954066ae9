"""What a run may load and touch: plugin lists, module allowlist, requires, tracing, the DuckDB sandbox."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import conn

from ductflow_core.errors import PipelineError, PluginError, StageFailed
from ductflow_core.models import Stages
from ductflow_core.plugin.manager import make_plugin_manager
from ductflow_core.plugin.policy import Policy
from ductflow_core.plugin.registry import Registry, plugin_status
from ductflow_core.plugin.resolve import resolve_pipeline
from ductflow_core.testing import FakeDistribution, RunOutcome

Cli = Callable[..., subprocess.CompletedProcess[str]]
Run = Callable[..., RunOutcome]
DISTS = [
    FakeDistribution("good-dist", "1.0", {"ductflow.connections": {"numbers": "sample_connections:Numbers"}}),
    FakeDistribution("bad-dist", "0.3", {"ductflow": {"badhooks": "no_such_hook_module_z:plugin"}}),
]


def _pipeline(tmp_path: Path, text: str) -> Stages:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text, encoding="utf-8")
    return Stages.load(path)


def test_policy_reads_environment_lists() -> None:
    """DUCTFLOW_LOAD_PLUGINS set but empty allows nothing; DISABLE blocks by plugin or distribution name."""
    assert not Policy.from_env({"DUCTFLOW_LOAD_PLUGINS": ""}).allows_plugin("csv", "ductflow-files")
    assert Policy.from_env({"DUCTFLOW_LOAD_PLUGINS": "ductflow-files"}).allows_plugin("csv", "ductflow-files")
    assert not Policy.from_env({"DUCTFLOW_DISABLE_PLUGINS": "csv"}).allows_plugin("csv", "ductflow-files")
    assert Policy.from_env({}).allows_plugin("csv", "ductflow-files")


def test_disabled_locator_is_unknown_to_pipelines(tmp_path: Path) -> None:
    """A locator blocked by the policy cannot be resolved, and plugins reports it as disabled."""
    registry = Registry(DISTS, Policy(disable=frozenset({"good-dist"})))
    with pytest.raises(PluginError, match=r"locator 'numbers' \(good-dist 1\.0\) is disabled by DUCTFLOW_LOAD_PLUGINS"):
        resolve_pipeline(_pipeline(tmp_path, "- {name: s, kind: tap, connection: {kind: numbers}}\n"), registry)
    numbers = next(i for i in registry.everything() if i.name == "numbers")
    assert plugin_status(registry, numbers) == "disabled"


def test_broken_hook_plugin_is_skipped_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    """A hook plugin that fails to import is skipped with a warning naming it and its distribution."""
    pm = make_plugin_manager(registry=Registry(DISTS))
    assert "bad-dist:badhooks" not in {name for name, _ in pm.list_name_plugin()}
    assert "plugin 'badhooks' from distribution bad-dist 0.3 failed to import" in capsys.readouterr().err


def test_strict_plugins_turns_a_broken_plugin_into_an_error() -> None:
    """With strict on, the broken hook plugin stops plugin manager creation."""
    with pytest.raises(PluginError, match=r"bad-dist 0\.3"):
        make_plugin_manager(registry=Registry(DISTS, Policy(strict=True)))


def test_plugins_command_shows_broken_status() -> None:
    """The status of a plugin that cannot import is 'broken' with the cause."""
    registry = Registry(DISTS)
    bad = next(i for i in registry.everything() if i.name == "badhooks")
    assert plugin_status(registry, bad).startswith("broken: ModuleNotFoundError")


def test_module_allowlist_refuses_before_importing(tmp_path: Path) -> None:
    """A module outside the allowlist is refused with a message, and never imported."""
    (tmp_path / "never_imported_mod.py").write_text("raise SystemExit('imported!')\n")
    pipeline = _pipeline(
        tmp_path,
        "- {name: s, kind: tap, connection: {kind: CustomConnection, module: never_imported_mod, classname: X}}\n",
    )
    registry = Registry([], Policy(allowed_modules=("myapp.*",)))
    with pytest.raises(PluginError, match=r"module 'never_imported_mod' is not allowed \(allowed modules: myapp\.\*\)"):
        resolve_pipeline(pipeline, registry)


def test_plugins_only_refuses_every_module(cli: Cli, tmp_path: Path) -> None:
    """--plugins-only makes validate refuse a pipeline that imports a module, with exit code 2."""
    (tmp_path / "pipeline.yaml").write_text(f"- {{name: s, kind: tap, connection: {conn('Numbers')}}}\n")
    proc = cli("validate", "--plugins-only", "pipeline.yaml")
    assert proc.returncode == 2
    assert "only installed plugins may be used (--plugins-only)" in proc.stderr


def test_requires_lists_everything_missing_at_once(tmp_path: Path) -> None:
    """requires: names every missing or too-old distribution in one error."""
    from ductflow_core.pipeline.requirements import check_requirements

    pipeline = _pipeline(
        tmp_path,
        'requires: ["ductflow>=99", "surely-not-installed-dist", "pyyaml"]\n'
        f"stages:\n  - {{name: s, kind: tap, connection: {conn('Numbers')}}}\n",
    )
    with pytest.raises(PipelineError) as info:
        check_requirements(pipeline)
    message = str(info.value)
    assert "ductflow>=99 (installed: 0.1.0)" in message
    assert "surely-not-installed-dist (not installed)" in message
    assert "pyyaml" not in message.split("missing")[1].split(";")[0]


def test_trace_hooks_prints_each_call(cli: Cli, tmp_path: Path) -> None:
    """DUCTFLOW_TRACE_HOOKS=1 prints each hook call with its stage, implementations and duration."""
    (tmp_path / "pipeline.yaml").write_text(f"- {{name: s, kind: tap, connection: {conn('Numbers')}}}\n")
    proc = cli("run", "pipeline.yaml", env={"DUCTFLOW_TRACE_HOOKS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "trace: ductflow_tap stage='s' via [ductflow.timeout, ductflow.operations]" in proc.stderr
    assert "trace: ductflow_run_end via [ductflow.progress]" in proc.stderr


def test_sandbox_blocks_files_not_declared(ductflow_run: Run, ductflow_project: Path) -> None:
    """With a sandbox, transform SQL reads files in the allowed folder and is refused any other."""
    allowed = ductflow_project / "data"
    allowed.mkdir()
    (allowed / "ok.csv").write_text("x\n1\n2\n")
    outside = ductflow_project.parent / "secret.csv"
    outside.write_text("x\n42\n")
    head = "sandbox: {allowed_directories: [data]}\nstages:\n"
    outcome = ductflow_run(
        head + f"  - {{name: t, kind: transform, sql: \"SELECT sum(x) AS s FROM '{allowed}/ok.csv'\"}}\n"
    )
    assert outcome.rows("SELECT s FROM t") == [(3,)]
    with pytest.raises(StageFailed, match="Permission Error"):
        ductflow_run(head + f"  - {{name: t, kind: transform, sql: \"SELECT * FROM '{outside}'\"}}\n")


def test_sandbox_is_locked(ductflow_run: Run) -> None:
    """Inside a sandbox, external access is off and the configuration is locked against pipeline SQL."""
    outcome = ductflow_run(
        "sandbox: {allowed_directories: []}\nstages:\n"
        "  - name: t\n    kind: transform\n    sql: >-\n"
        "      SELECT current_setting('enable_external_access') AS ext,\n"
        "             current_setting('lock_configuration') AS locked\n"
    )
    assert outcome.rows("SELECT ext, locked FROM t") == [(False, True)]


@pytest.mark.parametrize("setting", ["enable_external_access: false", "lock_configuration: true"])
def test_sandbox_with_settings_that_forestall_it_is_one_error(ductflow_run: Run, setting: str) -> None:
    """duckdb: settings that shut what the sandbox must still set give a pipeline error, not a DuckDB traceback."""
    with pytest.raises(PipelineError, match="sandbox: cannot be applied with these duckdb: settings"):
        ductflow_run(
            f"duckdb: {{{setting}}}\nsandbox: {{allowed_directories: [data]}}\nstages:\n"
            "  - {name: t, kind: transform, sql: SELECT 1 AS x}\n"
        )


def test_transform_with_a_second_statement_is_refused(ductflow_run: Run) -> None:
    """A transform whose SQL carries a second statement fails at load, before anything runs."""
    pattern = r"pipeline\.yaml:2: stage 't': sql: a transform is one SELECT query; found 2 statement\(s\): SELECT, DROP"
    with pytest.raises(PipelineError, match=pattern):
        ductflow_run(
            "- {name: a, kind: transform, sql: SELECT 1 AS x}\n"
            "- {name: t, kind: transform, sql: SELECT 1; DROP TABLE a}\n"
        )


def test_validate_print_masks_secrets(cli: Cli, tmp_path: Path) -> None:
    """validate --print shows the resolved pipeline with every ${VAR} value replaced by ***."""
    (tmp_path / "pipeline.yaml").write_text(
        "- name: s\n  kind: tap\n  connection:\n    kind: CustomConnection\n    module: sample_connections\n"
        "    classname: Untyped\n    params:\n      password: ${PW}\n      short: ${SHORT}\n"
    )
    proc = cli("validate", "--print", "pipeline.yaml", env={"PW": "pw-very-secret", "SHORT": "ab"})
    assert proc.returncode == 0, proc.stderr
    assert "password: '***'" in proc.stdout
    assert "short: '***'" in proc.stdout
    assert "pw-very-secret" not in proc.stdout
