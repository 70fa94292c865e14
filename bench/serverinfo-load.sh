#!/usr/bin/env bash
# serverInfo over HTTP under load, on loopback, with wrk: requests/s and p50/p90/p99 latency,
# anonymous and authenticated, on SQLite (embedded default) and PostgreSQL.
#
# Builds nothing: run `npm run build` first. Needs wrk (Debian: apt-get install -y wrk) and curl.
# PostgreSQL: BENCH_PG_URL, an admin URL (default postgres://atrium@127.0.0.1:54329/postgres, as printed
# by scripts/test-postgres.sh start); a fresh database is created for the run and dropped afterwards.
# When it cannot be reached, PostgreSQL is skipped (said so in the output).
#
# Settings (env): BENCH_STORES ("sqlite postgres"), BENCH_THREADS (2), BENCH_CONNECTIONS (32),
# BENCH_DURATION (15s), BENCH_WARMUP (3s, not counted), BENCH_REPEAT (3 counted wrk runs per case),
# BENCH_ACCEPT_ENCODING (unset: no Accept-Encoding header, answers are not compressed; "gzip, deflate"
# is what python-requests, under specklepy, sends — the server then gzips every ~2.6 kB answer).
#
# Each store: fresh data dir (+ fresh database) → `users create --admin` and `tokens create` with the
# CLI → server (log level warn) on a free 127.0.0.1 port → curl checks that both the anonymous and the
# authenticated request answer 200 with serverInfo, and that the token is accepted (activeUser) →
# for each of anonymous/authenticated: a warm-up, then BENCH_REPEAT wrk runs. Any non-2xx answer or
# socket error in a counted run makes the bench fail (exit 1). Processes, temp dirs and the database
# are removed on exit, Ctrl-C included; every wait is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MAIN="$ROOT/packages/server/dist/main.js"
LUA="$ROOT/bench/serverinfo.lua"
HOST=127.0.0.1
STORES=${BENCH_STORES:-"sqlite postgres"}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-32}
DURATION=${BENCH_DURATION:-15s}
WARMUP=${BENCH_WARMUP:-3s}
REPEAT=${BENCH_REPEAT:-3}
PG_ADMIN_URL=${BENCH_PG_URL:-postgres://atrium@127.0.0.1:54329/postgres}
QUERY='{"query":"query Server {\n  serverInfo {\n    name\n    company\n    description\n    adminContact\n    canonicalUrl\n    version\n    scopes {\n      name\n      description\n    }\n    authStrategies {\n      id\n      name\n      icon\n    }\n    workspaces {\n      workspacesEnabled\n    }\n  }\n}"}'

die() { echo "serverinfo-load: $*" >&2; exit 2; }
[ -f "$MAIN" ] || die "packages/server/dist/main.js is missing: run \`npm run build\` first"
command -v wrk >/dev/null || die "wrk is not installed (Debian: apt-get update && apt-get install -y wrk)"
command -v curl >/dev/null || die "curl is not installed"
[[ $REPEAT =~ ^[0-9]+$ && $REPEAT -ge 1 && $REPEAT -le 20 ]] || die "BENCH_REPEAT must be 1..20"
secs() { local d=$1; case $d in *m) echo $(( ${d%m} * 60 ));; *s) echo "${d%s}";; *) echo "$d";; esac; }
[[ $(secs "$DURATION") =~ ^[0-9]+$ && $(secs "$WARMUP") =~ ^[0-9]+$ ]] || die "BENCH_DURATION/BENCH_WARMUP: use e.g. 15s or 1m"

# nothing from the caller's ATRIUM_* settings leaks into the servers and CLI runs started here
for v in $(compgen -e | grep '^ATRIUM_' || true); do unset "$v"; done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/atrium-bench-load-XXXXXX")
SERVER_PID=""
WRK_PID=""
DB_NAME=""
FAILED=0
CLK_TCK=$(getconf CLK_TCK)

pg_admin() { # runs one SQL statement as the admin URL's user, with the pg client the server already depends on
  (cd "$ROOT" && timeout 20 node -e '
    const pg = require("pg");
    const c = new pg.Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
    c.connect().then(() => c.query(process.argv[2])).then(() => c.end())
      .catch((e) => { console.error(e.message); process.exit(1); });' "$PG_ADMIN_URL" "$1")
}

stop_server() {
  local pid=$SERVER_PID
  [ -n "$pid" ] || return 0
  SERVER_PID=""
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

drop_db() {
  [ -n "$DB_NAME" ] || return 0
  pg_admin "drop database if exists \"$DB_NAME\" with (force)" || echo "serverinfo-load: could not drop database $DB_NAME" >&2
  DB_NAME=""
}

cleanup() {
  trap - EXIT INT TERM HUP
  if [ -n "$WRK_PID" ]; then kill -TERM "$WRK_PID" 2>/dev/null || true; wait "$WRK_PID" 2>/dev/null || true; fi
  stop_server
  drop_db
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "serverinfo-load: interrupted" >&2; exit 130' INT TERM HUP

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

cpu_ticks() { # utime + stime of a process, in clock ticks
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# run_wrk LABEL DURATION TOKEN: wrk in the background (so a signal reaches the trap at once);
# its whole output goes to $TMP/wrk-LABEL.txt, whose "BENCH …" line is the summary
run_wrk() {
  local out="$TMP/wrk-$1.txt" bound rc=0
  bound=$(( $(secs "$2") + 30 ))
  BENCH_TOKEN=$3 timeout "$bound" wrk -t"$THREADS" -c"$CONNS" -d"$2" --latency -s "$LUA" "http://$HOST:$PORT/graphql" >"$out" 2>&1 &
  WRK_PID=$!
  wait "$WRK_PID" || rc=$?
  WRK_PID=""
  [ $rc -eq 0 ] || { echo "wrk failed (exit $rc):" >&2; cat "$out" >&2; return 1; }
  grep -q '^BENCH ' "$out" || { echo "wrk printed no summary:" >&2; cat "$out" >&2; return 1; }
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

RESULTS="$TMP/results.tsv" # store mode rps p50_ms p90_ms p99_ms cpu_pct
: >"$RESULTS"

bench_store() {
  local store=$1 data="$TMP/data-$1" dburl=""
  mkdir -p "$data"
  if [ "$store" = postgres ]; then
    DB_NAME="atrium_bench_load_$$"
    if ! pg_admin "create database \"$DB_NAME\"" 2>"$TMP/pg.err"; then
      DB_NAME=""
      echo "PostgreSQL skipped: cannot create a database at $PG_ADMIN_URL ($(head -c 200 "$TMP/pg.err")); start one with scripts/test-postgres.sh start or set BENCH_PG_URL"
      return 0
    fi
    dburl=$(node -e 'const u=new URL(process.argv[1]);u.pathname="/"+process.argv[2];console.log(u.toString())' "$PG_ADMIN_URL" "$DB_NAME")
  fi
  export ATRIUM_DATA_DIR="$data"
  if [ -n "$dburl" ]; then export ATRIUM_DATABASE_URL="$dburl"; else unset ATRIUM_DATABASE_URL; fi

  timeout 60 node "$MAIN" users create --email b@example.com --name B --password 'bench password' --admin >/dev/null
  local token
  token=$(timeout 60 node "$MAIN" tokens create --user b@example.com --name bench --scopes all)
  [ -n "$token" ] || die "tokens create printed no token"

  PORT=$(free_port)
  ATRIUM_HOST=$HOST ATRIUM_PORT=$PORT ATRIUM_LOG_LEVEL=warn node "$MAIN" serve >"$TMP/server-$store.log" 2>&1 &
  SERVER_PID=$!
  local ok=0
  for _ in $(seq 600); do # ≤ 30 s
    kill -0 "$SERVER_PID" 2>/dev/null || break
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$HOST:$PORT/readiness")" = 200 ]; then ok=1; break; fi
    sleep 0.05
  done
  [ $ok = 1 ] || { cat "$TMP/server-$store.log" >&2; die "$store: server not ready within 30 s"; }
  [ "$(cat "/proc/$SERVER_PID/comm")" = node ] || die "expected the node process itself at pid $SERVER_PID"

  # the answers are right before anything is timed
  local body code
  for auth in "" "$token"; do
    body=$(curl -s --max-time 5 -w '\n%{http_code}' -H 'content-type: application/json' ${auth:+-H "authorization: Bearer $auth"} --data-binary "$QUERY" "http://$HOST:$PORT/graphql")
    code=${body##*$'\n'}
    [ "$code" = 200 ] && grep -q '"serverInfo":{"name"' <<<"$body" && ! grep -q '"errors"' <<<"$body" ||
      die "$store: serverInfo answered $code: ${body:0:300}"
  done
  body=$(curl -s --max-time 5 -H 'content-type: application/json' -H "authorization: Bearer $token" \
    --data-binary '{"query":"{ activeUser { email } }"}' "http://$HOST:$PORT/graphql")
  grep -q '"email":"b@example.com"' <<<"$body" || die "$store: the token is not accepted: ${body:0:300}"

  echo "== $store: server pid $SERVER_PID on http://$HOST:$PORT, wrk -t$THREADS -c$CONNS -d$DURATION --latency (×$REPEAT, after a $WARMUP warm-up)"
  local mode tok line i t0 t1 w0 w1 cpu rps p50 p90 p99 non2xx errs
  for mode in anonymous authenticated; do
    tok=""; [ $mode = authenticated ] && tok=$token
    run_wrk "$store-$mode-warmup" "$WARMUP" "$tok" || die "$store $mode: warm-up failed"
    for i in $(seq "$REPEAT"); do
      t0=$(cpu_ticks "$SERVER_PID"); w0=$(date +%s%N)
      run_wrk "$store-$mode-$i" "$DURATION" "$tok" || die "$store $mode: wrk failed"
      line=$(grep '^BENCH ' "$TMP/wrk-$store-$mode-$i.txt")
      t1=$(cpu_ticks "$SERVER_PID"); w1=$(date +%s%N)
      cpu=$(awk -v a="$t0" -v b="$t1" -v w=$(( w1 - w0 )) -v hz="$CLK_TCK" 'BEGIN { printf "%.0f", 100 * (b - a) / hz / (w / 1e9) }')
      rps=$(field rps "$line")
      p50=$(awk -v u="$(field p50_us "$line")" 'BEGIN { printf "%.2f", u / 1000 }')
      p90=$(awk -v u="$(field p90_us "$line")" 'BEGIN { printf "%.2f", u / 1000 }')
      p99=$(awk -v u="$(field p99_us "$line")" 'BEGIN { printf "%.2f", u / 1000 }')
      non2xx=$(field non2xx "$line")
      errs=$(( $(field connect "$line") + $(field read "$line") + $(field write "$line") + $(field timeout "$line") ))
      printf '  %-13s run %d/%d: %8.0f req/s  p50 %6s ms  p90 %6s ms  p99 %6s ms  non-2xx %s  socket errors %s  server CPU %s%% of a core\n' \
        "$mode" "$i" "$REPEAT" "$rps" "$p50" "$p90" "$p99" "$non2xx" "$errs" "$cpu"
      if [ "$non2xx" != 0 ] || [ "$errs" != 0 ]; then
        echo "  FAILED: $non2xx non-2xx answers and $errs socket errors (wrk output: below)"
        cat "$TMP/wrk-$store-$mode-$i.txt"
        FAILED=1
      fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$store" "$mode" "$rps" "$p50" "$p90" "$p99" "$cpu" >>"$RESULTS"
    done
  done
  echo "  server memory after load: VmRSS $(( $(status_kb "$SERVER_PID" VmRSS) / 1024 )) MB, VmHWM (peak) $(( $(status_kb "$SERVER_PID" VmHWM) / 1024 )) MB"
  if grep -q '"level":[56]0' "$TMP/server-$store.log"; then
    echo "  the server logged errors:"; grep '"level":[56]0' "$TMP/server-$store.log" | head -5
    FAILED=1
  fi
  stop_server
  drop_db
  rm -rf "$data"
}

echo "serverInfo load bench — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), node $(node --version), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on this machine skews every figure)"
echo "note: wrk and the server share this machine's CPUs (loopback, no pinning)"
[ -z "${BENCH_ACCEPT_ENCODING:-}" ] || echo "requests carry Accept-Encoding: $BENCH_ACCEPT_ENCODING"
export BENCH_ACCEPT_ENCODING=${BENCH_ACCEPT_ENCODING:-}
for store in $STORES; do
  case $store in sqlite|postgres) bench_store "$store" ;; *) die "unknown store $store (sqlite, postgres)";; esac
done

echo
echo "medians of $REPEAT runs (wrk -t$THREADS -c$CONNS -d$DURATION); other work on the machine only lowers throughput, so the best run is the closest to capacity:"
echo "| store | client | requests/s | p50 ms | p90 ms | p99 ms | server CPU | best run req/s |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for store in $STORES; do
  for mode in anonymous authenticated; do
    grep -q "^$store	$mode	" "$RESULTS" || continue
    col() { awk -F'\t' -v s="$store" -v m="$mode" -v c="$1" '$1 == s && $2 == m { print $c }' "$RESULTS" | median; }
    best=$(awk -F'\t' -v s="$store" -v m="$mode" '$1 == s && $2 == m { print $3 }' "$RESULTS" | sort -g | tail -1)
    printf '| %s | %s | %.0f | %.2f | %.2f | %.2f | %.0f%% | %.0f |\n' "$store" "$mode" "$(col 3)" "$(col 4)" "$(col 5)" "$(col 6)" "$(col 7)" "$best"
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (this bench alone keeps about 2 busy)"
if [ $FAILED = 1 ]; then echo "FAILED: some answers were not 2xx, or sockets failed, or the server logged errors (see above)"; exit 1; fi
