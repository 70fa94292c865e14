#!/usr/bin/env bash
# Creates or updates the Python virtualenv at <repo>/.venv with the pinned conformance clients
# (conformance/requirements.txt). Installs only when the requirements or the interpreter changed
# (a hash stamp inside the venv remembers what was installed), so a re-run takes well under a second.
# Quiet on success; on failure it prints pip's output.
# Usage: bash scripts/python-env.sh        (PYTHON=python3.12 picks another interpreter)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"
req="$root/conformance/requirements.txt"
stamp="$venv/.atrium-requirements.sha256"
python=${PYTHON:-python3}

command -v "$python" >/dev/null 2>&1 || { echo "python-env: $python not found" >&2; exit 1; }

venv_works() { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; }

make_venv() {
  rm -rf "$venv"
  if "$python" -m venv "$venv" >/dev/null 2>&1 && venv_works && "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    return 0
  fi
  # Debian's python3 ships venv/ensurepip separately (python3-venv).
  rm -rf "$venv"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "python-env: installing python3-venv from Debian's packages…" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq python3-venv >&2
  fi
  "$python" -m venv "$venv"
}

venv_works || make_venv

want=$( { cat "$req"; "$venv/bin/python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  log=$(mktemp)
  if ! PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install -q --no-input -r "$req" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log" "$stamp"
    echo "python-env: pip install -r conformance/requirements.txt failed" >&2
    exit 1
  fi
  rm -f "$log"
  echo "$want" >"$stamp"
fi
