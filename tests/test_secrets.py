"""What comes from the environment is never printed; what the pipeline file says is not a secret."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ductflow_core.errors import PipelineError
from ductflow_core.models import Stages
from ductflow_core.run.output import mask_secrets

Cli = Callable[..., subprocess.CompletedProcess[str]]


def write(tmp_path: Path, text: str) -> None:
    (tmp_path / "pipeline.yaml").write_text(text, encoding="utf-8")


def load_error(text: str, env: dict[str, str]) -> str:
    with pytest.raises(PipelineError) as info:
        Stages.load(text, env=env)
    return str(info.value)


@pytest.mark.parametrize("value", ["topsecret", "ab", "x", "bb"])
def test_after_naming_no_stage_masks_the_env_value(value: str) -> None:
    """``after: [${X}]`` naming no stage says ``no stage is called '***'``, with no hint close to the value."""
    text = "- {name: a, kind: transform, sql: SELECT 1}\n- {name: b, kind: transform, sql: SELECT 2, after: ['${X}']}\n"
    message = load_error(text, {"X": value})
    assert message == "<string>:2: stage 'b': after[0]: no stage is called '***'"


@pytest.mark.parametrize("value", ["prod_orders", "ab"])
def test_duplicate_name_from_env_is_not_printed(value: str) -> None:
    """A duplicate ``name: ${N}`` is reported without N's value, in the label and in the message."""
    text = "- {name: '${N}', kind: transform, sql: SELECT 1}\n- {name: '${N}', kind: transform, sql: SELECT 2}\n"
    message = load_error(text, {"N": value})
    assert message == "<string>:2: stage '***': name: duplicate stage name '***'; the first is at <string>:1"


def test_from_and_stage_kind_from_env_are_not_printed() -> None:
    """A ``from: ${F}`` naming nothing and a ``kind: ${K}`` that is no kind are reported with ``***``."""
    text = (
        "- {name: a, kind: transform, sql: SELECT 1}\n- {name: s, kind: sink, from: '${F}', connection: {kind: csv}}\n"
    )
    assert load_error(text, {"F": "zz"}) == "<string>:2: stage 's': from: no stage is called '***'"
    message = load_error("- {name: a, kind: '${K}'}\n", {"K": "tapx"})
    assert message.startswith("<string>:1: stage 'a': kind: unknown stage kind '***'; expected one of")
    assert "tapx" not in message


def test_cycle_through_env_names_is_masked() -> None:
    """Stage names from the environment are masked in a cycle message, where they are not quoted."""
    text = (
        "- {name: '${A}', kind: transform, sql: SELECT 1, after: ['${B}']}\n"
        "- {name: '${B}', kind: transform, sql: SELECT 2, after: ['${A}']}\n"
    )
    message = load_error(text, {"A": "pq", "B": "rs"})
    assert "cycle" in message
    assert "pq" not in message
    assert "rs" not in message


def test_default_written_in_the_file_is_shown(cli: Cli, tmp_path: Path) -> None:
    """``${T:-acme}`` with T empty is the file's own text, shown as 'acme corp'; with T set, T's value is masked."""
    write(tmp_path, "- {name: t, kind: transform, show: 1, sql: \"SELECT '${T:-acme} corp' AS company\"}\n")
    proc = cli("run", "pipeline.yaml", env={"T": ""})
    assert proc.returncode == 0, proc.stderr
    assert "acme corp" in proc.stdout
    assert "***" not in proc.stdout + proc.stderr
    printed = cli("validate", "--print", "pipeline.yaml", env={"T": ""})
    assert "acme corp" in printed.stdout
    # With T set, its value is the secret and the file's own ' corp' stays.
    proc = cli("run", "pipeline.yaml", env={"T": "globex"})
    assert proc.returncode == 0, proc.stderr
    assert "*** corp" in proc.stdout
    assert "globex" not in proc.stdout + proc.stderr


def test_short_env_stage_name_is_masked_in_progress_and_show(cli: Cli, tmp_path: Path) -> None:
    """A stage named by a short ``${N}`` is ``***`` in progress lines and the show header."""
    write(tmp_path, "- {name: '${N}', kind: transform, show: 1, sql: SELECT 42 AS answer}\n")
    proc = cli("run", "pipeline.yaml", env={"N": "qz"})
    assert proc.returncode == 0, proc.stderr
    assert "qz" not in proc.stdout + proc.stderr
    assert "── *** ──" in proc.stdout


def test_verbose_load_error_never_shows_the_value(cli: Cli, tmp_path: Path) -> None:
    """With ``--verbose`` the traceback of a load error still holds no value from the environment."""
    write(tmp_path, "- {name: a, kind: transform, sql: SELECT 1, after: ['${X}']}\n")
    proc = cli("run", "--verbose", "pipeline.yaml", env={"X": "hunter2"})
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr
    assert "hunter2" not in proc.stderr
    assert "no stage is called '***'" in proc.stderr


def test_required_variable_exits_two_with_its_message(cli: Cli, tmp_path: Path) -> None:
    """``${TENANT:?message}`` unset stops ``ductflow run`` with exit 2 and one line naming TENANT."""
    write(tmp_path, "- {name: a, kind: transform, sql: \"SELECT '${TENANT:?pick a tenant}'\"}\n")
    proc = cli("run", "pipeline.yaml", env={"TENANT": ""})
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert lines == ["error: pipeline.yaml:1: stage 'a': sql: environment variable TENANT is empty: pick a tenant"]


def test_mask_secrets_masks_short_ones_only_as_words() -> None:
    """A short secret is masked as a whole word, never inside another word; a long one anywhere."""
    assert mask_secrets("stage 'ab' and abc, ab.", ["ab"]) == "stage '***' and abc, ***."
    assert mask_secrets("xx-secret-yy", ["secret"]) == "xx-***-yy"


def test_error_after_loading_masks_a_short_env_value(cli: Cli, tmp_path: Path) -> None:
    """An unknown connection locator from a short ``${K}``, found after loading, is shown as ``'***'``."""
    write(tmp_path, "- name: a\n  kind: tap\n  connection:\n    kind: ${K}\n")
    proc = cli("validate", "pipeline.yaml", env={"K": "zq"})
    assert proc.returncode == 2
    assert "connection.kind: unknown locator '***'" in proc.stderr
    assert "zq" not in proc.stderr


def test_validate_print_masks_a_short_connection_kind_from_env(cli: Cli, tmp_path: Path) -> None:
    """``connection: {kind: ${K}}`` prints as ``***`` in validate --print, also where it became ``locator:``."""
    write(tmp_path, "- name: a\n  kind: tap\n  connection:\n    kind: ${K}\n    params: {path: x.csv}\n")
    proc = cli("validate", "--print", "pipeline.yaml", env={"K": "csv"})
    assert proc.returncode == 0, proc.stderr
    assert "locator: '***'" in proc.stdout
    assert "csv" not in proc.stdout.replace("x.csv", "")


def test_stage_name_built_partly_from_env_is_masked_whole() -> None:
    """A stage name that is ``x${A}`` is quoted as ``'***'``: part of it came from the environment."""
    message = load_error("- {name: 'x${A}'}\n", {"A": "Q"})
    assert message == "<string>:1: stage '***': missing key 'kind' (one of tap, transform, sink, sql)"
    assert "Q" not in message


def test_requires_from_the_environment_is_never_printed(tmp_path: Path) -> None:
    """A missing requirement named by a short ``${VAR}`` is reported without its value."""
    from ductflow_core.pipeline.requirements import check_requirements

    text = 'requires: ["${PKG}"]\nstages:\n- {name: a, kind: transform, sql: SELECT 1}\n'
    pipeline = Stages.load(text, env={"PKG": "xq"})
    with pytest.raises(PipelineError) as exc:
        check_requirements(pipeline)
    assert "xq" not in str(exc.value)
    assert str(exc.value) == "<string>:1: requires: missing *** (not installed); install with: ductflow install ***"


def test_a_sandbox_entry_from_the_environment_is_not_shown_resolved(
    cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """A ``sandbox:`` entry from ``${VAR}`` that leads out of the pipeline's folder is refused without its real path."""
    (tmp_path / "s.yaml").write_text(
        'sandbox: {allowed_directories: ["${D}"]}\nstages:\n- {name: a, kind: transform, sql: SELECT 1}\n'
    )
    done = cli("run", "s.yaml", env={"D": "../topsecretdir"})
    assert done.returncode == 2
    assert "topsecretdir" not in done.stderr
    assert "sandbox.allowed_directories[0]: it resolves outside the pipeline's folder" in done.stderr
