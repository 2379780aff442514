#!/usr/bin/env bash
# A throwaway PostgreSQL cluster in a directory, on a loopback port, for tests and trials.
#
#   scripts/pg-throwaway.sh start DIR PORT   # initdb + start; prints postgres://postgres@127.0.0.1:PORT/postgres
#   scripts/pg-throwaway.sh restart DIR      # fast restart (connections are cut)
#   scripts/pg-throwaway.sh stop DIR         # stop and delete DIR
#
# Uses Debian's postgresql package (scripts/install-deps.sh installs it). As root, the server runs
# as the `postgres` user (initdb refuses root). Trust authentication on loopback only; fsync off:
# never for data you want to keep.
set -euo pipefail
# The server outlives this script: it must not inherit the caller's descriptors (a caller waiting
# for a pipe or socket to close would wait forever).
for fd in $(ls /proc/$$/fd); do
    if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
done
command=${1:?start, restart or stop}
dir=${2:?a directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 3; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$command" in
start)
    port=${3:?a port}
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -N >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
    ;;
restart)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 restart >/dev/null
    ;;
stop)
    if [ -d "$dir/data" ]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
*)
    echo "unknown command $command" >&2
    exit 2
    ;;
esac
