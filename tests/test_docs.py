"""The documentation tells the truth: hook docs are complete and current, code blocks parse, examples run."""

from __future__ import annotations

import importlib.util
import inspect
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import duckdb
import pytest
import yaml

from ductflow_core import api, hookspecs
from ductflow_core.models import Stages
from ductflow_core.plugin.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
FILES_PLUGIN_HINT = "the quickstart needs ductflow-files: run `pip install -e plugins/ductflow-files`"


# -- hook reference --------------------------------------------------------------------------------------------


def _hookspecs() -> list[tuple[str, Callable[..., Any]]]:
    return [
        (name, fn)
        for name, fn in vars(hookspecs).items()
        if name.startswith("ductflow_") and getattr(fn, "ductflow_spec", None) is not None
    ]


def test_there_are_hookspecs_to_document() -> None:
    """The hookspec module defines hooks, so the checks below are not vacuous."""
    assert _hookspecs(), "no ductflow_* hookspecs found in ductflow_core.hookspecs"


@pytest.mark.parametrize(("name", "fn"), _hookspecs(), ids=[name for name, _ in _hookspecs()])
def test_hookspec_docstring_documents_every_argument_and_the_return(name: str, fn: Callable[..., Any]) -> None:
    """Each hookspec's docstring has a ``:param x:`` for every argument and a ``:return:``."""
    doc = inspect.getdoc(fn) or ""
    assert doc.strip(), f"hook {name} has no docstring"
    documented = set(re.findall(r"^\s*:param\s+(\w+):", doc, re.MULTILINE))
    arguments = list(inspect.signature(fn).parameters)
    missing = [arg for arg in arguments if arg not in documented]
    assert not missing, f"hook {name}: no ':param {missing[0]}:' in its docstring (missing: {', '.join(missing)})"
    unknown = sorted(documented - set(arguments))
    assert not unknown, f"hook {name}: docstring documents {', '.join(unknown)}, which it does not take"
    assert re.search(r"^\s*:returns?:", doc, re.MULTILINE), f"hook {name}: no ':return:' in its docstring"


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_hooks", DOCS / "gen_hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hook_reference_matches_the_hookspecs() -> None:
    """docs/plugins/hooks.md is exactly what docs/gen_hooks.py generates from the current hookspecs."""
    generated = _load_generator().generate()
    on_disk = (DOCS / "plugins" / "hooks.md").read_text(encoding="utf-8")
    assert on_disk == generated, "docs/plugins/hooks.md is stale: run `python docs/gen_hooks.py`"


def test_hook_reference_covers_every_hook() -> None:
    """The generated page has a section, with its parameters, for every hookspec."""
    text = (DOCS / "plugins" / "hooks.md").read_text(encoding="utf-8")
    for name, fn in _hookspecs():
        assert f"### `{name}`" in text, f"hook {name} has no section in docs/plugins/hooks.md"
        for arg in inspect.signature(fn).parameters:
            assert f"- `{arg}`:" in text, f"hook {name}: parameter {arg} is not listed in docs/plugins/hooks.md"


# -- code blocks in Markdown -----------------------------------------------------------------------------------


@attrs.frozen
class Block:
    """One fenced code block: where it is, its language, its text, and whether it is marked as a pipeline."""

    path: Path
    line: int
    lang: str
    text: str
    pipeline: bool
    #: The reason given by a ``<!-- not-executed: … -->`` comment right above the block, if any.
    not_executed: str | None = None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def _blocks(path: Path) -> Iterator[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)(```+|~~~+)\s*([\w+-]*)", lines[i])
        if not fence:
            i += 1
            continue
        indent, marker, lang = fence.groups()
        previous = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        start = i + 1
        end = start
        while end < len(lines) and not lines[end].strip().startswith(marker):
            end += 1
        body = "\n".join(line[len(indent) :] if line.startswith(indent) else line for line in lines[start:end])
        skip = re.fullmatch(r"<!-- not-executed: (.+) -->", previous)
        yield Block(path, i + 1, lang.lower(), body + "\n", previous == "<!-- pipeline -->", skip and skip.group(1))
        i = end + 1


def _all_blocks(*langs: str) -> list[Block]:
    return [b for path in _markdown_files() for b in _blocks(path) if b.lang in langs]


def test_markdown_files_have_blocks_to_check() -> None:
    """The documentation holds Python, YAML and pipeline blocks, so the block checks below are not vacuous."""
    assert _all_blocks("python"), "no ```python blocks found in README.md or docs/"
    assert _all_blocks("yaml", "yml"), "no ```yaml blocks found in README.md or docs/"
    assert [b for b in _all_blocks("yaml", "yml") if b.pipeline], "no <!-- pipeline --> blocks found"


def _namespace() -> dict[str, Any]:
    # What the hook reference's signatures name, as a plugin module would import it.
    from collections.abc import Awaitable

    from ductflow_core.connection import Connection
    from ductflow_core.models import Field, Stage, Stages
    from ductflow_core.run.context import RunContext, StageResult

    return {
        "__name__": "docs_block",
        "Any": Any,
        "Awaitable": Awaitable,
        "Connection": Connection,
        "Field": Field,
        "RunContext": RunContext,
        "Stage": Stage,
        "StageResult": StageResult,
        "Stages": Stages,
    }


@pytest.mark.parametrize("block", _all_blocks("python", "py"), ids=lambda b: b.where)
def test_python_blocks_run(block: Block) -> None:
    """Every ```python block in README.md and docs/ runs, except one marked not-executed, which must compile."""
    try:
        code = compile(block.text, block.where, "exec")
    except SyntaxError as exc:
        pytest.fail(f"{block.where}: the Python block does not compile: {exc}")
    if block.not_executed:
        return
    exec(code, _namespace())


def test_few_blocks_are_exempt_from_running() -> None:
    """At most one Python block in the docs is exempt from running, and it says why."""
    exempt = [b.where for b in _all_blocks("python", "py") if b.not_executed]
    assert len(exempt) <= 1, exempt


@pytest.mark.parametrize("block", _all_blocks("yaml", "yml"), ids=lambda b: b.where)
def test_yaml_blocks_parse(block: Block) -> None:
    """Every ```yaml block in README.md and docs/ is valid YAML."""
    try:
        yaml.safe_load(block.text)
    except yaml.YAMLError as exc:
        pytest.fail(f"{block.where}: the YAML block does not parse: {exc}")


_PIPELINES = [b for b in _all_blocks("yaml", "yml") if b.pipeline]


@pytest.mark.parametrize("block", _PIPELINES, ids=lambda b: b.where)
def test_pipeline_blocks_load_and_resolve(block: Block) -> None:
    """A YAML block marked ``<!-- pipeline -->`` loads as a pipeline and its connections resolve with valid params."""
    pipeline = Stages.load(block.text, env={})
    # module/classname in the docs point at the custom-connection example's package.
    pipeline = attrs.evolve(pipeline, base_dir=EXAMPLES / "custom-connection")
    registry = Registry()
    for stage in pipeline.stages:
        locator = getattr(getattr(stage, "connection", None), "locator", None)
        if locator and not registry.has(locator):
            pytest.fail(f"{block.where}: stage {stage.name!r} uses locator {locator!r}, which is not installed")
    api.validate(pipeline, registry=registry)


# -- links between pages ---------------------------------------------------------------------------------------


def _slug(heading: str) -> str:
    # GitHub's anchors: lower case, punctuation dropped, spaces to hyphens.
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return {_slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.MULTILINE)}


def _links() -> list[tuple[Path, str]]:
    found = []
    for path in _markdown_files():
        text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if not re.match(r"^[a-z]+:", target):
                found.append((path, target))
    return found


@pytest.mark.parametrize(("path", "target"), _links(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_relative_links_point_at_something(path: Path, target: str) -> None:
    """Every relative link in README.md and docs/ names an existing file and, for a Markdown page, heading."""
    file_part, _, fragment = target.partition("#")
    destination = (path.parent / file_part).resolve() if file_part else path
    where = path.relative_to(ROOT)
    assert destination.exists(), f"{where}: link {target!r} points at {destination}, which does not exist"
    if fragment and destination.suffix == ".md":
        assert fragment in _anchors(destination), f"{where}: link {target!r}: no heading #{fragment} in that page"


# -- examples, run end to end ----------------------------------------------------------------------------------


def _ductflow() -> str:
    script = Path(sys.executable).with_name("ductflow")
    found = str(script) if script.exists() else shutil.which("ductflow")
    if found is None:
        pytest.fail("the `ductflow` command is not installed next to this Python; run `pip install -e .`")
    return found


def _run_example(name: str, tmp_path: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path / name
    shutil.copytree(EXAMPLES / name, folder, ignore=shutil.ignore_patterns("out", "__pycache__"))
    done = subprocess.run(
        [_ductflow(), "run", "pipeline.yaml"], cwd=folder, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"ductflow run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return folder, done


def test_quickstart_writes_daily_revenue(tmp_path: Path) -> None:
    """The quickstart turns the shipped CSV into a Parquet file of paid revenue per day, one row per day."""
    if not Registry().has("csv") or not Registry().has("parquet"):
        pytest.fail(FILES_PLUGIN_HINT)
    folder, done = _run_example("quickstart", tmp_path)
    output = folder / "out" / "daily_revenue.parquet"
    assert output.is_file(), f"no {output.relative_to(folder)} after the run:\n{done.stderr}"
    with duckdb.connect() as con:
        expected = con.execute(
            "SELECT order_date::DATE, count(*), sum(amount::DECIMAL(10, 2)) "
            "FROM read_csv(?, header = true, all_varchar = true) WHERE status = 'paid' GROUP BY 1 ORDER BY 1",
            [str(folder / "data" / "orders.csv")],
        ).fetchall()
        got = con.execute("SELECT * FROM read_parquet(?) ORDER BY 1", [str(output)]).fetchall()
    assert len(expected) >= 5, "the shipped CSV should span several days of paid orders"
    assert got == expected
    assert "── daily_revenue ──" in done.stdout


def test_custom_connection_round_trips_through_sqlite(tmp_path: Path) -> None:
    """The custom-connection example seeds SQLite, taps it, aggregates in DuckDB and sinks the result back."""
    spec = yaml.safe_load((EXAMPLES / "custom-connection" / "pipeline.yaml").read_text(encoding="utf-8"))
    for stage in spec:
        conn = stage.get("connection")
        # Only module/classname, never a locator: the example must run with nothing but the core installed.
        assert conn is None or (conn.get("kind") == "CustomConnection" and "locator" not in conn), stage["name"]
    folder, done = _run_example("custom-connection", tmp_path)
    database = folder / "out" / "shop.sqlite"
    expected_query = (
        "SELECT category, count(*), sum(stock), sum(price * stock) FROM products GROUP BY category ORDER BY category"
    )
    with sqlite3.connect(database) as db:
        expected = db.execute(expected_query).fetchall()
        got = db.execute("SELECT * FROM stock_value ORDER BY category").fetchall()
    assert len(expected) >= 2
    assert [row[:3] for row in got] == [row[:3] for row in expected]
    assert [row[3] for row in got] == pytest.approx([row[3] for row in expected])
    assert "── products ──" in done.stdout
    assert "── StockValueWriter ──" in done.stdout


def test_custom_connection_example_can_run_again(tmp_path: Path) -> None:
    """Running the custom-connection example twice leaves the same rows, not twice as many."""
    folder, _ = _run_example("custom-connection", tmp_path)
    with sqlite3.connect(folder / "out" / "shop.sqlite") as db:
        first = db.execute("SELECT * FROM stock_value ORDER BY category").fetchall()
    again = subprocess.run(
        [_ductflow(), "run", "pipeline.yaml"], cwd=folder, capture_output=True, text=True, timeout=300, check=False
    )
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(folder / "out" / "shop.sqlite") as db:
        assert db.execute("SELECT * FROM stock_value ORDER BY category").fetchall() == first
        assert db.execute("SELECT count(*) FROM products").fetchone() == (8,)
