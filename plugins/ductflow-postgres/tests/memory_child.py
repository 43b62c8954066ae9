"""Child process for the memory tests: one tap or sink on a file-backed DuckDB database, RSS reported as JSON.

Usage: python memory_child.py DSN tap|sink|stream DUCKDB_FILE
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE.parents[2])]

from ductflow_core.sql import Database  # noqa: E402

from ductflow_postgres import PostgresConnection  # noqa: E402


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


async def main(dsn: str, direction: str, path: str) -> None:
    # A small memory limit makes DuckDB spill its own table to the file, so what remains is the stream's footprint.
    # Parquet's writer needs room for its row groups, so the streamed run gets a larger limit.
    db = Database(path, config={"memory_limit": "160MB" if direction == "stream" else "64MB"})
    c = db.facade()
    await (await c.sql("SELECT 1")).fetchall()
    baseline = _status_mb("VmRSS")
    if direction == "tap":
        await PostgresConnection.create(name="mem", c=c, params={"dsn": dsn, "table": "mem_src"}).tap(None)
    elif direction == "stream":
        tap = PostgresConnection.create(name="mem", c=c, params={"dsn": dsn, "table": "mem_src"}, materialize=False)
        await tap.tap(None)
        await c.execute(f"COPY mem TO '{path}.parquet' (FORMAT parquet)")
        await c.execute(f"CREATE TABLE counted AS SELECT count(*) AS n FROM '{path}.parquet'")
        rows = (await (await c.sql("SELECT n FROM counted")).fetchall())[0][0]
        print(json.dumps({"baseline_mb": baseline, "peak_mb": _status_mb("VmHWM"), "rows": rows}))
        return
    else:
        params = {"dsn": dsn, "table": "mem_dst", "mode": "replace"}
        await PostgresConnection.create(name="out", c=c, params=params).sink("mem")
    rows = (await (await c.sql("SELECT count(*) FROM mem")).fetchall())[0][0]
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec, so a large
    # pytest process would show up as this child's peak.
    peak = _status_mb("VmHWM")
    db.close()
    print(json.dumps({"baseline_mb": baseline, "peak_mb": peak, "rows": rows}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
