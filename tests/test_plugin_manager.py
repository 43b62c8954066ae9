"""Plugins misspelt or broken are errors, not silence; one tracer follows every hook."""

from __future__ import annotations

import io
import re
import types
from pathlib import Path
from typing import Any

import pluggy
import pytest
from conftest import conn

from ductflow_core import api, hookimpl
from ductflow_core.errors import PluginError
from ductflow_core.models import Stages
from ductflow_core.plugin.manager import make_plugin_manager
from ductflow_core.plugin.policy import Policy
from ductflow_core.plugin.registry import Registry
from ductflow_core.run.builtin.trace import Trace
from ductflow_core.testing import FakeDistribution, run_pipeline


class Misspelt:
    """A hook plugin whose author typed ``strat`` for ``start``."""

    @hookimpl
    def ductflow_run_strat(self, pipeline: object, stages: object) -> None:
        """Never called: no such hook."""


class WrongArgument:
    """A hook plugin asking for an argument the hook does not pass."""

    @hookimpl
    def ductflow_run_start(self, pipeline: object, nosuch: object) -> None:
        """Never called: pluggy refuses the argument."""


#: Entry-point targets for the fake distributions below (this module is importable: tests/ is on sys.path).
MISSPELT = Misspelt()
WRONG_ARGUMENT = WrongArgument()

NUMBERS = {"ductflow.connections": {"numbers": "sample_connections:Numbers"}}


def _registry(entry_points: dict[str, dict[str, str]], **policy: bool) -> Registry:
    return Registry([FakeDistribution("some-dist", "1.2", entry_points)], Policy(**policy))


def _pipeline(tmp_path: Path) -> Stages:
    path = tmp_path / "pipeline.yaml"
    path.write_text("- {name: s, kind: tap, connection: {kind: numbers}}\n", encoding="utf-8")
    return Stages.load(path)


def test_a_misspelt_hook_is_refused_naming_plugin_and_hook() -> None:
    """A plugin given to the manager that implements ``ductflow_run_strat`` is refused, with the hook it meant."""
    with pytest.raises(PluginError) as info:
        make_plugin_manager(registry=Registry([]), plugins=[Misspelt()])
    message = str(info.value)
    assert "implements 'ductflow_run_strat', which is not a Ductflow hook" in message
    assert "did you mean 'ductflow_run_start'" in message


def test_a_hook_argument_that_does_not_exist_is_one_line() -> None:
    """A plugin given to the manager whose hook asks for an argument the hook lacks is refused in one line."""
    with pytest.raises(PluginError, match=r"^plugin 'WrongArgument' in 'ductflow_run_start': Argument") as info:
        make_plugin_manager(registry=Registry([]), plugins=[WrongArgument()])
    assert "\n" not in str(info.value)


def test_an_installed_misspelt_plugin_is_skipped_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    """An installed hook plugin with a misspelt hook is left out, and a warning names it and the hook."""
    registry = _registry({"ductflow": {"typo": "test_plugin_manager:MISSPELT"}})
    pm = make_plugin_manager(registry=registry)
    assert "some-dist:typo" not in {name for name, _ in pm.list_name_plugin()}
    err = capsys.readouterr().err
    assert "warning: plugin 'some-dist:typo' implements 'ductflow_run_strat'" in err


def test_strict_makes_a_misspelt_or_wrong_hook_an_error() -> None:
    """With DUCTFLOW_STRICT_PLUGINS=1, an installed plugin's unknown hook or unknown argument stops the command."""
    typo = _registry({"ductflow": {"typo": "test_plugin_manager:MISSPELT"}}, strict=True)
    with pytest.raises(PluginError, match="'ductflow_run_strat'"):
        make_plugin_manager(registry=typo)
    wrong = _registry({"ductflow": {"wrong": "test_plugin_manager:WRONG_ARGUMENT"}}, strict=True)
    refused = r"^plugin 'some-dist:wrong' in 'ductflow_run_start': Argument\(s\) \{'nosuch'\} are declared"
    with pytest.raises(PluginError, match=refused) as info:
        make_plugin_manager(registry=wrong)
    assert "\n" not in str(info.value)


def test_strict_makes_an_unused_broken_connection_plugin_an_error(tmp_path: Path) -> None:
    """A connection plugin that fails to import passes unnoticed when unused, and stops validate under strict."""
    entry_points = {"ductflow.connections": {**NUMBERS["ductflow.connections"], "broken": "no_such_module_q:Cls"}}
    pipeline = _pipeline(tmp_path)
    assert list(api.validate(pipeline, registry=_registry(entry_points), parse_sql=False)) == ["s"]
    with pytest.raises(PluginError, match=r"plugin 'broken' from distribution some-dist 1\.2 failed to import"):
        api.validate(pipeline, registry=_registry(entry_points, strict=True), parse_sql=False)


def test_strict_refuses_a_connection_plugin_that_is_no_connection(tmp_path: Path) -> None:
    """Under strict, an installed connection entry point that is not a Connection class is an error, used or not."""
    odd = {"odd": "sample_connections:NotAConnection"}
    entry_points = {"ductflow.connections": {**NUMBERS["ductflow.connections"], **odd}}
    with pytest.raises(PluginError, match=r"locator 'odd' .* is not a Connection subclass"):
        api.validate(_pipeline(tmp_path), registry=_registry(entry_points, strict=True), parse_sql=False)


def test_trace_follows_every_hook_of_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """DUCTFLOW_TRACE_HOOKS traces run_start, run_stage, tap and run_end of a run, and is no plugin itself."""
    registry = Registry([FakeDistribution("some-dist", "1.2", NUMBERS)], Policy(trace=True))
    pm = make_plugin_manager(registry=registry)
    assert "ductflow.trace" not in {name for name, _ in pm.list_name_plugin()}
    path = tmp_path / "pipeline.yaml"
    path.write_text(f"- {{name: s, kind: tap, connection: {conn('Numbers')}}}\n", encoding="utf-8")
    run_pipeline(path, database=tmp_path / "run.duckdb", registry=registry)
    err = capsys.readouterr().err
    for line in (
        "trace: ductflow_run_start via [",
        "trace: ductflow_run_stage stage='s' via [ductflow.stage]",
        "trace: ductflow_tap stage='s' via [ductflow.timeout, ductflow.operations]",
        "trace: ductflow_run_end via [",
    ):
        assert line in err


def test_trace_follows_a_hook_it_was_never_told_about() -> None:
    """A hook spec added later is traced too, with its plugins, and its awaitable result is timed when awaited."""
    spec = pluggy.HookspecMarker("ductflow")
    impl = pluggy.HookimplMarker("ductflow")
    specs = types.SimpleNamespace(ductflow_extra=spec(lambda stage: None))

    class Extra:
        @impl
        def ductflow_extra(self, stage: object) -> int:
            return 7

    pm = pluggy.PluginManager("ductflow")
    pm.add_hookspecs(specs)
    pm.register(Extra(), name="extra-plugin")
    stream = io.StringIO()
    Trace(pm, stream)
    assert pm.hook.ductflow_extra(stage=types.SimpleNamespace(name="x")) == [7]
    assert stream.getvalue().startswith("trace: ductflow_extra stage='x' via [extra-plugin] ")


def test_trace_masks_stage_names_from_the_environment(tmp_path: Path, cli: Any) -> None:
    """A stage named by ${VAR} is traced as ***, short or long, like every other line the run prints."""
    (tmp_path / "p.yaml").write_text("- name: ${S}\n  kind: transform\n  sql: SELECT 1 AS x\n", encoding="utf-8")
    for secret in ("qqsecretname", "ab"):
        done = cli("run", "p.yaml", env={"S": secret, "DUCTFLOW_TRACE_HOOKS": "1"})
        assert done.returncode == 0, done.stderr
        assert "trace: ductflow_run_stage stage='***' via [" in done.stderr
        assert re.search(rf"(?<!\w){secret}(?!\w)", done.stderr) is None
