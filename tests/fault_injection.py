"""Faults on the real local services for tests/integration/test_faults_*.py (docs/reliability.md): stop, crash
or kill a supervisord program, bring it back, and fingerprint what readers see (counts + checksums).

Only ever the services of the stack the settings point at (this worktree's / CI's own supervisord)."""

from __future__ import annotations

import hashlib
import time

import psycopg

from radiostars.config import Settings
from radiostars.stack.probes import mariadb_ready, minio_ready, postgres_ready
from radiostars.stack.process import wait_for
from radiostars.stack.supervisor import program_states, start_program, supervisorctl

READY = {"postgres": postgres_ready, "mariadb": mariadb_ready, "minio": minio_ready}


def pid_of(settings: Settings, name: str) -> int:
    out = supervisorctl(settings, "pid", name).strip()
    if not out.isdigit() or int(out) == 0:
        raise AssertionError(f"{name} is not running (supervisorctl pid: {out!r})")
    return int(out)


def signal_program(settings: Settings, name: str, signal: str) -> int:
    """Send ``signal`` (KILL, QUIT, …) to the program's main process through supervisorctl; returns its pid.

    PostgreSQL: QUIT is an *immediate shutdown* — every backend exits at once, no checkpoint, crash
    recovery at the next start (what a power cut or ``kill -9`` of the cluster leaves). MariaDB: KILL."""
    pid = pid_of(settings, name)
    supervisorctl(settings, "signal", signal, name)
    return pid


def stop_program(settings: Settings, name: str) -> None:
    """A clean stop (supervisorctl stop: the program's stopsignal, e.g. PostgreSQL fast shutdown)."""
    supervisorctl(settings, "stop", name)


def restore(settings: Settings, name: str, old_pid: int | None = None, timeout_s: float = 120) -> float:
    """Wait for the old process to be gone, (re)start the program and wait until it answers; seconds taken."""
    t0 = time.monotonic()
    if old_pid is not None:
        wait_for(lambda: _gone(old_pid), f"{name} (pid {old_pid}) to exit", 60)
    deadline = time.monotonic() + timeout_s
    last = "not asked yet"
    while True:
        state = program_states(settings).get(name)
        if state == "RUNNING":
            # supervisord says RUNNING after startsecs, not when the service listens: a refused connection
            # (the probes raise it) is "not ready yet" — it failed the MinIO-during-Spark test once at load 20
            try:
                if READY[name](settings):
                    return time.monotonic() - t0
                last = "probe answered not ready"
            except Exception as exc:  # noqa: BLE001 - connection refused / reset while it starts
                last = f"{type(exc).__name__}: {exc}"
        if state in ("STOPPED", "EXITED", "FATAL", "BACKOFF"):
            start_program(settings, name)
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} did not come back within {timeout_s:.0f} s (state {state}; {last})")
        time.sleep(0.5)


def _gone(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # a zombie still answers kill(0); /proc tells
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] == "Z"
    except FileNotFoundError:
        return True


def table_fingerprint(conn: psycopg.Connection, relation: str, order_by: str) -> tuple[int, str]:
    """(row count, sha256 of every row's text in ``order_by`` order) — equal only for identical contents."""
    digest = hashlib.sha256()
    n = 0
    with conn.cursor() as cur:
        cur.execute(f"SELECT t::text FROM {relation} t ORDER BY {order_by}")
        for (row,) in cur:
            digest.update(row.encode())
            digest.update(b"\n")
            n += 1
    return n, digest.hexdigest()


def marts_fingerprint(settings: Settings) -> dict[str, tuple[int, str]]:
    """What analysts see: the fingerprint of every table in the live ``marts`` schema."""
    with psycopg.connect(settings.postgres_dsn(), autocommit=True) as conn:
        tables = [
            r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'marts' ORDER BY tablename")
        ]
        return {t: table_fingerprint(conn, f"marts.{t}", "t::text") for t in tables}
