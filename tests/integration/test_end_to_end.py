"""The whole chain through the real Airflow (scheduler, dag-processor, api-server, LocalExecutor):
catalogue_ingestion → (Assets) → radio_star_crossmatch (SparkSubmitOperator) → warehouse_publish (Cosmos).

Seeds a small sample into the `catalogues` database the DAGs read, so it replaces demo data."""

from __future__ import annotations

import pandas as pd
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHAIN_TIMEOUT_S = 2400


@pytest.fixture(scope="module")
def client(airflow_stack):
    from radiostars.airflow_client import AirflowClient
    from radiostars.demo import CHAIN

    c = AirflowClient(airflow_stack)
    c.wait_for_dags(list(CHAIN), timeout_s=180)
    for dag in CHAIN:
        c.set_paused(dag, False)
    return c


@pytest.fixture(scope="module")
def small_sample(airflow_stack):
    from radiostars.sample.seed import seed

    summary = seed(airflow_stack, area_deg2=2.0, faint_density_per_deg2=5000.0)
    truth = pd.read_parquet(airflow_stack.truth_dir / "radio_truth.parquet")
    return summary, truth


def _candidates(settings) -> pd.DataFrame:
    import psycopg

    dsn = settings.postgres_dsn(user=settings["ANALYST_USER"], password=settings["ANALYST_PASSWORD"])
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT run_id, radio_source_name, optical_catalogue, optical_id "
                            "FROM marts.radio_star_candidates").fetchall()
    return pd.DataFrame(rows, columns=["run_id", "radio_source_name", "optical_catalogue", "optical_id"])


@pytest.fixture(scope="module")
def first_chain(airflow_stack, client, small_sample):
    from radiostars.demo import CROSSMATCH, run_chain

    runs = run_chain(airflow_stack, client, {"full_refresh": True}, timeout_s=CHAIN_TIMEOUT_S)
    return runs, _candidates(airflow_stack)


def test_chain_publishes_the_injected_stars(airflow_stack, small_sample, first_chain):
    from radiostars.demo import CROSSMATCH, INGEST, PUBLISH
    from radiostars.orchestration.common import safe_run_id
    from radiostars.warehouse.publish import published_run

    runs, candidates = first_chain
    assert all(runs[d]["state"] == "success" for d in (INGEST, CROSSMATCH, PUBLISH))
    assert published_run(airflow_stack) == safe_run_id(runs[CROSSMATCH]["dag_run_id"])
    _, truth = small_sample
    injected = truth[truth["is_injected"]].copy()
    # the truth tells synthetic faint stars apart; the pipeline sees them as gaia_dr3 rows
    injected["catalogue"] = injected["catalogue"].replace({"gaia_dr3_synthetic": "gaia_dr3"})
    found = injected.merge(candidates, left_on=["source_name", "catalogue", "star_id"],
                           right_on=["radio_source_name", "optical_catalogue", "optical_id"])
    assert len(injected) > 20
    # the injected stars are published as the radio source's candidate (a few bright stars appear
    # in both Gaia and Hipparcos and may be published under the other catalogue)
    assert len(found) / len(injected) >= 0.9, (len(found), len(injected))


def test_rerunning_the_chain_changes_nothing(airflow_stack, client, first_chain):
    from radiostars.demo import run_chain

    _, before = first_chain
    run_chain(airflow_stack, client, {"full_refresh": True}, timeout_s=CHAIN_TIMEOUT_S)
    after = _candidates(airflow_stack)
    key = ["radio_source_name", "optical_catalogue", "optical_id"]
    assert before.drop(columns="run_id").sort_values(key).reset_index(drop=True).equals(
        after.drop(columns="run_id").sort_values(key).reset_index(drop=True))


def _quiesce(client) -> set[str]:
    """Wait for the chain to go idle; returns the publish run ids seen."""
    from radiostars.demo import PUBLISH, wait_until_idle

    wait_until_idle(client, timeout_s=900, log=lambda _: None)
    return {r["dag_run_id"] for r in client.dag_runs(PUBLISH, limit=50)}


def test_failing_dbt_test_fails_publish_and_keeps_previous_marts(airflow_stack, client, first_chain):
    import psycopg
    import pyarrow as pa

    from radiostars.demo import PUBLISH
    from radiostars.ingest.lake_io import Lake
    from radiostars.lake import lake_client
    from radiostars.warehouse.fixtures import generate_run, write_run
    from radiostars.warehouse.publish import published_run

    publish_runs_before = _quiesce(client)
    live = published_run(airflow_stack)
    before = _candidates(airflow_stack)
    bad = generate_run(seed=99)
    pairs = bad.tables["pairs"]
    sep = pairs["sep_arcsec"].to_numpy().copy()
    sep[0] = pairs["match_radius_arcsec"][0].as_py() * 1.5  # a pair beyond its own match radius
    bad.tables["pairs"] = pairs.set_column(pairs.schema.get_field_index("sep_arcsec"), "sep_arcsec", pa.array(sep))
    write_run(lake_client(airflow_stack), airflow_stack.lake_bucket, bad)
    try:
        run_id = client.trigger(PUBLISH, {"run_id": bad.run_id})
        run = client.follow_run(PUBLISH, run_id, timeout_s=900)
        assert run["state"] == "failed"
        states = {ti["task_id"]: ti["state"] for ti in client.task_instances(PUBLISH, run_id)}
        assert states["swap"] != "success"
        assert published_run(airflow_stack) != bad.run_id
        assert bad.run_id not in set(_candidates(airflow_stack)["run_id"])
        with psycopg.connect(airflow_stack.postgres_dsn()) as conn:
            status = conn.execute("SELECT status FROM raw.publish_log WHERE run_id = %s ORDER BY publish_id DESC",
                                  (bad.run_id,)).fetchone()
        assert status == ("failed",)
        others = {r["dag_run_id"] for r in client.dag_runs(PUBLISH, limit=50)} - publish_runs_before - {run_id}
        if not others:  # nothing else published meanwhile: the marts are exactly what they were
            assert published_run(airflow_stack) == live
            assert _candidates(airflow_stack).equals(before)
    finally:
        Lake(airflow_stack).remove_prefix(f"crossmatch/{bad.run_id}/")
        _unload(airflow_stack, bad.run_id)  # staging tests span every loaded run: leave no bad run behind


def _unload(settings, run_id: str) -> None:
    import psycopg

    with psycopg.connect(settings.postgres_dsn(), autocommit=True) as conn:
        parts = conn.execute("SELECT inhrelid::regclass::text FROM pg_inherits JOIN pg_class c ON c.oid = inhrelid "
                             "WHERE pg_get_expr(c.relpartbound, c.oid) = %s", (f"FOR VALUES IN ('{run_id}')",)).fetchall()
        for (name,) in parts:
            conn.execute(f"DROP TABLE {name}")
        for table in ("load_log", "crossmatch_runs"):
            conn.execute(f"DELETE FROM raw.{table} WHERE run_id = %s", (run_id,))
