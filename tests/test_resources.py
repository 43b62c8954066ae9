"""Connection.check_stage and Connection.resources: load-time checks that see the stage's role, and no sink
writing what a tap of the same pipeline reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from ductflow_core.cli.main import main
from ductflow_core.plugin.resolve import _relation


def _pipeline(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _errors(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]


def _csv(name: str, kind: str, path: str, after: str = "") -> str:
    """One stage of eight lines (nine with ``after``) using the sample CsvFile class."""
    wait = f"  after: [{after}]\n" if after else ""
    return (
        f"- name: {name}\n  kind: {kind}\n{wait}  connection:\n    kind: CustomConnection\n"
        f"    module: sample_connections\n    classname: CsvFile\n    params:\n      path: {path}\n"
    )


def _data(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "in.csv").write_text("a,b\n1,2\n3,4\n", encoding="utf-8")


@pytest.mark.parametrize("command", ["validate", "run"])
def test_sink_onto_a_taps_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    """A sink writing the file a tap reads fails with exit 2 at the sink's path line, and the file is untouched."""
    _data(tmp_path)
    path = _pipeline(tmp_path, _csv("t", "tap", "data/in.csv") + _csv("s", "sink", "data/../data/in.csv"))
    assert main([command, str(path)]) == 2
    [line] = _errors(capsys)
    assert line == (
        f"error: {path}:16: stage 's': connection.params.path: this sink writes what stage 't' reads "
        f"({path}:1); a sink never writes the input of its run"
    )
    assert (tmp_path / "data" / "in.csv").read_text(encoding="utf-8") == "a,b\n1,2\n3,4\n"


def test_sink_onto_a_folder_holding_a_taps_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A sink whose target is the folder holding a tap's file is refused, naming the tap."""
    _data(tmp_path)
    (tmp_path / "data2").symlink_to(tmp_path / "data")
    path = _pipeline(tmp_path, _csv("t", "tap", "data2/in.csv") + _csv("s", "sink", "nonexistent/.."))
    assert main(["validate", str(path)]) == 2
    assert (
        "stage 's': connection.params.path: this sink writes a folder holding what stage 't' reads"
        in (_errors(capsys)[0])
    )


def test_tap_after_the_sink_may_read_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A tap that waits for the sink (after:) reads the sink's output back: allowed, and it runs."""
    _data(tmp_path)
    text = _csv("t", "tap", "data/in.csv") + _csv("s", "sink", "out.csv") + _csv("back", "tap", "out.csv", "s")
    path = _pipeline(tmp_path, text)
    assert main(["run", str(path), "--database", str(tmp_path / "db.duckdb")]) == 0, capsys.readouterr().err
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines() == ["a,b", "1,2", "3,4"]


def test_unrelated_paths_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A sink writing a sibling whose name merely starts like the tap's file is not a clash."""
    _data(tmp_path)
    path = _pipeline(tmp_path, _csv("t", "tap", "data/in.csv") + _csv("s", "sink", "data/in.csv2"))
    assert main(["run", str(path)]) == 0, capsys.readouterr().err
    assert (tmp_path / "data" / "in.csv2").exists()


def test_check_stage_param_error_is_blamed_on_the_param(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A ParamError from check_stage becomes exit 2 at its param's line; with no param, at the params line."""
    _data(tmp_path)
    path = _pipeline(tmp_path, _csv("t", "tap", "data/in.csv") + _csv("s", "sink", "data"))
    assert main(["run", str(path)]) == 2
    assert _errors(capsys) == [
        f"error: {path}:16: stage 's': connection.params.path: is a folder; a sink writes one file"
    ]
    assert (tmp_path / "data" / "in.csv").exists()
    path = _pipeline(tmp_path, _csv("t", "tap", "whole"))
    assert main(["validate", str(path)]) == 2
    assert _errors(capsys) == [f"error: {path}:7: stage 't': connection.params: these params cannot work together"]


def test_check_stage_sees_the_role(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same folder path is fine for the tap role (the class only refuses it as a sink target)."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("a\n1\n", encoding="utf-8")
    path = _pipeline(tmp_path, _csv("t", "tap", "data"))
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize(
    ("sink", "tap", "how"),
    [
        ("/a/b", "/a/b", "writes what"),
        ("/a/b/", "/a/b", "writes what"),
        ("/a", "/a/b/c", "writes a folder holding what"),
        ("/", "/a", "writes a folder holding what"),
        ("/a/b/c", "/a", "writes inside the folder that"),
        ("/a/b", "/a/bc", None),
        ("pg://h/db/s.t", "pg://h/db/s.t", "writes what"),
        ("pg://h/db/s.t", "pg://h/db/s.t2", None),
    ],
)
def test_resource_overlap_rule(sink: str, tap: str, how: str | None) -> None:
    """Resources clash when equal or when one is a folder (``/``-separated prefix) of the other."""
    assert _relation(sink, tap) == how


def test_sys_exit_in_check_stage_is_a_load_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A class whose check_stage calls sys.exit(4) fails validation with exit 2 and one line, not with code 4."""
    path = _pipeline(tmp_path, _csv("t", "tap", "exit"))
    assert main(["validate", str(path)]) == 2
    assert _errors(capsys) == [f"error: {path}:3: stage 't': connection: CsvFile's load-time checks called sys.exit(4)"]


@pytest.mark.parametrize("command", ["validate", "run"])
def test_sink_onto_the_pipeline_file_itself_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """A sink whose path is the pipeline file is refused at load and the pipeline file stays as written."""
    _data(tmp_path)
    path = _pipeline(tmp_path, _csv("t", "tap", "data/in.csv") + _csv("s", "sink", "pipeline.yaml"))
    before = path.read_text(encoding="utf-8")
    assert main([command, str(path)]) == 2
    [line] = _errors(capsys)
    assert line.endswith(
        "stage 's': connection.params.path: this sink would replace the pipeline file; "
        "a sink never writes what its own run reads or keeps"
    )
    assert path.read_text(encoding="utf-8") == before


@pytest.mark.parametrize("target", ["run.duckdb", "run.duckdb.wal"])
def test_sink_onto_the_runs_database_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    """A sink writing the pipeline's own DuckDB database file (or its WAL) is refused at load, naming the database."""
    _data(tmp_path)
    text = "database: run.duckdb\nstages:\n" + _csv("t", "tap", "data/in.csv") + _csv("s", "sink", target)
    path = _pipeline(tmp_path, text)
    assert main(["validate", str(path)]) == 2
    [line] = _errors(capsys)
    assert "this sink would replace the run's DuckDB database" in line


def test_sink_onto_the_database_given_by_flag_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``run --database FILE`` with a sink writing FILE is refused at load, and the database keeps its tables."""
    import duckdb

    _data(tmp_path)
    database = tmp_path / "keep.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE TABLE precious AS SELECT 1 AS x")
    path = _pipeline(tmp_path, _csv("t", "tap", "data/in.csv") + _csv("s", "sink", "keep.duckdb"))
    assert main(["run", str(path), "--database", str(database)]) == 2
    assert "this sink would replace the run's DuckDB database" in _errors(capsys)[0]
    with duckdb.connect(str(database)) as con:
        assert con.execute("SELECT * FROM precious").fetchall() == [(1,)]
