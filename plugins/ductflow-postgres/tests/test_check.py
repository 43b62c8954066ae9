"""`ductflow validate --connect` on postgres stages: server reachable, credentials accepted, a tap's table there."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import execute, with_user

PASSWORD = "Pw-" + uuid.uuid4().hex  # unique, so any leak is unmistakable


@pytest.fixture(scope="module")
def checked(pg_dsn: str) -> Iterator[dict[str, str]]:
    """A table to tap, and a role that must log in with a password (see pg-server.sh's pg_hba.conf)."""
    role = f"ductflow_check_{uuid.uuid4().hex[:8]}"
    execute(
        pg_dsn,
        "DO $$ BEGIN CREATE ROLE ductflow_password_required NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
        f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}' IN ROLE ductflow_password_required",
        "CREATE TABLE checked_rows (id int)",
    )
    yield {"role": role}
    execute(pg_dsn, "DROP TABLE checked_rows", f"DROP ROLE {role}")


def _validate(folder: Path, dsn: str, params: str, *flags: str) -> subprocess.CompletedProcess[str]:
    (folder / "pipeline.yaml").write_text(
        "- name: src\n  kind: tap\n  connection:\n    kind: postgres\n"
        f"    params: {{dsn: '${{CHECK_DSN}}', {params}}}\n",
        encoding="utf-8",
    )
    return subprocess.run(
        [sys.executable, "-m", "ductflow_core.cli", "validate", *flags, "pipeline.yaml"],
        cwd=folder,
        env={**os.environ, "CHECK_DSN": dsn},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_existing_table_passes_connect(pg_dsn: str, checked: dict[str, str], tmp_path: Path) -> None:
    """A tap of a table that exists on a reachable server passes `--connect`."""
    proc = _validate(tmp_path, pg_dsn, "table: checked_rows", "--connect")
    assert proc.returncode == 0, proc.stderr


def test_missing_table_fails_connect_only(pg_dsn: str, checked: dict[str, str], tmp_path: Path) -> None:
    """A tap of a table the server lacks validates, and fails `--connect` (exit 1) naming the table."""
    assert _validate(tmp_path, pg_dsn, "table: no_such_rows").returncode == 0
    proc = _validate(tmp_path, pg_dsn, "table: no_such_rows", "--connect")
    assert proc.returncode == 1
    assert "stage 'src': check failed:" in proc.stderr
    assert "no_such_rows" in proc.stderr
    assert "does not exist" in proc.stderr


def test_wrong_password_fails_connect_without_showing_it(pg_dsn: str, checked: dict[str, str], tmp_path: Path) -> None:
    """A refused password fails `--connect` in one line that shows neither the wrong nor the DSN's password."""
    wrong = "Wrong-" + uuid.uuid4().hex
    proc = _validate(tmp_path, with_user(pg_dsn, checked["role"], wrong), "table: checked_rows", "--connect")
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "stage 'src': check failed: cannot connect to PostgreSQL" in proc.stderr
    assert wrong not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_right_password_passes_connect(pg_dsn: str, checked: dict[str, str], tmp_path: Path) -> None:
    """The same role with its password passes `--connect`."""
    proc = _validate(tmp_path, with_user(pg_dsn, checked["role"], PASSWORD), "table: checked_rows", "--connect")
    assert proc.returncode == 0, proc.stderr


def test_unreachable_server_fails_connect(pg_dsn: str, tmp_path: Path) -> None:
    """Nothing listening on the port: `--connect` fails with exit 1, while plain validate passes."""
    dsn = f"postgresql://postgres@127.0.0.1:{_free_port()}/postgres"
    assert _validate(tmp_path, dsn, "table: t").returncode == 0
    proc = _validate(tmp_path, dsn, "table: t, connect_timeout: 3", "--connect")
    assert proc.returncode == 1
    assert "stage 'src': check failed: cannot connect to PostgreSQL" in proc.stderr
