"""Reusable measuring code for the benchmark scripts (scripts/bench_*.py).

``TreeRssSampler`` samples the resident memory of a process *and all its descendants* (a Spark
driver's JVM and its Python workers, a dask pool, a subprocess in another venv) every ``interval``
seconds in a daemon thread and keeps the peak of the sum. It also keeps the CPU seconds (user +
system) the tree used while sampled: each process's own CPU time at its last sample minus what it had
already used at the first sample (exact for long-lived processes such as JVMs and reused Python
workers; a process that lives less than one interval is missed). Unlike wall or task time, CPU seconds
do not include waiting for a core on a shared machine. ``run_measured`` runs a command as a child
process under such a sampler and returns its wall time, peak tree RSS and exit status.

``sandbox`` (``scratch_bucket`` + ``scratch_database``): a throwaway MinIO bucket and warehouse database that
benchmarks and tests work in, removed afterwards: they never touch the real lake or warehouse.
"""

from __future__ import annotations

import os
import platform
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from radiostars.config import Settings


def _tree(proc) -> list:
    import psutil

    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return []


def tree_rss_bytes(proc) -> int:
    """RSS of ``proc`` (a psutil.Process) plus all its living descendants, in bytes."""
    import psutil

    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in members:
        try:
            total += p.memory_info().rss
        except psutil.Error:  # exited between listing and reading
            pass
    return total


class TreeRssSampler:
    """Context manager: peak RSS of a process tree, sampled every ``interval`` s in a thread.

    ``pid`` defaults to this process (so children started inside the block are included).
    Attributes after exit: ``peak_bytes``, ``samples``, ``seconds``, ``cpu_seconds``.
    """

    def __init__(self, pid: int | None = None, interval: float = 0.2):
        import psutil

        self.proc = psutil.Process(pid or os.getpid())
        self.interval = interval
        self.peak_bytes = 0
        self.samples = 0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._cpu_first: dict[tuple[int, float], float] = {}  # (pid, create_time) -> CPU s at first sight
        self._cpu_last: dict[tuple[int, float], float] = {}

    def sample(self) -> int:
        import psutil

        first = self.samples == 0
        rss = 0
        for p in _tree(self.proc):
            try:
                with p.oneshot():
                    rss += p.memory_info().rss
                    t = p.cpu_times()
                    key = (p.pid, p.create_time())
            except psutil.Error:  # exited between listing and reading
                continue
            cpu = t.user + t.system
            self._cpu_first.setdefault(key, cpu if first else 0.0)
            self._cpu_last[key] = cpu
        self.peak_bytes = max(self.peak_bytes, rss)
        self.samples += 1
        return rss

    @property
    def cpu_seconds(self) -> float:
        """CPU seconds the tree used between the first and the last sample."""
        return sum(last - self._cpu_first.get(key, 0.0) for key, last in self._cpu_last.items())

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def start(self) -> TreeRssSampler:
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> TreeRssSampler:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()  # a last look: the CPU used since the previous sample (a finished child is gone: no-op)
        self.seconds = time.perf_counter() - self._t0
        return self

    def __enter__(self) -> TreeRssSampler:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def peak_gb(self) -> float:
        return self.peak_bytes / 1e9


@dataclass
class Measured:
    """One child process run under a ``TreeRssSampler``."""

    cmd: list[str]
    returncode: int
    wall_s: float
    peak_rss_bytes: int
    samples: int
    stdout: str = ""
    stderr: str = ""
    extra: dict = field(default_factory=dict)
    cpu_s: float = 0.0  # CPU seconds of the process tree (TreeRssSampler.cpu_seconds)

    @property
    def peak_rss_gb(self) -> float:
        return self.peak_rss_bytes / 1e9


def kill_process_tree(pid: int, *, include_root: bool = True, timeout: float = 10.0) -> list[int]:
    """SIGTERM ``pid``'s descendants (and ``pid`` itself unless ``include_root`` is False), SIGKILL
    whatever still runs ``timeout`` s later; returns the pids signalled. The whole tree is listed
    before any signal: a process whose parent dies first is re-parented and could no longer be found.
    A zombie counts as gone (an orphan's zombie waits for whoever reaps it, which may be never)."""
    import psutil

    def running(p) -> bool:
        try:
            return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    try:
        root = psutil.Process(pid)
        procs = root.children(recursive=True) + ([root] if include_root else [])
    except psutil.NoSuchProcess:
        return []
    alive = procs
    for send in ("terminate", "kill"):
        for p in alive:
            try:
                getattr(p, send)()
            except psutil.Error:
                pass
        deadline = time.monotonic() + timeout
        while (alive := [p for p in alive if running(p)]) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not alive:
            break
    return [p.pid for p in procs]


def run_measured(
    cmd: list[str],
    *,
    stdin_text: str | None = None,
    interval: float = 0.2,
    timeout: float | None = None,
    cwd: str | None = None,
) -> Measured:
    """Run ``cmd``; wall time and peak RSS of its whole process tree (sampled every ``interval`` s)."""
    # imported before the child exists: a stop signal landing inside a first import of psutil would leave the
    # caller's cleanup (kill_process_tree) with a half-initialised module
    import psutil  # noqa: F401

    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE if stdin_text is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    try:
        sampler = TreeRssSampler(proc.pid, interval).start()
        try:
            out, err = proc.communicate(stdin_text, timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_process_tree(proc.pid, timeout=5.0)
            out, err = proc.communicate()
        finally:
            sampler.stop()
    except BaseException:  # Ctrl-C / SIGTERM in the caller: no orphan (a Spark driver JVM) outlives it
        kill_process_tree(proc.pid, timeout=5.0)
        raise
    return Measured(
        cmd,
        proc.returncode,
        time.perf_counter() - t0,
        sampler.peak_bytes,
        sampler.samples,
        out,
        err,
        cpu_s=sampler.cpu_seconds,
    )


def machine_info() -> dict:
    """nproc, RAM, load average now (the machine may be shared: record it with every result)."""
    import psutil

    vm = psutil.virtual_memory()
    return {
        "host": platform.node(),
        "nproc": os.cpu_count(),
        "ram_gb": round(vm.total / 1e9, 1),
        "ram_available_gb": round(vm.available / 1e9, 1),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }


# ---------------------------------------------------------------------------- scratch resources
def derive(settings: Settings, **overrides: str) -> Settings:
    """A copy of ``settings`` with some keys replaced (e.g. a scratch database or bucket)."""
    return Settings({**settings.values, **overrides})


@contextmanager
def scratch_bucket(settings: Settings, prefix: str = "rs-test") -> Iterator[Settings]:
    """A fresh MinIO bucket (removed afterwards, with everything in it): tests never touch the lake."""
    from radiostars.lake.client import lake_client
    from radiostars.lake.store import Lake

    client = lake_client(settings)
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    client.make_bucket(name)
    try:
        yield derive(settings, LAKE_BUCKET=name)
    finally:
        Lake(client=client, bucket=name).remove_prefix("")
        client.remove_bucket(name)


@contextmanager
def scratch_database(settings: Settings, prefix: str = "warehouse_test") -> Iterator[Settings]:
    """A fresh warehouse database with q3c (dropped afterwards): tests never touch ``warehouse``."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(settings.postgres_dsn("postgres", superuser=True), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{settings["WAREHOUSE_USER"]}"')
        conn.execute(f'REVOKE CONNECT, TEMPORARY ON DATABASE "{name}" FROM PUBLIC')
    try:
        derived = derive(settings, POSTGRES_WAREHOUSE_DB=name)
        with psycopg.connect(derived.postgres_dsn(superuser=True), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS q3c")
        yield derived
    finally:
        with psycopg.connect(settings.postgres_dsn("postgres", superuser=True), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def sandbox(settings: Settings) -> Iterator[Settings]:
    """Scratch bucket + scratch database together: settings pointing at both."""
    with scratch_bucket(settings) as with_bucket, scratch_database(with_bucket) as both:
        yield both
