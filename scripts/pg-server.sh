#!/usr/bin/env bash
# Run a private PostgreSQL cluster for Ductflow's tests and benchmarks.
#
#   scripts/pg-server.sh start [DIR]   install (if root and missing), initdb, start; last stdout line is the DSN
#   scripts/pg-server.sh stop [DIR]    stop the cluster in DIR
#   scripts/pg-server.sh dsn           print the DSN
#
# The distribution's service scripts do not work in containers without an init system,
# so the cluster is driven with initdb/pg_ctl directly, listening on 127.0.0.1 only.
set -euo pipefail

PORT="${DUCTFLOW_PG_PORT:-5433}"
DEFAULT_DIR="${DUCTFLOW_PG_DIR:-/tmp/ductflow-pg}"
DSN="postgresql://postgres@127.0.0.1:${PORT}/postgres"

log() { echo "pg-server: $*" >&2; }

find_bindir() {
    if [[ -n "${PG_BINDIR:-}" && -x "${PG_BINDIR}/pg_ctl" ]]; then echo "$PG_BINDIR"; return 0; fi
    local d
    # Newest installed major version wins.
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        if [[ -x "$d/pg_ctl" && -x "$d/initdb" ]]; then echo "$d"; return 0; fi
    done
    if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then dirname "$(command -v pg_ctl)"; return 0; fi
    return 1
}

ensure_binaries() {
    if BIN=$(find_bindir); then return 0; fi
    if [[ "$(id -u)" != 0 ]]; then
        log "PostgreSQL server binaries not found and not root: install the 'postgresql' package or set PG_BINDIR"
        exit 1
    fi
    log "installing PostgreSQL with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y postgresql >&2
    BIN=$(find_bindir) || { log "PostgreSQL binaries still missing after apt-get install"; exit 1; }
}

# Runs a command as the postgres user when we are root (initdb refuses root), else as ourselves.
as_pg() {
    if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Trust for everyone on 127.0.0.1 keeps the DSN password-free, except for members of this group, so tests can
# still exercise a refused password.
HBA_LINE="host all +ductflow_password_required 127.0.0.1/32 scram-sha-256"

ensure_hba() {
    local hba="$1/data/pg_hba.conf"
    if ! grep -qF "$HBA_LINE" "$hba"; then
        { echo "$HBA_LINE"; cat "$hba"; } > "$hba.new"
        if [[ "$(id -u)" == 0 ]]; then chown postgres:postgres "$hba.new"; fi
        chmod 600 "$hba.new"
        mv "$hba.new" "$hba"
        return 1
    fi
}

is_running() {
    local dir="$1"
    [[ -f "$dir/data/PG_VERSION" ]] && as_pg "$BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

cmd_start() {
    local dir="${1:-$DEFAULT_DIR}"
    ensure_binaries
    if ! [[ -f "$dir/data/PG_VERSION" ]]; then
        mkdir -p "$dir"
        chmod 755 "$dir"
        if [[ "$(id -u)" == 0 ]]; then
            install -d -o postgres -g postgres -m 700 "$dir/data"
            install -d -o postgres -g postgres -m 755 "$dir/sock"
        else
            install -d -m 700 "$dir/data"
            install -d -m 755 "$dir/sock"
        fi
        log "initdb in $dir/data"
        as_pg "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >&2
    fi
    local hba_changed=0
    ensure_hba "$dir" || hba_changed=1
    if is_running "$dir" && "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 5; then
        log "already running in $dir"
        if [[ $hba_changed == 1 ]]; then as_pg "$BIN/pg_ctl" -D "$dir/data" reload >&2; fi
    else
        # Leftovers from a killed server (a stale pid file, orphaned backends); pg_ctl would otherwise refuse.
        as_pg "$BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
        pkill -9 -f -- "-D $dir/data" 2>/dev/null || true
        rm -f "$dir/data/postmaster.pid"
        log "starting on 127.0.0.1:$PORT"
        # No durability needed for throwaway data. No autovacuum: the benchmarks load 5,000,000 rows a round, and
        # the vacuum of one round's table would take a core from the next round, whichever side it measures.
        as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $PORT -k $dir/sock -c fsync=off -c full_page_writes=off -c autovacuum=off" start >&2 \
            || { log "start failed; tail of $dir/data/server.log:"; tail -n 20 "$dir/data/server.log" >&2 || true; exit 1; }
    fi
    "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 30 || { log "server not accepting connections on port $PORT"; exit 1; }
    echo "$DSN"
}

cmd_stop() {
    local dir="${1:-$DEFAULT_DIR}"
    BIN=$(find_bindir) || { log "no PostgreSQL binaries; nothing to stop"; return 0; }
    if is_running "$dir"; then
        as_pg "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >&2
    else
        log "not running in $dir"
    fi
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    dsn) echo "$DSN" ;;
    *) echo "usage: $0 start [DIR] | stop [DIR] | dsn" >&2; exit 2 ;;
esac
