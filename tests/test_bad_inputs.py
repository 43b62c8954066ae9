"""The bad-input corpus: each broken pipeline gives its exact one-line error and exit code."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ductflow_core.cli.main import main
from ductflow_core.errors import DuctflowError
from ductflow_core.models import Stages

CORPUS = Path(__file__).parent / "bad_inputs"
CASES = sorted(CORPUS.glob("*.yaml"))


def test_corpus_is_large_and_complete() -> None:
    """The corpus holds at least 40 pipelines, each with its expectation file."""
    assert len(CASES) >= 40
    assert all(case.with_suffix(".expected").exists() for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_bad_pipeline_message(case: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Running the broken pipeline exits with the expected code and prints the expected single error line."""
    code, message = case.with_suffix(".expected").read_text(encoding="utf-8").rstrip("\n").split("\n", 1)
    monkeypatch.chdir(CORPUS)
    monkeypatch.delenv("DUCTFLOW_BAD_INPUT_NEVER_SET", raising=False)
    assert main(["run", case.name]) == int(code)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    # "…" in an expectation stands for text that depends on the machine (installed plugins, folders).
    pattern = ".*".join(re.escape(part) for part in message.split("…"))
    assert re.fullmatch(pattern, errors[0]), f"{errors[0]!r} does not match {message!r}"
    assert "Traceback" not in err


def _yaml_values() -> st.SearchStrategy[object]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=12),
        st.sampled_from(["tap", "transform", "sink", "sql", "CustomConnection", "csv", "${HOME}", "${X:-1}"]),
    )
    keys = st.sampled_from(["name", "kind", "connection", "params", "sql", "query", "from", "show", "stages", "x"])
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
        max_leaves=20,
    )


@settings(max_examples=300, deadline=None)
@given(_yaml_values())
def test_loader_raises_only_ductflow_errors(document: object) -> None:
    """Any YAML document either loads or fails with Ductflow's own error type."""
    text = yaml.safe_dump(document)
    with contextlib.suppress(DuctflowError):
        Stages.load(text, env=dict(os.environ))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_loader_survives_arbitrary_text(text: str) -> None:
    """Arbitrary text, valid YAML or not, loads or fails with Ductflow's own error type."""
    with contextlib.suppress(DuctflowError):
        Stages.load(text + "\n", env={})
