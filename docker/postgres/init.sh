#!/bin/bash
# Databases `airflow` and `warehouse` (names from .env), q3c in the warehouse.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE DATABASE "${POSTGRES_AIRFLOW_DB}";
CREATE DATABASE "${POSTGRES_WAREHOUSE_DB}";
SQL
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_WAREHOUSE_DB" -c "CREATE EXTENSION IF NOT EXISTS q3c;"
