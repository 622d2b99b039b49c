"""radiostars.benchmark: the process-tree RSS sampler sees memory held by a child process."""

import sys

from radiostars.benchmark import TreeRssSampler, machine_info, run_measured


def test_run_measured_counts_a_child_that_holds_memory():
    # the child starts a grandchild holding ~200 MB: only a tree sampler sees it
    code = ("import subprocess, sys; subprocess.run([sys.executable, '-c', "
            "'import time; b = bytearray(200_000_000); b[::4096] = b\"x\" * len(b[::4096]); time.sleep(1.0)'])")
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
