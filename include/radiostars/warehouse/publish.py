"""Atomic publication of the marts.

``publish(settings, run_id=None)``:

1. checks the run has a successful load in ``raw.load_log`` (default: the latest one);
2. takes the publish lock (below), applies the run rule (below), drops any leftover ``marts_build``;
3. runs ``dbt build --vars {run_id, marts_schema: marts_build}``: every staging/intermediate view,
   every mart table (with its q3c indexes, created by post-hooks) and **every test**;
4. only if dbt exits 0, swaps in one transaction: ``marts`` → ``marts_previous``, ``marts_build`` →
   ``marts``, drop ``marts_previous``, grant the analyst role, record the publication. A failed model
   or test raises :class:`PublishError` naming the failures and leaves the live ``marts`` untouched
   (``marts_build`` stays for inspection; analysts cannot read it).

**One publication at a time** (docs/reliability.md). Both paths take the same session advisory lock
``radiostars.publish`` (``pg_advisory_lock``, waiting up to ``lock_wait_s``). The CLI :func:`publish`
holds it from the claim to the swap. The Airflow DAG runs dbt in separate (Cosmos) tasks, so it cannot
hold a session across them: :func:`begin_publication` takes the lock, records its publication
``running`` (``via = 'dag'``) in ``raw.publish_log`` — a *lease* — and releases it; :func:`finish_publication` takes it
again for the swap and ends the lease. A claimant that holds the lock and finds a live lease of someone
else waits (releasing the lock) until it ends. A ``running`` CLI publication found by a lock holder is
dead (its session, and the lock with it, is gone: a crash) and is marked failed ("abandoned"); a lease older than the publish DAG's ``dagrun_timeout``
is stale (its DAG run was timed out) and is marked failed ("abandoned"); so is every other lease a DAG
``begin`` finds, because the DAG runs one publication at a time (``max_active_runs=1``) and the CLI
never leaves one while it holds the lock.

**Which run the marts show: the newest committed run wins.** Runs are ordered by their commit time
(``raw.crossmatch_runs.committed_at``, from the ``_SUCCESS`` marker). A publication of a run committed
*before* the run the live marts show is skipped — ``raw.publish_log`` status ``skipped`` with the reason,
one warning line in the log, the marts untouched — unless the caller asks for it explicitly
(``allow_older=True``: a deliberate rollback; the DAG's ``run_id`` param, the CLI's ``--allow-older``).
The rule is checked when the publication is claimed and again at the swap, both under the lock.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from radiostars.config import Settings
from radiostars.errors import RadiostarsError
from radiostars.lake.keys import check_run_id

from .db import connect, pg_message
from .errors import PublishBusyError, PublishError, RunNotLoadedError, WarehouseError
from .load import ensure_raw_schema
from .roles import MARTS_SCHEMA, ensure_analyst_role, grant_marts

BUILD_SCHEMA = "marts_build"
#: schemas the dbt models write into (dbt_project.yml +schema; marts → BUILD_SCHEMA while publishing)
DBT_SCHEMAS = ("staging", "intermediate", BUILD_SCHEMA)
PREVIOUS_SCHEMA = "marts_previous"
TARGET_SUBDIR = "target/publish"
PUBLISH_LOCK = "radiostars.publish"
SWAP_LOCK_TIMEOUT = "30s"
LOCK_WAIT_S = 900.0  # how long a publication waits for another one to finish
log = logging.getLogger("radiostars")


@dataclass
class PublishResult:
    run_id: str
    publish_id: int
    seconds: float
    dbt_seconds: float
    n_candidates: int
    dbt_counts: dict[str, int] = field(default_factory=dict)
    skipped: str | None = None  # why the run was not published (an older run than the live marts')


def _dbt_failures(target: Path) -> tuple[list[str], dict[str, int]]:
    path = target / "run_results.json"
    if not path.exists():
        return [], {}
    results = json.loads(path.read_text()).get("results", [])
    counts: dict[str, int] = {}
    failures = []
    for r in results:
        status = str(r.get("status"))
        counts[status] = counts.get(status, 0) + 1
        if status in ("fail", "error", "runtime error"):
            name = r.get("unique_id", "?").split(".", 2)[-1]
            extra = f" ({r['failures']} failing rows)" if r.get("failures") else ""
            failures.append(f"{name}{extra}")
    return failures, counts


def run_dbt(
    settings: Settings,
    command: str,
    *args: str,
    vars: dict | None = None,
    target_subdir: str = TARGET_SUBDIR,
    timeout: float = 1800,
) -> subprocess.CompletedProcess:
    """Run one dbt command (e.g. ``"build"``, ``"docs generate"``) in the project, own target dir."""
    cmd = [str(settings.dbt_executable), *command.split(), "--target-path", target_subdir]
    if vars:
        cmd += ["--vars", json.dumps(vars)]
    cmd += list(args)
    try:
        return subprocess.run(
            cmd, cwd=settings.dbt_project_dir, env=settings.dbt_env(), capture_output=True, text=True, timeout=timeout
        )
    except FileNotFoundError:
        raise WarehouseError(f"dbt not found at {settings.dbt_executable}: run `make setup`") from None
    except subprocess.TimeoutExpired:
        raise PublishError(f"dbt {command} did not finish within {timeout:.0f} s") from None


def _resolve_run(conn: psycopg.Connection, run_id: str | None) -> str:
    if run_id is None:
        row = conn.execute(
            "SELECT run_id FROM raw.load_log WHERE status = 'succeeded' ORDER BY finished_at DESC, load_id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise RunNotLoadedError(
                "no successfully loaded run in raw.load_log: load one first (radiostars.warehouse.load.load_run)"
            )
        return row[0]
    check_run_id(run_id)
    row = conn.execute(
        "SELECT 1 FROM raw.load_log WHERE run_id = %s AND status = 'succeeded' LIMIT 1", (run_id,)
    ).fetchone()
    if row is None:
        raise RunNotLoadedError(f"run {run_id!r} has no successful load in raw.load_log: load it first")
    return run_id


def swap_in(conn: psycopg.Connection, settings: Settings, run_id: str, publish_id: int) -> int:
    """Replace ``marts`` by ``marts_build`` in one transaction; returns the candidate count."""
    with conn.transaction():
        conn.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
        conn.execute(f"DROP SCHEMA IF EXISTS {PREVIOUS_SCHEMA} CASCADE")
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (MARTS_SCHEMA,)).fetchone():
            conn.execute(f"ALTER SCHEMA {MARTS_SCHEMA} RENAME TO {PREVIOUS_SCHEMA}")
        conn.execute(f"ALTER SCHEMA {BUILD_SCHEMA} RENAME TO {MARTS_SCHEMA}")
        conn.execute(f"DROP SCHEMA IF EXISTS {PREVIOUS_SCHEMA} CASCADE")
        grant_marts(conn, settings)
        n = conn.execute(f"SELECT count(*) FROM {MARTS_SCHEMA}.radio_star_candidates").fetchone()[0]
        conn.execute(
            sql.SQL("COMMENT ON SCHEMA {} IS {}").format(
                sql.Identifier(MARTS_SCHEMA),
                sql.Literal(f"radiostars marts of cross-match run {run_id} (publish_id {publish_id})"),
            )
        )
        conn.execute(
            "UPDATE raw.publish_log SET status = 'published', finished_at = clock_timestamp() WHERE publish_id = %s",
            (publish_id,),
        )
    return n


def published_run(settings: Settings) -> str | None:
    """The run id the live ``marts`` show (None when nothing was published)."""
    with connect(settings) as conn:
        if conn.execute("SELECT to_regclass('marts.crossmatch_runs')").fetchone()[0] is None:
            return None
        row = conn.execute("SELECT run_id FROM marts.crossmatch_runs WHERE is_selected").fetchone()
    return row[0] if row else None


# ---------------------------------------------------------------------------- the lock and the lease
def lease_seconds(settings: Settings) -> float:
    """A ``running`` publication older than this is stale: the publish DAG's dagrun_timeout."""
    from radiostars.orchestration.timeouts import dagrun_timeout

    return dagrun_timeout(settings, "warehouse_publish").total_seconds()


def _lock(conn: psycopg.Connection, wait_s: float) -> bool:
    """Take the session advisory lock ``radiostars.publish``, waiting at most ``wait_s``; False on timeout."""
    conn.execute(f"SET lock_timeout = '{max(1, int(wait_s * 1000))}ms'")
    try:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (PUBLISH_LOCK,))
        return True
    except psycopg.errors.LockNotAvailable:
        return False
    finally:
        conn.execute("RESET lock_timeout")


def _unlock(conn: psycopg.Connection) -> None:
    try:
        conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (PUBLISH_LOCK,))
    except psycopg.Error:
        pass  # the session is gone, and the lock with it


def _abandon(conn: psycopg.Connection, reason: str, older_than_s: float | None = None) -> list[int]:
    """Mark ``running`` publications failed ("abandoned: …"): every CLI one (it lives only while its session
    holds the lock, and we hold it now), and the DAG ones started more than ``older_than_s`` ago (all: None)."""
    rows = conn.execute(
        "UPDATE raw.publish_log SET status = 'failed', finished_at = clock_timestamp(), error = %s "
        "WHERE status = 'running' AND (via IS DISTINCT FROM 'dag' OR %s::float8 IS NULL "
        "OR started_at < clock_timestamp() - %s::float8 * interval '1 second') RETURNING publish_id, run_id",
        (f"abandoned: {reason}", older_than_s, older_than_s),
    ).fetchall()
    for publish_id, run_id in rows:
        log.warning("publication %s of run %s abandoned: %s", publish_id, run_id, reason)
    return [r[0] for r in rows]


def _claim(conn: psycopg.Connection, settings: Settings, wait_s: float, *, dag: bool) -> None:
    """Hold the publish lock with no other live lease; :class:`PublishBusyError` after ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        if not _lock(conn, max(0.001, deadline - time.monotonic())):
            raise PublishBusyError(
                f"another publication holds the advisory lock {PUBLISH_LOCK} for more than {wait_s:.0f} s; retry later"
            )
        if dag:  # one DAG publication at a time, and no CLI one while we hold the lock: any lease is a leftover
            _abandon(conn, "its process died; a later warehouse_publish run started (max_active_runs=1)")
        else:
            _abandon(
                conn, "its process died, or it is older than the publish DAG's dagrun_timeout", lease_seconds(settings)
            )
        live = conn.execute(
            "SELECT publish_id, run_id, started_at FROM raw.publish_log WHERE status = 'running' "
            "ORDER BY publish_id LIMIT 1"
        ).fetchone()
        if live is None:
            return
        _unlock(conn)
        if time.monotonic() >= deadline:
            raise PublishBusyError(
                f"publication {live[0]} of run {live[1]!r} (started {live[2]:%Y-%m-%d %H:%M:%S}) "
                f"is still running after {wait_s:.0f} s; retry later"
            )
        time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))


def _committed_at(conn: psycopg.Connection, run_id: str) -> dt.datetime | None:
    row = conn.execute("SELECT committed_at FROM raw.crossmatch_runs WHERE run_id = %s", (run_id,)).fetchone()
    return row[0] if row else None


def live_run(conn: psycopg.Connection) -> str | None:
    """The run of the last successful publication (what the live marts show)."""
    row = conn.execute(
        "SELECT run_id FROM raw.publish_log WHERE status = 'published' "
        "ORDER BY finished_at DESC, publish_id DESC LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def superseded_by(conn: psycopg.Connection, run_id: str) -> str | None:
    """Why ``run_id`` must not replace the live marts — they show a run committed after it — else None."""
    live = live_run(conn)
    if live is None or live == run_id:
        return None
    mine, theirs = _committed_at(conn, run_id), _committed_at(conn, live)
    if mine is None or theirs is None or theirs <= mine:
        return None
    return (
        f"run {run_id!r} (committed {mine.isoformat()}) is older than run {live!r} (committed "
        f"{theirs.isoformat()}) that the marts show: the newest committed run wins"
    )


def _record_skip(conn: psycopg.Connection, run_id: str, reason: str, via: str) -> int:
    log.warning("publication of run %s skipped: %s", run_id, reason)
    return conn.execute(
        "INSERT INTO raw.publish_log (run_id, status, finished_at, error, via) "
        "VALUES (%s, 'skipped', clock_timestamp(), %s, %s) RETURNING publish_id",
        (run_id, reason, via),
    ).fetchone()[0]


# ---------------------------------------------------------------------------- the DAG's steps
def begin_publication(
    settings: Settings, run_id: str | None = None, *, allow_older: bool = False, wait_s: float | None = None
) -> tuple[str, int, str | None]:
    """Resolve the run (default: latest loaded); under the publish lock, apply the newest-run rule and take
    the lease (a 'running' publication); clear marts_build. Returns (run_id, publish_id, skipped reason or
    None). The Airflow DAG's first step; its dbt steps run as separate (Cosmos) tasks."""
    wait_s = settings.timeout_s("POSTGRES_LOCK_TIMEOUT_S") if wait_s is None else wait_s
    with connect(settings) as conn:
        ensure_raw_schema(conn)
        run_id = _resolve_run(conn, run_id)
        ensure_analyst_role(conn, settings)
        _claim(conn, settings, wait_s, dag=True)
        try:
            reason = None if allow_older else superseded_by(conn, run_id)
            if reason:
                return run_id, _record_skip(conn, run_id, reason, "dag"), reason
            publish_id = conn.execute(
                "INSERT INTO raw.publish_log (run_id, status, via) VALUES (%s, 'running', 'dag') RETURNING publish_id",
                (run_id,),
            ).fetchone()[0]
            conn.execute(f"DROP SCHEMA IF EXISTS {BUILD_SCHEMA} CASCADE")
            # Cosmos runs every model as its own dbt process, in parallel; each begins with CREATE SCHEMA IF NOT
            # EXISTS, which is not atomic against a concurrent one in PostgreSQL ("duplicate key … nspname"):
            # the schemas the models write into exist before any of them starts
            for schema in DBT_SCHEMAS:
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        finally:
            _unlock(conn)
    return run_id, publish_id, None


def finish_publication(
    settings: Settings, run_id: str, publish_id: int, *, allow_older: bool = False, wait_s: float | None = None
) -> int:
    """After every dbt model and test passed: under the publish lock, swap marts_build into marts; returns
    the candidate count. Idempotent: a publication already published returns its count. -1 when the run
    was superseded meanwhile (recorded 'skipped', marts untouched)."""
    wait_s = settings.timeout_s("POSTGRES_LOCK_TIMEOUT_S") if wait_s is None else wait_s
    with connect(settings) as conn:
        if not _lock(conn, wait_s):
            raise PublishBusyError(
                f"the advisory lock {PUBLISH_LOCK} is held for more than {wait_s:.0f} s; retry later"
            )
        try:
            row = conn.execute(
                "SELECT status, error FROM raw.publish_log WHERE publish_id = %s", (publish_id,)
            ).fetchone()
            if row is None:
                raise PublishError(f"publication {publish_id} is not in raw.publish_log")
            if row[0] == "published":
                return conn.execute(f"SELECT count(*) FROM {MARTS_SCHEMA}.radio_star_candidates").fetchone()[0]
            if row[0] != "running":
                raise PublishError(
                    f"publication {publish_id} of run {run_id!r} is {row[0]} ({row[1]}); live marts untouched"
                )
            reason = None if allow_older else superseded_by(conn, run_id)
            if reason:
                log.warning("publication of run %s skipped at the swap: %s", run_id, reason)
                conn.execute(
                    "UPDATE raw.publish_log SET status = 'skipped', finished_at = clock_timestamp(), "
                    "error = %s WHERE publish_id = %s",
                    (reason, publish_id),
                )
                return -1
            return swap_in(conn, settings, run_id, publish_id)
        finally:
            _unlock(conn)


def abort_publication(settings: Settings, publish_id: int, message: str, failures: list[str] | None = None) -> None:
    """Record a failed publication (the live marts were never touched)."""
    with connect(settings) as conn:
        conn.execute(
            "UPDATE raw.publish_log SET status = 'failed', finished_at = clock_timestamp(), "
            "error = %s, failures = %s WHERE publish_id = %s AND status = 'running'",
            (message, json.dumps(failures or []), publish_id),
        )
        conn.commit()


def parse_manifest(settings: Settings) -> Path:
    """`dbt parse` into dbt_project/target/: the manifest Cosmos renders the DAG's dbt tasks from."""
    proc = run_dbt(settings, "parse", target_subdir="target")
    if proc.returncode != 0:
        raise WarehouseError("dbt parse failed: " + " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:]))
    return settings.dbt_project_dir / "target" / "manifest.json"


def publish(
    settings: Settings,
    run_id: str | None = None,
    *,
    dbt_timeout: float = 1800,
    allow_older: bool = False,
    wait_s: float = LOCK_WAIT_S,
) -> PublishResult:
    """Build + test the marts for ``run_id`` (default: latest loaded) and swap them in atomically — under the
    publish lock, held throughout; a run older than the live marts' is skipped unless ``allow_older``."""
    started = time.perf_counter()
    with connect(settings) as conn:
        ensure_raw_schema(conn)
        run_id = _resolve_run(conn, run_id)
        ensure_analyst_role(conn, settings)
        _claim(conn, settings, wait_s, dag=False)
        reason = None if allow_older else superseded_by(conn, run_id)
        if reason:
            publish_id = _record_skip(conn, run_id, reason, "cli")
            _unlock(conn)
            return PublishResult(run_id, publish_id, time.perf_counter() - started, 0.0, 0, {}, skipped=reason)
        publish_id = conn.execute(
            "INSERT INTO raw.publish_log (run_id, status, via) VALUES (%s, 'running', 'cli') RETURNING publish_id",
            (run_id,),
        ).fetchone()[0]
        try:
            conn.execute(f"DROP SCHEMA IF EXISTS {BUILD_SCHEMA} CASCADE")
            t0 = time.perf_counter()
            proc = run_dbt(
                settings, "build", vars={"run_id": run_id, "marts_schema": BUILD_SCHEMA}, timeout=dbt_timeout
            )
            dbt_seconds = time.perf_counter() - t0
            failures, counts = _dbt_failures(settings.dbt_project_dir / TARGET_SUBDIR)
            if proc.returncode != 0:
                if not failures:
                    tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
                    failures = [" | ".join(t.strip() for t in tail)]
                shown = "; ".join(failures[:5]) + (f"; … {len(failures) - 5} more" if len(failures) > 5 else "")
                raise PublishError(
                    f"dbt build failed for run {run_id!r} ({len(failures)} failure(s): {shown}); "
                    f"live marts left untouched, see schema {BUILD_SCHEMA} and "
                    f"dbt_project/{TARGET_SUBDIR}/run_results.json",
                    failures,
                )
            n = swap_in(conn, settings, run_id, publish_id)
        except BaseException as exc:
            message = str(exc) if isinstance(exc, RadiostarsError) else pg_message(exc)
            try:
                conn.execute(
                    "UPDATE raw.publish_log SET status = 'failed', finished_at = clock_timestamp(), "
                    "error = %s, failures = %s WHERE publish_id = %s",
                    (message, json.dumps(getattr(exc, "failures", [])), publish_id),
                )
            except psycopg.Error:
                pass
            if isinstance(exc, psycopg.Error):
                raise PublishError(f"publishing run {run_id!r} failed: {message}; live marts untouched") from None
            raise
        finally:
            _unlock(conn)
    return PublishResult(run_id, publish_id, time.perf_counter() - started, dbt_seconds, n, counts)
