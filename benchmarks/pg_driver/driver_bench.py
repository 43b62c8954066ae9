"""Compare PostgreSQL drivers for the two directions the connection streams.

Each variant runs in a fresh process (``python driver_bench.py VARIANT DSN N``) and prints one JSON line with the
wall time and peak RSS of that process, imports included. ``prepare`` builds the PostgreSQL table and the Parquet file.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Iterator

WORK = os.environ.get("BENCH_DIR", "/tmp/ductflow-pg-bench")
COLUMNS = (
    "id bigint, k integer, qty integer, price double precision, ratio double precision, name varchar(20), "
    "d date, ts timestamp, flag boolean, note varchar(20)"
)
GENERATE = """
SELECT g AS id, (g % 1000)::int AS k, (g % 97)::int AS qty, (g % 10007) / 7.0::float8 AS price,
       ((g * 7919) % 1000) / 1000.0::float8 AS ratio, 'name-' || (g % 100000) AS name,
       DATE '2020-01-01' + (g % 2000)::int AS d, TIMESTAMP '2020-01-01' + g * INTERVAL '1 second' AS ts,
       g % 3 = 0 AS flag, CASE WHEN g % 5 = 0 THEN NULL ELSE 'note-' || (g % 777) END AS note
FROM {rows}
"""


def prepare(dsn: str, n: int) -> None:
    import adbc_driver_postgresql.dbapi as pg
    import duckdb

    os.makedirs(WORK, exist_ok=True)
    with pg.connect(dsn) as con, con.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_src")
        cur.execute(f"CREATE TABLE bench_src ({COLUMNS})")
        cur.execute("INSERT INTO bench_src " + GENERATE.format(rows=f"generate_series(1::bigint, {n}) g"))
        con.commit()
    duck = duckdb.connect()
    # Same rows as the PostgreSQL table, so both directions move identical data.
    duck.execute(f"COPY ({GENERATE.format(rows=f'range(1, {n} + 1) t(g)')}) TO '{WORK}/src.parquet' (FORMAT parquet)")


def tap_adbc(dsn: str) -> int:
    import adbc_driver_postgresql.dbapi as pg
    import duckdb

    duck = duckdb.connect()
    with pg.connect(dsn) as con, con.cursor() as cur:
        cur.execute("SELECT * FROM bench_src")
        duck.register("stream", cur.fetch_record_batch())
        duck.execute("CREATE TABLE t AS SELECT * FROM stream")
    duck.execute(f"COPY t TO '{WORK}/out.parquet' (FORMAT parquet)")
    return duck.execute("SELECT count(*) FROM t").fetchone()[0]


def _psycopg_batches(dsn: str, batch_rows: int = 100_000) -> Iterator:
    import psycopg
    import pyarrow as pa

    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("k", pa.int32()),
            ("qty", pa.int32()),
            ("price", pa.float64()),
            ("ratio", pa.float64()),
            ("name", pa.string()),
            ("d", pa.date32()),
            ("ts", pa.timestamp("us")),
            ("flag", pa.bool_()),
            ("note", pa.string()),
        ]
    )
    with (
        psycopg.connect(dsn) as con,
        con.cursor() as cur,
        cur.copy("COPY bench_src TO STDOUT (FORMAT BINARY)") as copy,
    ):
        copy.set_types(["int8", "int4", "int4", "float8", "float8", "varchar", "date", "timestamp", "bool", "varchar"])
        rows: list = []
        for row in copy.rows():
            rows.append(row)
            if len(rows) >= batch_rows:
                yield pa.RecordBatch.from_arrays([pa.array(c) for c in zip(*rows, strict=True)], schema=schema)
                rows = []
        if rows:
            yield pa.RecordBatch.from_arrays([pa.array(c) for c in zip(*rows, strict=True)], schema=schema)


def tap_psycopg(dsn: str) -> int:
    import duckdb
    import pyarrow as pa

    gen = _psycopg_batches(dsn)
    first = next(gen)
    reader = pa.RecordBatchReader.from_batches(first.schema, (b for part in ([first], gen) for b in part))
    duck = duckdb.connect()
    duck.register("stream", reader)
    duck.execute("CREATE TABLE t AS SELECT * FROM stream")
    duck.execute(f"COPY t TO '{WORK}/out.parquet' (FORMAT parquet)")
    return duck.execute("SELECT count(*) FROM t").fetchone()[0]


def sink_adbc(dsn: str) -> int:
    import adbc_driver_postgresql.dbapi as pg
    import duckdb

    duck = duckdb.connect()
    duck.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{WORK}/src.parquet')")
    reader = duck.sql("SELECT * FROM t").to_arrow_reader(int(os.environ.get("BENCH_BATCH", "122880")))
    with pg.connect(dsn) as con, con.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_dst")
        cur.execute(f"CREATE TABLE bench_dst ({COLUMNS})")
        rows = cur.adbc_ingest("bench_dst", reader, mode="append")
        con.commit()
    return rows


def sink_psycopg(dsn: str) -> int:
    import duckdb
    import psycopg

    duck = duckdb.connect()
    duck.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{WORK}/src.parquet')")
    reader = duck.sql("SELECT * FROM t").to_arrow_reader(122_880)
    count = 0
    with psycopg.connect(dsn) as con, con.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_dst")
        cur.execute(f"CREATE TABLE bench_dst ({COLUMNS})")
        with cur.copy("COPY bench_dst FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(
                ["int8", "int4", "int4", "float8", "float8", "varchar", "date", "timestamp", "bool", "varchar"]
            )
            for batch in reader:
                columns = [col.to_pylist() for col in batch.columns]
                for row in zip(*columns, strict=True):
                    copy.write_row(row)
                count += batch.num_rows
    return count


VARIANTS = {"tap_adbc": tap_adbc, "tap_psycopg": tap_psycopg, "sink_adbc": sink_adbc, "sink_psycopg": sink_psycopg}


def main() -> None:
    variant, dsn = sys.argv[1], sys.argv[2]
    if variant == "prepare":
        prepare(dsn, int(sys.argv[3]))
        return
    start = time.perf_counter()
    rows = VARIANTS[variant](dsn)
    wall = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    print(
        json.dumps(
            {
                "variant": variant,
                "rows": rows,
                "wall_s": round(wall, 2),
                "peak_rss_mb": round(rss_mb),
                "cpu_s": round(cpu, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
