#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on loopback for the test suites and prints its URL.
# Installs PostgreSQL from Debian's packages when it is missing (CI starts on a clean machine).
# Usage: scripts/test-postgres.sh start|stop   (PGTEST_DIR, PGTEST_PORT override the defaults)
set -euo pipefail
dir=${PGTEST_DIR:-/tmp/atrium-pgtest}
port=${PGTEST_PORT:-54329}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)

if [ "${1:-start}" = stop ]; then
  [ -n "$bindir" ] && [ -d "$dir/data" ] && su postgres -s /bin/sh -c "$bindir/pg_ctl -D $dir/data -m fast stop" >/dev/null 2>&1 || true
  exit 0
fi

if [ -z "$bindir" ]; then
  echo "installing PostgreSQL from Debian's packages…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

run_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }

if ! run_pg "$bindir/pg_ctl -D $dir/data status" >/dev/null 2>&1; then
  rm -rf "$dir"; mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  run_pg "$bindir/initdb -D $dir/data -U atrium --auth=trust -E UTF8 --locale=C.UTF-8" >/dev/null
  run_pg "$bindir/pg_ctl -D $dir/data -l $dir/log -w -o \"-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300\" start" >/dev/null
fi
echo "postgres://atrium@127.0.0.1:$port/postgres"
