"""radio_star_crossmatch — Spark positional cross-match of the committed raw catalogues (DAG 2).

Scheduled on the four raw-table Assets (runs when all were updated); triggerable with params.
Thin file: logic in radiostars.orchestration.crossmatch_dag / radiostars.spark_engine.
"""

from __future__ import annotations

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import Param, dag, task

from radiostars.config import get_settings
from radiostars.orchestration import common, timeouts
from radiostars.orchestration.assets import crossmatch_asset, raw_assets
from radiostars.orchestration.crossmatch_dag import DAG_ID, PARAM_DEFAULTS, param_specs
from radiostars.spark_engine.session import submit_conf

settings = get_settings()
xm_asset = crossmatch_asset(settings.lake_bucket)

DOC_MD = """
### radio_star_crossmatch
**plan** (validate params, run id) → **spark_crossmatch** (`spark_jobs/crossmatch.py` via SparkSubmitOperator on
the `spark_default` connection: `local[*]` or `spark://…`) → **publish_asset** (checks the `_SUCCESS` marker,
emits `s3://lake/crossmatch` with the run id).

The job reads the committed raw snapshots, propagates optical positions to each radio epoch, matches within
`max(r_min, n_sigma·σ)` on HEALPix partitions with margins, scores p_chance and Bayes posteriors and measures the
false-match rate on shifted positions. Output: `crossmatch/<run_id>/` (see docs/crossmatch.md, docs/lake.md).
"""


@dag(
    dag_id=DAG_ID,
    schedule=raw_assets(settings.lake_bucket),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timeouts.dagrun_timeout(settings, DAG_ID),
    tags=["radiostars", "spark", "crossmatch"],
    doc_md=DOC_MD,
    render_template_as_native_obj=True,
    default_args=common.default_args(retries=1),
    on_failure_callback=common.on_failure,
    params={k: Param(v, **param_specs()[k]) for k, v in PARAM_DEFAULTS.items()},
)
def radio_star_crossmatch():
    @task(**timeouts.task_args(settings, DAG_ID, "plan"))
    def plan(**context) -> dict:
        from radiostars.orchestration.crossmatch_dag import plan as make_plan
        from radiostars.orchestration.crossmatch_dag import wait_for_workers
        from radiostars.orchestration.ingest_dag import run_step

        planned = run_step(lambda: make_plan(dict(context["params"]), context["dag_run"].run_id))
        s = get_settings()
        run_step(lambda: wait_for_workers(s, str(context["params"].get("master") or s.spark_master)))
        return planned

    planned = plan()
    job = SparkSubmitOperator(
        task_id="spark_crossmatch",
        conn_id="spark_default",  # defined from SPARK_MASTER: never the provider's yarn fallback
        application=str(settings.project_root / "spark_jobs" / "crossmatch.py"),
        application_args="{{ ti.xcom_pull(task_ids='plan')['application_args'] }}",
        conf=submit_conf(settings),
        name="radiostars-crossmatch",
        spark_binary="spark-submit",
        verbose=False,
        pool=timeouts.SPARK_POOL,  # sized to the cluster (SPARK_POOL_SLOTS), created by `stack up`
        **timeouts.task_args(settings, DAG_ID, "spark_crossmatch"),
    )

    @task(outlets=[xm_asset], **timeouts.task_args(settings, DAG_ID, "publish_asset"))
    def publish_asset(planned: dict, **context) -> dict:
        from radiostars.orchestration.crossmatch_dag import verify_committed

        extra = verify_committed(get_settings(), planned["run_id"])
        context["outlet_events"][xm_asset].extra = extra
        return extra

    planned >> job >> publish_asset(planned)


radio_star_crossmatch()
