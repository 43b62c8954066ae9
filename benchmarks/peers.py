"""Other tools doing W1, each in the peers' own venv so none of them leaks into Ductflow's environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from . import BENCH_DIR
from .context import Context
from .harness import PEER, Contestant
from .workloads.base import row_count_verifier, write_script

REQUIREMENTS = ["pandas", "pyarrow", "dlt[duckdb,parquet]"]
PEERS_DIR = BENCH_DIR / ".peers"

PANDAS_SCRIPT = """\
import sys

import pandas as pd

pd.read_csv(sys.argv[1], engine="pyarrow").to_parquet(sys.argv[2], index=False)
"""

# dlt's Arrow path: batches read by pyarrow, yielded as Arrow tables, loaded as Parquet files.
DLT_SCRIPT = """\
import sys

import dlt
import pyarrow as pa
import pyarrow.csv as pcsv
from dlt.destinations import filesystem

source, bucket, pipelines_dir = sys.argv[1:4]


@dlt.resource(name="facts", write_disposition="replace")
def facts():
    reader = pcsv.open_csv(source, read_options=pcsv.ReadOptions(block_size=16 << 20))
    for batch in reader:
        yield pa.Table.from_batches([batch])


pipeline = dlt.pipeline(
    pipeline_name="bench_w1",
    destination=filesystem(bucket_url=bucket),
    dataset_name="bench",
    pipelines_dir=pipelines_dir,
)
pipeline.run(facts(), loader_file_format="parquet")
"""


def ensure_peers_env(folder: Path = PEERS_DIR) -> tuple[Path | None, str | None]:
    """Create (once) the peers' venv; return its python, or the first line of why it could not be made."""
    python = folder / "bin" / "python"
    marker = folder / ".installed"
    wanted = "\n".join(REQUIREMENTS)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python, None
    print(f"  installing peers into {folder} …", file=sys.stderr, flush=True)
    steps = [
        [sys.executable, "-m", "venv", str(folder)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *REQUIREMENTS],
    ]
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return None, pip_error(done.stderr + done.stdout) or f"{argv[2]} failed with status {done.returncode}"
    marker.write_text(wanted)
    return python, None


def pip_error(output: str) -> str | None:
    """pip's first ERROR line; its WARNING lines (index locations, versions) say nothing about the failure."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip() and not ln.startswith("WARNING")]
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    return (errors or lines or [None])[0]


def peer_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    return env


def peer_contestants(ctx: Context, folder: Path) -> list[Contestant]:
    """pandas and dlt doing W1; both marked unavailable (not raised) when their venv cannot be made."""
    python, error = ensure_peers_env(ctx.peers_dir or PEERS_DIR)
    csv = str(ctx.dataset.csv)
    pandas_out = folder / "pandas.parquet"
    dlt_out, dlt_state = folder / "dlt-out", folder / "dlt-pipelines"
    pandas_script = write_script(folder / "peer_pandas.py", PANDAS_SCRIPT)
    dlt_script = write_script(folder / "peer_dlt.py", DLT_SCRIPT)
    exe = str(python) if python else "python"
    return [
        Contestant(
            "pandas (pyarrow engine)",
            PEER,
            [exe, str(pandas_script), csv, str(pandas_out)],
            cleanup=[pandas_out],
            env=peer_env(),
            verify=row_count_verifier(pandas_out, ctx.rows),
            unavailable=error,
        ),
        Contestant(
            "dlt (pyarrow → parquet)",
            PEER,
            [exe, str(dlt_script), csv, dlt_out.as_uri(), str(dlt_state)],
            cleanup=[dlt_out, dlt_state],
            env=peer_env(),
            verify=row_count_verifier(dlt_out / "bench" / "facts", ctx.rows),
            unavailable=error,
        ),
    ]
