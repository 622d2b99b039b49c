"""radiostars.benchmark: the process-tree RSS sampler sees memory held by a child process."""

import sys

import pytest

from radiostars.benchmark import TreeRssSampler, machine_info, run_measured

pytestmark = pytest.mark.unit


def test_run_measured_counts_a_child_that_holds_memory():
    # the child starts a grandchild holding ~200 MB: only a tree sampler sees it
    code = (
        "import subprocess, sys; subprocess.run([sys.executable, '-c', "
        "'import time; b = bytearray(200_000_000); b[::4096] = b\"x\" * len(b[::4096]); time.sleep(1.0)'])"
    )
    m = run_measured([sys.executable, "-c", code], interval=0.05)
    assert m.returncode == 0
    assert m.peak_rss_bytes > 200_000_000
    assert m.samples >= 5


def test_sampler_on_this_process():
    with TreeRssSampler(interval=0.05) as s:
        pass
    assert s.samples >= 1 and s.peak_bytes > 0 and s.seconds >= 0


def test_machine_info_fields():
    info = machine_info()
    assert info["nproc"] >= 1 and info["ram_gb"] > 0 and len(info["loadavg"]) == 3


def test_run_measured_counts_cpu_of_a_grandchild():
    # the grandchild burns ~0.6 s of CPU: only a tree sampler sees it (the child itself only waits)
    code = (
        "import subprocess, sys; subprocess.run([sys.executable, '-c', "
        "'import time; t = time.process_time()\\nwhile time.process_time() - t < 0.6: pass'])"
    )
    m = run_measured([sys.executable, "-c", code], interval=0.05)
    assert m.returncode == 0
    assert 0.4 < m.cpu_s < 5.0


def test_sampler_cpu_is_measured_from_the_first_sample():
    import time

    before = time.process_time()
    with TreeRssSampler(interval=0.05) as s:
        t0 = time.perf_counter()
        while (
            time.perf_counter() - t0 < 1.5
        ):  # busy for 1.5 s of wall time (the first sample can come late on a busy box)
            pass
    used = time.process_time() - before  # this process's CPU during the block (all its threads)
    assert s.samples >= 2  # the first and the last (more unless the machine is very busy)
    assert 0.0 < s.cpu_seconds <= used + 0.05  # the block's CPU, not what the process used before it
