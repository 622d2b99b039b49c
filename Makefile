# radiostars — the two commands a user needs: `make demo` and `make test`.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
VENV := .venv
PY := $(VENV)/bin/python
RS := $(VENV)/bin/radiostars
PYTEST := $(PY) -m pytest

.PHONY: help setup up down status logs clean lint format test test-unit test-integration demo lock seed load docs \
        bench bench-peers bench-seed bench-load bench-ingest bench-warehouse bench-scale bench-workers evaluate evaluate-profile generate-scale

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

setup:  ## install what is missing (Debian packages, venvs, MinIO binary, jars, .env); skips what is present
	@bash scripts/setup.sh

up: setup  ## start every service on loopback (MariaDB, Postgres+q3c, MinIO, Spark, Airflow)
	@$(RS) stack up

down:  ## stop every service
	@if [ -x $(RS) ]; then $(RS) stack down; fi

status:  ## each service: state, port, URL, data folder
	@$(RS) stack status

logs:  ## the last lines of every service log
	@$(RS) stack logs --lines $${LINES:-30}

clean:  ## remove local state (asks first; FORCE=1 skips the prompt; ALL=1 also drops cached binaries and jars)
	@if [ "$(FORCE)" != "1" ]; then read -r -p "Remove all local service data and logs under .local/? [y/N] " ans; [ "$$ans" = y ] || [ "$$ans" = Y ] || { echo aborted; exit 1; }; fi
	@if [ -x $(RS) ]; then $(RS) stack clean $(if $(filter 1,$(ALL)),--all,); else rm -rf .local; fi

lint: setup  ## ruff check + ruff format --check on every Python file (rules in pyproject.toml); make test runs it first
	@bash scripts/lint.sh

format: setup  ## rewrite every Python file to the project's style (ruff check --fix, ruff format)
	@FIX=1 bash scripts/lint.sh

test: setup  ## unit + integration tests on the real services (starts them, stops what it started)
	@bash scripts/test.sh

test-unit: setup  ## fast tests only, no services
	@$(PYTEST) -m unit -q

demo: setup  ## install, start the stack, seed, run the whole pipeline through Airflow, print a summary
	@bash scripts/demo.sh

seed: setup  ## load the deterministic sample catalogues into MySQL (SEED_ARGS="--dirty" etc.)
	@$(RS) seed $(SEED_ARGS)

load: setup  ## load a published catalogue file into MySQL: make load ARGS="--table gaia_dr3 gaia.fits [--map ours=theirs] [--replace]"
	@$(RS) load $(ARGS)

bench-load: setup  ## load a 1e6-row gaia_source FITS file into MySQL: rows/s, peak RSS (.local/bench/load-latest.json)
	@$(PY) scripts/bench_load.py $(BENCH_LOAD_ARGS)

BENCH_VENV := .local/bench-venv
$(BENCH_VENV)/.installed: requirements/bench-lsdb.in
	@echo "==> installing the benchmark peers (lsdb 0.11.1) into $(BENCH_VENV)"
	@[ -x $(BENCH_VENV)/bin/python ] || .local/tools/bin/uv venv -q --python 3.11 $(BENCH_VENV)
	@VIRTUAL_ENV=$(CURDIR)/$(BENCH_VENV) .local/tools/bin/uv pip install -q -r requirements/bench-lsdb.in
	@$(BENCH_VENV)/bin/python -c "import lsdb; print('    lsdb', lsdb.__version__)"
	@touch $@

bench-peers: setup $(BENCH_VENV)/.installed  ## the peers make bench runs beside radiostars (lsdb 0.11.1 in .local/bench-venv)

bench: setup bench-peers  ## cross-match: radiostars vs astropy vs LSDB vs I/O floor (1e5 radio x 1e6,1e7 optical, r = 5")
	@$(PY) scripts/bench_crossmatch.py $(BENCH_XM_ARGS)

bench-scale: setup  ## 1e5 radio x 1e6,1e7,1e8 Gaia-like rows on local[2]: wall, peak RSS, shuffle/spill, exponent (BENCH_SCALE_ARGS=--sizes=1e6,1e7)
	@$(PY) scripts/bench_scale.py $(BENCH_SCALE_ARGS)

bench-workers: setup  ## the same job on the local standalone cluster with 1 vs 2 workers (1e6 data; docs/scaling.md)
	@$(PY) scripts/bench_workers.py $(BENCH_WORKERS_ARGS)

bench-seed: setup  ## rows/s and peak RSS of seeding MariaDB
	@$(PY) scripts/bench_seed.py --dirty

generate-scale: setup  ## Gaia-like / SMGPS-like catalogues of a given size straight into the lake
	@$(RS) generate-scale $${SCALE_ARGS:---optical-rows 10000000 --radio-rows 100000}

bench-ingest: setup  ## MySQL -> MinIO: 1e6 + 1e7 Gaia rows (rows/s, peak RSS), 3 incremental 1 % runs, 1.8e9 projection (BENCH_INGEST_ARGS=--skip-big for 1e6 only)
	@$(PY) scripts/bench_ingest.py $(BENCH_INGEST_ARGS)

evaluate: setup  ## science evaluation of the latest committed cross-match run -> reports/<run_id>/
	@$(RS) evaluate $(EVAL_ARGS)

evaluate-profile: setup  ## the science measurement: evaluation-profile sky (AREA=50 deg², SEED=42) -> lake -> Spark -> reports/
	@$(RS) evaluate --profile-area-deg2 $${AREA:-50} --profile-seed $${SEED:-42} $(EVAL_ARGS)

docs: setup  ## dbt docs of the warehouse (dbt_project/target/publish/index.html)
	@$(PY) -m radiostars.warehouse docs

bench-warehouse: setup  ## load a 1e6-pair run + 1000 q3c cone searches (scratch bucket/db)
	@$(PY) scripts/bench_warehouse.py

lock:  ## re-resolve requirements/*.in into the committed lock files
	@.local/tools/bin/uv pip compile -q --python-version 3.11 requirements/airflow.in -o requirements/airflow.lock
	@.local/tools/bin/uv pip compile -q --python-version 3.11 requirements/dbt.in -o requirements/dbt.lock
