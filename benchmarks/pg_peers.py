"""Other tools moving PostgreSQL to Parquet (PG1) and Parquet to PostgreSQL (PG2), for ``--peers``.

Each runs as its own child process from the peers' venv (see ``peers.py``), like every other contestant, and
its output's rows are counted after the warm-up: a peer that reports success but wrote the wrong number of rows
is marked invalid and not timed further, so it can neither win nor pass for a failure of ours.

- dlt: ``sql_table`` with the pyarrow backend and with the connectorx backend, to the filesystem destination as
  Parquet (PG1); a resource yielding the Parquet file's Arrow batches to the postgres destination (PG2).
- Sling 1.4.11, the binary from the ``sling-linux-amd64`` wheel. PG1 once to a single Parquet file and once to
  a folder of files, because its single-file target was seen writing a fraction of the rows while reporting all
  of them. PG1 uses Sling's own Parquet writer (``SLING_DUCKDB_COMPUTE=false``): its DuckDB route fetches the
  httpfs extension at run time, which this machine cannot. PG2 reads the Parquet through the DuckDB CLI that
  the ``duckdb-cli`` wheel carries, told to use its built-in extensions: Sling's own Parquet reader never
  finished on these files.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .context import Context
from .harness import PEER, Contestant
from .peers import PEERS_DIR, ensure_peers_env, invalid_when_wrong, peer_env, sling_binary
from .workloads.base import row_count_verifier, write_script

#: Rows per file of Sling's folder target: several files, so the target really is a folder.
SLING_FILE_ROWS = 1_000_000
DLT_WRITE_TABLE = "facts_dlt"
DLT_WRITE_DATASET = "bench_dlt"
SLING_WRITE_TABLE = "facts_sling"

DLT_READ_SCRIPT = """\
import sys

import dlt
from dlt.destinations import filesystem
from dlt.sources.sql_database import sql_table

dsn, table, backend, bucket, pipelines_dir = sys.argv[1:6]

pipeline = dlt.pipeline(
    pipeline_name="bench_pg1_" + backend,
    destination=filesystem(bucket_url=bucket),
    dataset_name="bench",
    pipelines_dir=pipelines_dir,
)
pipeline.run(sql_table(credentials=dsn, table=table, backend=backend), loader_file_format="parquet")
"""

# The Parquet file's own row groups, yielded as Arrow tables: dlt's Arrow path, no rows built in Python.
DLT_WRITE_SCRIPT = """\
import sys

import dlt
import pyarrow as pa
import pyarrow.parquet as pq
from dlt.destinations import postgres

source, dsn, table, dataset, pipelines_dir = sys.argv[1:6]


@dlt.resource(name=table, write_disposition="replace")
def facts():
    for batch in pq.ParquetFile(source).iter_batches(batch_size=65_536):
        yield pa.Table.from_batches([batch])


pipeline = dlt.pipeline(
    pipeline_name="bench_pg2",
    destination=postgres(credentials=dsn),
    dataset_name=dataset,
    pipelines_dir=pipelines_dir,
)
pipeline.run(facts())
"""


def count_check(dsn: str | None, table: str, rows: int) -> str | None:
    """None when ``table`` holds ``rows`` rows, else what it holds (or why it could not be counted)."""
    done = subprocess.run(
        ["psql", "-XAtq", dsn or "", "-c", f"SELECT count(*) FROM {table}"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return f"psql failed: {done.stderr.strip()[-300:]}"
    count = done.stdout.strip()
    return None if count == str(rows) else f"{table} has {count} rows, expected {rows}"


def dlt_dsn(dsn: str, scheme: str = "postgresql") -> str:
    """``dsn`` with a password, and ``scheme`` (SQLAlchemy's names its driver: 2.1 would pick psycopg 3).

    dlt refuses Postgres credentials without a password, even for a server that trusts local connections;
    the benchmark server ignores the one given here.
    """
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if "@" in netloc and ":" not in netloc.split("@", 1)[0]:
        user, host = netloc.split("@", 1)
        netloc = f"{user}:unused@{host}"
    return urlunsplit(parts._replace(scheme=scheme, netloc=netloc))


def sling_env(dsn: str, home: Path, duckdb_cli: Path | None = None) -> dict[str, str]:
    """Sling's environment: the server as connection ``BENCH_PG``, its state kept in the work tree, no telemetry."""
    env = peer_env()
    # Sling's Go driver asks for TLS unless told not to; the benchmark server listens on loopback without it.
    env["BENCH_PG"] = dsn + ("&" if "?" in dsn else "?") + "sslmode=disable"
    env["SLING_HOME_DIR"] = str(home)
    env["SLING_DISABLE_TELEMETRY"] = "true"
    if duckdb_cli is None:
        env["SLING_DUCKDB_COMPUTE"] = "false"
    else:
        env["DUCKDB_PATH"] = str(duckdb_cli)
        env["DUCKDB_USE_INSTALLED_EXTENSIONS"] = "true"
    return env


def _env(ctx: Context) -> tuple[Path | None, str | None]:
    return ensure_peers_env(ctx.peers_dir or PEERS_DIR)


def read_peers(
    ctx: Context, folder: Path, dsn: str, table: str, env: tuple[Path | None, str | None] | None = None
) -> list[Contestant]:
    """PG1's peers; ``env`` is the peers' ``(python, why_not)``, installed on first use when not given."""
    python, error = env or _env(ctx)
    exe = str(python) if python else "python"
    script = write_script(folder / "peer_dlt_read.py", DLT_READ_SCRIPT)
    found = []
    for backend in ("pyarrow", "connectorx"):
        out, state = folder / f"dlt-{backend}-out", folder / f"dlt-{backend}-pipelines"
        found.append(
            Contestant(
                f"dlt sql_table {backend} → parquet",
                PEER,
                [exe, str(script), dlt_dsn(dsn, "postgresql+psycopg2"), table, backend, out.as_uri(), str(state)],
                cleanup=[out, state],
                env=peer_env(),
                verify=invalid_when_wrong(row_count_verifier(out / "bench" / table, ctx.rows)),
                unavailable=error,
            )
        )
    sling = sling_binary(python)
    sling_error = error or (None if sling else "sling-linux-amd64 installed no binary")
    home = folder / "sling-home"
    single, many = folder / "sling.parquet", folder / "sling-parts"
    targets: tuple[tuple[str, Path, list[str]], ...] = (
        ("Sling → one parquet file", single, []),
        ("Sling → parquet folder", many, ["--tgt-options", f"{{format: parquet, file_max_rows: {SLING_FILE_ROWS}}}"]),
    )
    for name, out, options in targets:
        found.append(
            Contestant(
                name,
                PEER,
                [
                    *(str(sling), "run", "--src-conn", "BENCH_PG", "--src-stream", f"public.{table}"),
                    *("--tgt-object", out.as_uri(), *options),
                ],
                cleanup=[out, home],
                env=sling_env(dsn, home),
                verify=invalid_when_wrong(row_count_verifier(out, ctx.rows)),
                unavailable=sling_error,
            )
        )
    return found


def write_peers(
    ctx: Context, folder: Path, dsn: str, env: tuple[Path | None, str | None] | None = None
) -> list[Contestant]:
    """PG2's peers, each replacing its own table so none of them reads another's leftovers."""
    python, error = env or _env(ctx)
    exe = str(python) if python else "python"
    script = write_script(folder / "peer_dlt_write.py", DLT_WRITE_SCRIPT)
    state = folder / "dlt-pipelines"
    parquet = str(ctx.dataset.parquet)
    dlt = Contestant(
        "dlt arrow batches → postgres",
        PEER,
        [exe, str(script), parquet, dlt_dsn(dsn), DLT_WRITE_TABLE, DLT_WRITE_DATASET, str(state)],
        cleanup=[state],
        env=peer_env(),
        verify=invalid_when_wrong(lambda: count_check(dsn, f"{DLT_WRITE_DATASET}.{DLT_WRITE_TABLE}", ctx.rows)),
        unavailable=error,
    )
    sling = sling_binary(python)
    duckdb_cli = python.parent / "duckdb" if python else None
    missing = [what for what, path in (("sling", sling), ("duckdb CLI", duckdb_cli)) if not (path and path.exists())]
    home = folder / "sling-home"
    sling_run = Contestant(
        "Sling parquet → postgres",
        PEER,
        [
            *(str(sling), "run", "--src-stream", Path(parquet).as_uri(), "--tgt-conn", "BENCH_PG"),
            *("--tgt-object", f"public.{SLING_WRITE_TABLE}", "--mode", "full-refresh"),
        ],
        cleanup=[home],
        env=sling_env(dsn, home, duckdb_cli),
        verify=invalid_when_wrong(lambda: count_check(dsn, f"public.{SLING_WRITE_TABLE}", ctx.rows)),
        unavailable=error or (f"not in the peers' venv: {', '.join(missing)}" if missing else None),
    )
    return [dlt, sling_run]
