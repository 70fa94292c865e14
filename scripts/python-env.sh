#!/usr/bin/env bash
# Creates or updates a Python virtualenv of the conformance suites, with pinned real clients:
#   bash scripts/python-env.sh       <repo>/.venv     conformance/requirements.txt (specklepy, ayon-python-api,
#                                                     duckdb, moto, pytest …)
#   bash scripts/python-env.sh v1    <repo>/.venv-v1  conformance/v1-requirements.txt: the `speckle` 2.3.0 client,
#                                                     unmodified, installed with --no-deps beside the run-time
#                                                     libraries the file pins (it needs pydantic 1, specklepy
#                                                     needs pydantic 2, hence two venvs)
# Installs only when the requirements or the interpreter changed (a hash stamp inside the venv remembers
# what was installed), so a re-run takes well under a second. Quiet on success; on failure it prints
# pip's output. PYTHON=python3.12 picks another interpreter.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kind=${1:-main}
case "$kind" in
  main) venv="$root/.venv"; req="$root/conformance/requirements.txt"; me=python-env ;;
  v1) venv="$root/.venv-v1"; req="$root/conformance/v1-requirements.txt"; me=python-env-v1 ;;
  *) echo "usage: python-env.sh [main|v1]" >&2; exit 2 ;;
esac
stamp="$venv/.atrium-requirements.sha256"
python=${PYTHON:-python3}

command -v "$python" >/dev/null 2>&1 || { echo "$me: $python not found" >&2; exit 1; }

venv_works() { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; }

make_venv() {
  rm -rf "$venv"
  if "$python" -m venv "$venv" >/dev/null 2>&1 && venv_works && "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    return 0
  fi
  # Debian's python3 ships venv/ensurepip separately (python3-venv).
  rm -rf "$venv"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "$me: installing python3-venv from Debian's packages…" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq python3-venv >&2
  fi
  "$python" -m venv "$venv"
}

venv_works || make_venv
# keep the venv out of git whatever its name
[ -f "$venv/.gitignore" ] || printf '*\n' >"$venv/.gitignore"

install_main() { "$venv/bin/python" -m pip install -q --no-input -r "$req"; }
install_v1() {
  grep -vE '^speckle==' "$req" >"$deps"
  "$venv/bin/python" -m pip install -q --no-input -r "$deps" &&
    "$venv/bin/python" -m pip install -q --no-input --no-deps "$(grep -E '^speckle==' "$req")" &&
    "$venv/bin/python" -c 'import speckle, pydantic, websocket; from speckle import SpeckleApiClient'
}

want=$( { cat "$req"; "$venv/bin/python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  log=$(mktemp)
  deps=$(mktemp)
  export PIP_DISABLE_PIP_VERSION_CHECK=1
  if ! "install_$kind" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log" "$deps" "$stamp"
    echo "$me: installing ${req#"$root"/} failed" >&2
    exit 1
  fi
  rm -f "$log" "$deps"
  echo "$want" >"$stamp"
fi
