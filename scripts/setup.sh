#!/usr/bin/env bash
# Install what is missing, skip what is present (idempotent; a rerun takes seconds).
#   system packages (Debian) -> uv -> .venv (Airflow, pyspark, science, tests) -> .venv-dbt
#   -> .env with generated secrets -> MinIO binary (go install, cached) -> s3a jars (checksummed)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STATE=${RADIOSTARS_STATE_DIR:-.local}
UV_VERSION=0.13.9
RUFF_VERSION=0.17.6  # lint + format (make lint), beside uv in .local/tools
PY=${PYTHON:-python3}
export PATH="/usr/local/go/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- 1. system packages -----------------------------------------------------------------------
APT_PACKAGES=(mariadb-server mariadb-client postgresql-15 postgresql-15-q3c pkg-config libmariadb-dev chromium
              default-jre-headless)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
# any Java >= 17 will do; skip the default JRE when one is already there
if [[ " ${missing[*]} " == *" default-jre-headless "* ]] && command -v java >/dev/null; then
  missing=("${missing[@]/default-jre-headless}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "missing system packages: ${missing[*]} — install them with your package manager" >&2; exit 2
  fi
  say "installing Debian packages: ${missing[*]}"
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "Go >= 1.24 is needed to build MinIO: install it from https://go.dev/dl (Debian's golang is too old)" >&2; exit 2; }
command -v java >/dev/null || { echo "Java 17+ is needed for Spark: apt-get install default-jre-headless" >&2; exit 2; }

# --- 2. uv (pinned), in its own small venv ------------------------------------------------------
UV="$STATE/tools/bin/uv"
if [ ! -x "$UV" ] || [ "$("$UV" --version | awk '{print $2}')" != "$UV_VERSION" ]; then
  say "installing uv $UV_VERSION"
  "$PY" -m venv "$STATE/tools"
  "$STATE/tools/bin/pip" install -q "uv==$UV_VERSION"
fi
RUFF="$STATE/tools/bin/ruff"
if [ ! -x "$RUFF" ] || [ "$("$RUFF" --version | awk '{print $2}')" != "$RUFF_VERSION" ]; then
  say "installing ruff $RUFF_VERSION"
  "$STATE/tools/bin/pip" install -q "ruff==$RUFF_VERSION"
fi

# --- 3./4. locked virtualenvs ---------------------------------------------------------------
# --compile-bytecode: every package's .pyc is written once here. Without it a process that runs with
# PYTHONDONTWRITEBYTECODE=1 (as some sessions and CI do) compiles pandas, SQLAlchemy, astropy … from
# source at every start: `radiostars load` spent 3.1 CPU-s importing instead of 1.1 (2026-12-02, #21).
# ~1 min once per lock change; "+pyc" in the stamp makes existing venvs compile once.
sync_venv() {  # venv lockfile
  local venv=$1 lock=$2 stamp="$1/.lock.sha256"
  local want; want="$(sha256sum "$lock" | cut -d' ' -f1)+pyc"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  say "syncing $venv from $lock"
  [ -x "$venv/bin/python" ] || "$UV" venv -q --python "$PY" "$venv"
  VIRTUAL_ENV="$ROOT/$venv" "$UV" pip sync -q --compile-bytecode "$lock"
  echo "$want" > "$stamp"
}
sync_venv .venv requirements/airflow.lock
sync_venv .venv-dbt requirements/dbt.lock
# the project itself (editable, no deps: they come from the lock)
if ! .venv/bin/python -c "import radiostars.config" 2>/dev/null || [ ! -x .venv/bin/radiostars ]; then
  VIRTUAL_ENV="$ROOT/.venv" "$UV" pip install -q --no-deps -e .
fi

# --- 5. .env --------------------------------------------------------------------------------------
.venv/bin/python -m radiostars.stack.envfile

# --- 6./7. MinIO binary and s3a jars (cached in the state folder) -------------------------
.venv/bin/python - <<'PY'
from radiostars.config import get_settings
from radiostars.spark_engine.jars import ensure_jars
from radiostars.stack.minio_binary import ensure_minio
s = get_settings()
ensure_minio(s.bin_dir)
ensure_jars(s.jars_dir)
PY

# --- 8. dbt manifest: Cosmos renders the warehouse_publish DAG's dbt tasks from it ---------------
manifest=dbt_project/target/manifest.json
if [ ! -f "$manifest" ] || [ -n "$(find dbt_project/models dbt_project/tests dbt_project/macros dbt_project/dbt_project.yml -newer "$manifest" 2>/dev/null | head -1)" ]; then
  say "dbt parse (manifest for Cosmos)"
  .venv/bin/python -c "from radiostars.config import get_settings; from radiostars.warehouse.publish import parse_manifest; parse_manifest(get_settings())"
fi
say "setup complete"
