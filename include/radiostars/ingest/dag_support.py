"""Airflow glue that the DAG file imports at parse time: light (no pandas/pyarrow), unit-tested.

The heavy work is imported inside the task functions (:mod:`radiostars.ingest.pipeline`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from radiostars.ingest import spec
from radiostars.ingest.errors import IngestError

log = logging.getLogger("radiostars.ingest")
DAG_ID = "catalogue_ingestion"


def param_specs() -> dict[str, dict[str, Any]]:
    """Keyword arguments of each ``airflow.sdk.Param`` (JSON schema: the UI renders and checks it)."""
    return {
        "tables": {"default": list(spec.TABLES), "type": "array",
                   "items": {"type": "string", "enum": list(spec.TABLES)}, "minItems": 1, "uniqueItems": True,
                   "title": "Tables", "description": "the MySQL tables to ingest (default: all four)"},
        "full_refresh": {"default": False, "type": "boolean", "title": "Full refresh",
                         "description": "re-extract every row instead of the changes since the watermark; "
                                        "readers then ignore earlier dates"},
        "chunk_size": {"default": spec.DEFAULT_CHUNK_SIZE, "type": "integer", "minimum": spec.MIN_CHUNK_SIZE,
                       "maximum": spec.MAX_CHUNK_SIZE, "title": "Chunk size",
                       "description": "rows per MySQL page / staging chunk (memory grows with it)"},
    }


def ingest_date_of(context: dict) -> str:
    """The run's logical date (UTC) as YYYY-MM-DD; a manual run without one uses its run_after."""
    dag_run = context.get("dag_run")
    when = getattr(dag_run, "logical_date", None) or context.get("logical_date") \
        or getattr(dag_run, "run_after", None)
    if when is None:
        raise IngestError("the DAG run has neither a logical date nor a run_after time")
    import datetime as dt

    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc)
    return when.date().isoformat()


def failure_summary(context: dict) -> str:
    """One line: which task of which run failed, at which try, and why."""
    ti = context.get("ti") or context.get("task_instance")
    exc = context.get("exception")
    reason = str(exc).splitlines()[0] if exc is not None and str(exc) else type(exc).__name__ if exc else "unknown"
    run_id = getattr(context.get("dag_run"), "run_id", None) or context.get("run_id")
    return (f"{DAG_ID} FAILED task={getattr(ti, 'task_id', '?')} run={run_id} "
            f"try={getattr(ti, 'try_number', '?')}: {type(exc).__name__ if exc else 'Error'}: {reason}")


def on_failure(context: dict) -> None:
    log.error(failure_summary(context))


def run_step(step: Callable[[], dict]) -> dict:
    """Run a pipeline step; errors a retry cannot fix fail the task at once (no retries)."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        return step()
    except IngestError as exc:
        if exc.retryable:
            raise
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
