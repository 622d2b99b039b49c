"""What every radiostars DAG shares: default args (retries with backoff, the failure callback) and the
one-line failure summary. Light: imported at DAG parse time. The Assets are :mod:`.assets`."""

from __future__ import annotations

import datetime as dt
import logging
import re

log = logging.getLogger("radiostars")

OWNER = "radiostars"


def failure_summary(context: dict) -> str:
    """One line: which task of which DAG run failed, at which try, and why."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    exc = context.get("exception")
    reason = str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else "unknown"
    run_id = getattr(dag_run, "run_id", None) or context.get("run_id")
    return (
        f"{getattr(ti, 'dag_id', None) or getattr(dag_run, 'dag_id', '?')} FAILED "
        f"task={getattr(ti, 'task_id', '?')} run={run_id} try={getattr(ti, 'try_number', '?')}: "
        f"{type(exc).__name__ if exc is not None else 'Error'}: {reason[:300]}"
    )


def on_failure(context: dict) -> None:
    log.error(failure_summary(context))


def default_args(retries: int = 2) -> dict:
    """Every task: ``retries`` with exponential backoff (30 s doubling, at most 10 min), and the one-line
    failure summary in the log when it finally fails."""
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": dt.timedelta(seconds=30),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": dt.timedelta(minutes=10),
        "on_failure_callback": on_failure,
    }


# what an Airflow run id may hold to become a lake run id (manual__/scheduled__/asset_triggered__<ISO time>
# and the ids users type): anything else is refused, never rewritten
_AIRFLOW_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,119}$")
# ':' breaks Hadoop paths (read as a URI scheme) and '+' is a space in URLs: each becomes an '=' escape,
# and '=' is refused in the input, so the mapping is one-to-one (two Airflow runs never share a lake run)
_ESCAPES = {":": "=c", "+": "=p"}


def safe_run_id(airflow_run_id: str) -> str:
    """An Airflow run id as an object-name / s3a-safe lake run id, one-to-one (``:`` -> ``=c``,
    ``+`` -> ``=p``); an id with any other character, ``..`` or more than 120 characters is refused
    (InvalidRunIdError, naming the rule) rather than rewritten lossily."""
    from radiostars.lake.keys import InvalidRunIdError

    if not isinstance(airflow_run_id, str) or not _AIRFLOW_RUN_ID.match(airflow_run_id) or ".." in airflow_run_id:
        raise InvalidRunIdError(
            f"run id {airflow_run_id!r} cannot name a cross-match run: use 1-120 characters "
            f"from letters, digits and _ . : + -, starting with a letter or digit, no '..'"
        )
    return "".join(_ESCAPES.get(char, char) for char in airflow_run_id)
