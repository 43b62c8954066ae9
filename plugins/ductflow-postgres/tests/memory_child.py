"""Child process for the memory tests: one tap or sink on a file-backed DuckDB database, RSS reported as JSON.

Usage: python memory_child.py DSN tap|sink DUCKDB_FILE
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parents[2])]

from ductflow_core.db import Database  # noqa: E402

from ductflow_postgres import PostgresConnection  # noqa: E402


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def main(dsn: str, direction: str, path: str) -> None:
    # A small memory limit makes DuckDB spill its own table to the file, so what remains is the stream's footprint.
    db = Database(path, config={"memory_limit": "64MB"})
    c = db.facade()
    await (await c.sql("SELECT 1")).fetchall()
    baseline = _rss_mb()
    if direction == "tap":
        await PostgresConnection.create(name="mem", c=c, params={"dsn": dsn, "table": "mem_src"}).tap(None)
    else:
        params = {"dsn": dsn, "table": "mem_dst", "mode": "replace"}
        await PostgresConnection.create(name="out", c=c, params=params).sink("mem")
    rows = (await (await c.sql("SELECT count(*) FROM mem")).fetchall())[0][0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    db.close()
    print(json.dumps({"baseline_mb": baseline, "peak_mb": peak, "rows": rows}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
