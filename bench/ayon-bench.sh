#!/usr/bin/env bash
# AYON face benchmark on a fresh server: bench/ayon-bench.sh [sqlite|postgres] [folders] [tasks-per-folder]
# PostgreSQL needs ATRIUM_TEST_PG_URL (scripts/test-postgres.sh start prints it). Build first: npm run build.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-sqlite}
folders=${2:-100000}
tasks=${3:-3}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d /tmp/atrium-ayon-bench-XXXXXX)
export ATRIUM_DATA_DIR=$dir ATRIUM_PORT=$port ATRIUM_HOST=127.0.0.1 ATRIUM_LOG_LEVEL=warn
dbname=""
if [ "$kind" = postgres ]; then
  : "${ATRIUM_TEST_PG_URL:?set ATRIUM_TEST_PG_URL}"
  dbname=atrium_bench_$RANDOM$RANDOM
  node -e "const pg=require('pg');const c=new pg.Client({connectionString:process.env.ATRIUM_TEST_PG_URL});c.connect().then(()=>c.query('create database $dbname')).then(()=>c.end())" --input-type=commonjs 2>/dev/null || (cd packages/server && node -e "const pg=require('pg');const c=new pg.Client({connectionString:process.env.ATRIUM_TEST_PG_URL});c.connect().then(()=>c.query('create database $dbname')).then(()=>c.end())")
  export ATRIUM_DATABASE_URL="${ATRIUM_TEST_PG_URL%/*}/$dbname"
fi
node packages/server/dist/main.js users create --email bench@example.com --name Bench --password bench-password-1 --admin >/dev/null
node packages/server/dist/main.js serve > "$dir/server.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ -n "$dbname" ]; then (cd packages/server && node -e "const pg=require('pg');const c=new pg.Client({connectionString:process.env.ATRIUM_TEST_PG_URL});c.connect().then(()=>c.query('drop database if exists $dbname with (force)')).then(()=>c.end())"); fi
  rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
echo "atrium on $kind at http://127.0.0.1:$port (node $(node --version), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg))"
.venv/bin/python bench/ayon-bench.py "http://127.0.0.1:$port/ayon" bench bench-password-1 "$folders" "$tasks"
