"""Atomic publication of the marts.

``publish(settings, run_id=None)``:

1. checks the run has a successful load in ``raw.load_log`` (default: the latest one);
2. takes a session advisory lock (one publication at a time), drops any leftover ``marts_build``;
3. runs ``dbt build --vars {run_id, marts_schema: marts_build}``: every staging/intermediate view,
   every mart table (with its q3c indexes, created by post-hooks) and **every test**;
4. only if dbt exits 0, swaps in one transaction: ``marts`` → ``marts_previous``, ``marts_build`` →
   ``marts``, drop ``marts_previous``, grant the analyst role, record the publication. A failed model
   or test raises :class:`PublishError` naming the failures and leaves the live ``marts`` untouched
   (``marts_build`` stays for inspection; analysts cannot read it).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from radiostars.config import Settings

from .db import connect, pg_message
from .errors import PublishError, RunNotLoadedError, WarehouseError
from .lakeio import check_run_id
from .load import ensure_raw_schema
from .roles import MARTS_SCHEMA, ensure_analyst_role, grant_marts

BUILD_SCHEMA = "marts_build"
PREVIOUS_SCHEMA = "marts_previous"
TARGET_SUBDIR = "target/publish"
PUBLISH_LOCK = "radiostars.publish"
SWAP_LOCK_TIMEOUT = "30s"

@dataclass
class PublishResult:
    run_id: str
    publish_id: int
    seconds: float
    dbt_seconds: float
    n_candidates: int
    dbt_counts: dict[str, int] = field(default_factory=dict)


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


def run_dbt(settings: Settings, command: str, *args: str, vars: dict | None = None,
            target_subdir: str = TARGET_SUBDIR, timeout: float = 1800) -> subprocess.CompletedProcess:
    """Run one dbt command (e.g. ``"build"``, ``"docs generate"``) in the project, own target dir."""
    cmd = [str(settings.dbt_executable), *command.split(), "--target-path", target_subdir]
    if vars:
        cmd += ["--vars", json.dumps(vars)]
    cmd += list(args)
    try:
        return subprocess.run(cmd, cwd=settings.dbt_project_dir, env=settings.dbt_env(), capture_output=True,
                              text=True, timeout=timeout)
    except FileNotFoundError:
        raise WarehouseError(f"dbt not found at {settings.dbt_executable}: run `make setup`") from None
    except subprocess.TimeoutExpired:
        raise PublishError(f"dbt {command} did not finish within {timeout:.0f} s") from None


def _resolve_run(conn: psycopg.Connection, run_id: str | None) -> str:
    if run_id is None:
        row = conn.execute("SELECT run_id FROM raw.load_log WHERE status = 'succeeded' "
                           "ORDER BY finished_at DESC, load_id DESC LIMIT 1").fetchone()
        if row is None:
            raise RunNotLoadedError("no successfully loaded run in raw.load_log: load one first "
                                    "(radiostars.warehouse.load.load_run)")
        return row[0]
    check_run_id(run_id)
    row = conn.execute("SELECT 1 FROM raw.load_log WHERE run_id = %s AND status = 'succeeded' LIMIT 1",
                       (run_id,)).fetchone()
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
        conn.execute(sql.SQL("COMMENT ON SCHEMA {} IS {}").format(
            sql.Identifier(MARTS_SCHEMA),
            sql.Literal(f"radiostars marts of cross-match run {run_id} (publish_id {publish_id})")))
        conn.execute("UPDATE raw.publish_log SET status = 'published', finished_at = clock_timestamp() "
                     "WHERE publish_id = %s", (publish_id,))
    return n


def published_run(settings: Settings) -> str | None:
    """The run id the live ``marts`` show (None when nothing was published)."""
    with connect(settings) as conn:
        if conn.execute("SELECT to_regclass('marts.crossmatch_runs')").fetchone()[0] is None:
            return None
        row = conn.execute("SELECT run_id FROM marts.crossmatch_runs WHERE is_selected").fetchone()
    return row[0] if row else None


def begin_publication(settings: Settings, run_id: str | None = None) -> tuple[str, int]:
    """Resolve the run (default: latest loaded), record a 'running' publication, clear marts_build.
    Used by the Airflow DAG, whose dbt steps run as separate (Cosmos) tasks; one run at a time is
    guaranteed there by max_active_runs=1 instead of the session advisory lock."""
    with connect(settings) as conn:
        ensure_raw_schema(conn)
        run_id = _resolve_run(conn, run_id)
        ensure_analyst_role(conn, settings)
        publish_id = conn.execute("INSERT INTO raw.publish_log (run_id, status) VALUES (%s, 'running') "
                                  "RETURNING publish_id", (run_id,)).fetchone()[0]
        conn.execute(f"DROP SCHEMA IF EXISTS {BUILD_SCHEMA} CASCADE")
        conn.commit()
    return run_id, publish_id


def finish_publication(settings: Settings, run_id: str, publish_id: int) -> int:
    """After every dbt model and test passed: swap marts_build into marts; returns the candidate count."""
    with connect(settings) as conn:
        return swap_in(conn, settings, run_id, publish_id)


def abort_publication(settings: Settings, publish_id: int, message: str, failures: list[str] | None = None) -> None:
    """Record a failed publication (the live marts were never touched)."""
    with connect(settings) as conn:
        conn.execute("UPDATE raw.publish_log SET status = 'failed', finished_at = clock_timestamp(), "
                     "error = %s, failures = %s WHERE publish_id = %s AND status = 'running'",
                     (message, json.dumps(failures or []), publish_id))
        conn.commit()


def parse_manifest(settings: Settings) -> Path:
    """`dbt parse` into dbt_project/target/: the manifest Cosmos renders the DAG's dbt tasks from."""
    proc = run_dbt(settings, "parse", target_subdir="target")
    if proc.returncode != 0:
        raise WarehouseError("dbt parse failed: " + " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:]))
    return settings.dbt_project_dir / "target" / "manifest.json"


def publish(settings: Settings, run_id: str | None = None, *, dbt_timeout: float = 1800) -> PublishResult:
    """Build + test the marts for ``run_id`` (default: latest loaded) and swap them in atomically."""
    started = time.perf_counter()
    with connect(settings) as conn:
        ensure_raw_schema(conn)
        run_id = _resolve_run(conn, run_id)
        ensure_analyst_role(conn, settings)
        got = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (PUBLISH_LOCK,)).fetchone()[0]
        if not got:
            raise PublishError("another publication is running (advisory lock radiostars.publish is held)")
        publish_id = conn.execute("INSERT INTO raw.publish_log (run_id, status) VALUES (%s, 'running') "
                                  "RETURNING publish_id", (run_id,)).fetchone()[0]
        try:
            conn.execute(f"DROP SCHEMA IF EXISTS {BUILD_SCHEMA} CASCADE")
            t0 = time.perf_counter()
            proc = run_dbt(settings, "build", vars={"run_id": run_id, "marts_schema": BUILD_SCHEMA},
                           timeout=dbt_timeout)
            dbt_seconds = time.perf_counter() - t0
            failures, counts = _dbt_failures(settings.dbt_project_dir / TARGET_SUBDIR)
            if proc.returncode != 0:
                if not failures:
                    tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
                    failures = [" | ".join(t.strip() for t in tail)]
                shown = "; ".join(failures[:5]) + (f"; … {len(failures) - 5} more" if len(failures) > 5 else "")
                raise PublishError(f"dbt build failed for run {run_id!r} ({len(failures)} failure(s): {shown}); "
                                   f"live marts left untouched, see schema {BUILD_SCHEMA} and "
                                   f"dbt_project/{TARGET_SUBDIR}/run_results.json", failures)
            n = swap_in(conn, settings, run_id, publish_id)
        except BaseException as exc:
            message = str(exc) if isinstance(exc, WarehouseError) else pg_message(exc)
            try:
                conn.execute("UPDATE raw.publish_log SET status = 'failed', finished_at = clock_timestamp(), "
                             "error = %s, failures = %s WHERE publish_id = %s",
                             (message, json.dumps(getattr(exc, "failures", [])), publish_id))
            except psycopg.Error:
                pass
            if isinstance(exc, psycopg.Error):
                raise PublishError(f"publishing run {run_id!r} failed: {message}; live marts untouched") from None
            raise
        finally:
            try:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (PUBLISH_LOCK,))
            except psycopg.Error:
                pass
    return PublishResult(run_id, publish_id, time.perf_counter() - started, dbt_seconds, n, counts)
