# radiostars — the two commands a user needs: `make demo` and `make test`.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
VENV := .venv
PY := $(VENV)/bin/python
RS := $(VENV)/bin/radiostars
PYTEST := $(PY) -m pytest

.PHONY: help setup up down status logs clean test test-unit test-integration demo lock seed docs \
        bench bench-seed bench-ingest bench-warehouse bench-scale bench-workers evaluate generate-scale

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

test: setup  ## unit + integration tests on the real services (starts them, stops what it started)
	@bash scripts/test.sh

test-unit: setup  ## fast tests only, no services
	@$(PYTEST) -m unit -q

demo: setup  ## install, start the stack, seed, run the whole pipeline through Airflow, print a summary
	@bash scripts/demo.sh

seed: setup  ## load the deterministic sample catalogues into MySQL (SEED_ARGS="--dirty" etc.)
	@$(RS) seed $(SEED_ARGS)

bench: setup  ## cross-match: radiostars vs astropy vs LSDB vs I/O floor (1e5 radio x 1e6,1e7 optical, r = 5")
	@$(PY) scripts/bench_crossmatch.py $(BENCH_XM_ARGS)

bench-scale: setup  ## 1e5 radio x 1e6,1e7,1e8 Gaia-like rows on local[2]: wall, peak RSS, shuffle/spill, exponent (BENCH_SCALE_ARGS=--sizes=1e6,1e7)
	@$(PY) scripts/bench_scale.py $(BENCH_SCALE_ARGS)

bench-workers: setup  ## the same job on the local standalone cluster with 1 vs 2 workers (1e6 data; docs/scaling.md)
	@$(PY) scripts/bench_workers.py $(BENCH_WORKERS_ARGS)

bench-seed: setup  ## rows/s and peak RSS of seeding MariaDB
	@$(PY) scripts/bench_seed.py --dirty

generate-scale: setup  ## Gaia-like / SMGPS-like catalogues of a given size straight into the lake
	@$(RS) generate-scale $${SCALE_ARGS:---optical-rows 10000000 --radio-rows 100000}

bench-ingest: setup  ## 1e6 Gaia rows MySQL -> MinIO: rows/s, peak RSS, incremental cost
	@$(PY) scripts/bench_ingest.py

evaluate: setup  ## science evaluation of the latest committed cross-match run -> reports/<run_id>/
	@$(RS) evaluate $(EVAL_ARGS)

docs: setup  ## dbt docs of the warehouse (dbt_project/target/publish/index.html)
	@$(PY) -m radiostars.warehouse docs

bench-warehouse: setup  ## load a 1e6-pair run + 1000 q3c cone searches (scratch bucket/db)
	@$(PY) scripts/bench_warehouse.py

lock:  ## re-resolve requirements/*.in into the committed lock files
	@.local/tools/bin/uv pip compile -q --python-version 3.11 requirements/airflow.in -o requirements/airflow.lock
	@.local/tools/bin/uv pip compile -q --python-version 3.11 requirements/dbt.in -o requirements/dbt.lock
