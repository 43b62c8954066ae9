"""Params that cannot work are refused when the pipeline loads, at their own line, with exit code 2."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def validate(folder: Path, tap_params: str, sink_params: str) -> subprocess.CompletedProcess[str]:
    (folder / "in.csv").write_text("a,b\n1,2\n")
    (folder / "pipeline.yaml").write_text(
        textwrap.dedent(
            f"""\
            - name: raw
              kind: tap
              connection:
                kind: csv
                params: {{path: in.csv{tap_params}}}
            - name: out
              kind: sink
              connection:
                kind: parquet
                params: {{{sink_params}}}
            """
        )
    )
    script = Path(sys.executable).with_name("ductflow")
    return subprocess.run(
        [str(script), "validate", "pipeline.yaml"], cwd=folder, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("tap_params", "sink_params", "line", "message"),
    [
        (", partition_by: [a]", "path: out.parquet", 5, "connection.params.partition_by: only applies to a sink"),
        (", overwrite: false", "path: out.parquet", 5, "connection.params.overwrite: only applies to a sink"),
        (", skip: -1", "path: out.parquet", 5, "connection.params.skip: must be >= 0, got -1"),
        (", columns: {}", "path: out.parquet", 5, "connection.params.columns: must not be empty"),
        ("", "path: out, partition_by: []", 10, "connection.params.partition_by: must not be empty"),
        ("", "path: out.parquet, row_group_size: 0", 10, "connection.params.row_group_size: must be >= 1, got 0"),
        (
            "",
            "path: out.parquet, hive_partitioning: true",
            10,
            "connection.params.hive_partitioning: only applies to a tap",
        ),
        ("", "path: ''", 10, "connection.params.path: must not be empty"),
    ],
)
def test_param_that_cannot_work_is_refused_at_its_line(
    tmp_path: Path, tap_params: str, sink_params: str, line: int, message: str
) -> None:
    """``ductflow validate`` names the file, line, stage and param of a param on the wrong side or out of range."""
    result = validate(tmp_path, tap_params, sink_params)
    assert result.returncode == 2, result.stderr
    assert f"pipeline.yaml:{line}: stage " in result.stderr
    assert message in result.stderr
