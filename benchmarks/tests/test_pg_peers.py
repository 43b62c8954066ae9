"""The PostgreSQL peers' plumbing, checked without installing or timing any peer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks.context import Context
from benchmarks.datagen import Dataset
from benchmarks.harness import DUCTFLOW, PEER, REFERENCE, Contestant, Outcome, measure
from benchmarks.peers import INVALID, invalid_when_wrong, sling_binary
from benchmarks.pg_peers import dlt_dsn, read_peers, sling_env, write_peers
from benchmarks.proc import Sample
from benchmarks.scaling import CASES, FACTOR, summarize
from benchmarks.workloads import postgres
from benchmarks.workloads.base import row_count_verifier

DSN = "postgresql://postgres@127.0.0.1:5433/ductflow_bench"

# Writes `rows` rows to a Parquet file and counts its own runs in a side file.
WRITER = """\
import sys

import duckdb

out, rows, tally = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(tally, "a") as f:
    f.write("run\\n")
duckdb.connect().execute(f"COPY (SELECT range AS id FROM range({rows})) TO '{out}' (FORMAT parquet)")
"""


def context(tmp_path: Path, *, peers: bool = True, rows: int = 100) -> Context:
    return Context(
        rows=rows,
        runs=1,
        warmups=1,
        dataset=Dataset(rows, tmp_path / "data"),
        work_dir=tmp_path / "work",
        data_dir=tmp_path / "data",
        peers=peers,
    )


def writer_peer(tmp_path: Path, written: int, expected: int) -> tuple[Contestant, Path]:
    out, tally = tmp_path / "peer.parquet", tmp_path / "tally"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    peer = Contestant(
        "short-changing peer",
        PEER,
        [sys.executable, str(script), str(out), str(written), str(tally)],
        cleanup=[out],
        verify=invalid_when_wrong(row_count_verifier(out, expected)),
    )
    return peer, tally


def test_peer_with_wrong_row_count_is_invalid_and_not_timed_again(tmp_path: Path) -> None:
    peer, tally = writer_peer(tmp_path, written=90, expected=100)
    [outcome] = measure([peer], warmups=1, runs=2, log_dir=tmp_path / "logs")
    assert outcome.error == INVALID + "output has 90 rows, expected 100"
    assert not outcome.ok
    assert outcome.median_s is None
    # Found out after the warm-up: the counted rounds skip it.
    assert tally.read_text().count("run") == 1


def test_peer_with_every_row_is_timed(tmp_path: Path) -> None:
    peer, tally = writer_peer(tmp_path, written=100, expected=100)
    [outcome] = measure([peer], warmups=1, runs=2, log_dir=tmp_path / "logs")
    assert outcome.ok
    assert len(outcome.samples) == 2
    assert tally.read_text().count("run") == 3


def timed(name: str, role: str, seconds: float, error: str | None = None) -> Outcome:
    samples = [] if error else [Sample(seconds, 50 * 2**20, 0)]
    return Outcome(name, role, samples, error)


def test_peer_check_compares_with_the_fastest_valid_peer() -> None:
    outcomes = [
        timed("ductflow", DUCTFLOW, 2.0),
        timed("limit", REFERENCE, 1.0),
        timed("slow peer", PEER, 8.0),
        timed("fast peer", PEER, 4.0),
        # Would be the fastest, but its output was wrong: it must not count, nor make the check pass.
        timed("lying peer", PEER, 0.5, error=INVALID + "output has 1 rows, expected 100"),
        timed("broken peer", PEER, 0.0, error="ImportError: no module"),
    ]
    check = postgres.peer_check(outcomes)
    assert check.name == "median of per-round time ÷ fastest peer's (fast peer)"
    assert check.measured == pytest.approx(0.5)
    assert check.passed is True

    slower = [timed("ductflow", DUCTFLOW, 5.0), *outcomes[1:]]
    assert postgres.peer_check(slower).passed is False


def test_peer_check_is_not_judged_without_a_valid_peer() -> None:
    outcomes = [timed("ductflow", DUCTFLOW, 2.0), timed("lying peer", PEER, 0.5, error=INVALID + "short")]
    check = postgres.peer_check(outcomes)
    assert check.measured is None
    assert check.passed is None


def test_peer_target_only_with_peers(tmp_path: Path) -> None:
    outcomes = [timed("ductflow", DUCTFLOW, 1.2), timed("limit", REFERENCE, 1.0), timed("dlt", PEER, 3.0)]
    without = postgres.READ.checks(context(tmp_path, peers=False), outcomes)
    assert [(c.name, c.limit) for c in without] == [("median of per-round time ÷ PostgreSQL alone", 1.3)]
    assert without[0].passed is True
    with_peers = postgres.WRITE.checks(context(tmp_path), outcomes)
    assert [c.passed for c in with_peers] == [True, True]


def test_read_is_judged_against_binary_psql_and_shows_text_psql_beside_it(tmp_path: Path) -> None:
    """PG1's target divides by psql's binary \\copy; psql's default text \\copy only adds a diagnostic line."""
    outcomes = [
        timed("ductflow", DUCTFLOW, 1.5),
        timed("psql binary", REFERENCE, 1.0),
        timed("psql text", postgres.TEXT_LIMIT, 1.25),
    ]
    checks = postgres.READ.checks(context(tmp_path, peers=False), outcomes)
    assert [c.name for c in checks] == [
        "median of per-round time ÷ PostgreSQL alone",
        "diagnostic: the same ÷ psql \\copy in its default text format",
    ]
    assert [c.measured for c in checks] == [pytest.approx(1.5), pytest.approx(1.2)]
    assert [c.passed for c in checks] == [False, True]


def test_read_builds_both_psql_limits_with_their_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PG1 runs psql's \\copy twice: in binary as the judged limit, and as typed, in its default text format."""
    monkeypatch.setenv("DUCTFLOW_BENCH_PG_DSN", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    ctx = context(tmp_path, peers=False)
    found = {c.role: c for c in postgres.build_read(ctx)}
    assert "WITH (FORMAT binary)" in found[REFERENCE].argv[-1]
    assert found[postgres.TEXT_LIMIT].argv[-1].endswith("TO '/dev/null'")


def test_peers_without_their_venv_are_unavailable_not_raised(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    found = read_peers(ctx, tmp_path, DSN, "facts_100", env=(None, "pip: no matching distribution"))
    found += write_peers(ctx, tmp_path, DSN, env=(None, "pip: no matching distribution"))
    assert [c.name for c in found] == [
        "dlt sql_table pyarrow → parquet",
        "dlt sql_table connectorx → parquet",
        "Sling → one parquet file",
        "Sling → parquet folder",
        "dlt arrow batches → postgres",
        "Sling parquet → postgres",
    ]
    assert {c.unavailable for c in found} == {"pip: no matching distribution"}
    assert {c.role for c in found} == {PEER}


def test_sling_needs_its_binary_from_the_wheel(tmp_path: Path) -> None:
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    assert sling_binary(python) is None
    read = {c.name: c for c in read_peers(context(tmp_path), tmp_path, DSN, "facts_100", env=(python, None))}
    assert read["Sling → parquet folder"].unavailable == "sling-linux-amd64 installed no binary"
    assert read["dlt sql_table pyarrow → parquet"].unavailable is None

    binary = tmp_path / "venv/lib/python3.11/site-packages/sling_linux_amd64/bin/sling-linux-amd64"
    binary.parent.mkdir(parents=True)
    binary.touch()
    assert sling_binary(python) == binary
    [_, sling] = write_peers(context(tmp_path), tmp_path, DSN, env=(python, None))
    assert sling.unavailable == "not in the peers' venv: duckdb CLI"
    (python.parent / "duckdb").touch()
    [_, sling] = write_peers(context(tmp_path), tmp_path, DSN, env=(python, None))
    assert sling.unavailable is None
    assert sling.argv[0] == str(binary)


def test_sling_env_picks_its_parquet_route(tmp_path: Path) -> None:
    native = sling_env(DSN, tmp_path)
    assert native["BENCH_PG"] == DSN + "?sslmode=disable"
    assert native["SLING_DUCKDB_COMPUTE"] == "false"
    assert "DUCKDB_PATH" not in native
    through_duckdb = sling_env(DSN + "?application_name=x", tmp_path, tmp_path / "duckdb")
    assert through_duckdb["BENCH_PG"].endswith("?application_name=x&sslmode=disable")
    assert through_duckdb["DUCKDB_PATH"] == str(tmp_path / "duckdb")
    assert "SLING_DUCKDB_COMPUTE" not in through_duckdb


def test_dlt_dsn_adds_a_password_and_driver_only_where_missing() -> None:
    assert dlt_dsn(DSN) == "postgresql://postgres:unused@127.0.0.1:5433/ductflow_bench"
    assert dlt_dsn("postgresql://u:pw@h:1/d?x=1", "postgresql+psycopg2") == "postgresql+psycopg2://u:pw@h:1/d?x=1"


@pytest.mark.parametrize("case", ["PG1 PostgreSQL → Parquet", "PG2 Parquet → PostgreSQL"])
def test_scaling_has_both_pg_directions_and_reports_an_unreachable_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """Each PostgreSQL scaling case measures Ductflow alone and reports a missing server as an error, not a pass."""
    monkeypatch.setenv("DUCTFLOW_BENCH_PG_DSN", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    build = CASES[case]
    results = {}
    for rows in (100, 100 * FACTOR):
        ctx = context(tmp_path, rows=rows)
        contestants = build(ctx, ctx.folder(f"pg-{rows}"))
        assert [c.role for c in contestants] == [DUCTFLOW]
        assert (contestants[0].unavailable or "").startswith("no PostgreSQL server")
        results[rows] = measure(contestants, warmups=0, runs=1, log_dir=tmp_path / "logs")
    summary = summarize([100, 100 * FACTOR], {case: results})
    [case] = summary["cases"]
    assert case["errors"]
    [check] = summary["checks"]
    assert check["passed"] is None
