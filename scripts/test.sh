#!/usr/bin/env bash
# One command: set up everything the tests need and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh "test,avatar"
export PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-egl}"
mkdir -p artifacts
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
