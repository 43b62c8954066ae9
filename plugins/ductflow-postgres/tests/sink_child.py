"""Child process for the kill tests: sink ROWS generated rows to TABLE in MODE, then exit.

Usage: python sink_child.py DSN TABLE MODE ROWS [REPLACE_STRATEGY]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parents[2])]

from ductflow_core.db import Database  # noqa: E402

from ductflow_postgres import PostgresConnection  # noqa: E402


async def main(dsn: str, table: str, mode: str, rows: int, strategy: str) -> None:
    db = Database()
    c = db.facade()
    await c.execute(f"CREATE TABLE big AS SELECT i AS id, 'new-' || i AS label FROM range(1000, 1000 + {rows}) t(i)")
    params = {"dsn": dsn, "table": table, "mode": mode}
    if mode == "merge":
        params["primary_key"] = ["id"]
    if strategy:
        params["replace_strategy"] = strategy
    await PostgresConnection.create(name="kill", c=c, params=params).sink("big")
    db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), (sys.argv[5:] or [""])[0]))
