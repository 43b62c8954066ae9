"""Opening the run's DuckDB database early, on a thread: same results, nothing left behind by a failed run."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import conn

from ductflow_core import api
from ductflow_core.cli import main as cli
from ductflow_core.duck.open import Opening, open_early
from ductflow_core.errors import PipelineError, PluginError

UNKNOWN = "- {name: t, kind: tap, connection: {kind: no-such-locator}}\n"


def _existing_database(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE keep AS SELECT 42 AS answer")
    con.close()


def test_opening_hands_out_a_connection_with_ductflow_defaults() -> None:
    """The connection opened on the thread carries Ductflow's settings and the pipeline's own."""
    con = Opening(None, {"threads": 1}).result()
    try:
        settings = dict(
            con.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', 'preserve_insertion_order')"
            ).fetchall()
        )
        assert settings == {"threads": "1", "preserve_insertion_order": "false"}
    finally:
        con.close()


def test_opening_reraises_duckdbs_refusal_as_a_pipeline_error() -> None:
    """A setting DuckDB refuses comes out of result() as the same one-line PipelineError as a direct open."""
    opening = Opening(None, {"no_such_setting": 1})
    with pytest.raises(PipelineError, match=r"cannot open the DuckDB database :memory:: .*no_such_setting"):
        opening.result()


def test_a_connection_is_handed_out_once() -> None:
    """A second result() is a bug in the caller, not a second connection to the same database."""
    opening = Opening(None)
    opening.result().close()
    with pytest.raises(RuntimeError, match="already taken"):
        opening.result()


def test_discard_closes_what_nobody_took() -> None:
    """discard() closes a connection that result() never handed out, and leaves a taken one alone."""
    opening = Opening(None)
    opening.discard()
    with pytest.raises(RuntimeError, match="already taken"):
        opening.result()
    taken = Opening(None)
    con = taken.result()
    taken.discard()
    assert con.execute("SELECT 1").fetchall() == [(1,)]
    con.close()


def test_a_new_database_file_is_not_opened_early(tmp_path: Path) -> None:
    """Only an in-memory database or an existing file opens early: a new file waits for validation."""
    assert open_early(str(tmp_path / "new.duckdb")) is None
    _existing_database(tmp_path / "old.duckdb")
    for opening in (open_early(str(tmp_path / "old.duckdb")), open_early(None)):
        assert opening is not None
        opening.discard()


def test_failed_validation_creates_no_database_file(tmp_path: Path) -> None:
    """A run that fails to resolve a connection leaves no new DuckDB file behind."""
    pipeline = api.load(UNKNOWN)
    database = tmp_path / "run.duckdb"
    with pytest.raises(PluginError, match="no-such-locator"):
        api.run(pipeline, database=str(database))
    assert not database.exists()


def test_a_transform_that_does_not_parse_creates_no_database_file(tmp_path: Path) -> None:
    """A run stopped by a transform DuckDB cannot parse leaves no new DuckDB file behind either."""
    pipeline = api.load("- {name: t, kind: transform, sql: SELEC 1}\n")
    database = tmp_path / "run.duckdb"
    with pytest.raises(PipelineError, match="syntax error"):
        api.run(pipeline, database=str(database))
    assert not database.exists()


def test_failed_validation_releases_an_existing_database(tmp_path: Path) -> None:
    """A run that fails before using an early-opened database closes it: a new connection with other
    settings can open the file, and its data is untouched."""
    database = tmp_path / "run.duckdb"
    _existing_database(database)
    with pytest.raises(PluginError, match="no-such-locator"):
        api.run(api.load(UNKNOWN), database=str(database))
    # DuckDB refuses a second connection with different settings while the first is open in this process.
    con = duckdb.connect(str(database), config={"preserve_insertion_order": True})
    assert con.execute("SELECT answer FROM keep").fetchall() == [(42,)]
    con.close()


def test_the_command_releases_an_existing_database_after_a_failed_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ductflow run`` that fails validation in this process closes the database it opened early."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pipeline.yaml").write_text(UNKNOWN, encoding="utf-8")
    database = tmp_path / "run.duckdb"
    _existing_database(database)
    assert cli.main(["run", "pipeline.yaml", "--database", str(database)]) == 2
    con = duckdb.connect(str(database), config={"preserve_insertion_order": True})
    assert con.execute("SELECT answer FROM keep").fetchall() == [(42,)]
    con.close()


def test_an_early_opened_existing_database_runs_the_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run into an existing database file, opened early, adds its stage's table beside what was there."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    database = tmp_path / "run.duckdb"
    _existing_database(database)
    pipeline = api.load(f"- {{name: nums, kind: tap, connection: {conn('Numbers', rows=4)}}}\n")
    results = api.run(pipeline, database=str(database))
    assert [r.rows for r in results] == [4]
    con = duckdb.connect(str(database))
    assert con.execute("SELECT (SELECT count(*) FROM nums), (SELECT answer FROM keep)").fetchall() == [(4, 42)]
    con.close()
