"""docs/cli.md tells the truth: its synopsis lists every command and flag, its run sample matches the program."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI_MD = ROOT / "docs" / "cli.md"
COMMANDS = ["run", "validate", "schema", "plugins", "new-plugin", "install", "uninstall"]


def synopsis() -> dict[str, str]:
    block = CLI_MD.read_text(encoding="utf-8").split("```text\n", 1)[1].split("```", 1)[0]
    lines = {}
    for line in block.splitlines():
        words = line.split()
        if len(words) > 1 and words[0] == "ductflow":
            lines[words[1]] = line
    return lines


def helped(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "ductflow_core.cli", *args, "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_synopsis_lists_every_command() -> None:
    """Every command ``ductflow --help`` offers has a line in the synopsis, and no other command does."""
    offered = re.findall(r"^    ([a-z][a-z-]+)", helped(), flags=re.MULTILINE)
    assert sorted(offered) == sorted(COMMANDS)
    assert set(synopsis()) == set(COMMANDS) | {"--version", "[COMMAND]"}


def test_synopsis_lists_every_flag_of_each_command() -> None:
    """Each command's synopsis line names every option its ``--help`` usage shows."""
    lines = synopsis()
    for command in COMMANDS:
        usage = helped(command).split("\n\n", 1)[0]
        flags = set(re.findall(r"\[(-[-a-z]+|--[a-z][-a-z]*)", usage)) - {"-h"}
        documented = set(re.findall(r"(?<![\w-])(--?[a-z][-a-z]*)", lines[command]))
        missing = sorted(flags - documented)
        assert not missing, f"{command}: {missing}"


def progress_shape(line: str) -> str:
    return re.sub(r"\d[\d,.]*", "N", line)


def test_run_sample_matches_the_program(tmp_path: Path) -> None:
    """The progress lines of the ``ductflow run`` sample are, but for figures, what the quickstart prints."""
    text = CLI_MD.read_text(encoding="utf-8")
    sample = text.split("$ ductflow run examples/quickstart/pipeline.yaml\n", 1)[1].split("```", 1)[0]
    documented = [progress_shape(ln) for ln in sample.splitlines() if ln.startswith(("✓", "pipeline "))]
    shutil.copytree(ROOT / "examples" / "quickstart", tmp_path / "quickstart")
    proc = subprocess.run(
        [sys.executable, "-m", "ductflow_core.cli", "run", "quickstart/pipeline.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    printed = [progress_shape(ln) for ln in proc.stderr.splitlines()]
    assert printed == documented
