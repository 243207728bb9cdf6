#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL cluster, with SEALPOST_TEST_POSTGRES naming
# it: the hub's tests then keep each test hub's rows there, in a schema of its own. The
# cluster lives in a temporary folder, listens on a free loopback port, runs without
# fsync (its data is thrown away), and is stopped and removed afterwards. With
# SEALPOST_PG_ERRORS=1 the server's errors (and the statements that caused them) are
# printed at the end: the quickest way to see a statement PostgreSQL refused.
set -euo pipefail
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
[ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed: run scripts/install-deps.sh" >&2; exit 1; }
tmp="$(mktemp -d /tmp/sealpost-pg-XXXXXX)"
as_postgres=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses root.
  chown postgres:postgres "$tmp"
  as_postgres=(runuser -u postgres --)
fi
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"${as_postgres[@]}" "$bin/initdb" -D "$tmp/data" -A trust -U sealpost --no-sync -E UTF8 >"$tmp/initdb.log"
stop() {
  "${as_postgres[@]}" "$bin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
  if [ -n "${SEALPOST_PG_ERRORS:-}" ]; then
    grep -h -A2 "ERROR" "$tmp/log" | head -90 >&2 || true
  fi
  rm -rf "$tmp"
}
trap stop EXIT
"${as_postgres[@]}" "$bin/pg_ctl" -D "$tmp/data" -w -l "$tmp/log" -o "-k $tmp \
  -c listen_addresses=127.0.0.1 -p $port -c fsync=off -c synchronous_commit=off \
  -c full_page_writes=off -c max_connections=400" start >/dev/null
SEALPOST_TEST_POSTGRES="postgres://sealpost@127.0.0.1:$port/postgres" "$@"
