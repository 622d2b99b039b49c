"""The catalogue_ingestion DAG end to end with ``dag.test()``, on the small test database and a
bucket of its own (``lake-ingest-dagtest``).

Isolation: ``dag.test()`` serialises the DAG (and its Assets, whose URIs follow LAKE_BUCKET) into the
metadata DB. Doing that in the shared Airflow DB would briefly replace the real DAG's Assets, and the
live dag-processor would orphan the test ones mid-run. So the test runs in a subprocess with its own
AIRFLOW_HOME, a throw-away SQLite metadata DB and a dags folder holding a copy of the DAG file;
the shared Airflow never sees it. MariaDB and MinIO are the real ones."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from radiostars.config import PROJECT_ROOT, Settings
from radiostars.lake.raw import effective_manifests
from radiostars.lake.store import Lake
from tests.integration.test_ingest_pipeline import DB, N, load_database

pytestmark = pytest.mark.integration
BUCKET = "lake-ingest-dagtest"

SCRIPT = r"""
import datetime as dt, importlib.util, json, sys
spec = importlib.util.spec_from_file_location("catalogue_ingestion_dag", sys.argv[1])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
conf = json.loads(sys.argv[2])
try:
    dr = mod.dag_object.test(logical_date=dt.datetime(2026, 1, 5, 2, tzinfo=dt.timezone.utc), run_conf=conf)
except Exception as exc:
    print("RESULT " + json.dumps({"error": f"{type(exc).__name__}: {exc}"})); sys.exit(0)
from sqlalchemy import select
from airflow.models.asset import AssetEvent, AssetModel
from airflow.utils.session import create_session
with create_session() as session:
    events = session.execute(select(AssetModel.uri, AssetEvent.extra).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                             .where(AssetEvent.source_run_id == dr.run_id)).all()
print("RESULT " + json.dumps({"state": str(dr.state), "run_id": dr.run_id,
                              "tis": {ti.task_id: str(ti.state) for ti in dr.get_task_instances()},
                              "events": {uri: extra for uri, extra in events}}))
"""


@pytest.fixture(scope="module")
def isolated_airflow(airflow_stack, tmp_path_factory) -> dict[str, str]:
    """Environment of a private Airflow (own home, SQLite metadata DB, own dags folder), migrated."""
    from radiostars.stack.lifecycle import airflow_cli_env

    home = tmp_path_factory.mktemp("airflow-home")
    dags = home / "dags"
    dags.mkdir()
    shutil.copy(PROJECT_ROOT / "dags" / "catalogue_ingestion.py", dags / "catalogue_ingestion.py")
    env = {
        **airflow_cli_env(airflow_stack),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "MYSQL_DATABASE": DB,
        "LAKE_BUCKET": BUCKET,
        "INGEST_QUARANTINE_MAX_FRACTION": "0.2",
    }
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=home,
    )
    assert proc.returncode == 0, f"airflow db migrate failed:\n{(proc.stdout + proc.stderr)[-3000:]}"
    env["DAG_FILE"] = str(dags / "catalogue_ingestion.py")
    return env


def run_dag(env: dict[str, str], conf: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, env["DAG_FILE"], json.dumps(conf)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(env["AIRFLOW_HOME"]),
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, f"dag.test crashed (rc={proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}"
    return json.loads(lines[-1][len("RESULT ") :])


def test_dag_runs_end_to_end_and_emits_assets(airflow_stack, isolated_airflow):
    kinds = load_database(Settings({**airflow_stack.values, "MYSQL_DATABASE": DB}), dirty=True)
    s = Settings({**airflow_stack.values, "LAKE_BUCKET": BUCKET, "MYSQL_DATABASE": DB})
    lake = Lake(s)
    lake.ensure_bucket()
    lake.remove_prefix("")  # our own bucket: start from an empty lake
    out = run_dag(
        isolated_airflow, {"tables": ["radio_sources", "known_objects"], "chunk_size": 1000, "safety_lag_s": 60}
    )
    assert out.get("state") == "success", out
    for table in ("radio_sources", "known_objects"):
        for step in ("extract", "validate", "write", "commit"):
            assert out["tis"][f"ingest_{table}.{step}"] == "success"
        (m,) = effective_manifests(s, table)
        assert m["ingest_date"] == "2026-01-05" and m["airflow_run_id"] == out["run_id"]
        assert m["rows"] == N[table] and m["quarantined"] == len(kinds[table])
        assert m["source"]["safety_lag_s"] == 60  # the run parameter reached the extract
        extra = out["events"][f"s3://{BUCKET}/raw/{table}"]
        assert extra["rows"] == m["rows"] and extra["quarantined"] == m["quarantined"]
        assert extra["run_id"] == m["run_id"]
    for table in ("gaia_dr3", "hipparcos2"):  # not selected: skipped, nothing written
        assert out["tis"][f"ingest_{table}.extract"] == "skipped"
        assert effective_manifests(s, table) == []


def test_dag_rejects_bad_params(isolated_airflow):
    out = run_dag(isolated_airflow, {"tables": ["nope"], "chunk_size": 5000})
    assert out.get("error", "").startswith(
        "ParamValidationError: Invalid input for param tables: 'nope' is not one of"
    ), out
