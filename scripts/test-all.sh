#!/usr/bin/env bash
# THE test command (`npm test`): builds Atrium and runs every suite against real services.
#
#   1. npm install (only when node_modules is missing), npm run build
#   2. PostgreSQL via scripts/test-postgres.sh  → ATRIUM_TEST_PG_URL, ATRIUM_REQUIRE_PG=1
#   3. Python venv via scripts/python-env.sh (pinned real clients from conformance/requirements.txt)
#   4. moto S3 server on a free loopback port   → ATRIUM_TEST_S3_ENDPOINT
#   5. vitest (all TypeScript tests)
#   6. pytest conformance/ on SQLite, then on PostgreSQL (ATRIUM_CONFORMANCE_DB=sqlite|postgres)
#   7. the PySpeckle v1 suite (conformance/test_speckle_v1*.py) with its own venv, .venv-v1
#      (scripts/python-env-v1.sh: the v1 client needs pydantic 1), on SQLite, then on PostgreSQL
#
# Exits non-zero when any step fails (pytest's "no tests collected", exit 5, is a failure too).
# The last line printed is the plain summary `N passed, M failed` summed over every runner's
# junit report; a runner that failed without reporting a failed test counts as one failure.
# Extra arguments are passed to every pytest run (e.g. `-k token`).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

reports=$(mktemp -d "${TMPDIR:-/tmp}/atrium-test-reports.XXXXXX")
moto_pid=""
pg_started_here=0
failed_steps=()
extra_failures=0

cleanup() {
  if [ -n "$moto_pid" ]; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
    moto_pid=""
  fi
  if [ "$pg_started_here" = 1 ]; then
    bash scripts/test-postgres.sh stop >/dev/null 2>&1 || true
    pg_started_here=0
  fi
  rm -rf "$reports"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n== %s\n' "$*" >&2; }

# Reads junit XML reports and prints "passed failed skipped".
count_reports() {
  local py=python3
  [ -x "$root/.venv/bin/python" ] && py="$root/.venv/bin/python"
  "$py" - "$@" <<'PY'
import sys
import xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError):
        continue
    for case in tree.iter("testcase"):
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            failed += 1
        elif "skipped" in tags:
            skipped += 1
        else:
            passed += 1
print(passed, failed, skipped)
PY
}

# Runs one test runner; records a failure of the step when it exits non-zero, and one extra failed
# test when its report does not already show a failed test (crash, collection error, exit 5).
run_suite() {
  local name=$1 report=$2; shift 2
  say "$name"
  "$@"
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    failed_steps+=("$name (exit $rc)")
    local counts; counts=$(count_reports "$report")
    set -- $counts
    if [ "${2:-0}" -eq 0 ]; then extra_failures=$((extra_failures + 1)); fi
  fi
}

finish() {
  local counts; counts=$(count_reports "$reports"/*.xml)
  set -- $counts
  local passed=${1:-0} failed=$(( ${2:-0} + extra_failures )) skipped=${3:-0}
  cleanup
  trap - EXIT
  if [ "${#failed_steps[@]}" -gt 0 ]; then
    echo >&2
    printf 'FAILED: %s\n' "${failed_steps[@]}" >&2
  fi
  [ "$skipped" -gt 0 ] && printf '(%s skipped)\n' "$skipped" >&2
  echo "$passed passed, $failed failed"
  [ "${#failed_steps[@]}" -eq 0 ]
  exit $?
}

# A step the suites cannot run without: on failure, stop here.
prerequisite() {
  local name=$1; shift
  say "$name"
  if ! "$@"; then
    failed_steps+=("$name")
    extra_failures=$((extra_failures + 1))
    finish
  fi
}

# --- 1. dependencies and build ---------------------------------------------------------------
if [ ! -d node_modules ]; then
  prerequisite "npm install" npm install --no-audit --no-fund
fi
prerequisite "npm run build" npm run build

# --- 2. PostgreSQL ---------------------------------------------------------------------------
pg_dir=${PGTEST_DIR:-/tmp/atrium-pgtest}
pg_running() { [ -f "$pg_dir/data/postmaster.pid" ] && kill -0 "$(head -n 1 "$pg_dir/data/postmaster.pid")" 2>/dev/null; }
pg_running || pg_started_here=1
say "PostgreSQL"
if ! pg_url=$(bash scripts/test-postgres.sh start) || [ -z "$pg_url" ]; then
  failed_steps+=("PostgreSQL (scripts/test-postgres.sh start)")
  extra_failures=$((extra_failures + 1))
  finish
fi
export ATRIUM_TEST_PG_URL="$pg_url" ATRIUM_REQUIRE_PG=1
echo "ATRIUM_TEST_PG_URL=$pg_url" >&2

# --- 3. Python clients -----------------------------------------------------------------------
prerequisite "Python environment (.venv)" bash scripts/python-env.sh
py="$root/.venv/bin/python"
say "Python environment (.venv-v1)"
v1_env=1
if ! bash scripts/python-env-v1.sh; then
  failed_steps+=("Python environment (.venv-v1)")
  extra_failures=$((extra_failures + 1))
  v1_env=0
fi

# --- 4. S3-compatible server (moto) ----------------------------------------------------------
start_moto() {
  local port
  port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()') || return 1
  "$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$reports/moto.log" 2>&1 &
  moto_pid=$!
  local url="http://127.0.0.1:$port"
  if ! "$py" - "$url" "$moto_pid" <<'PY'
import os, sys, time, urllib.request
url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.time() + 60
while time.time() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    try:
        urllib.request.urlopen(url + "/moto-api/", timeout=2)
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit(1)
PY
  then
    cat "$reports/moto.log" >&2
    return 1
  fi
  export ATRIUM_TEST_S3_ENDPOINT="$url"
  echo "ATRIUM_TEST_S3_ENDPOINT=$url" >&2
}
prerequisite "S3 server (moto)" start_moto

# --- 5. TypeScript tests ---------------------------------------------------------------------
run_suite "vitest" "$reports/vitest.xml" \
  npx vitest run --reporter=default --reporter=junit --outputFile.junit="$reports/vitest.xml"

# --- 6. Python conformance, once per database ------------------------------------------------
for db in sqlite postgres; do
  run_suite "pytest conformance ($db)" "$reports/pytest-$db.xml" \
    env ATRIUM_CONFORMANCE_DB="$db" "$py" -m pytest conformance -p no:cacheprovider -rfE --ignore-glob='*/test_speckle_v1*' \
      --junitxml="$reports/pytest-$db.xml" -o junit_suite_name="conformance-$db" "$@"
done

# --- 7. PySpeckle v1 conformance (.venv-v1), once per database -------------------------------
if [ "$v1_env" = 1 ]; then
  for db in sqlite postgres; do
    run_suite "pytest v1 conformance ($db)" "$reports/pytest-v1-$db.xml" \
      env ATRIUM_CONFORMANCE_DB="$db" PYTHONPATH="$root/conformance" "$root/.venv-v1/bin/python" -m pytest \
        -p test_speckle_v1_env conformance/test_speckle_v1*.py -p no:cacheprovider -rfE \
        --junitxml="$reports/pytest-v1-$db.xml" -o junit_suite_name="conformance-v1-$db" "$@"
  done
fi

finish
