"""A sandbox is checked by real paths: symlinks do not lead out of it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from ductflow_core.duck.database import Database
from ductflow_core.errors import ConnectorError, PipelineError
from ductflow_core.pipeline.sandbox import escaping_link, resolve
from ductflow_core.testing import RunOutcome


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """A pipeline folder with data/, out/ and a folder outside the sandbox."""
    (tmp_path / "pipe" / "data").mkdir(parents=True)
    (tmp_path / "pipe" / "out").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.csv").write_text("a\n1\n")
    (tmp_path / "pipe" / "data" / "ok.csv").write_text("a\n1\n")
    return tmp_path


def test_check_path_allows_a_real_path_inside_the_sandbox(layout: Path) -> None:
    """A file inside an allowed folder passes check_path and its real path is returned."""
    pipe = layout / "pipe"
    with Database(allowed_directories=[str(pipe / "data")]) as db:
        assert db.facade().check_path(pipe / "data" / "ok.csv") == str((pipe / "data" / "ok.csv").resolve())
        db.facade().check_path(pipe / "data" / "new.csv", write=True)


def test_check_path_refuses_a_symlink_leading_out(layout: Path) -> None:
    """A path inside an allowed folder that is a symlink to a file outside is refused by check_path."""
    pipe = layout / "pipe"
    os.symlink(layout / "outside" / "secret.csv", pipe / "data" / "link.csv")
    with (
        Database(allowed_directories=[str(pipe / "data")]) as db,
        pytest.raises(ConnectorError, match=r"cannot read .*link\.csv.*resolves to .*outside/secret\.csv"),
    ):
        db.facade().check_path(pipe / "data" / "link.csv")


def test_check_path_refuses_a_write_through_a_linked_folder(layout: Path) -> None:
    """A sink target below a symlinked folder that leads outside is refused for writing."""
    pipe = layout / "pipe"
    os.symlink(layout / "outside", pipe / "out" / "victim")
    with (
        Database(allowed_directories=[str(pipe / "out")]) as db,
        pytest.raises(ConnectorError, match="cannot write"),
    ):
        db.facade().check_path(pipe / "out" / "victim" / "x.csv", write=True)


def test_check_path_checks_a_globs_fixed_part(layout: Path) -> None:
    """A glob whose folder part leads outside through a symlink is refused; one inside passes."""
    pipe = layout / "pipe"
    os.symlink(layout / "outside", pipe / "data" / "sub")
    with Database(allowed_directories=[str(pipe / "data")]) as db:
        db.facade().check_path(str(pipe / "data" / "*.csv"))
        with pytest.raises(ConnectorError):
            db.facade().check_path(str(pipe / "data" / "sub" / "*.csv"))


def test_check_path_without_a_sandbox_allows_everything(layout: Path) -> None:
    """With no sandbox, check_path refuses nothing."""
    with Database() as db:
        db.facade().check_path(layout / "outside" / "secret.csv")


Run = Callable[..., RunOutcome]


def test_transform_cannot_read_through_a_symlinked_allowed_folder(ductflow_run: Run, ductflow_project: Path) -> None:
    """A relative sandbox entry that is a symlink to a folder outside the pipeline's folder is refused at its line."""
    outside = ductflow_project.parent / "etc"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0\n")
    os.symlink(outside, ductflow_project / "data")
    with pytest.raises(PipelineError, match=r"pipeline\.yaml:2: sandbox\.allowed_directories\[0\]: 'data' resolves to"):
        ductflow_run(
            "sandbox:\n  allowed_directories: [data]\nstages:\n"
            f"  - {{name: t, kind: transform, sql: \"SELECT * FROM read_csv('{ductflow_project}/data/passwd')\"}}\n"
        )


def test_a_relative_entry_leaving_the_folder_is_refused(ductflow_run: Run, ductflow_project: Path) -> None:
    """A relative sandbox entry leaving the pipeline's folder by .. is refused; written absolute, it is allowed."""
    shared = ductflow_project.parent / "shared"
    shared.mkdir()
    body = "stages:\n  - {name: t, kind: transform, sql: SELECT 1 AS x}\n"
    with pytest.raises(PipelineError, match=r"sandbox\.allowed_directories\[0\]: '\.\./shared' resolves to"):
        ductflow_run(f"sandbox:\n  allowed_directories: [../shared]\n{body}")
    assert ductflow_run(f"sandbox:\n  allowed_directories: ['{shared}']\n{body}").rows("SELECT x FROM t") == [(1,)]


def test_a_symlink_inside_an_allowed_folder_leading_out_is_refused_before_the_run(
    ductflow_run: Run, ductflow_project: Path
) -> None:
    """A link below an allowed folder to a file outside the sandbox stops the run before any stage, naming the link."""
    (ductflow_project / "data" / "deep").mkdir(parents=True)
    secret = ductflow_project.parent / "secret.csv"
    secret.write_text("x\n42\n")
    os.symlink(secret, ductflow_project / "data" / "deep" / "s.csv")
    with pytest.raises(
        PipelineError, match=r"pipeline\.yaml:3: sandbox\.allowed_directories: .*s\.csv is a symlink to"
    ):
        ductflow_run(
            "sandbox:\n  allowed_directories:\n    - data\nstages:\n"
            f"  - {{name: t, kind: transform, sql: \"SELECT * FROM '{ductflow_project}/data/deep/s.csv'\"}}\n"
        )


def test_symlinks_that_stay_inside_the_sandbox_are_fine(ductflow_run: Run, ductflow_project: Path) -> None:
    """An allowed folder reached through a symlink that stays inside the pipeline's folder works, by either name."""
    (ductflow_project / "real").mkdir()
    (ductflow_project / "real" / "ok.csv").write_text("x\n1\n2\n")
    os.symlink(ductflow_project / "real", ductflow_project / "data")
    os.symlink(ductflow_project / "real" / "ok.csv", ductflow_project / "real" / "alias.csv")
    outcome = ductflow_run(
        "sandbox: {allowed_directories: [data]}\nstages:\n"
        f"  - {{name: t, kind: transform, sql: \"SELECT sum(x) AS s FROM '{ductflow_project}/data/alias.csv'\"}}\n"
    )
    assert outcome.rows("SELECT s FROM t") == [(3,)]


def test_the_symlink_walk_is_bounded(tmp_path: Path) -> None:
    """More entries below the allowed folders than the bound is refused rather than half-checked."""
    for i in range(5):
        (tmp_path / f"f{i}").write_text("")
    sandbox = resolve(tmp_path, ["."], [], {})
    assert escaping_link(sandbox, limit=10) is None
    with pytest.raises(PipelineError, match="more than 3 files below the allowed directories"):
        escaping_link(sandbox, limit=3)


def test_duckdb_setting_refused_on_open_is_blamed_at_its_own_line(ductflow_run: Run) -> None:
    """A duckdb: option DuckDB refuses is named as duckdb.<option> with the option's own line."""
    with pytest.raises(PipelineError, match=r"pipeline\.yaml:3: duckdb\.memory_limit: .*Memory must have a number"):
        ductflow_run(
            "duckdb:\n  threads: 2\n  memory_limit: lots\n  default_order: desc\nstages:\n"
            "  - {name: t, kind: transform, sql: SELECT 1 AS x}\n"
        )
    with pytest.raises(PipelineError, match=r"pipeline\.yaml:3: duckdb\.default_order: .*Expected ASC or DESC"):
        ductflow_run(
            "duckdb:\n  threads: 2\n  default_order: sideways\nstages:\n"
            "  - {name: t, kind: transform, sql: SELECT 1 AS x}\n"
        )


def test_a_link_to_a_shallower_folder_inside_is_refused(tmp_path: Path) -> None:
    """A link to a folder inside the sandbox but nearer its top is refused: '..' after it leaves the sandbox."""
    (tmp_path / "data" / "x").mkdir(parents=True)
    os.symlink(tmp_path / "data", tmp_path / "data" / "x" / "link")
    sandbox = resolve(tmp_path, ["data"], [], {})
    found = escaping_link(sandbox)
    assert found is not None
    assert found[0].endswith("x/link")
    assert "a folder from which '..' after the link leads outside the sandbox" in found[1]


def test_links_to_folders_as_deep_or_deeper_are_fine(tmp_path: Path) -> None:
    """A link to a sibling folder, or to one deeper down, keeps '..' inside and is allowed."""
    (tmp_path / "data" / "2024" / "01").mkdir(parents=True)
    os.symlink(tmp_path / "data" / "2024", tmp_path / "data" / "current")
    os.symlink(tmp_path / "data" / "2024" / "01", tmp_path / "data" / "2024" / "latest")
    assert escaping_link(resolve(tmp_path, ["data"], [], {})) is None
