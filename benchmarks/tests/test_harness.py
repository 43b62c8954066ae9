"""Fast checks of the benchmark harness itself; the benchmarks are a command, never timed here."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import duckdb
import pytest

from benchmarks.cli import main, result_stem
from benchmarks.datagen import write_dataset
from benchmarks.harness import Outcome, paired_ratio, rounds
from benchmarks.proc import Sample, run_child

ALLOC = 300 * 2**20


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_data_generator_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        write_dataset(3000, folder)
    for name in ("facts.csv", "facts.parquet", "dims.parquet"):
        assert digest(first / name) == digest(second / name), name
    con = duckdb.connect()
    [(rows, columns, null_share, name_len)] = con.execute(
        "SELECT count(*), (SELECT count(*) FROM (DESCRIBE SELECT * FROM read_parquet($1))), "
        "1 - count(note) / count(*), avg(length(name)) FROM read_parquet($1)",
        [str(first / "facts.parquet")],
    ).fetchall()
    assert rows == 3000
    assert columns == 11
    assert abs(null_share - 0.2) < 0.01
    assert 18 <= name_len <= 22


def test_child_peak_rss_is_its_own(tmp_path: Path) -> None:
    big = run_child(
        [sys.executable, "-c", f"b = bytearray({ALLOC}); b[::4096] = b'x' * len(b[::4096])"], log_dir=tmp_path
    )
    assert big.maxrss_bytes > ALLOC
    # Neither an earlier, bigger child nor this (grown) test process may show up in a small child's figure.
    ballast = bytearray(ALLOC)
    ballast[::4096] = b"x" * len(ballast[::4096])
    small = run_child([sys.executable, "-c", "pass"], log_dir=tmp_path)
    assert small.returncode == 0
    assert small.maxrss_bytes < 100 * 2**20
    del ballast


def test_failed_child_reports_its_error_line(tmp_path: Path) -> None:
    sample = run_child([sys.executable, "-c", "raise ValueError('nope')"], log_dir=tmp_path)
    assert sample.returncode == 1
    assert sample.error == "ValueError: nope"


def test_quick_run_writes_well_formed_results(tmp_path: Path) -> None:
    argv = ["--quick", "--rows", "5000", "--workloads", "W1", "--data-dir", str(tmp_path / "data")]
    argv += ["--work-dir", str(tmp_path / "work"), "--results-dir", str(tmp_path / "results")]
    assert main(argv) == 0
    [result] = (tmp_path / "results").glob("latest-W1-quick.json")
    doc = json.loads(result.read_text())
    assert doc["rows"] == 5000
    assert doc["quick"] is True
    [w1] = doc["workloads"]
    assert w1["key"] == "W1"
    runners = {r["name"]: r for r in w1["runners"]}
    reference = runners["duckdb"]
    assert reference["status"] == "ok"
    assert reference["median_s"] > 0
    assert reference["peak_rss_mib"] > 10
    for runner in runners.values():
        assert runner["status"] in ("ok", "failed")
        assert (runner["status"] == "failed") == bool(runner["error"])
    assert [c["name"] for c in w1["checks"]] == ["median of per-round time ÷ DuckDB", "peak RSS ÷ DuckDB"]
    assert result.with_suffix(".md").read_text().startswith("Run of ")


def test_a_partial_run_never_takes_the_full_runs_file_name() -> None:
    """Only a run of every workload is named ``latest``; a subset, peers, scaling or --quick say so."""
    doc = {"date": "2026-11-26", "host": "vm", "peers": False, "quick": False}
    known = ["W1", "W2", "PG1"]
    assert result_stem(doc, known, known, scaling=False) == "latest"
    assert result_stem(doc, ["PG1", "W1", "W2"], known, scaling=False) == "latest"
    assert result_stem(doc, ["W2"], known, scaling=False) == "latest-W2"
    assert result_stem(doc, [], known, scaling=True) == "latest-scaling"
    assert result_stem({**doc, "quick": True}, known, known, scaling=True) == "latest-scaling-quick"
    peers = {**doc, "peers": True}
    assert result_stem(peers, ["PG1"], known, scaling=False) == "latest-PG1-peers"


def test_baseline_flag_names_the_run_baseline() -> None:
    """``--baseline`` writes ``baseline.*`` for a full run and keeps a partial run's suffixes."""
    doc = {"date": "2026-11-26", "host": "vm", "peers": False, "quick": False}
    known = ["W1", "W2"]
    assert result_stem(doc, known, known, scaling=False, baseline=True) == "baseline"
    assert result_stem(doc, ["W2"], known, scaling=False, baseline=True) == "baseline-W2"


def test_quick_baseline_run_writes_baseline_files(tmp_path: Path) -> None:
    """A real ``--baseline`` run writes ``baseline-…`` files and no ``latest`` ones."""
    argv = ["--quick", "--baseline", "--rows", "2000", "--workloads", "W5", "--data-dir", str(tmp_path / "data")]
    argv += ["--work-dir", str(tmp_path / "work"), "--results-dir", str(tmp_path / "results")]
    assert main(argv) == 0
    names = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert "baseline-W5-quick.json" in names
    assert "baseline-W5-quick.md" in names
    assert not [n for n in names if n.startswith("latest")]


def _outcome(name: str, walls: list[float]) -> Outcome:
    return Outcome(name, "x", samples=[Sample(wall_s=w, maxrss_bytes=1, returncode=0) for w in walls])


def test_paired_ratio_follows_rounds_not_drift() -> None:
    """Ratios taken within each round stay put when the whole machine slows down between rounds."""
    machine_speed = [1.0, 1.6, 0.8, 1.3, 1.0]  # the same two jobs, on a machine that drifts
    ours = _outcome("ours", [1.1 * s for s in machine_speed])
    ref = _outcome("ref", [1.0 * s for s in machine_speed])
    assert paired_ratio(ours, ref) == pytest.approx(1.1)
    assert rounds(ours, ref)[1] == pytest.approx((1.76, 1.6))


def test_rounds_need_every_outcome_complete() -> None:
    """A contestant that failed or missed a round gives no paired figures rather than misaligned ones."""
    ours, ref = _outcome("ours", [1.0, 2.0]), _outcome("ref", [1.0])
    assert rounds(ours, ref) == []
    assert paired_ratio(ours, Outcome("ref", "x", error="boom")) is None
