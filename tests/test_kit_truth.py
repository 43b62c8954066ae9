"""The connector kit tells the truth: skipped checks say so, misspelt params and stage names get a real hint."""

from __future__ import annotations

import ast
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import pytest
from test_conformance import ArrowFiles, run_suites

pytest_plugins = ["pytester"]

Cli = Callable[..., subprocess.CompletedProcess[str]]

ROUND_TRIPS = {
    "test_every_type_round_trips",
    "test_nulls_in_every_column_round_trip",
    "test_unicode_round_trips",
    "test_empty_table_round_trips",
}


class WritesNothing(ArrowFiles):
    """Broken: its sink succeeds and writes nothing at all."""

    async def sink(self, from_name: str) -> None:
        return None


SUITE = """
from test_conformance import ArrowFilesSuite
from test_kit_truth import WritesNothing


class TestNothing(ArrowFilesSuite):
    connection_class = WritesNothing
    large_rows = 0
    reads_back = {reads_back}
"""


def verdicts(pytester: pytest.Pytester, *, reads_back: bool) -> dict[str, str]:
    """Run the suite against the sink that writes nothing; ``{check: outcome}``."""
    run_suites(pytester, SUITE.format(reads_back=reads_back), "-rs")
    found: dict[str, str] = {}
    for case in ElementTree.parse(pytester.path / "report.xml").iter("testcase"):
        marks = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        found[case.attrib["name"]] = marks[0] if marks else "passed"
    return found


def test_round_trips_are_skipped_without_read_back(pytester: pytest.Pytester) -> None:
    """With ``reads_back = False`` every round-trip check reports skipped, naming the flag, instead of passing."""
    found = verdicts(pytester, reads_back=False)
    assert {check: found[check] for check in ROUND_TRIPS} == dict.fromkeys(ROUND_TRIPS, "skipped")
    assert found["test_sink_accepts_every_sample"] == "passed"
    report = ElementTree.parse(pytester.path / "report.xml")
    reasons = {
        case.attrib["name"]: skipped.attrib.get("message", "")
        for case in report.iter("testcase")
        for skipped in case.iter("skipped")
    }
    for check in ROUND_TRIPS:
        assert reasons[check].endswith("TestNothing.reads_back is false"), reasons[check]


def test_sink_that_writes_nothing_fails_when_it_can_read_back(pytester: pytest.Pytester) -> None:
    """A sink that writes nothing fails every round-trip check when the suite can read back what it wrote."""
    found = verdicts(pytester, reads_back=True)
    assert {check: found[check] for check in ROUND_TRIPS} == dict.fromkeys(ROUND_TRIPS, "failure")


def test_misspelt_required_param_gets_did_you_mean_alone(cli: Cli, tmp_path: Path) -> None:
    """``pth:`` for a required ``path`` is one problem: the unknown key, with the param meant, and nothing else."""
    (tmp_path / "pipeline.yaml").write_text(
        "- name: src\n"
        "  kind: tap\n"
        "  connection:\n"
        "    module: test_conformance\n"
        "    classname: ArrowFiles\n"
        "    params:\n"
        "      foldr: data\n"
        "      table: t\n"
    )
    proc = cli("validate", "pipeline.yaml")
    assert (proc.returncode, proc.stderr) == (
        2,
        "error: pipeline.yaml:7: stage 'src': connection.params.foldr: unknown key 'foldr' (did you mean 'folder'?)\n",
    )


def test_unrelated_unknown_key_still_reports_the_missing_param(cli: Cli, tmp_path: Path) -> None:
    """An unknown key that is no misspelling of the missing required param leaves that param reported too."""
    (tmp_path / "pipeline.yaml").write_text(
        "- name: src\n"
        "  kind: tap\n"
        "  connection:\n"
        "    module: test_conformance\n"
        "    classname: ArrowFiles\n"
        "    params: {table: t, zzz: 1}\n"
    )
    proc = cli("validate", "pipeline.yaml")
    assert proc.returncode == 2
    assert "unknown key 'zzz'" in proc.stderr
    assert "connection.params.folder" in proc.stderr


def test_schema_of_an_unknown_stage_lists_the_stages(cli: Cli, tmp_path: Path) -> None:
    """``ductflow schema PIPELINE nosuch`` with no close name lists every stage name, exit 2."""
    (tmp_path / "pipeline.yaml").write_text(
        "- {name: orders, kind: transform, sql: SELECT 1 AS x}\n- {name: totals, kind: transform, sql: SELECT 2 AS y}\n"
    )
    proc = cli("schema", "pipeline.yaml", "nosuch")
    assert (proc.returncode, proc.stderr) == (
        2,
        "error: pipeline.yaml: no stage is called 'nosuch'; the stages are: orders, totals\n",
    )


def test_stage_list_masks_names_from_the_environment(cli: Cli, tmp_path: Path) -> None:
    """A stage named from ``${VAR}`` is listed as ``***``: a value from the environment is never printed."""
    (tmp_path / "pipeline.yaml").write_text(
        "- {name: '${HIDDEN_STAGE}', kind: transform, sql: SELECT 1 AS x}\n"
        "- {name: totals, kind: transform, sql: SELECT 2 AS y}\n"
    )
    proc = cli("schema", "pipeline.yaml", "nosuch", env={"HIDDEN_STAGE": "secretstage"})
    assert proc.returncode == 2
    assert "secretstage" not in proc.stderr + proc.stdout
    assert proc.stderr == "error: pipeline.yaml: no stage is called 'nosuch'; the stages are: ***, totals\n"


TUTORIAL = Path(__file__).parent.parent / "docs" / "plugins" / "tutorial.md"

TUTORIAL_SUITE = """
from pathlib import Path

from ductflow_core.testing.conformance import ConnectionSuite
from tutorial_sqlite import SqliteConnection


class TestTutorial(ConnectionSuite):
    connection_class = SqliteConnection
    bad_params = {"batch_size": "many"}
    large_rows = 100_000

    def sink_params(self, tmp_path, table):
        return {"path": str(tmp_path / "test.sqlite"), "table": table}

    def tap_params(self, tmp_path, table):
        return {"path": str(tmp_path / "test.sqlite"), "table": table}
"""


def _python_block_defining(path: Path, marker: str) -> str:
    text = path.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    return next(block for block in blocks if marker in block)


def test_tutorial_connection_passes_the_suite_it_describes(pytester: pytest.Pytester) -> None:
    """The tutorial's SQLite connection, as printed, passes every conformance check but the locator one."""
    pytester.makepyfile(tutorial_sqlite=_python_block_defining(TUTORIAL, "class SqliteConnection(Connection):"))
    result = run_suites(pytester, TUTORIAL_SUITE, "-rs")
    result.assert_outcomes(passed=12, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED [[]1[]] *: TestTutorial.locator is not set"])


def test_docs_teach_one_recipe_for_blocking_calls() -> None:
    """The tutorial's connection calls sqlite3 only through a facade's ``run``; no doc code starts its own threads."""
    code = _python_block_defining(TUTORIAL, "class SqliteConnection(Connection):")
    inline = [
        f"{fn.name}: {ast.unparse(call)}"
        for fn in ast.walk(ast.parse(code))
        if isinstance(fn, ast.AsyncFunctionDef)
        for call in _own_nodes(fn)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id in ("db", "cursor", "sqlite3")
    ]
    assert inline == [], "blocking sqlite3 calls made directly in an async def"
    docs = [TUTORIAL, TUTORIAL.parent.parent / "connections.md"]
    for path in docs:
        blocks = re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.DOTALL)
        assert blocks
        for block in blocks:
            assert "to_thread" not in block, path
            assert "threading" not in block, path
    assert "#blocking-calls" in TUTORIAL.read_text(encoding="utf-8")


def test_testing_section_documents_every_setting_hook_check_and_fixture() -> None:
    """connections.md "Testing a connection" names every ConnectionSuite setting, hook and check, and every fixture."""
    from ductflow_core.testing import plugin
    from ductflow_core.testing.conformance import ConnectionSuite

    text = (TUTORIAL.parent.parent / "connections.md").read_text(encoding="utf-8")
    section = text[text.index("## Testing a connection") :]
    settings = [name for name in ConnectionSuite.__annotations__ if not name.startswith("_")]
    hooks = ["sink_params", "tap_params", "tap_query", "missing_tap_params", "cleanup"]
    checks = [name for name in dir(ConnectionSuite) if name.startswith("test_")]
    fixtures = [name for name, obj in vars(plugin).items() if _is_fixture(obj)]
    assert len(settings) >= 13
    assert len(fixtures) >= 7
    missing = [name for name in [*settings, *hooks, *checks, *fixtures] if f"`{name}" not in section]
    assert missing == []


def _is_fixture(obj: object) -> bool:
    # pytest 8.4 wraps a fixture in FixtureFunctionDefinition; earlier versions mark the function.
    return type(obj).__name__ == "FixtureFunctionDefinition" or hasattr(obj, "_pytestfixturefunction")


def _own_nodes(fn: ast.AST) -> list[ast.AST]:
    """The nodes of ``fn``'s body, not those of functions defined inside it (a generator runs elsewhere)."""
    found: list[ast.AST] = []
    pending = list(ast.iter_child_nodes(fn))
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        found.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return found


def test_tutorial_pipeline_test_passes_and_keeps_the_tap_table(pytester: pytest.Pytester) -> None:
    """The tutorial's own pipeline test passes as printed (the connection named by module), reading the tap's table."""
    pytester.makepyfile(tutorial_sqlite=_python_block_defining(TUTORIAL, "class SqliteConnection(Connection):"))
    test = _python_block_defining(TUTORIAL, "def test_pipeline_creates_reads_filters_and_writes")
    assert "materialize: true" in test
    source = test.replace("kind: sqlite,", "module: tutorial_sqlite, classname: SqliteConnection,")
    result = run_suites(pytester, source)
    result.assert_outcomes(passed=1)
