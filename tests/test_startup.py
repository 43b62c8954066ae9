"""The ``ductflow`` command pauses cyclic garbage collection for its start-up only."""

from __future__ import annotations

import gc
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
from conftest import conn

from ductflow_core.cli import startup

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def collector_on() -> Iterator[None]:
    assert gc.isenabled()
    yield
    gc.enable()
    gc.unfreeze()


def test_resume_turns_back_on_what_pause_turned_off(collector_on: None) -> None:
    """pause() stops collection and resume() restarts it, with start-up's objects frozen."""
    startup.pause()
    assert not gc.isenabled()
    frozen = gc.get_freeze_count()
    [[] for _ in range(10)]  # some objects made while paused
    startup.resume()
    assert gc.isenabled()
    assert gc.get_freeze_count() > frozen


def test_resume_leaves_a_collector_it_did_not_pause_alone(collector_on: None) -> None:
    """A caller that turned collection off itself keeps it off after resume()."""
    gc.disable()
    startup.pause()
    startup.resume()
    assert not gc.isenabled()


def test_a_connection_runs_with_the_collector_on(cli: Cli, tmp_path: Path) -> None:
    """Under the real command, a tap's code runs with cyclic garbage collection back on."""
    (tmp_path / "pipeline.yaml").write_text(f"- {{name: probe, kind: tap, connection: {conn('GcProbe')}}}\n")
    proc = cli("run", "pipeline.yaml", "--database", "run.duckdb")
    assert proc.returncode == 0, proc.stderr
    con = duckdb.connect(str(tmp_path / "run.duckdb"))
    assert con.execute("SELECT collecting FROM probe").fetchall() == [(True,)]
    con.close()
