"""Logic behind the warehouse_publish DAG: which run to publish, and the Cosmos configuration."""

from __future__ import annotations

from radiostars.config import Settings

DAG_ID = "warehouse_publish"


def run_id_to_publish(settings: Settings, params: dict, triggering_asset_events) -> str:
    """The run named by the cross-match Asset event; else the `run_id` param; else the newest committed run."""
    from radiostars.engine.run import committed_runs

    for events in (triggering_asset_events or {}).values():
        for event in events:
            run_id = (getattr(event, "extra", None) or {}).get("run_id")
            if run_id:
                return run_id
    if params.get("run_id"):
        return str(params["run_id"])
    runs = committed_runs(settings)
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
        "project_config": ProjectConfig(dbt_project_path=project_dir,
                                        manifest_path=project_dir / "target" / "manifest.json",
                                        install_dbt_deps=False),
        "profile_config": ProfileConfig(profile_name="radiostars", target_name="local",
                                        profiles_yml_filepath=project_dir / "profiles.yml"),
        "execution_config": ExecutionConfig(dbt_executable_path=str(settings.dbt_executable),
                                            invocation_mode=InvocationMode.SUBPROCESS),
        "render_config": RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.AFTER_ALL,
                                      dbt_executable_path=str(settings.dbt_executable),
                                      invocation_mode=InvocationMode.SUBPROCESS),
    }
