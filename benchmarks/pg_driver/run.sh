#!/usr/bin/env bash
# Interleaved rounds (so machine noise hits every variant alike): each driver variant and the two limit
# references once per round, after one warm-up of each. JSON lines on stdout.
set -euo pipefail
DSN="${1:?usage: run.sh DSN [ROUNDS]}"
ROUNDS="${2:-3}"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${BENCH_DIR:-/tmp/ductflow-pg-bench}"
VARIANTS=(tap_adbc tap_psycopg sink_adbc sink_psycopg)
psql -q "$DSN" -c "\\copy bench_src TO '$WORK/src.bin' WITH (FORMAT binary)"
chmod 644 "$WORK/src.bin"
limits() {
    local s e
    s=$(date +%s.%N); psql -q "$DSN" -c "\\copy bench_src TO '/dev/null' WITH (FORMAT binary)"; e=$(date +%s.%N)
    echo "{\"variant\": \"limit_psql_copy_to_binary\", \"wall_s\": $(echo "$e - $s" | bc)}"
    psql -q "$DSN" -c "DROP TABLE IF EXISTS bench_lim; CREATE TABLE bench_lim (LIKE bench_src)"
    s=$(date +%s.%N); psql -q "$DSN" -c "COPY bench_lim FROM '$WORK/src.bin' WITH (FORMAT binary)"; e=$(date +%s.%N)
    echo "{\"variant\": \"limit_server_copy_from_binary\", \"wall_s\": $(echo "$e - $s" | bc)}"
}
for v in "${VARIANTS[@]}"; do python "$HERE/driver_bench.py" "$v" "$DSN" >/dev/null; done
limits >/dev/null
for _ in $(seq "$ROUNDS"); do
    for v in "${VARIANTS[@]}"; do python "$HERE/driver_bench.py" "$v" "$DSN"; done
    BENCH_BATCH=16384 python "$HERE/driver_bench.py" sink_adbc "$DSN" | sed 's/"sink_adbc"/"sink_adbc_batch16k"/'
    limits
done
