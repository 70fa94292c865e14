#!/usr/bin/env bash
# The PySpeckle v1 conformance virtualenv (.venv-v1): see scripts/python-env.sh.
exec bash "$(dirname "${BASH_SOURCE[0]}")/python-env.sh" v1 "$@"
