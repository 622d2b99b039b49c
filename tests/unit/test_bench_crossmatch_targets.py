"""`make bench`'s machine-readable targets (issue 16) and its failure on a peer that cannot run."""

from __future__ import annotations

import pytest

from tests.scripts import load_script

pytestmark = pytest.mark.unit


def _res(rows: int, radiostars_s: float, astropy_s: float, lsdb: dict) -> dict:
    return {
        "optical_rows": rows,
        "astropy": {"wall_s": astropy_s, "wall_nopm_s": astropy_s / 3, "peak_rss_gb": 4.0, "pairs": 9, "pairs_nopm": 9},
        "radiostars": {
            "wall_s": radiostars_s,
            "wall_with_session_s": radiostars_s + 10,
            "peak_rss_gb": 2.0,
            "pairs": 9,
        },
        "lsdb": lsdb,
        "io_floor": {"wall_s": 4.0, "peak_rss_gb": 1.0, "pairs": 9},
    }


def test_targets_carry_value_target_and_met_for_every_named_ratio():
    bench = load_script("bench_crossmatch")
    lsdb = {"wall_s": 40.0, "peak_rss_gb": 1.5, "pairs": 9}
    t = bench.targets([_res(10**6, 3.0, 2.5, lsdb), _res(10**7, 12.0, 30.0, lsdb)])
    assert set(bench.TARGETS) <= set(t)
    assert t["x_astropy_1e7"] == {"value": 0.4, "target": 0.5, "met": True}
    assert t["x_lsdb_1e7"]["value"] == pytest.approx(0.3) and t["x_lsdb_1e7"]["met"]
    assert t["x_io_floor_1e7"] == {"value": 3.0, "target": 3.0, "met": True}
    assert t["x_astropy_1e7_incl_session"]["value"] == pytest.approx(22 / 30) and t["x_astropy_1e7_incl_session"]["met"]
    assert t["x_astropy_1e6"]["value"] == pytest.approx(1.2) and not t["x_astropy_1e6"]["met"]
    assert t["peak_rss_vs_astropy_1e7"]["value"] == pytest.approx(0.5)
    assert t["time_exponent"]["value"] == pytest.approx(0.60206, rel=1e-4)


def test_a_peer_that_cannot_run_is_a_failure_and_its_targets_are_not_met():
    bench = load_script("bench_crossmatch")
    results = [_res(10**7, 12.0, 30.0, {"error": ".local/bench-venv/bin/python is missing: run `make bench-peers`"})]
    t = bench.targets(results)
    assert t["x_lsdb_1e7"]["value"] is None and t["x_lsdb_1e7"]["met"] is False and "lsdb" in t["x_lsdb_1e7"]["why"]
    assert t["x_astropy_1e6"]["why"] == "size 1e+06 not run"
    failures = bench.peer_failures(results)
    assert len(failures) == 1 and "make bench-peers" in failures[0] and "/work/" not in failures[0]
