"""Run one command and print one line: wall time, client CPU, server CPU, peak RSS.

Usage: ``python measure.py LABEL COMMAND...`` (``MEASURE_DSN`` names a maintenance database of the server; default
the cluster of ``scripts/pg-server.sh``).

On a shared 2-core machine wall times swing by tens of percent from run to run; CPU seconds do not. Server CPU is
what the backends serving the command used (sessions with ``application_name`` ductflow or psql that began while it
ran), read from ``/proc``, so it only works with the server on this machine and readable by this user; another
client's psql or ductflow session at the same time is counted too.
"""

from __future__ import annotations

import datetime
import os
import resource
import subprocess
import sys
import threading
import time

import psycopg

DSN = os.environ.get("MEASURE_DSN", "postgresql://postgres@127.0.0.1:5433/postgres")
TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far, ``None`` once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


class BackendWatch:
    """Polls for the server processes of our sessions and remembers the last CPU figure seen for each."""

    def __init__(self) -> None:
        self.cpu: dict[int, float] = {}
        self._since = datetime.datetime.now(datetime.timezone.utc)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> BackendWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        with psycopg.connect(DSN, autocommit=True, application_name="measure") as con:
            while not self._stop.is_set():
                rows = con.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name IN ('ductflow', 'psql') "
                    "AND backend_start >= %s",
                    (self._since,),
                ).fetchall()
                # Backends are forked fresh, so their CPU counters start at zero: the last reading is the total
                # (short of the final few milliseconds before the session ends).
                for pid in {row[0] for row in rows} | set(self.cpu):
                    cpu = process_cpu(pid)
                    if cpu is not None:
                        self.cpu[pid] = cpu
                time.sleep(0.05)


def main(label: str, command: list[str]) -> int:
    """Run ``command``, print its figures under ``label``; return its exit status."""
    with BackendWatch() as watch:
        start = time.monotonic()
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
        wall = time.monotonic() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        print(f"{label}: FAILED {done.stderr.strip()[-400:]}", flush=True)
    print(
        f"{label:24s} wall {wall:6.2f}  client_cpu {usage.ru_utime + usage.ru_stime:6.2f}  "
        f"server_cpu {sum(watch.cpu.values()):6.2f}  peak_rss_mb {usage.ru_maxrss // 1024}",
        flush=True,
    )
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
