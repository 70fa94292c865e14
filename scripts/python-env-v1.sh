#!/usr/bin/env bash
# Creates or updates the Python virtualenv at <repo>/.venv-v1 for the PySpeckle v1 conformance suite:
# the `speckle` 2.3.0 client from PyPI, unmodified, installed with --no-deps, beside the run-time
# libraries pinned in conformance/v1-requirements.txt (the file says why). Separate from .venv because
# the v1 client needs pydantic 1 and specklepy needs pydantic 2.
# Installs only when the requirements or the interpreter changed (hash stamp inside the venv).
# Quiet on success; on failure it prints pip's output.
# Usage: bash scripts/python-env-v1.sh        (PYTHON=python3.12 picks another interpreter)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv-v1"
req="$root/conformance/v1-requirements.txt"
stamp="$venv/.atrium-requirements.sha256"
python=${PYTHON:-python3}

command -v "$python" >/dev/null 2>&1 || { echo "python-env-v1: $python not found" >&2; exit 1; }

venv_works() { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; }

make_venv() {
  rm -rf "$venv"
  if "$python" -m venv "$venv" >/dev/null 2>&1 && venv_works && "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    return 0
  fi
  # Debian's python3 ships venv/ensurepip separately (python3-venv).
  rm -rf "$venv"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "python-env-v1: installing python3-venv from Debian's packages…" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq python3-venv >&2
  fi
  "$python" -m venv "$venv"
}

venv_works || make_venv
# keep the venv out of git (the repository's .gitignore lists only .venv/)
[ -f "$venv/.gitignore" ] || printf '*\n' >"$venv/.gitignore"

want=$( { cat "$req"; "$venv/bin/python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  client=$(grep -E '^speckle==' "$req")
  deps=$(mktemp)
  grep -vE '^speckle==' "$req" >"$deps"
  log=$(mktemp)
  export PIP_DISABLE_PIP_VERSION_CHECK=1
  if ! { "$venv/bin/python" -m pip install -q --no-input -r "$deps" &&
         "$venv/bin/python" -m pip install -q --no-input --no-deps "$client" &&
         "$venv/bin/python" -c 'import speckle, pydantic, websocket; from speckle import SpeckleApiClient'; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log" "$deps" "$stamp"
    echo "python-env-v1: installing conformance/v1-requirements.txt failed" >&2
    exit 1
  fi
  rm -f "$log" "$deps"
  echo "$want" >"$stamp"
fi
