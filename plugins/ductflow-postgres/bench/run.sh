#!/usr/bin/env bash
# Run every driver variant RUNS times (after one warm-up) plus the two limit references; JSON lines on stdout.
set -euo pipefail
DSN="${1:?usage: run.sh DSN [RUNS]}"
RUNS="${2:-3}"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${BENCH_DIR:-/tmp/ductflow-pg-bench}"
for v in tap_adbc sink_adbc tap_psycopg sink_psycopg; do
    python "$HERE/driver_bench.py" "$v" "$DSN" >/dev/null
    for _ in $(seq "$RUNS"); do python "$HERE/driver_bench.py" "$v" "$DSN"; done
done
# Limits: the server and psql alone, with no Python in the path.
psql -q "$DSN" -c "\\copy bench_src TO '$WORK/src.bin' WITH (FORMAT binary)"
chmod 644 "$WORK/src.bin"
for _ in $(seq "$RUNS"); do
    s=$(date +%s.%N); psql -q "$DSN" -c "\\copy bench_src TO '/dev/null' WITH (FORMAT binary)"; e=$(date +%s.%N)
    echo "{\"variant\": \"limit_psql_copy_to_binary\", \"wall_s\": $(echo "$e - $s" | bc)}"
    psql -q "$DSN" -c "DROP TABLE IF EXISTS bench_lim; CREATE TABLE bench_lim (LIKE bench_src)"
    s=$(date +%s.%N); psql -q "$DSN" -c "COPY bench_lim FROM '$WORK/src.bin' WITH (FORMAT binary)"; e=$(date +%s.%N)
    echo "{\"variant\": \"limit_server_copy_from_binary\", \"wall_s\": $(echo "$e - $s" | bc)}"
done
