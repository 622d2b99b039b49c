#!/usr/bin/env bash
# make lint: ruff check (pyflakes, pycodestyle, isort, bugbear, pyupgrade) + ruff format --check on every
# Python file; the rules are in pyproject.toml ([tool.ruff]). FIX=1 rewrites instead (make format).
set -euo pipefail
cd "$(dirname "$0")/.."
RUFF=.local/tools/bin/ruff
[ -x "$RUFF" ] || { echo "ruff is not installed: run \`make setup\`" >&2; exit 2; }
if [ "${FIX:-0}" = 1 ]; then
  "$RUFF" check --fix -q .
  "$RUFF" format -q .
fi
"$RUFF" check .
"$RUFF" format --check -q .
echo "lint: ruff $("$RUFF" --version | awk '{print $2}') clean"
