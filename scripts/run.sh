#!/usr/bin/env bash
# One command: set up and open the Stretch Coach app on http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/stretch-coach serve "$@"
