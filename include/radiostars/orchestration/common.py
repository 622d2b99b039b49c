"""What every radiostars DAG shares: default args (retries with backoff), the one-line failure
summary, the Asset names that chain the three DAGs. Light: imported at DAG parse time."""

from __future__ import annotations

import datetime as dt
import logging
import re

log = logging.getLogger("radiostars")

OWNER = "radiostars"
CROSSMATCH_ASSET_NAME = "crossmatch_runs"


def crossmatch_asset_uri(bucket: str) -> str:
    return f"s3://{bucket}/crossmatch"


def default_args(retries: int = 2) -> dict:
    return {"owner": OWNER, "retries": retries, "retry_delay": dt.timedelta(seconds=30),
            "retry_exponential_backoff": True, "max_retry_delay": dt.timedelta(minutes=10)}


def failure_summary(context: dict) -> str:
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    exc = context.get("exception")
    first = str(exc).strip().splitlines()[0] if exc and str(exc).strip() else type(exc).__name__ if exc else "?"
    return (f"FAILED {getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')} run={getattr(dag_run, 'run_id', '?')} "
            f"try={getattr(ti, 'try_number', '?')}: {first[:300]}")


def on_failure(context: dict) -> None:
    log.error(failure_summary(context))


def safe_run_id(airflow_run_id: str) -> str:
    """An Airflow run id as an object-name / s3a-safe segment (no ':' '+' or spaces)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", airflow_run_id).strip("_")[:120]
