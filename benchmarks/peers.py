"""Other tools doing a workload, in the peers' own venv so none of them leaks into Ductflow's environment.

W1's peers (pandas, dlt) live here; the PostgreSQL ones (dlt's sql_database and postgres destination, Sling) in
``pg_peers.py``. They share one venv, installed on first use.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from . import BENCH_DIR
from .context import Context
from .harness import PEER, Contestant
from .workloads.base import row_count_verifier, write_script

REQUIREMENTS = [
    "pandas",
    "pyarrow",
    "dlt[duckdb,parquet,postgres,filesystem,sql-database]",
    "connectorx",
    # The binary itself: the `sling` package downloads its binary at run time, which needs more than a registry.
    "sling-linux-amd64==1.4.11",
    # Sling reads Parquet through a DuckDB CLI (its own Parquet reader hangs on these files); this wheel carries one.
    "duckdb-cli",
]
PEERS_DIR = BENCH_DIR / ".peers"
INVALID = "invalid output, not counted: "

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
    found = errors or lines
    return found[0] if found else None


def invalid_when_wrong(verify: Callable[[], str | None]) -> Callable[[], str | None]:
    """``verify`` whose complaint marks the peer invalid: a tool that reports success but wrote the wrong rows."""

    def check() -> str | None:
        problem = verify()
        return None if problem is None else INVALID + problem

    return check


def sling_binary(python: Path | None) -> Path | None:
    """The Sling executable inside the peers' venv of ``python``, if the wheel put it there."""
    if python is None:
        return None
    found = sorted(python.parent.parent.glob("lib/python*/site-packages/sling_linux_amd64/bin/sling-linux-amd64"))
    return found[0] if found else None


def peer_env() -> dict[str, str]:
    """Our environment without our venv's paths, and without dlt phoning home."""
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
            verify=invalid_when_wrong(row_count_verifier(pandas_out, ctx.rows)),
            unavailable=error,
        ),
        Contestant(
            "dlt (pyarrow → parquet)",
            PEER,
            [exe, str(dlt_script), csv, dlt_out.as_uri(), str(dlt_state)],
            cleanup=[dlt_out, dlt_state],
            env=peer_env(),
            verify=invalid_when_wrong(row_count_verifier(dlt_out / "bench" / "facts", ctx.rows)),
            unavailable=error,
        ),
    ]
