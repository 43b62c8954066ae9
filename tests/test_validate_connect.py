"""`ductflow validate --connect`: each stage's `Connection.check(role)`, on an instance with no database."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from ductflow_core.connection import Connection
from ductflow_core.errors import ConnectorError

Cli = Callable[..., subprocess.CompletedProcess[str]]


class Checked(Connection):
    """Records each check in ``log`` (a file), then fails when ``fail`` says how."""

    log: str
    fail: str = ""
    secret: str = ""

    async def tap(self, query: str | None = None) -> int | None:
        return 0

    async def sink(self, from_name: str) -> int | None:
        return 0

    async def check(self, role: str) -> None:
        with open(self.log, "a", encoding="utf-8") as out:
            out.write(json.dumps({"stage": self.name, "role": role, "db": self.c is not None}) + "\n")
        if self.fail == "connector":
            raise ConnectorError(f"server refused {self.secret or 'the login'}")
        if self.fail == "os":
            raise OSError("disk on fire\nsecond line")


def _pipeline(folder: Path, tap_params: str, sink_params: str = "") -> None:
    conn = "{{kind: CustomConnection, module: test_validate_connect, classname: Checked, params: {{log: log.jsonl{}}}}}"
    (folder / "pipeline.yaml").write_text(
        f"- {{name: src, kind: tap, connection: {conn.format(tap_params)}}}\n"
        f"- {{name: out, kind: sink, connection: {conn.format(sink_params)}}}\n",
        encoding="utf-8",
    )


def _log(folder: Path) -> list[dict[str, object]]:
    path = folder / "log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_connect_checks_every_stage_with_its_role_and_no_database(cli: Cli, tmp_path: Path) -> None:
    """`--connect` awaits check() once per stage, in file order, with the stage's role and `self.c` None."""
    _pipeline(tmp_path, "")
    proc = cli("validate", "--connect", "pipeline.yaml")
    assert proc.returncode == 0, proc.stderr
    assert _log(tmp_path) == [
        {"stage": "src", "role": "tap", "db": False},
        {"stage": "out", "role": "sink", "db": False},
    ]


def test_plain_validate_checks_no_connection(cli: Cli, tmp_path: Path) -> None:
    """Without `--connect`, validate never calls check(), so a failing one does not matter."""
    _pipeline(tmp_path, ", fail: connector")
    proc = cli("validate", "pipeline.yaml")
    assert proc.returncode == 0, proc.stderr
    assert _log(tmp_path) == []


def test_failed_check_exits_one_naming_the_stage(cli: Cli, tmp_path: Path) -> None:
    """A check raising ConnectorError ends validate with exit 1 and one line at the stage, later stages unchecked."""
    _pipeline(tmp_path, ", fail: connector")
    proc = cli("validate", "--connect", "pipeline.yaml")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: pipeline.yaml:1: stage 'src': check failed: server refused the login"
    assert [entry["stage"] for entry in _log(tmp_path)] == ["src"]


def test_other_exceptions_are_one_line_too(cli: Cli, tmp_path: Path) -> None:
    """A check raising a plain OSError shows its type and first line, no traceback, exit 1."""
    _pipeline(tmp_path, "", ", fail: os")
    proc = cli("validate", "--connect", "pipeline.yaml")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: pipeline.yaml:2: stage 'out': check failed: OSError: disk on fire"


def test_a_value_from_the_environment_is_not_printed(cli: Cli, tmp_path: Path) -> None:
    """A check's message holding a `${VAR}` value is printed with that value masked."""
    _pipeline(tmp_path, ", fail: connector, secret: '${CHECK_SECRET}'")
    proc = cli("validate", "--connect", "pipeline.yaml", env={"CHECK_SECRET": "hunter2-Xq9"})
    assert proc.returncode == 1
    assert "hunter2-Xq9" not in proc.stderr + proc.stdout
    assert "stage 'src': check failed: server refused" in proc.stderr
