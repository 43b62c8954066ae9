"""Finding connection classes: entry points first, then module/classname, with clear errors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sample_connections as sc

from ductflow_core.connection import Connection
from ductflow_core.errors import PipelineError, PluginError
from ductflow_core.models import Stages
from ductflow_core.plugin.registry import Registry, default_registry
from ductflow_core.plugin.resolve import resolve_pipeline
from ductflow_core.testing import FakeDistribution, RunOutcome, fake_registry

Run = Callable[..., RunOutcome]


def _pipeline(tmp_path: Path, connection: str) -> Stages:
    path = tmp_path / "pipeline.yaml"
    path.write_text(f"- name: s\n  kind: tap\n  connection: {connection}\n", encoding="utf-8")
    return Stages.load(path)


def test_locator_resolves_through_a_fake_entry_point(
    fake_entry_points: Callable[..., Registry], tmp_path: Path
) -> None:
    """A locator found in a distribution's ``ductflow.connections`` entry points gives that class."""
    registry = fake_entry_points({"ductflow.connections": {"numbers": "sample_connections:Numbers"}})
    resolved = resolve_pipeline(_pipeline(tmp_path, "{kind: numbers, params: {rows: 3}}"), registry)
    assert resolved["s"].cls is sc.Numbers
    assert resolved["s"].params == {"rows": 3}


def test_fake_entry_point_runs_end_to_end(ductflow_run: Run, fake_entry_points: Callable[..., Registry]) -> None:
    """A pipeline naming a locator from a fake distribution runs its connection."""
    registry = fake_entry_points({"ductflow.connections": {"numbers": "sample_connections:Numbers"}})
    outcome = ductflow_run(
        "- {name: s, kind: tap, connection: {kind: numbers, params: {rows: 4}}}\n", registry=registry
    )
    assert outcome.rows("SELECT count(*) FROM s") == [(4,)]


def test_installed_ductflow_files_is_found_like_a_third_party() -> None:
    """The real ductflow-files distribution provides csv, parquet and json through its entry points."""
    registry = Registry()
    infos = {i.name: i for i in registry.locators()}
    assert {"csv", "parquet", "json"} <= set(infos), "install plugins/ductflow-files (pip install -e)"
    assert infos["csv"].dist == "ductflow-files"
    cls = registry.connection_class("csv")
    assert issubclass(cls, Connection)
    assert Connection.locate("parquet") is registry.connection_class("parquet")


def test_only_named_plugins_are_imported(fake_entry_points: Callable[..., Registry], tmp_path: Path) -> None:
    """Resolving a pipeline imports the plugin it names and not a broken one it does not name."""
    registry = fake_entry_points(
        {"ductflow.connections": {"numbers": "sample_connections:Numbers", "broken": "no_such_module_x:Thing"}}
    )
    resolve_pipeline(_pipeline(tmp_path, "{kind: numbers}"), registry)
    assert "no_such_module_x" not in sys.modules


def test_broken_plugin_names_itself_and_its_distribution(tmp_path: Path) -> None:
    """A plugin that fails to import is reported with its locator, distribution and cause, cause chained."""
    registry = fake_registry(FakeDistribution("acme-conn", "2.1", {"ductflow.connections": {"acme": "no_such_mod:X"}}))
    with pytest.raises(PluginError) as info:
        resolve_pipeline(_pipeline(tmp_path, "{kind: acme}"), registry)
    message = str(info.value)
    assert "stage 's': connection.kind: plugin 'acme' from distribution acme-conn 2.1 failed to import" in message
    assert "ModuleNotFoundError" in message
    assert isinstance(info.value.__cause__, PluginError)
    assert isinstance(info.value.__cause__.__cause__, ModuleNotFoundError)


def test_two_distributions_claiming_one_locator_is_an_error(tmp_path: Path) -> None:
    """When two distributions claim a locator, the error names both."""
    registry = fake_registry(
        FakeDistribution("first-dist", "1.0", {"ductflow.connections": {"dup": "sample_connections:Numbers"}}),
        FakeDistribution("second-dist", "3.0", {"ductflow.connections": {"dup": "sample_connections:Untyped"}}),
    )
    with pytest.raises(PluginError, match=r"claimed by two distributions: first-dist 1\.0 .* and second-dist 3\.0"):
        resolve_pipeline(_pipeline(tmp_path, "{kind: dup}"), registry)


def test_unknown_locator_lists_installed_and_closest(tmp_path: Path) -> None:
    """An unknown locator's error lists the installed locators and suggests the closest."""
    registry = fake_registry(
        FakeDistribution("d", "1", {"ductflow.connections": {"numbers": "sample_connections:Numbers"}})
    )
    with pytest.raises(PluginError) as info:
        resolve_pipeline(_pipeline(tmp_path, "{kind: numbrs}"), registry)
    assert str(info.value).endswith(
        "pipeline.yaml:3: stage 's': connection.kind: unknown locator 'numbrs' (did you mean 'numbers'?); "
        "installed locators: numbers"
    )


def test_locator_falls_back_to_module_and_classname(tmp_path: Path) -> None:
    """A locator no plugin provides falls back to the explicit module and classname."""
    spec = "{kind: CustomConnection, locator: not-installed, module: sample_connections, classname: Numbers}"
    resolved = resolve_pipeline(_pipeline(tmp_path, spec), fake_registry())
    assert resolved["s"].cls is sc.Numbers


def test_module_is_imported_from_the_pipeline_folder(tmp_path: Path) -> None:
    """``module`` is looked up in the pipeline file's folder first, as the guide's myapp layout needs."""
    pkg = tmp_path / "myapp_here" / "connectors"
    pkg.mkdir(parents=True)
    (tmp_path / "myapp_here" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "database.py").write_text(
        "from duckflow.connection import Connection\n\nclass MySQL(Connection):\n    port: int = 3306\n"
        "    async def tap(self, query=None):\n        pass\n"
    )
    spec = "{kind: CustomConnection, module: myapp_here.connectors.database, classname: MySQL, params: {port: 5555}}"
    resolved = resolve_pipeline(_pipeline(tmp_path, spec), fake_registry())
    assert resolved["s"].cls.__name__ == "MySQL"
    assert resolved["s"].params == {"port": 5555}


@pytest.mark.parametrize(
    ("params", "outcome"),
    [
        ("{port: 5555}", "connection.params.host: missing required key"),
        ("{host: db, port: x}", "connection.params.port: expected int, got 'x'"),
        ("{host: db}", {"host": "db"}),
        ("{host: db, port: 1, user: me}", {"host": "db", "port": 1, "user": "me"}),
    ],
)
def test_params_are_checked_whichever_subset_is_set(tmp_path: Path, params: str, outcome: object) -> None:
    """Required params are demanded and set ones are typed, however few of the declared params a stage sets."""
    (tmp_path / "subset_conn.py").write_text(
        "from ductflow_core.connection import Connection\n\n"
        "class Db(Connection):\n    host: str\n    port: int = 5432\n    user: str = 'postgres'\n"
        "    async def tap(self, query=None):\n        pass\n"
    )
    spec = f"{{kind: CustomConnection, module: subset_conn, classname: Db, params: {params}}}"
    if isinstance(outcome, str):
        with pytest.raises(PipelineError, match=outcome):
            resolve_pipeline(_pipeline(tmp_path, spec), fake_registry())
    else:
        assert resolve_pipeline(_pipeline(tmp_path, spec), fake_registry())["s"].params == outcome


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "{kind: CustomConnection, module: nowhere_mod_q, classname: X}",
            "connection.module: module 'nowhere_mod_q' not found",
        ),
        (
            "{kind: CustomConnection, module: sample_connections, classname: Numbrs}",
            "module 'sample_connections' has no class 'Numbrs' (did you mean 'Numbers'?)",
        ),
        (
            "{kind: CustomConnection, module: sample_connections, classname: NotAConnection}",
            "sample_connections.NotAConnection is not a Connection subclass",
        ),
        (
            "{kind: CustomConnection, module: sample_connections, classname: SyncTap}",
            "sample_connections.SyncTap.tap must be 'async def'",
        ),
        (
            "{kind: CustomConnection, module: sample_connections, classname: Numbers, params: {rows: many}}",
            "pipeline.yaml:3: stage 's': connection.params.rows: expected int, got 'many'",
        ),
        (
            "{kind: CustomConnection, module: sample_connections, classname: Numbers, params: {rowz: 1}}",
            "connection.params.rowz: unknown key 'rowz' (did you mean 'rows'?)",
        ),
        (
            "{kind: CustomConnection, module: sample_connections, classname: Numbers, params: {rows: x, delay: y}}",
            "connection.params.rows: expected int, got 'x' (also wrong: connection.params.delay)",
        ),
        ("{kind: CustomConnection}", "a connection needs a 'locator'"),
    ],
)
def test_bad_connection_specs_fail_at_load(spec: str, message: str, tmp_path: Path) -> None:
    """Each bad connection fails validation with a one-line message naming stage and key."""
    with pytest.raises(PipelineError) as info:
        resolve_pipeline(_pipeline(tmp_path, spec), fake_registry())
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_module_raising_on_import_is_reported(tmp_path: Path) -> None:
    """A module that raises while importing is reported with the exception, traceback chained."""
    (tmp_path / "explodes_on_import.py").write_text("raise RuntimeError('bad config at import')\n")
    spec = "{kind: CustomConnection, module: explodes_on_import, classname: X}"
    with pytest.raises(PluginError) as info:
        resolve_pipeline(_pipeline(tmp_path, spec), fake_registry())
    assert "importing module 'explodes_on_import' failed: RuntimeError: bad config at import" in str(info.value)


def test_default_registry_is_built_once() -> None:
    """The default registry is cached, so repeated lookups read metadata once."""
    assert default_registry() is default_registry()
