"""Logic behind the catalogue_ingestion DAG, imported at parse time: light (no pandas/pyarrow),
unit-tested. The heavy work is imported inside the task functions (:mod:`radiostars.ingest.pipeline`);
default args and the failure callback are :mod:`.common`'s, the Assets :mod:`.assets`'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from radiostars.catalogues.tables import TABLE_NAMES
from radiostars.errors import RadiostarsError
from radiostars.ingest import spec
from radiostars.ingest.errors import IngestError

DAG_ID = "catalogue_ingestion"


def param_specs() -> dict[str, dict[str, Any]]:
    """Keyword arguments of each ``airflow.sdk.Param`` (JSON schema: the UI renders and checks it)."""
    return {
        "tables": {
            "default": list(TABLE_NAMES),
            "type": "array",
            "items": {"type": "string", "enum": list(TABLE_NAMES)},
            "minItems": 1,
            "uniqueItems": True,
            "title": "Tables",
            "description": "the MySQL tables to ingest (default: all four)",
        },
        "full_refresh": {
            "default": False,
            "type": "boolean",
            "title": "Full refresh",
            "description": "re-extract every row instead of the changes since the watermark; "
            "readers then ignore earlier dates",
        },
        "chunk_size": {
            "default": spec.DEFAULT_CHUNK_SIZE,
            "type": "integer",
            "minimum": spec.MIN_CHUNK_SIZE,
            "maximum": spec.MAX_CHUNK_SIZE,
            "title": "Chunk size",
            "description": "rows per MySQL page / staging chunk (memory grows with it)",
        },
        "safety_lag_s": {
            "default": None,
            "type": ["null", "integer"],
            "minimum": 0,
            "maximum": spec.MAX_SAFETY_LAG_S,
            "title": "Safety lag [s]",
            "description": "extract only rows with updated_at <= MySQL clock - this lag (empty: "
            "INGEST_SAFETY_LAG_S); 0 only when no upstream transaction can be open, "
            "e.g. right after a seed",
        },
    }


def ingest_date_of(context: dict) -> str:
    """The run's logical date (UTC) as YYYY-MM-DD; a manual run without one uses its run_after."""
    dag_run = context.get("dag_run")
    when = getattr(dag_run, "logical_date", None) or context.get("logical_date") or getattr(dag_run, "run_after", None)
    if when is None:
        raise IngestError("the DAG run has neither a logical date nor a run_after time")
    import datetime as dt

    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return when.date().isoformat()


def run_step(step: Callable[[], dict]) -> dict:
    """Run a pipeline step; errors a retry cannot fix fail the task at once (no retries)."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        return step()
    except RadiostarsError as exc:
        if exc.retryable:
            raise
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
