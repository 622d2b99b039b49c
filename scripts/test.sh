#!/usr/bin/env bash
# make test: start the services the tests need (if they are not up), run unit + integration tests,
# then stop what this script started. Extra pytest arguments: PYTEST_ARGS="-k foo".
set -uo pipefail
cd "$(dirname "$0")/.."
RS=.venv/bin/radiostars
# lint first: a style or import error fails in seconds, before the services start
bash scripts/lint.sh || { echo "==> lint failed: \`make format\` fixes formatting and import order" >&2; exit 1; }
started=0
if ! $RS stack is-up; then
  echo "==> starting the services for the tests"
  $RS stack up || { $RS stack logs --lines 40; exit 1; }
  started=1
fi
start=$(date +%s)
.venv/bin/python -m pytest ${PYTEST_ARGS:-} 
rc=$?
echo "==> tests took $(( $(date +%s) - start )) s (exit $rc)"
if [ "$started" = 1 ] && [ "${KEEP_UP:-0}" != 1 ]; then
  echo "==> stopping the services this run started (KEEP_UP=1 keeps them)"
  $RS stack down
fi
exit $rc
