"""catalogue_ingestion — nightly MySQL catalogues -> MinIO raw Parquet (DESIGN.md §1, DAG 1).

Thin file: the logic lives in ``radiostars.ingest`` (imported inside the tasks, so parsing stays light) and
``radiostars.orchestration`` (params, default args, Assets).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, dag, task, task_group

from radiostars.catalogues.tables import TABLE_NAMES
from radiostars.config import get_settings
from radiostars.ingest import spec
from radiostars.orchestration import common, timeouts
from radiostars.orchestration.assets import raw_asset
from radiostars.orchestration.ingest_dag import DAG_ID, ingest_date_of, param_specs, run_step

settings = get_settings()

DOC_MD = """
### catalogue_ingestion
Per table: **extract** (rows changed since the committed watermark up to `updated_at <= MySQL clock −
safety lag`, binary protocol straight into Arrow, keyset pages to run-scoped staging) → **validate**
(bad rows to `quarantine/` with a `reason`; fails above `INGEST_QUARANTINE_MAX_FRACTION`) → **write**
(deterministic zstd Parquet parts) → **commit** (`_manifest.json`, then the watermark; emits the
table's Asset `s3://<bucket>/raw/<table>`).

Trigger with params: `tables` (subset), `full_refresh`, `chunk_size`, `safety_lag_s`. Nothing is
visible before the commit; rerunning a logical date replaces that date's data. See `docs/ingestion.md`.
"""


def _table_chain(table: str) -> None:
    asset = raw_asset(settings.lake_bucket, table)

    @task(task_id="extract", **timeouts.task_args(settings, DAG_ID, "extract"))
    def extract(**context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from radiostars.ingest import pipeline

        params = run_step(lambda: spec.parse_params(context["params"]).__dict__)
        if table not in params["tables"]:
            raise AirflowSkipException(f"{table} not in params.tables={list(params['tables'])}")
        return run_step(
            lambda: pipeline.extract(
                get_settings(),
                table,
                ingest_date_of(context),
                full_refresh=params["full_refresh"],
                chunk_size=params["chunk_size"],
                safety_lag_s=params["safety_lag_s"],
                airflow_run_id=context["dag_run"].run_id,
            )
        )

    @task(task_id="validate", **timeouts.task_args(settings, DAG_ID, "validate"))
    def validate(extracted: dict) -> dict:
        from radiostars.ingest import pipeline

        return run_step(lambda: pipeline.validate(get_settings(), extracted))

    @task(task_id="write", **timeouts.task_args(settings, DAG_ID, "write"))
    def write(extracted: dict, validated: dict) -> dict:
        from radiostars.ingest import pipeline

        return run_step(lambda: pipeline.write(get_settings(), extracted, validated))

    @task(task_id="commit", outlets=[asset], **timeouts.task_args(settings, DAG_ID, "commit"))
    def commit(extracted: dict, validated: dict, written: dict, **context) -> dict:
        from radiostars.ingest import pipeline

        result = run_step(lambda: pipeline.commit(get_settings(), extracted, validated, written))
        context["outlet_events"][asset].extra = {
            "table": table,
            "rows": result["rows"],
            "quarantined": result["quarantined"],
            "rows_in": result["rows_in"],
            "run_id": result["run_id"],
            "ingest_date": result["ingest_date"],
            "manifest": result["manifest"],
            "airflow_run_id": context["dag_run"].run_id,
        }
        return result

    e = extract()
    v = validate(e)
    w = write(e, v)
    commit(e, v, w)


@dag(
    dag_id=DAG_ID,
    schedule=settings["INGEST_SCHEDULE"],
    start_date=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timeouts.dagrun_timeout(settings, DAG_ID),
    default_args=common.default_args(retries=3),
    params={name: Param(**kw) for name, kw in param_specs().items()},
    tags=["radiostars", "ingestion", "mysql", "minio"],
    doc_md=DOC_MD,
)
def catalogue_ingestion() -> None:
    for table in TABLE_NAMES:
        task_group(group_id=f"ingest_{table}")(_table_chain)(table)


dag_object = catalogue_ingestion()
