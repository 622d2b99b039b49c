"""scripts/bench_workers.py: no child process (the Spark driver and its JVM) outlives the benchmark.
Dummy `sleep` trees stand in for the child and its JVM; no Spark is started."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from radiostars.benchmark import kill_process_tree
from radiostars.config import PROJECT_ROOT
from tests.scripts import load_script

pytestmark = pytest.mark.unit

TREE = ["sh", "-c", "sleep 300 & sleep 300 & wait"]  # a child with two grandchildren, like python -> JVM


@pytest.fixture(scope="module")
def bw():
    return load_script("bench_workers")


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def descendants(pid: int, at_least: int) -> list[int]:
    def listed():
        try:
            pids = [p.pid for p in psutil.Process(pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        return pids if len(pids) >= at_least else []

    return wait_for(listed)


def cleanup(pids):
    for pid in pids:
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass


def script(body: str) -> list[str]:
    code = f"import sys\nsys.path.insert(0, {str(PROJECT_ROOT / 'scripts')!r})\nimport bench_workers as bw\n"
    return [sys.executable, "-c", code + textwrap.dedent(body)]


def test_kill_process_tree_kills_grandchildren_too(bw):
    proc = subprocess.Popen(TREE)
    pids = [proc.pid, *descendants(proc.pid, 2)]
    try:
        t0 = time.monotonic()
        signalled = kill_process_tree(proc.pid, timeout=5)
        assert time.monotonic() - t0 < 5  # SIGTERM was enough: no wait for the SIGKILL round
        proc.wait(5)
        assert set(signalled) == set(pids)
        assert not any(running(pid) for pid in pids)
    finally:
        cleanup(pids)


def test_kill_process_tree_of_a_gone_process_is_a_no_op(bw):
    proc = subprocess.Popen(["true"])
    proc.wait()
    assert kill_process_tree(proc.pid) == []


@pytest.mark.parametrize(
    "sig,returncode",
    [
        (signal.SIGTERM, 128 + signal.SIGTERM),  # SystemExit after the cleanup
        (signal.SIGHUP, 128 + signal.SIGHUP),
        (signal.SIGINT, -signal.SIGINT),  # Ctrl-C: KeyboardInterrupt after the cleanup
    ],
)
@pytest.mark.parametrize("inherited_mask", ["open", "blocked"])
def test_stopping_the_benchmark_stops_the_measured_child_tree(sig, returncode, inherited_mask):
    # the real measured_run and run_measured, with the child's command swapped for a sleep tree; "blocked": the
    # benchmark inherits the signal blocked (a CI runner did that to SIGINT; the run then waited for the child)
    block = {"open": None, "blocked": lambda: signal.pthread_sigmask(signal.SIG_BLOCK, {sig})}[inherited_mask]
    parent = subprocess.Popen(
        script(f"""
        import radiostars.benchmark as b
        real = b.run_measured
        b.run_measured = lambda cmd, **kw: real({TREE!r}, **kw)
        bw.exit_on_termination()
        bw.measured_run(None, "prefix/", "local[2]", "test")  # its own cleanup, without main's backstop
        """),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=block,
    )
    pids = descendants(parent.pid, 3)  # sh + 2 sleeps
    try:
        parent.send_signal(sig)
        _, err = parent.communicate(timeout=30)
        assert parent.returncode == returncode, err
        wait_for(lambda: not any(running(pid) for pid in pids), timeout=10)
    finally:
        cleanup(pids)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_child_dies_when_its_parent_is_killed_outright(tmp_path):
    # SIGKILL leaves the parent no cleanup: the child must go by itself (die_with_parent)
    child = tmp_path / "child.py"
    child.write_text(
        f"import sys, time\nsys.path.insert(0, {str(PROJECT_ROOT / 'scripts')!r})\n"
        "import bench_workers as bw\n"
        "assert bw.die_with_parent(int(sys.argv[1]))\nprint('armed', flush=True)\ntime.sleep(300)\n"
    )
    parent = subprocess.Popen(
        script(f"""
        import os, subprocess
        subprocess.run([sys.executable, {str(child)!r}, str(os.getpid())])
        """),
        stdout=subprocess.PIPE,
        text=True,
    )
    pids = [parent.pid]
    try:
        assert parent.stdout.readline().strip() == "armed"
        pids += descendants(parent.pid, 1)
        parent.kill()
        parent.wait(10)
        wait_for(lambda: not running(pids[1]), timeout=10)
    finally:
        cleanup(pids)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_child_whose_parent_is_already_gone_stops_at_once():
    # started by another process than the one named: as if the parent died before prctl
    proc = subprocess.run(script("bw.die_with_parent(1)\nimport time; time.sleep(30)"), timeout=30)
    assert proc.returncode == -signal.SIGTERM
