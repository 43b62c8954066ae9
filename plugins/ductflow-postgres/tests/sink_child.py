"""Child process: sink ROWS generated rows to TABLE in MODE, print which drivers it imported, then exit.

Usage: python sink_child.py DSN TABLE MODE ROWS [REPLACE_STRATEGY [EXTRA_COLUMNS]]

EXTRA_COLUMNS are DuckDB select items added to the generated ``id`` and ``label``
(``[TIMESTAMPTZ '2024-01-01 00:00+00'] AS u``).
The kill tests stop it half-way; the import test reads the last line, ``adbc_driver_postgresql`` if imported.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE.parents[2])]

from ductflow_core.sql import Database  # noqa: E402

from ductflow_postgres import PostgresConnection  # noqa: E402


async def main(dsn: str, table: str, mode: str, rows: int, strategy: str, extra: str) -> None:
    db = Database()
    c = db.facade()
    items = f"i AS id, 'new-' || i AS label{', ' + extra if extra else ''}"
    await c.execute(f"CREATE TABLE big AS SELECT {items} FROM range(1000, 1000 + {rows}) t(i)")
    params = {"dsn": dsn, "table": table, "mode": mode}
    if mode == "merge":
        params["primary_key"] = ["id"]
    if strategy:
        params["replace_strategy"] = strategy
    await PostgresConnection.create(name="kill", c=c, params=params).sink("big")
    db.close()


if __name__ == "__main__":
    strategy, extra = [*sys.argv[5:7], "", ""][:2]
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), strategy, extra))
    print("adbc_driver_postgresql" if "adbc_driver_postgresql" in sys.modules else "")
