"""Timeouts, retries and pools of every DAG and task — the one place they are set (docs/reliability.md).

Each task has a :class:`TaskPolicy`: an ``execution_timeout`` (minutes, times ``TASK_TIMEOUT_SCALE``) and
a number of retries (exponential backoff from :func:`radiostars.orchestration.common.default_args`). The
rule for retries: a task retries when the failure it guards against is transient and the retry is safe
(idempotent: every step rewrites only its own run-scoped output, every load replaces its run's
partitions, the swap checks the publication log first); it does not retry when the failure is a
property of the input or the code (a dbt model or test failing, invalid parameters) — those fail at
once, and :func:`radiostars.orchestration.ingest_dag.run_step` turns non-retryable RadiostarsErrors into
``AirflowFailException``.

Light: imported at DAG parse time (only datetime).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from radiostars.config import Settings

SPARK_POOL = "spark"
ANY_TASK = "*"


@dataclass(frozen=True)
class TaskPolicy:
    timeout_min: float
    retries: int
    why: str


# dag_id -> task id (the last segment; "*" = any other task, e.g. Cosmos' dbt model/test tasks) -> policy
POLICIES: dict[str, dict[str, TaskPolicy]] = {
    "catalogue_ingestion": {
        "extract": TaskPolicy(
            60,
            3,
            "MySQL restarts / network blips are transient; each page query is bounded by "
            "MYSQL_STATEMENT_TIMEOUT_S, the whole extract by this; a rerun restages",
        ),
        "validate": TaskPolicy(30, 3, "reads staging from MinIO only; transient lake errors retry"),
        "write": TaskPolicy(30, 3, "deterministic run-scoped parts: a retry overwrites its own orphans"),
        "commit": TaskPolicy(10, 3, "manifest then watermark, both idempotent for the run"),
    },
    "radio_star_crossmatch": {
        "plan": TaskPolicy(
            5,
            1,
            "validates params (not retryable: AirflowFailException) and waits up to "
            "SPARK_WORKER_WAIT_S for an alive standalone worker (retryable once)",
        ),
        "spark_crossmatch": TaskPolicy(
            90,
            1,
            "a lost worker/executor can succeed on retry (--overwrite replaces "
            "the run's own partial output); the timeout bounds a job "
            "waiting for resources that never come",
        ),
        "publish_asset": TaskPolicy(5, 2, "reads the _SUCCESS marker from MinIO; transient lake errors retry"),
    },
    "warehouse_publish": {
        "load_run": TaskPolicy(
            30, 2, "one transaction per run: a Postgres restart rolls it back, the retry replaces the run's partitions"
        ),
        "begin": TaskPolicy(
            10,
            2,
            "waits (POSTGRES_LOCK_TIMEOUT_S) for the publish advisory lock; a CLI "
            "publication holding it may finish before the retry",
        ),
        ANY_TASK: TaskPolicy(
            20,
            0,
            "dbt models and tests: a failing model or test is a property of the data; "
            "a retry cannot fix it, abort keeps the previous marts",
        ),
        "swap": TaskPolicy(5, 2, "one transaction; idempotent (an already published publication returns)"),
        "abort": TaskPolicy(5, 0, "records the failure and fails the run on purpose"),
    },
}

DAGRUN_TIMEOUT_MIN: dict[str, float] = {
    "catalogue_ingestion": 240,  # four tables x (extract + validate + write + commit), retries included
    "radio_star_crossmatch": 180,  # the Spark job, one retry
    "warehouse_publish": 180,  # load + dbt models and tests + swap
}


def policy(dag_id: str, task_id: str) -> TaskPolicy:
    """The policy of one task (``task_id`` may carry its task-group prefix)."""
    table = POLICIES[dag_id]
    return table.get(task_id.rsplit(".", 1)[-1]) or table[ANY_TASK]


def _minutes(settings: Settings, minutes: float) -> dt.timedelta:
    return dt.timedelta(minutes=minutes * settings.task_timeout_scale)


def task_args(settings: Settings, dag_id: str, task_id: str) -> dict:
    """``execution_timeout`` and ``retries`` keyword arguments of one task."""
    p = policy(dag_id, task_id)
    return {"execution_timeout": _minutes(settings, p.timeout_min), "retries": p.retries}


def dagrun_timeout(settings: Settings, dag_id: str) -> dt.timedelta:
    return _minutes(settings, DAGRUN_TIMEOUT_MIN[dag_id])


def spark_pool_slots(settings: Settings) -> int:
    """Slots of the Airflow pool ``spark``: how many Spark jobs run at once (1 locally: a standalone
    application takes every core of the cluster unless spark.cores.max says otherwise)."""
    return settings.count("SPARK_POOL_SLOTS")
