"""What the repository publishes about performance tells the truth and stays short."""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
TIMING = re.compile(r"\d\s?(ms|µs)\b|~\s?\d|\d\s?[x×]\s(faster|slower)|\d(\.\d+)?\s?s (against|instead)")


def performance_rows() -> list[list[str]]:
    readme = ROOT.joinpath("README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Performance\n", 1)[1].split("\n## ", 1)[0]
    rows = [ln for ln in section.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in rows[2:]]


def test_results_keep_a_baseline_and_the_latest_run() -> None:
    """benchmarks/results holds baseline.* and latest.* (full 5,000,000-row runs) and no dated run files.

    A partial run on this machine may leave ``latest-W5.*`` and the like beside them; those are never committed.
    """
    stems = {p.name.split(".", 1)[0] for p in RESULTS.iterdir()}
    assert {"baseline", "latest"} <= stems
    assert all(re.fullmatch(r"(baseline|latest)(-[A-Za-z0-9]+)*", stem) for stem in stems), sorted(stems)
    for stem in ("baseline", "latest"):
        doc = json.loads((RESULTS / f"{stem}.json").read_text())
        assert doc["rows"] == 5_000_000
        assert not doc["quick"]
        assert (RESULTS / f"{stem}.md").read_text().startswith("Run of ")


def test_readme_table_has_one_number_per_cell_from_the_latest_run() -> None:
    """Each README row is workload, one measured figure, one target and a mark, and the figure is latest.json's."""
    doc = json.loads((RESULTS / "latest.json").read_text())
    measured = {round(c["measured"], 3) for w in doc["workloads"] for c in w["checks"] if c.get("measured")}
    rows = performance_rows()
    assert len(rows) >= 10
    for workload, figure, target, met in rows:
        assert re.fullmatch(r"[\d.]+ (×|ms|s)", figure), figure
        assert re.fullmatch(r"≤ [\d.]+ (×|ms|s)", target), target
        assert met in ("✅", "❌")
        value = float(figure.split()[0])
        assert any(abs(value - m) <= 0.005 + 1e-9 for m in measured), (workload, value)


def test_readme_marks_agree_with_the_targets() -> None:
    """A row is marked ✅ exactly when its figure is within its target."""
    for workload, figure, target, met in performance_rows():
        within = float(figure.split()[0]) <= float(target.split()[1])
        assert (met == "✅") == within, workload


def test_performance_doc_has_one_table_and_says_how_to_reproduce() -> None:
    """docs/performance.md holds one table, the method, how to reproduce, and why the code is shaped so."""
    text = ROOT.joinpath("docs", "performance.md").read_text(encoding="utf-8")
    separators = [ln for ln in text.splitlines() if re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", ln)]
    assert len(separators) == 1
    for heading in ("## Results", "## Method", "## How to reproduce", "## Why the code is shaped so"):
        assert heading in text


def commented_text(path: Path) -> list[tuple[int, str]]:
    source = path.read_text(encoding="utf-8")
    found = [
        (tok.start[0], tok.string)
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc and node.body:
                found.append((node.body[0].lineno, doc))
    return found


def test_no_comment_or_docstring_quotes_a_timing() -> None:
    """Comments and docstrings in the core and the plugins say why without quoting timings."""
    sources = [*ROOT.joinpath("ductflow_core").rglob("*.py")]
    for plugin in ROOT.joinpath("plugins").iterdir():
        sources += [p for p in plugin.rglob("*.py") if "tests" not in p.relative_to(plugin).parts]
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sources
        for line, text in commented_text(path)
        if TIMING.search(text)
    ]
    assert not offenders
