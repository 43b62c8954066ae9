"""A sandbox is checked by real paths: symlinks do not lead out of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ductflow_core.db import Database
from ductflow_core.errors import ConnectorError


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
