"""warehouse_publish — load a committed cross-match run into Postgres and publish tested marts (DAG 3).

Scheduled on the cross-match Asset. Thin file: logic in radiostars.warehouse / radiostars.orchestration.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from airflow.utils.trigger_rule import TriggerRule
from cosmos import DbtTaskGroup

from radiostars.config import get_settings
from radiostars.orchestration import common, timeouts
from radiostars.orchestration.assets import crossmatch_asset
from radiostars.orchestration.publish_dag import DAG_ID, cosmos_configs

settings = get_settings()

DOC_MD = """
### warehouse_publish
**load_run** (the committed run → `raw.*` with binary COPY, idempotent per run id) → **begin** (under the
publish advisory lock: apply the rule *the newest committed run wins* — an older run is skipped — and record
the publication as a lease, clear `marts_build`) → **dbt** (Cosmos: every staging/intermediate/mart model built into
`marts_build`, then every dbt test once all models exist — relationship tests span models) → **swap** (under the same lock: `marts_build` becomes `marts` in one
transaction, analyst grants). See docs/reliability.md. A failed model or test stops before the swap: analysts keep the previous marts; **abort**
records the failure. See docs/warehouse.md.
"""


@dag(
    dag_id=DAG_ID,
    schedule=[crossmatch_asset(settings.lake_bucket)],
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timeouts.dagrun_timeout(settings, DAG_ID),
    tags=["radiostars", "dbt", "warehouse"],
    doc_md=DOC_MD,
    default_args=common.default_args(retries=1),
    on_failure_callback=common.on_failure,
    params={
        "run_id": Param(
            "",
            type="string",
            description="cross-match run to publish; empty = the one the Asset event names, else the newest committed",
        )
    },
)
def warehouse_publish():
    @task(**timeouts.task_args(settings, DAG_ID, "load_run"))
    def load_run(**context) -> dict:
        from radiostars.orchestration.publish_dag import run_id_to_publish
        from radiostars.warehouse.load import load_run as load

        s = get_settings()
        run_id = run_id_to_publish(s, dict(context["params"]), context.get("triggering_asset_events"))
        result = load(s, run_id)
        common.log.info("loaded run %s: %s rows (%.0f rows/s)", run_id, result.total_rows, result.rows_per_second)
        # a run named in the trigger form is the operator's choice (a rollback may be older than the live marts)
        explicit = bool(context["params"].get("run_id")) and run_id == str(context["params"]["run_id"])
        return {"run_id": run_id, "rows": result.rows, "allow_older": explicit}

    @task(**timeouts.task_args(settings, DAG_ID, "begin"))
    def begin(loaded: dict) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from radiostars.warehouse.publish import begin_publication

        allow_older = bool(loaded.get("allow_older"))
        run_id, publish_id, skipped = begin_publication(get_settings(), loaded["run_id"], allow_older=allow_older)
        if skipped:  # the newest committed run wins (docs/reliability.md): dbt and the swap are skipped
            raise AirflowSkipException(f"not published: {skipped}")
        return {"run_id": run_id, "publish_id": publish_id, "allow_older": allow_older}

    dbt = DbtTaskGroup(
        group_id="dbt",
        operator_args={
            "vars": {"run_id": "{{ ti.xcom_pull(task_ids='begin')['run_id'] }}", "marts_schema": "marts_build"},
            # the profile's keys only (a template field, rendered into Airflow's metadata): dbt's password
            # comes from the task process's environment (append_env), never from the DAG
            "env": settings.dbt_profile_env(),
            "append_env": True,
            "install_deps": False,
        },
        default_args=timeouts.task_args(settings, DAG_ID, "dbt"),  # the "*" policy: no retries
        **cosmos_configs(settings),
    )

    @task(**timeouts.task_args(settings, DAG_ID, "swap"))
    def swap(started: dict) -> dict:
        from radiostars.warehouse.publish import finish_publication

        n = finish_publication(
            get_settings(), started["run_id"], started["publish_id"], allow_older=bool(started.get("allow_older"))
        )
        if n < 0:
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException(f"run {started['run_id']} superseded by a newer published run; marts kept")
        common.log.info("published run %s: %d candidates in marts.radio_star_candidates", started["run_id"], n)
        return {**started, "candidates": n}

    @task(trigger_rule=TriggerRule.ONE_FAILED, **timeouts.task_args(settings, DAG_ID, "abort"))
    def abort(started: dict) -> None:
        from radiostars.warehouse.publish import abort_publication

        abort_publication(get_settings(), started["publish_id"], "a dbt model or test failed; live marts untouched")
        raise RuntimeError(f"publication of run {started['run_id']} failed: previous marts kept")

    started = begin(load_run())
    published = swap(started)
    started >> dbt >> published
    dbt >> abort(started)


warehouse_publish()
