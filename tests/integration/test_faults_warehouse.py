"""Faults on the warehouse (docs/reliability.md, issue #19): PostgreSQL stopped during a load, PostgreSQL
crashed during the publish swap, and two publications at once — on a scratch bucket and database, the real
PostgreSQL of the stack stopped / crashed through supervisord. Small synthetic runs (~200-300 radio
sources); four dbt builds: ~2-4 minutes on 2 cores.

Each test compares what readers see with an undisturbed state: the live marts' fingerprint (row count +
sha256 of every row) and the raw rows of a run against its Parquet files (counts and column sums)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import psycopg
import pyarrow.compute as pc
import pytest

from radiostars.benchmark import sandbox
from radiostars.lake.client import lake_client
from radiostars.warehouse import load as load_module
from radiostars.warehouse import publish as publish_module
from radiostars.warehouse.errors import PublishError, WarehouseError
from radiostars.warehouse.load import load_run
from radiostars.warehouse.publish import (
    BUILD_SCHEMA,
    begin_publication,
    finish_publication,
    publish,
    published_run,
    run_dbt,
)
from tests.fault_injection import marts_fingerprint, restore, signal_program, stop_program
from tests.warehouse_fixtures import generate_run, write_run

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def wh(stack):
    with sandbox(stack) as settings:
        yield settings


def committed_run(wh, seed: int, minutes: int, n_radio: int = 200, load: bool = True):
    """A synthetic run committed at T0 + ``minutes`` (the commit time orders runs), loaded into raw."""
    run = generate_run(seed=seed, n_radio=n_radio)
    write_run(lake_client(wh), wh.lake_bucket, run, committed_at=T0 + dt.timedelta(minutes=minutes))
    if load:
        load_run(wh, run.run_id)
    return run


def owner(wh) -> psycopg.Connection:
    return psycopg.connect(wh.postgres_dsn(), autocommit=True)


def candidate_runs(wh) -> set[str]:
    with owner(wh) as conn:
        return {r[0] for r in conn.execute("SELECT DISTINCT run_id FROM marts.radio_star_candidates")}


def assert_marts_show(wh, run) -> None:
    """Exactly one run's candidates, each once."""
    with owner(wh) as conn:
        n, distinct, runs = conn.execute(
            "SELECT count(*), count(DISTINCT radio_source_name), "
            "array_agg(DISTINCT run_id) FROM marts.radio_star_candidates"
        ).fetchone()
    assert runs == [run.run_id] and n == distinct == run.truth["n_candidates"]
    assert published_run(wh) == run.run_id


def dag_publish(wh, run_id: str) -> int:
    """The publish DAG's steps as its tasks call them: begin → dbt build into marts_build → swap."""
    rid, publish_id, skipped = begin_publication(wh, run_id, wait_s=600)
    if skipped:
        return -2
    proc = run_dbt(wh, "build", vars={"run_id": rid, "marts_schema": BUILD_SCHEMA})
    assert proc.returncode == 0, proc.stdout[-2000:]
    return finish_publication(wh, rid, publish_id, wait_s=600)


def test_two_publishes_at_once_are_serialised_and_the_newest_committed_run_wins(wh):
    """(8) The DAG path and the CLI at the same time, both orders: one waits for the other (the advisory
    lock + the DAG's lease); the marts end showing the newest committed run; no duplicates."""
    old, new, newest = (committed_run(wh, 21, 10), committed_run(wh, 22, 20), committed_run(wh, 23, 30))

    # A: the DAG publishes `new`; the CLI asks for the older `old` while the DAG's dbt runs
    began = threading.Event()
    real_begin = publish_module.begin_publication
    dag_result = {}

    def begin_then_signal(*a, **kw):
        out = real_begin(*a, **kw)
        began.set()
        return out

    def dag():
        rid, pid, skipped = begin_then_signal(wh, new.run_id, wait_s=600)
        proc = run_dbt(wh, "build", vars={"run_id": rid, "marts_schema": BUILD_SCHEMA})
        dag_result["dbt"] = proc.returncode
        dag_result["n"] = finish_publication(wh, rid, pid, wait_s=600)
        dag_result["done"] = time.monotonic()

    t = threading.Thread(target=dag)
    t.start()
    assert began.wait(120)
    cli = publish(wh, old.run_id, wait_s=600)  # waits for the DAG's lease, then finds a newer run published
    cli_done = time.monotonic()
    t.join(600)
    assert dag_result["dbt"] == 0 and dag_result["n"] == new.truth["n_candidates"]
    assert cli.skipped and "newest committed run wins" in cli.skipped and cli_done >= dag_result["done"]
    assert_marts_show(wh, new)

    # B: the CLI publishes `newest` (holding the lock through its dbt build); the DAG's begin for the older
    # `new` waits for the lock, then skips
    cli_out = {}
    ct = threading.Thread(target=lambda: cli_out.setdefault("r", publish(wh, newest.run_id, wait_s=600)))
    ct.start()
    with owner(wh) as conn:  # the CLI holds the lock once its publication is recorded running
        for _ in range(600):
            if conn.execute(
                "SELECT 1 FROM raw.publish_log WHERE run_id = %s AND status = 'running'", (newest.run_id,)
            ).fetchone():
                break
            time.sleep(0.1)
        else:
            pytest.fail("the CLI publication never started")
    rid, publish_id, skipped = begin_publication(wh, new.run_id, wait_s=600)
    ct.join(600)
    assert cli_out["r"].skipped is None and cli_out["r"].n_candidates == newest.truth["n_candidates"]
    assert skipped and "newest committed run wins" in skipped
    assert_marts_show(wh, newest)

    with owner(wh) as conn:
        log = conn.execute(
            "SELECT run_id, status, via, started_at, finished_at FROM raw.publish_log ORDER BY publish_id"
        ).fetchall()
    assert [(r[0], r[1], r[2]) for r in log] == [
        (new.run_id, "published", "dag"),
        (old.run_id, "skipped", "cli"),
        (newest.run_id, "published", "cli"),
        (new.run_id, "skipped", "dag"),
    ]
    published = [(r[3], r[4]) for r in log if r[1] == "published"]
    assert published[0][1] <= published[1][0], "two publications overlapped"
    # an explicit rollback (the DAG's run_id param, the CLI's --allow-older) may publish an older run
    assert dag_publish(wh, old.run_id) == -2
    rid, pid, skipped = begin_publication(wh, old.run_id, allow_older=True, wait_s=60)
    assert skipped is None
    publish_module.abort_publication(wh, pid, "test: rollback not wanted")


def test_postgres_stopped_during_the_load_rolls_back_and_the_rerun_loads_exactly_the_run(wh):
    """(3) PostgreSQL stopped (fast shutdown) after the loader copied two parts of a run: the load fails
    with one line, nothing of the run is in raw, the previous marts are served after the restart, and
    the rerun loads exactly the run's rows."""
    base = committed_run(wh, 31, 40)
    publish(wh, base.run_id)
    before = marts_fingerprint(wh)
    run = committed_run(wh, 32, 50, n_radio=300, load=False)
    calls = []
    real_attach = load_module._attach

    def attach_then_stop(cur, spec, run_id, name):
        real_attach(cur, spec, run_id, name)
        calls.append(spec.table)
        if len(calls) == 2:
            stop_program(wh, "postgres")

    load_module._attach = attach_then_stop
    t0 = time.monotonic()
    try:
        with pytest.raises(WarehouseError) as err:
            load_run(wh, run.run_id)
    finally:
        load_module._attach = real_attach
    assert len(calls) == 2
    message = str(err.value)
    assert "\n" not in message and ("PostgreSQL" in message or "connection" in message or "terminat" in message)
    recover_s = restore(wh, "postgres")
    with owner(wh) as conn:
        assert (
            conn.execute("SELECT count(*) FROM raw.crossmatch_pairs WHERE run_id = %s", (run.run_id,)).fetchone()[0]
            == 0
        )
        assert (
            conn.execute("SELECT count(*) FROM raw.radio_sources WHERE run_id = %s", (run.run_id,)).fetchone()[0] == 0
        )
        assert (
            conn.execute("SELECT count(*) FROM raw.crossmatch_runs WHERE run_id = %s", (run.run_id,)).fetchone()[0] == 0
        )
        assert (
            conn.execute(
                "SELECT count(*) FROM raw.load_log WHERE run_id = %s AND status = 'succeeded'", (run.run_id,)
            ).fetchone()[0]
            == 0
        )
    assert marts_fingerprint(wh) == before  # the previous marts, served after the restart
    with psycopg.connect(wh.postgres_dsn(user=wh["ANALYST_USER"], password=wh["ANALYST_PASSWORD"])) as conn:
        assert (
            conn.execute("SELECT count(*) FROM marts.radio_star_candidates").fetchone()[0] == base.truth["n_candidates"]
        )

    result = load_run(wh, run.run_id)  # the rerun
    t = run.tables
    assert result.rows["crossmatch_pairs"] == t["pairs"].num_rows
    assert result.rows["radio_sources"] == t["radio"].num_rows
    assert result.rows["optical_sources"] == t["optical"].num_rows
    assert result.rows["crossmatch_control"] == t["control"].num_rows
    with owner(wh) as conn:
        n, distinct, sep = conn.execute(
            "SELECT count(*), count(DISTINCT (radio_source_name, optical_catalogue, optical_id)), "
            "sum(sep_arcsec) FROM raw.crossmatch_pairs WHERE run_id = %s",
            (run.run_id,),
        ).fetchone()
    assert n == distinct == t["pairs"].num_rows
    assert sep == pytest.approx(pc.sum(t["pairs"]["sep_arcsec"]).as_py(), rel=1e-12)
    print(
        f"\nfault 3: load failed {time.monotonic() - t0:.1f} s after start; PostgreSQL back in {recover_s:.1f} s; "
        f"rerun loaded {result.total_rows} rows in {result.seconds:.1f} s"
    )


def test_postgres_crashed_during_the_publish_swap_shows_old_or_new_marts_never_a_mix(wh):
    """(4) PostgreSQL crashed (immediate shutdown: SIGQUIT to the postmaster) inside the swap transaction of
    the DAG path: after the restart analysts see the old marts exactly; the swap task's retry publishes
    the new run."""
    old_run = published_run(wh)
    before = marts_fingerprint(wh)
    run = committed_run(wh, 41, 60)
    rid, publish_id, skipped = begin_publication(wh, run.run_id)
    assert skipped is None
    proc = run_dbt(wh, "build", vars={"run_id": rid, "marts_schema": BUILD_SCHEMA})
    assert proc.returncode == 0, proc.stdout[-2000:]
    crashed = []
    real_grant = publish_module.grant_marts

    def crash_then_grant(conn, settings):  # the renames are done, the transaction is open
        crashed.append(signal_program(wh, "postgres", "QUIT"))
        time.sleep(1.0)
        real_grant(conn, settings)

    publish_module.grant_marts = crash_then_grant
    try:
        with pytest.raises((psycopg.Error, PublishError, WarehouseError)):
            finish_publication(wh, rid, publish_id)
    finally:
        publish_module.grant_marts = real_grant
    assert crashed
    recover_s = restore(wh, "postgres", crashed[0])
    after_crash = marts_fingerprint(wh)
    assert after_crash == before and candidate_runs(wh) == {old_run}  # the old marts, whole
    with owner(wh) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'marts_previous'").fetchone()[0] == 0
    n = finish_publication(wh, rid, publish_id)  # the swap task's retry
    assert n == run.truth["n_candidates"]
    assert_marts_show(wh, run)
    assert finish_publication(wh, rid, publish_id) == n  # idempotent: a second retry changes nothing
    print(
        f"\nfault 4: PostgreSQL back in {recover_s:.1f} s after the crash; old marts intact "
        f"({before['radio_star_candidates'][0]} candidates); retry published {n}"
    )
