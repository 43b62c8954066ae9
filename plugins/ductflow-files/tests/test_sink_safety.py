"""A sink never deletes what is not its own, and leaves nothing behind that breaks the next run."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from ductflow_core.errors import ConnectorError, ParamError
from helpers import FORMATS, make, rows, siblings

from ductflow_files import CsvConnection, ParquetConnection
from ductflow_files.atomic import MARKER, TEMP_FOLDER, Staging, clean_stale
from ductflow_files.base import sink_target_problem


def ductflow(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("ductflow")
    return subprocess.run([str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def sink_pipeline(fmt: str, path: str, extra: str = "") -> str:
    return textwrap.dedent(
        f"""
        - name: numbers
          kind: transform
          sql: SELECT i, i % 2 AS part FROM range(10) t(i)
        - name: write
          kind: sink
          connection:
            kind: {fmt}
            params: {{path: {path!r}{extra}}}
        """
    )


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry below ``folder`` with a file's content, so a test can tell that nothing changed."""
    found: dict[str, bytes | None] = {}
    for path in sorted(folder.rglob("*")):
        found[str(path.relative_to(folder))] = path.read_bytes() if path.is_file() else None
    return found


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    (folder / "out").mkdir(parents=True)
    (folder / "out" / "keep.txt").write_text("the user's own file")
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "a.txt").write_text("a")
    (tmp_path / "victim" / "b.csv").write_text("x\n1\n")
    return folder


@pytest.mark.parametrize(
    ("fmt", "path", "extra"),
    [
        pytest.param("csv", ".", "", id="own-folder"),
        pytest.param("csv", "../victim", "", id="folder-of-user-files"),
        pytest.param("parquet", "out/", "", id="trailing-slash"),
        pytest.param("parquet", "out", "", id="folder-without-slash"),
        pytest.param("json", "out", ", partition_by: [part]", id="partitioned-onto-user-folder"),
        pytest.param("csv", "../victim/b.csv", ", partition_by: [part]", id="partitioned-onto-a-file"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_sink_onto_a_folder_it_did_not_make_is_refused_at_load(
    project: Path, fmt: str, path: str, extra: str, command: str
) -> None:
    """A sink onto an existing folder of user files (or a partitioned one onto a file) exits 2 and deletes nothing."""
    (project / "pipeline.yaml").write_text(sink_pipeline(fmt, path, extra))
    before = tree(project.parent)
    result = ductflow(command, "pipeline.yaml", cwd=project)
    assert result.returncode == 2, result.stderr
    assert "connection.params.path" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert tree(project.parent) == before


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_sink_onto_a_device_is_refused_and_the_device_stays(project: Path, device: str) -> None:
    """Writing to a device (as root, too) is refused at load; the device is still a device afterwards."""
    (project / "pipeline.yaml").write_text(sink_pipeline("csv", device))
    result = ductflow("run", "pipeline.yaml", cwd=project)
    assert result.returncode == 2, result.stderr
    assert "is a device" in result.stderr
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_sink_onto_a_fifo_or_socket_is_refused_without_opening_it(project: Path) -> None:
    """A FIFO (which would block an open) and a socket are refused at load and left in place."""
    os.mkfifo(project / "pipe")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(project / "sock"))
    try:
        for name, kind in (("pipe", "FIFO"), ("sock", "socket")):
            (project / "pipeline.yaml").write_text(sink_pipeline("csv", name))
            result = ductflow("run", "pipeline.yaml", cwd=project, timeout=30)
            assert result.returncode == 2, result.stderr
            assert f"is a {kind}" in result.stderr
        assert stat.S_ISFIFO(os.stat(project / "pipe").st_mode)
        assert stat.S_ISSOCK(os.stat(project / "sock").st_mode)
    finally:
        listener.close()


def test_sink_onto_a_symlink_is_refused(project: Path) -> None:
    """A symlink at the target is neither replaced nor followed; the file it points at keeps its content."""
    (project / "real.csv").write_text("x\n1\n")
    (project / "link.csv").symlink_to(project / "real.csv")
    (project / "pipeline.yaml").write_text(sink_pipeline("csv", "link.csv"))
    result = ductflow("run", "pipeline.yaml", cwd=project)
    assert result.returncode == 2, result.stderr
    assert "is a symbolic link" in result.stderr
    assert (project / "link.csv").is_symlink()
    assert (project / "real.csv").read_text() == "x\n1\n"


def test_partitioned_sink_replaces_its_own_folder_and_an_empty_one(project: Path) -> None:
    """A partitioned sink writes into an empty folder, marks it, and replaces it on the next run."""
    (project / "empty").mkdir()
    (project / "pipeline.yaml").write_text(sink_pipeline("parquet", "empty/", ", partition_by: [part]"))
    for _ in range(2):
        result = ductflow("run", "pipeline.yaml", cwd=project)
        assert result.returncode == 0, result.stderr
        assert siblings(project / "empty") == [MARKER, "part=0", "part=1"]
    assert siblings(project) == ["empty", "out", "pipeline.yaml"]


async def test_folder_appearing_after_load_fails_the_run_and_stays(db, tmp_path: Path) -> None:
    """A folder created at the target after the pipeline loaded fails the sink at run time and is left as it was."""
    target = tmp_path / "late.csv"
    assert sink_target_problem({"path": str(target)}, tmp_path) is None
    target.mkdir()
    (target / "inside.txt").write_text("mine")
    await db.execute("CREATE TABLE t AS SELECT 1 AS a")
    with pytest.raises(ConnectorError, match=r"^'.*late\.csv' is a folder; a sink without partition_by"):
        await make(CsvConnection, db, path=str(target)).sink("t")
    assert (target / "inside.txt").read_text() == "mine"
    assert siblings(tmp_path) == ["late.csv"]


def test_check_stage_names_the_path_param(tmp_path: Path) -> None:
    """The load-time check raises ParamError on ``path``, which the core turns into exit 2 at that line."""
    with pytest.raises(ParamError) as exc:
        ParquetConnection.check_stage({"path": str(tmp_path)}, role="sink", base_dir=tmp_path)
    assert exc.value.param == "path"
    ParquetConnection.check_stage({"path": str(tmp_path)}, role="tap", base_dir=tmp_path)


@pytest.mark.parametrize(
    ("tap_path", "sink_path"),
    [
        pytest.param("data/in.csv", "data/in.csv", id="same-file"),
        pytest.param("data/*.csv", "data/out.csv", id="into-the-glob-folder"),
        pytest.param("data/in.csv", "./data/../data/in.csv", id="same-file-spelt-otherwise"),
    ],
)
def test_sink_onto_a_taps_input_is_refused_at_load(tmp_path: Path, tap_path: str, sink_path: str) -> None:
    """A sink writing what a tap of the same pipeline reads is refused by validate with exit 2; the input stays."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "in.csv").write_text("a\n1\n")
    (tmp_path / "pipeline.yaml").write_text(
        textwrap.dedent(
            f"""
            - name: raw
              kind: tap
              connection: {{kind: csv, params: {{path: {tap_path!r}}}}}
            - name: write
              kind: sink
              connection: {{kind: csv, params: {{path: {sink_path!r}}}}}
            """
        )
    )
    for command in ("validate", "run"):
        result = ductflow(command, "pipeline.yaml", cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "stage 'raw' reads" in result.stderr
    assert (tmp_path / "data" / "in.csv").read_text() == "a\n1\n"


# -- leftovers -----------------------------------------------------------------------------------------------

SLOW_SINK = """
- name: big
  kind: transform
  materialize: false
  sql: SELECT i, repeat('x', 200) AS pad FROM range(200000000) t(i)
- name: write
  kind: sink
  connection: {kind: parquet, params: {path: out/big.parquet}}
"""

READ_BACK = """
- name: back
  kind: tap
  connection: {kind: parquet, params: {path: "out/*"}}
- name: back_all
  kind: tap
  connection: {kind: parquet, params: {path: "out/**/*.parquet"}}
- name: write
  kind: sink
  connection: {kind: csv, params: {path: copy/back.csv}}
"""


def test_killed_sink_leaves_nothing_a_glob_reads_and_the_next_run_cleans_up(tmp_path: Path) -> None:
    """After ``kill -9`` mid-write, ``out/*`` still reads; the next sink into ``out/`` removes the leftovers."""
    (tmp_path / "out").mkdir()
    (tmp_path / "slow.yaml").write_text(SLOW_SINK)
    (tmp_path / "read.yaml").write_text(READ_BACK)
    good = tmp_path / "good.yaml"
    good.write_text(sink_pipeline("parquet", "out/good.parquet"))
    assert ductflow("run", "good.yaml", cwd=tmp_path).returncode == 0
    script = Path(sys.executable).with_name("ductflow")
    process = subprocess.Popen([str(script), "run", "slow.yaml"], cwd=tmp_path, start_new_session=True)
    area = tmp_path / "out" / TEMP_FOLDER
    try:
        deadline = time.monotonic() + 60
        while not any(name.endswith(".tmp") for name in siblings(area, missing_ok=True)):
            assert process.poll() is None, "the run ended before the sink started writing"
            assert time.monotonic() < deadline, "the sink never started writing"
            time.sleep(0.02)
        time.sleep(0.3)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    left = siblings(area)
    assert any(name.endswith(".tmp") for name in left), left
    assert not any(name.endswith(".parquet") for name in left)
    result = ductflow("run", "read.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "copy" / "back.csv").read_text().splitlines()[1:] == [f"{i},{i % 2}" for i in range(10)]
    assert ductflow("run", "good.yaml", cwd=tmp_path).returncode == 0
    assert siblings(tmp_path / "out") == ["good.parquet"]


LIVE_WRITER = """
import sys, time
from pathlib import Path
from ductflow_files.atomic import Staging
staged = Staging(Path(sys.argv[1]))
staged.temp.write_text("half written")
print(staged.temp, flush=True)
time.sleep(60)
"""


async def test_cleanup_never_removes_a_live_writers_temporary(db, tmp_path: Path) -> None:
    """A temporary whose writer (another process) still holds its lock survives another sink's clean-up."""
    writer = subprocess.Popen([sys.executable, "-c", LIVE_WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None
        theirs = Path(writer.stdout.readline().strip())
        await db.execute("CREATE TABLE t AS SELECT 1 AS a")
        await make(CsvConnection, db, path=str(tmp_path / "mine.csv")).sink("t")
        assert theirs.read_text() == "half written"
    finally:
        writer.kill()
        writer.wait()
    clean_stale(tmp_path)
    assert siblings(tmp_path) == ["mine.csv"]


def test_cleanup_removes_a_temporary_whose_lock_is_gone(tmp_path: Path) -> None:
    """A temporary entry without its lock file (a writer killed while cleaning up) is removed, and then the area."""
    with Staging(tmp_path) as staged:
        staged.temp.write_text("x")
        mine = staged.temp
        clean_stale(tmp_path)
        assert mine.read_text() == "x"
    (tmp_path / TEMP_FOLDER).mkdir()
    (tmp_path / TEMP_FOLDER / "0123abcd.tmp").write_text("orphan")
    clean_stale(tmp_path)
    assert siblings(tmp_path) == []


# -- the real cause of a failed write ------------------------------------------------------------------------


@pytest.fixture
def mounted(tmp_path: Path):
    """A mount point under ``tmp_path``, unmounted afterwards; the tests using it need root, which CI has."""
    point = tmp_path / "mnt"
    point.mkdir()

    def mount(*options: str) -> Path:
        subprocess.run(["mount", "-t", "tmpfs", *options, "tmpfs", str(point)], check=True)
        return point

    yield mount
    subprocess.run(["umount", str(point)], check=False)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_disk_full_reports_the_os_reason_in_one_line(db, mounted, fmt: str) -> None:
    """On a full disk the error is ``No space left on device``, one line, no DuckDB JSON; nothing is left behind."""
    point = mounted("-o", "size=256k")
    (point / f"old.{fmt}").write_text("old")
    await db.execute("CREATE TABLE big AS SELECT i, repeat('x', 100) AS pad FROM range(100000) t(i)")
    with pytest.raises(ConnectorError) as exc:
        await make(FORMATS[fmt], db, path=str(point / f"old.{fmt}")).sink("big")
    message = str(exc.value)
    assert message == f"cannot write {str(point / f'old.{fmt}')!r}: No space left on device"
    assert (point / f"old.{fmt}").read_text() == "old"
    assert siblings(point) == [f"old.{fmt}"]


async def test_read_only_folder_reports_the_os_reason(db, mounted) -> None:
    """A read-only file system gives ``Read-only file system`` as the reason, not a clean-up error."""
    point = mounted("-o", "ro")
    await db.execute("CREATE TABLE t AS SELECT 1 AS a")
    with pytest.raises(ConnectorError) as exc:
        await make(CsvConnection, db, path=str(point / "x.csv")).sink("t")
    assert str(exc.value) == f"cannot write {str(point / 'x.csv')!r}: Read-only file system"


async def test_tap_reads_back_what_a_partitioned_sink_wrote_with_a_glob(db, tmp_path: Path) -> None:
    """The marker of a partitioned folder is invisible to ``*`` and ``**`` globs over the folder."""
    await db.execute("CREATE TABLE t AS SELECT i, i % 2 AS part FROM range(4) t(i)")
    await make(ParquetConnection, db, path=str(tmp_path / "p"), partition_by=["part"]).sink("t")
    await make(ParquetConnection, db, name="back", path=str(tmp_path / "p" / "**")).tap()
    assert await rows(db, "SELECT i FROM back ORDER BY i") == [(0,), (1,), (2,), (3,)]


SLOW_PARTITIONED_SINK = """
- name: big
  kind: transform
  materialize: false
  sql: SELECT i, i % 3 AS part, repeat('x', 200) AS pad FROM range(200000000) t(i)
- name: write
  kind: sink
  connection: {kind: parquet, params: {path: out/parts, partition_by: [part]}}
"""

READ_ALL = """
- name: back
  kind: tap
  connection: {kind: parquet, params: {path: "out/**/*.parquet"}}
- name: write
  kind: sink
  connection: {kind: csv, params: {path: copy/back.csv}}
"""


def test_killed_partitioned_sink_leaves_no_file_a_suffix_glob_over_its_parent_reads(tmp_path: Path) -> None:
    """A partitioned write killed mid-way leaves only ``.tmp`` files, which ``out/**/*.parquet`` does not match."""
    (tmp_path / "slow.yaml").write_text(SLOW_PARTITIONED_SINK)
    (tmp_path / "read.yaml").write_text(READ_ALL)
    (tmp_path / "good.yaml").write_text(sink_pipeline("parquet", "out/good.parquet"))
    assert ductflow("run", "good.yaml", cwd=tmp_path).returncode == 0
    script = Path(sys.executable).with_name("ductflow")
    process = subprocess.Popen([str(script), "run", "slow.yaml"], cwd=tmp_path, start_new_session=True)
    area = tmp_path / "out" / TEMP_FOLDER
    try:
        deadline = time.monotonic() + 60
        while not any(p.stat().st_size > 0 for p in area.glob("*.tmp/*/*")):
            assert process.poll() is None, "the run ended before the sink started writing"
            assert time.monotonic() < deadline, "the sink never started writing"
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    staged = sorted(p.name for p in area.rglob("*") if p.is_file())
    assert staged
    assert all(name.endswith(".tmp") or name.endswith(".lock") for name in staged), staged
    result = ductflow("run", "read.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "copy" / "back.csv").read_text().splitlines()) == 11


async def test_leftovers_of_the_old_temporary_names_are_removed_for_the_target_only(db, tmp_path: Path) -> None:
    """``.x.parquet.tmp-1a2b3c4d`` left by an earlier version goes on the next write of x.parquet; others stay."""
    (tmp_path / ".x.parquet.tmp-1a2b3c4d").write_bytes(b"half a parquet file")
    (tmp_path / ".x.parquet.old-0000ffff").mkdir()
    (tmp_path / ".y.parquet.tmp-1a2b3c4d").write_bytes(b"another target's")
    (tmp_path / ".x.parquet.tmp-notours").write_bytes(b"not our name")
    await db.execute("CREATE TABLE t AS SELECT 1 AS a")
    await make(ParquetConnection, db, path=str(tmp_path / "x.parquet")).sink("t")
    assert siblings(tmp_path) == [".x.parquet.tmp-notours", ".y.parquet.tmp-1a2b3c4d", "x.parquet"]


@pytest.mark.parametrize("glob", ["out", "out/**/*.parquet", "out/**"])
async def test_taps_never_read_a_sinks_temporary_area(db, tmp_path: Path, glob: str) -> None:
    """A folder or ``**`` tap skips ``.ductflow-tmp/``, where a partitioned swap keeps the old folder's real files."""
    await db.execute("CREATE TABLE t AS SELECT i, i % 2 AS part FROM range(4) t(i)")
    await make(ParquetConnection, db, path=str(tmp_path / "out" / "parts"), partition_by=["part"]).sink("t")
    # What a swap in progress (or killed) holds: a whole earlier partitioned folder, real suffixes and all.
    area = tmp_path / "out" / ".ductflow-tmp" / "0123456789abcdef.old"
    (area / "part=9").mkdir(parents=True)
    await db.execute(
        f"COPY (SELECT 100 AS i) TO '{area / 'part=9' / 'data_0.parquet'}' (FORMAT parquet)"
    )
    await make(ParquetConnection, db, name="back", path=str(tmp_path / glob)).tap()
    assert await rows(db, "SELECT i FROM back ORDER BY i") == [(0,), (1,), (2,), (3,)]
