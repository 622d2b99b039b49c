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

    summary = seed(airflow_stack, profile="easy", area_deg2=2.0, faint_density_per_deg2=5000.0)
    truth = pd.read_parquet(airflow_stack.truth_dir / "radio_truth.parquet")
    return summary, truth


def _candidates(settings) -> pd.DataFrame:
    import psycopg

    dsn = settings.postgres_dsn(user=settings["ANALYST_USER"], password=settings["ANALYST_PASSWORD"])
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT run_id, radio_source_name, optical_catalogue, optical_id, gaia_source_id, hip "
            "FROM marts.radio_star_candidates"
        ).fetchall()
    frame = pd.DataFrame(
        rows,
        columns=["run_id", "radio_source_name", "optical_catalogue", "optical_id", "gaia_source_id", "hip"],
        dtype=object,
    )
    # exact 64-bit ids: a NULL-holding id column would otherwise become float64, and a Gaia source_id
    # (~7e18 > 2^53) loses its last digits — the cause of an apparent 53/287 completeness in a CI dry run
    for col in ("optical_id", "gaia_source_id", "hip"):
        frame[col] = pd.array(frame[col].tolist(), dtype="Int64")
    return frame


@pytest.fixture(scope="module")
def first_chain(airflow_stack, client, small_sample):
    from radiostars.demo import SEEDED_INGEST_CONF, run_chain

    runs = run_chain(airflow_stack, client, SEEDED_INGEST_CONF, timeout_s=CHAIN_TIMEOUT_S)
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
    merged = injected.merge(candidates, left_on="source_name", right_on="radio_source_name")
    # one row per star: the injected star is the published star when its id is on the side of its catalogue
    # (a bright star in both Gaia and Hipparcos is one row with gaia_source_id and hip side by side)
    side = merged["gaia_source_id"].where(merged["catalogue"] == "gaia_dr3", merged["hip"])
    found = merged[side.astype("Int64") == merged["star_id"].astype("Int64")]
    assert len(injected) > 20
    # the chain publishes the injected stars at the run's reliability cut as their sources' best star; on this easy
    # sky `radiostars evaluate` measures 272/287 = 94.8 % (2026-12-02): the marts must carry the issue's
    # completeness target (>= 80 %) through the whole chain, not only the job's output
    print(f"injected stars published at the reliability cut: {len(found)} of {len(injected)}")
    assert len(found) >= 0.8 * len(injected), (len(found), len(injected))


def _descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every process below ``pid`` (read from /proc)."""
    import os

    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                out.append((child, f.read().replace(b"\0", b" ").decode(errors="replace")))
        except OSError:
            continue
        todo += children.get(child, [])
    return out


def _group_members(pgid: int) -> list[int]:
    import os

    members = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.getpgid(int(entry)) == pgid:
                members.append(int(entry))
        except OSError:
            continue
    return members


def kill_scheduler_once_spark_runs(settings, timeout_s: float = CHAIN_TIMEOUT_S):
    """A watcher thread: once the scheduler's LocalExecutor has started the cross-match's spark-submit (a
    descendant of the scheduler whose command line names the job), SIGKILL the scheduler through supervisorctl
    (its main process only: its children are orphaned, as when the scheduler's process dies), wait for
    supervisord's restart (``autorestart=unexpected``; started by hand when it gave up) and for Airflow to
    report the scheduler healthy. ``thread.figures`` gets what happened."""
    import threading
    import time

    from radiostars.stack.probes import airflow_ready
    from radiostars.stack.supervisor import program_states, start_program
    from tests.fault_injection import _gone, pid_of, signal_program

    figures: dict = {}
    done = threading.Event()  # set by the test when the chain ended (or failed) before the fault fired

    def watch():
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not done.is_set():
            pid = pid_of(settings, "airflow-scheduler")
            jobs = [(p, cmd) for p, cmd in _descendants(pid) if "radiostars-crossmatch" in cmd and "java" in cmd]
            if jobs:
                break
            time.sleep(1)
        else:
            return
        time.sleep(5)  # the driver is up and reading: mid-job
        signal_program(settings, "airflow-scheduler", "KILL")
        t_kill = time.monotonic()
        figures.update(old_pid=pid, spark_pids=[p for p, _ in jobs], killed_at=time.time())
        while not _gone(pid):
            time.sleep(0.2)
        figures["orphans_after_kill"] = len(_group_members(pid))
        while time.monotonic() < deadline:
            state = program_states(settings).get("airflow-scheduler")
            if state in ("STOPPED", "EXITED", "FATAL", "BACKOFF"):
                start_program(settings, "airflow-scheduler")
            try:
                if state == "RUNNING" and airflow_ready(settings):
                    break
            except OSError:
                pass
            time.sleep(1)
        figures["scheduler_back_s"] = time.monotonic() - t_kill
        figures["new_pid"] = pid_of(settings, "airflow-scheduler")

    thread = threading.Thread(target=watch, daemon=True)
    thread.figures, thread.done = figures, done
    thread.start()
    return thread


def test_the_chain_survives_the_scheduler_killed_mid_job_and_changes_nothing(airflow_stack, client, first_chain):
    """(5) The rerun of the same inputs (docs/reliability.md, fault 5), disturbed: the Airflow scheduler SIGKILLed
    while the cross-match's Spark job runs, then restarted. The chain completes; one run per DAG, one committed
    cross-match run, one succeeded load, one publication, no lease left; the candidates equal the first chain's."""
    import os
    import signal
    import time

    import psycopg

    from radiostars.demo import CHAIN, CROSSMATCH, SEEDED_INGEST_CONF, run_chain, wait_until_idle
    from radiostars.lake.runs import committed_runs, read_committed_run, read_part
    from radiostars.lake.store import Lake
    from radiostars.orchestration.common import safe_run_id
    from radiostars.warehouse.publish import PUBLISH_LOCK, published_run

    first_runs, before = first_chain
    wait_until_idle(client, timeout_s=900, log=lambda _: None)
    known = {dag: {r["dag_run_id"] for r in client.dag_runs(dag, limit=50)} for dag in CHAIN}
    watcher = kill_scheduler_once_spark_runs(airflow_stack)
    t0 = time.monotonic()
    try:
        runs = run_chain(airflow_stack, client, SEEDED_INGEST_CONF, timeout_s=CHAIN_TIMEOUT_S)
    finally:
        watcher.done.set()
        watcher.join(600)
        old = watcher.figures.get("old_pid")
        if old is not None and _group_members(old):  # idle LocalExecutor workers orphaned by the kill: they
            os.killpg(old, signal.SIGKILL)  # outlive SIGTERM (seen), and nothing of a dead scheduler is worth keeping
    took_s = time.monotonic() - t0
    figures = watcher.figures
    assert "killed_at" in figures, "the fault was never injected (no spark-submit seen under the scheduler)"
    assert figures["new_pid"] != figures["old_pid"]

    # one new run per DAG, each successful (run_chain raises on any other end)
    for dag in CHAIN:
        new = {r["dag_run_id"] for r in client.dag_runs(dag, limit=50)} - known[dag]
        assert new == {runs[dag]["dag_run_id"]}, (dag, new)
    xm_dag_run = runs[CROSSMATCH]["dag_run_id"]
    spark_ti = next(ti for ti in client.task_instances(CROSSMATCH, xm_dag_run) if ti["task_id"] == "spark_crossmatch")
    assert spark_ti["state"] == "success"

    # committed once, loaded once, published once, no lease or lock left
    run_id = safe_run_id(xm_dag_run)
    lake = Lake(airflow_stack)
    assert committed_runs(lake).count(run_id) == 1
    committed = read_committed_run(lake, run_id)
    n_pairs = read_part(lake, committed, "pairs").num_rows
    with psycopg.connect(airflow_stack.postgres_dsn()) as conn:
        loads = conn.execute(
            "SELECT status, count(*) FROM raw.load_log WHERE run_id = %s GROUP BY status", (run_id,)
        ).fetchall()
        pubs = conn.execute(
            "SELECT status, count(*) FROM raw.publish_log WHERE run_id = %s GROUP BY status", (run_id,)
        ).fetchall()
        (running,) = conn.execute("SELECT count(*) FROM raw.publish_log WHERE status = 'running'").fetchone()
        (locks,) = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = "
            "(hashtext(%s)::bigint & 4294967295)::oid",
            (PUBLISH_LOCK,),
        ).fetchone()
        (loaded_pairs,) = conn.execute(
            "SELECT count(*) FROM raw.crossmatch_pairs WHERE run_id = %s", (run_id,)
        ).fetchone()
    assert dict(loads).get("succeeded") == 1, loads
    assert dict(pubs).get("published") == 1, pubs
    assert running == 0 and locks == 0, (running, locks)
    assert loaded_pairs == n_pairs == committed.metrics["pairs"]
    assert published_run(airflow_stack) == run_id

    after = _candidates(airflow_stack)
    key = ["radio_source_name", "optical_catalogue", "optical_id"]
    assert (
        before.drop(columns="run_id")
        .sort_values(key)
        .reset_index(drop=True)
        .equals(after.drop(columns="run_id").sort_values(key).reset_index(drop=True))
    )
    first_s = sum(r["elapsed_s"] for r in first_runs.values())
    print(
        f"\nfault 5: scheduler (pid {figures['old_pid']}) SIGKILLed while spark-submit ran; "
        f"{figures['orphans_after_kill']} processes of its group outlived it; healthy again in "
        f"{figures['scheduler_back_s']:.1f} s (pid {figures['new_pid']}); spark_crossmatch ended success at try "
        f"{spark_ti['try_number']}; chain {took_s:.0f} s (undisturbed first chain {first_s:.0f} s: "
        + ", ".join(f"{d} {first_runs[d]['elapsed_s']:.0f} s / {runs[d]['elapsed_s']:.0f} s" for d in CHAIN)
        + f"); {n_pairs} pairs committed, loaded once, published once; candidates = first chain's ({len(after)})"
    )


def _quiesce(client) -> set[str]:
    """Wait for the chain to go idle; returns the publish run ids seen."""
    from radiostars.demo import PUBLISH, wait_until_idle

    wait_until_idle(client, timeout_s=900, log=lambda _: None)
    return {r["dag_run_id"] for r in client.dag_runs(PUBLISH, limit=50)}


def test_failing_dbt_test_fails_publish_and_keeps_previous_marts(airflow_stack, client, first_chain):
    import psycopg
    import pyarrow as pa

    from radiostars.demo import PUBLISH
    from radiostars.lake.client import lake_client
    from radiostars.lake.keys import crossmatch_run_prefix
    from radiostars.lake.store import Lake
    from radiostars.warehouse.publish import published_run
    from tests.warehouse_fixtures import generate_run, write_run

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
            status = conn.execute(
                "SELECT status FROM raw.publish_log WHERE run_id = %s ORDER BY publish_id DESC", (bad.run_id,)
            ).fetchone()
        assert status == ("failed",)
        others = {r["dag_run_id"] for r in client.dag_runs(PUBLISH, limit=50)} - publish_runs_before - {run_id}
        if not others:  # nothing else published meanwhile: the marts are exactly what they were
            assert published_run(airflow_stack) == live
            assert _candidates(airflow_stack).equals(before)
    finally:
        Lake(airflow_stack).remove_prefix(crossmatch_run_prefix(bad.run_id))
        _unload(airflow_stack, bad.run_id)  # staging tests span every loaded run: leave no bad run behind


def _unload(settings, run_id: str) -> None:
    import psycopg

    with psycopg.connect(settings.postgres_dsn(), autocommit=True) as conn:
        parts = conn.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits JOIN pg_class c ON c.oid = inhrelid "
            "WHERE pg_get_expr(c.relpartbound, c.oid) = %s",
            (f"FOR VALUES IN ('{run_id}')",),
        ).fetchall()
        for (name,) in parts:
            conn.execute(f"DROP TABLE {name}")
        for table in ("load_log", "crossmatch_runs"):
            conn.execute(f"DELETE FROM raw.{table} WHERE run_id = %s", (run_id,))
