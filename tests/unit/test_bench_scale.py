"""scripts/bench_scale.py: the arithmetic of the record (exponents, targets, stage sums, projections)."""

from __future__ import annotations

import math

import pytest

from tests.scripts import load_script

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def bs():
    return load_script("bench_scale")


def _res(n, wall, peak=2.0, astropy=None):
    return {
        "optical_rows": n,
        "radiostars": {"wall_s": wall, "wall_with_session_s": wall + 30, "peak_rss_gb": peak},
        "astropy": astropy or {"skipped": "above --astropy-max"},
    }


def test_exponent(bs):
    assert bs.exponent(10.0, 100.0, 10**6, 10**7) == pytest.approx(1.0)
    assert bs.exponent(10.0, 10.0 * 10**1.1, 10**6, 10**7) == pytest.approx(1.1)
    assert bs.exponent(None, 5.0, 1, 10) is None


def test_targets_at_the_largest_size(bs):
    results = [_res(10**6, 100.0), _res(10**7, 800.0, peak=3.0), _res(10**8, 9000.0, peak=9.0)]
    bs.add_exponents(results)
    t = bs.targets(results)
    assert t["at_target_size"] is True
    assert t["wall_s"] == {"value": 9030.0, "limit": 900.0, "met": False}
    assert t["peak_rss_gb"]["met"] is False
    assert t["time_exponent"]["value"] == pytest.approx(math.log10(9000 / 800))
    assert [e["value"] for e in t["time_exponents"]] == pytest.approx([math.log10(8), math.log10(9000 / 800)])


def test_targets_below_the_target_size_say_so(bs):
    t = bs.targets([_res(10**6, 100.0)])
    assert t["at_target_size"] is False and t["time_exponent"]["met"] is None and t["wall_s"]["met"] is True


def test_stage_totals_and_pipeline_stages(bs):
    stages = [
        {"stage": 0, "tasks": 1, "duration_s": 1.0, "executor_run_s": 1.0, "input_records": 10, "shuffle_read_mb": 0},
        {
            "stage": 3,
            "tasks": 2,
            "duration_s": 5.0,
            "executor_run_s": 8.0,
            "input_records": 1000,
            "shuffle_write_records": 1500,
            "shuffle_write_mb": 3.0,
            "memory_spilled_mb": 2.0,
        },
        {"stage": 4, "tasks": 2, "duration_s": None, "executor_run_s": 0.0, "shuffle_read_records": 1500},  # skipped
        {
            "stage": 5,
            "tasks": 8,
            "duration_s": 2.0,
            "executor_run_s": 2.0,
            "shuffle_read_records": 1500,
            "shuffle_read_mb": 3.0,
            "disk_spilled_mb": 1.5,
        },
    ]
    tot = bs.stage_totals(stages)
    assert tot["shuffle_read_mb"] == 3.0 and tot["shuffle_write_mb"] == 3.0
    assert tot["memory_spilled_mb"] == 2.0 and tot["disk_spilled_mb"] == 1.5 and tot["stages"] == 4
    p = bs.pipeline_stages(stages, 1000)
    assert p["scan"]["stage"] == 3 and p["match"]["stage"] == 5 and p["margin_factor"] == 1.5
    assert p["rows_per_core_s"] == pytest.approx(1000 / 10.0)
    assert bs.pipeline_stages(stages, 999) == {}


def test_pipeline_stages_of_a_curated_match(bs):
    """From the curated layout one stage reads the stored rows (with margin copies) and matches them."""
    stages = [
        {"stage": 0, "tasks": 1, "duration_s": 1.0, "executor_run_s": 1.0, "input_records": 10},
        {"stage": 1, "tasks": 16, "duration_s": 6.0, "executor_run_s": 11.0, "input_records": 1150},
        {"stage": 2, "tasks": 4, "duration_s": 1.0, "executor_run_s": 1.0, "shuffle_write_records": 40},
    ]
    p = bs.pipeline_stages(stages, 1000)
    assert p["layout"] == "curated" and p["match"]["stage"] == 1 and "scan" not in p
    assert p["margin_factor"] == pytest.approx(1.15) and p["rows_per_core_s"] == pytest.approx(1000 / 11.0)
    assert bs.pipeline_stages(stages, 2000) == {}


def test_astropy_projection(bs):
    results = [
        _res(10**6, 1.0, astropy={"wall_s": 1, "peak_rss_gb": 1.0}),
        _res(10**7, 10.0, astropy={"wall_s": 10, "peak_rss_gb": 7.3}),
        _res(10**8, 100.0),
    ]
    p = bs.astropy_projection(results, ram_gb=25.0)
    assert p["bytes_per_row"] == pytest.approx(700.0)
    assert p["projected_peak_gb"][str(10**8)] == {"peak_gb": 70.3, "fits_in_ram": False}
    assert p["max_rows_in_ram"] == pytest.approx((25.0 - 0.3) / 7e-7, rel=1e-6)
    # every size ran astropy but none reached 1e8: still projected to 1e8
    assert bs.astropy_projection(results[:2], ram_gb=25.0)["projected_peak_gb"] == {
        str(10**8): {"peak_gb": 70.3, "fits_in_ram": False}
    }
    big = _res(10**8, 100.0, astropy={"wall_s": 100, "peak_rss_gb": 20.0})
    assert bs.astropy_projection([big], ram_gb=25.0) is None
