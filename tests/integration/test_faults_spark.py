"""Faults during the Spark cross-match (docs/reliability.md, issue #19): MinIO stopped while the job writes,
and the standalone worker killed mid-job. The small sky of tests/spark_sky.py (600 radio, 8000 optical
sources); each run is compared with the undisturbed baseline run of the same inputs — the session fixture
``local_run`` that test_crossmatch_spark.py shares (one Spark run for both modules) — by the committed pairs'
count and a sha256 of their rows, and nothing uncommitted ever visible.

Deterministic by construction: each fault fires on an observed state (the run's first output object), not
after a delay; the watcher lives as long as the job (no fixed deadline a loaded machine can outlast); MinIO
stays down until the faulted job has ended (a guard restores it only after 15 min, and the test then fails
saying so); each test checks that the fault hit the job before its commit. Three Spark runs (one partial)
plus the shared baseline: ~6-8 min on 2 cores at load 5."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time

import pytest

from radiostars.lake.errors import RunNotCommittedError, RunNotFoundError
from radiostars.lake.runs import committed_runs, is_committed, read_committed_run, read_part
from radiostars.lake.store import Lake
from tests.fault_injection import pid_of, restore, stop_program
from tests.spark_sky import _params

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEY = ["radio_source_name", "optical_id"]
COLS = KEY + ["sep_arcsec", "sep_sigma", "rank", "n_candidates", "p_chance"]
# the faulted session gives up quickly while MinIO is down instead of retrying for minutes
FAST_FAIL_S3A = {
    "spark.hadoop.fs.s3a.impl.disable.cache": "true",  # not the JVM's cached s3a client of a former session
    "spark.hadoop.fs.s3a.retry.limit": "1",
    "spark.hadoop.fs.s3a.attempts.maximum": "1",
    "spark.hadoop.fs.s3a.retry.interval": "200ms",
    "spark.hadoop.fs.s3a.connection.establish.timeout": "2000",
    "spark.hadoop.fs.s3a.connection.timeout": "5000",
    "spark.task.maxFailures": "1",
}


def run_job(
    settings, prefix: str, run_id: str, master: str, *, overwrite: bool = False, extra_conf: dict | None = None
) -> dict:
    from radiostars.spark_engine.run import RunRequest, run_crossmatch
    from radiostars.spark_engine.session import spark_session

    spark = spark_session(f"faults-{run_id}", master=master, settings=settings, extra_conf=extra_conf)
    try:
        return run_crossmatch(
            spark,
            settings,
            RunRequest(
                run_id=run_id, params=_params(), catalogues=("gaia_dr3",), lake_prefix=prefix, overwrite=overwrite
            ),
        )
    finally:
        spark.stop()


def pairs_fingerprint(settings, prefix: str, run_id: str) -> tuple[int, str]:
    """(rows, sha256 of the committed pairs' rows sorted by key) — read through the marker only."""
    lake = Lake(settings)
    run = read_committed_run(lake, run_id, prefix)
    df = read_part(lake, run, "pairs").to_pandas()[COLS].sort_values(KEY).reset_index(drop=True)
    assert not df.duplicated(KEY).any(), "a pair is committed twice"
    return len(df), hashlib.sha256(df.to_csv(index=False, float_format="%.12g").encode()).hexdigest()


@pytest.fixture(scope="module")
def baseline(stack, sky, local_run):
    """Fingerprint of the undisturbed run "local" (shared with test_crossmatch_spark.py)."""
    return pairs_fingerprint(stack, sky[0], "local")


class RunWatcher(threading.Thread):
    """Calls ``action()`` once the first object appears under the run's folder (the job is writing its
    outputs); records whether the run was already committed then. Watches until :meth:`stop` — as long as
    the job runs, however slow the machine."""

    def __init__(self, settings, prefix: str, run_id: str, action):
        super().__init__(daemon=True)
        self.settings, self.prefix, self.run_id, self.action = settings, prefix, run_id, action
        self.fired = threading.Event()
        self.committed_when_fired: bool | None = None
        self._stop_event = threading.Event()
        self.start()

    def run(self) -> None:
        from radiostars.lake.keys import crossmatch_run_prefix

        folder = crossmatch_run_prefix(self.run_id, self.prefix)
        lake = Lake(self.settings)
        while not self._stop_event.is_set():
            try:
                if next(lake.list(folder), None) is not None:
                    self.committed_when_fired = is_committed(lake, self.run_id, self.prefix)
                    self.action()
                    self.fired.set()
                    return
            except Exception:  # noqa: BLE001 - keep watching through a transient error
                pass
            time.sleep(0.1)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(30)


MINIO_GUARD_S = 900


def test_minio_stopped_during_the_spark_write_commits_nothing_and_the_rerun_equals_the_baseline(stack, sky, baseline):
    """(2) MinIO stopped as soon as the job's first output object exists: the job fails, no reader sees
    the run (no marker: not committed, not listed); with MinIO back, the rerun (--overwrite, as the DAG's
    retry) commits pairs identical to the undisturbed baseline's."""
    prefix, run_id = sky[0], "faults-minio"
    job_done = threading.Event()
    guard_fired = threading.Event()

    def guard():  # bound the test, never the fault: MinIO comes back early only if the job hangs
        if not job_done.wait(MINIO_GUARD_S):
            guard_fired.set()
            restore(stack, "minio")

    watcher = RunWatcher(stack, prefix, run_id, lambda: stop_program(stack, "minio"))
    threading.Thread(target=guard, daemon=True).start()
    t0 = time.monotonic()
    try:
        with pytest.raises(Exception):  # noqa: B017 - py4j / Spark errors: the job must just not succeed
            run_job(stack, prefix, run_id, "local[2]", extra_conf=FAST_FAIL_S3A)
    finally:
        job_done.set()
        watcher.stop()
        failed_after_s = time.monotonic() - t0
        recover_s = restore(stack, "minio")
    assert watcher.fired.is_set(), "the fault was never injected"
    assert watcher.committed_when_fired is False, "MinIO was stopped after the run committed"
    assert not guard_fired.is_set(), f"the job did not fail within {MINIO_GUARD_S} s of MinIO being stopped"
    lake = Lake(stack)
    assert not is_committed(lake, run_id, prefix) and run_id not in committed_runs(lake, prefix)
    with pytest.raises((RunNotCommittedError, RunNotFoundError)):
        read_committed_run(lake, run_id, prefix)
    run_job(stack, prefix, run_id, "local[2]", overwrite=True)
    assert pairs_fingerprint(stack, prefix, run_id) == baseline
    print(
        f"\nfault 2: job failed {failed_after_s:.0f} s after start; MinIO back in {recover_s:.1f} s; "
        f"rerun = baseline ({baseline[0]} pairs, sha256 {baseline[1][:12]})"
    )


def test_a_standalone_worker_killed_mid_job_recovers_and_commits_once(stack, sky, baseline):
    """(1) The standalone worker's whole process group (worker + executor JVMs) SIGKILLed once the job
    writes: supervisord restarts the worker, the master gives the application a new executor, Spark
    reruns the lost tasks, and the run commits once with pairs identical to the baseline's."""
    from radiostars.spark_engine.run import RunRequest, run_crossmatch
    from radiostars.stack.supervisor import program_states

    if program_states(stack).get("spark-worker") != "RUNNING":
        pytest.fail("the Spark standalone master/worker is not running — `make up` starts it", pytrace=False)
    prefix, run_id = sky[0], "faults-worker"
    killed = []

    def kill_worker():
        pid = pid_of(stack, "spark-worker")
        os.killpg(pid, signal.SIGKILL)  # supervisord makes each program a process-group leader
        killed.append(pid)

    watcher = RunWatcher(stack, prefix, run_id, kill_worker)
    t0 = time.monotonic()
    try:
        run_job(stack, prefix, run_id, stack.spark_standalone_url)
    finally:
        watcher.stop()
    took_s = time.monotonic() - t0
    assert killed, "the fault was never injected"
    assert watcher.committed_when_fired is False, "the worker was killed after the run committed"
    restore_s = restore_worker(stack, killed[0])
    lake = Lake(stack)
    assert committed_runs(lake, prefix).count(run_id) == 1
    assert pairs_fingerprint(stack, prefix, run_id) == baseline
    # a retry of the task that committed it (the DAG passes --keep-committed, fault 5) keeps the run as it is:
    # no Spark session is even needed, the marker is untouched
    marker = read_committed_run(lake, run_id, prefix).marker
    kept = run_crossmatch(
        None,
        stack,
        RunRequest(run_id=run_id, params=_params(), catalogues=("gaia_dr3",), lake_prefix=prefix, keep_committed=True),
        log=lambda _: None,
    )
    assert kept["run_id"] == run_id and read_committed_run(lake, run_id, prefix).marker == marker
    print(
        f"\nfault 1: worker (pid {killed[0]}) killed mid-job; the job still committed in {took_s:.0f} s; "
        f"worker alive again within {restore_s:.1f} s; outputs = baseline ({baseline[0]} pairs)"
    )


def restore_worker(settings, old_pid: int) -> float:
    from radiostars.stack.probes import spark_alive_workers
    from radiostars.stack.process import wait_for
    from radiostars.stack.supervisor import start_program

    t0 = time.monotonic()
    if pid_of_or_none(settings) in (None, old_pid):
        start_program(settings, "spark-worker")
    wait_for(lambda: len(spark_alive_workers(settings)) >= 1, "a Spark worker", 120)
    return time.monotonic() - t0


def pid_of_or_none(settings):
    try:
        return pid_of(settings, "spark-worker")
    except AssertionError:
        return None
