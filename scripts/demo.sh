#!/usr/bin/env bash
# make demo: services up, seed, run the whole pipeline through Airflow, print a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/radiostars demo "$@"
