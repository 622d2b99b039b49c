"""Logic behind the warehouse_publish DAG: which run to publish, and the Cosmos configuration."""

from __future__ import annotations

from radiostars.config import Settings

DAG_ID = "warehouse_publish"


def run_id_to_publish(settings: Settings, params: dict, triggering_asset_events, committed=None) -> str:
    """The run to publish: of the runs the cross-match Asset events name, the newest committed (Airflow merges
    events queued while the DAG waited into one run: publishing the newest is the rule of docs/reliability.md,
    the older ones would be skipped anyway); else the `run_id` param; else the newest committed run.
    ``committed``: run ids oldest commit first (default: :func:`radiostars.lake.runs.committed_runs`)."""
    from radiostars.lake.runs import committed_runs
    from radiostars.lake.store import Lake

    named = [
        run_id
        for events in (triggering_asset_events or {}).values()
        for event in events
        if (run_id := (getattr(event, "extra", None) or {}).get("run_id"))
    ]
    if len(named) == 1:
        return named[0]
    if params.get("run_id") and not named:
        return str(params["run_id"])
    runs = committed if committed is not None else committed_runs(Lake(settings))
    if named:
        rank = {run_id: i for i, run_id in enumerate(runs)}
        return max(named, key=lambda r: rank.get(r, -1))
    if not runs:
        raise RuntimeError("no committed cross-match run in the lake: run radio_star_crossmatch first")
    return runs[-1]


def cosmos_configs(settings: Settings) -> dict:
    """ProjectConfig / ProfileConfig / ExecutionConfig / RenderConfig for the dbt task group.

    dbt lives in its own venv (.venv-dbt): Cosmos must call it as a subprocess in both rendering and
    execution; the DAG renders from the manifest `make setup` writes (`dbt parse`), so parsing the DAG
    never runs dbt."""
    from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import InvocationMode, LoadMode, TestBehavior

    project_dir = settings.dbt_project_dir
    return {
        "project_config": ProjectConfig(
            dbt_project_path=project_dir, manifest_path=project_dir / "target" / "manifest.json", install_dbt_deps=False
        ),
        "profile_config": ProfileConfig(
            profile_name="radiostars", target_name="local", profiles_yml_filepath=project_dir / "profiles.yml"
        ),
        "execution_config": ExecutionConfig(
            dbt_executable_path=str(settings.dbt_executable), invocation_mode=InvocationMode.SUBPROCESS
        ),
        "render_config": RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_ALL,
            dbt_executable_path=str(settings.dbt_executable),
            invocation_mode=InvocationMode.SUBPROCESS,
        ),
    }
