"""Metric functions of radiostars.evaluate on hand-made inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from radiostars.evaluate import metrics as M

pytestmark = pytest.mark.unit


def test_rate_value_and_wilson_interval():
    r = M.Rate(3, 4)
    assert r.value == 0.75
    lo, hi = r.interval()  # z = 1: centre 0.7, half-width 0.2
    assert lo == pytest.approx(0.5) and hi == pytest.approx(0.9)
    assert r.to_dict() == {"k": 3, "n": 4, "value": 0.75, "lo": pytest.approx(0.5), "hi": pytest.approx(0.9)}
    empty = M.Rate(0, 0)
    assert math.isnan(empty.value) and empty.to_dict()["value"] is None


def test_rate_bounds_stay_in_unit_interval():
    assert M.Rate(0, 10).interval()[0] == 0.0
    assert M.Rate(10, 10).interval()[1] == 1.0
    assert M.rate([True, False, True, True]) == M.Rate(3, 4)


def test_completeness_and_reliability_are_fractions_of_true():
    assert M.completeness([True] * 99 + [False]).value == 0.99
    assert M.reliability(np.array([True, True, False, False])).value == 0.5


def test_poisson_rate():
    assert M.poisson_rate(16, 100) == (0.16, 0.04)
    assert all(math.isnan(v) for v in M.poisson_rate(3, 0))


def test_reliability_class_boundaries():
    got = M.reliability_class([0.0005, 0.001, 0.005, 0.01, 0.5, np.nan])
    assert list(got) == ["A", "B", "B", "C", "C", "C"]
    assert M.CLASSES == ("A", "B", "C")


def test_binned_rate_counts_per_bin_last_bin_closed_and_drops_outside():
    x = [1, 2, 3, 4, 5, 10, np.nan]
    flags = [True, False, True, True, False, True, True]
    t = M.binned_rate(x, flags, [0, 2, 4, 5])
    assert list(t["n"]) == [1, 2, 2]
    assert list(t["k"]) == [1, 1, 1]
    assert list(t["value"]) == [1.0, 0.5, 0.5]
    assert list(t["bin_lo"]) == [0, 2, 4] and list(t["bin_hi"]) == [2, 4, 5]


@pytest.mark.parametrize("edges", [[1], [0, 0, 1], [2, 1]])
def test_binned_rate_rejects_bad_edges(edges):
    with pytest.raises(ValueError, match="edges"):
        M.binned_rate([1.0], [True], edges)


def test_rate_by_group_lists_every_label():
    out = M.rate_by_group(["A", "A", "C", "A"], [True, False, True, True], ("A", "B", "C"))
    assert out == {"A": M.Rate(2, 3), "B": M.Rate(0, 0), "C": M.Rate(1, 1)}


def test_far_calibration_numbers_and_tolerance():
    metrics = {"far_analytic": 0.1, "far_control": 0.12, "far_control_err": 0.01, "p_chance_sum": 5.0,
               "control": {"pairs": 96}}
    far = M.far_calibration(metrics, n_radio=100, n_false_pairs=9, n_false_best=4)
    assert far["analytic"]["err"] == pytest.approx(math.sqrt(10) / 100)
    assert far["truth_pairs"] == {"value": 0.09, "err": pytest.approx(0.03), "count": 9}
    assert far["truth_best"]["value"] == 0.04 and far["truth_best"]["err"] == pytest.approx(0.02)
    assert far["p_chance_sum_per_source"] == pytest.approx(0.05)
    assert far["analytic_vs_control"]["ratio"] == pytest.approx(0.1 / 0.12)
    assert far["analytic_vs_control"]["within_tolerance"] is True  # 1/1.2 − 1 = −16.7 %
    assert far["control"]["pairs"] == 96
    pull = (0.1 - 0.12) / math.sqrt((math.sqrt(10) / 100) ** 2 + 0.01 ** 2)
    assert far["analytic_vs_control"]["pull_sigma"] == pytest.approx(pull)
    worse = M.far_calibration({**metrics, "far_control": 0.13}, 100, 9, 4)
    assert worse["analytic_vs_control"]["within_tolerance"] is False  # −23 %


def test_expected_chance_sep_sigma_uniform_field():
    # σ = 1″, R = 2″, ρ = 1/π per arcsec²: π ρ σ² x² = x², cut at x = 2 → bins [0,1),[1,2),[2,3) get 1, 3, 0
    got = M.expected_chance_sep_sigma([1.0], [2.0], [1 / math.pi], [0, 1, 2, 3])
    assert got == pytest.approx([1.0, 3.0, 0.0])
    two = M.expected_chance_sep_sigma([1.0, 1.0], [2.0, 2.0], [1 / math.pi] * 2, [0, 1, 2, 3])
    assert two == pytest.approx([2.0, 6.0, 0.0])


def test_expected_and_observed_chance_cdf():
    rho = math.log(2) / math.pi  # R = 1″ → p_max = 1 − e^(−ln 2) = 0.5
    assert M.expected_chance_cdf([0.1, 0.5, 0.9], [1.0], [rho]) == pytest.approx([0.1, 0.5, 0.5])
    obs = M.observed_chance_cdf([0.005, 0.01, 0.5], [0.01, 0.1, np.nan], n_sources=4)
    assert list(obs) == [0.0, 0.25, 0.5]


def test_source_density_own_then_pixel_then_overall():
    pairs = pd.DataFrame({"radio_source_name": ["A", "A", "C"], "healpix": [5, 5, 7],
                          "local_density_per_arcsec2": [1e-3, 1e-3, 3e-3]})
    got = M.source_density(pd.Series(["A", "B", "C", "D"]), [5, 5, 7, 9], pairs)
    assert got == pytest.approx([1e-3, 1e-3, 3e-3, 1e-3])  # D: median of the pairs' values [1,1,3]e-3


def test_selection_curve_ge_and_le():
    score = [0.9, 0.8, 0.3, 0.95]
    true = [True, False, True, True]
    t = M.selection_curve(score, true, n_injected=4, thresholds=[0.5, 0.99], keep="ge")
    assert t.loc[0, ["n_selected", "n_true"]].tolist() == [3, 2]
    assert t.loc[0, "completeness"] == 0.5 and t.loc[0, "reliability"] == pytest.approx(2 / 3)
    assert t.loc[1, "n_selected"] == 0 and math.isnan(t.loc[1, "reliability"])
    le = M.selection_curve([1e-4, 1e-3, np.nan], [True, False, True], 3, [1e-3], keep="le")
    assert le.loc[0, ["n_selected", "n_true"]].tolist() == [2, 1]  # NaN is never selected
    with pytest.raises(ValueError, match="keep"):
        M.selection_curve(score, true, 4, [0.5], keep="gt")


def test_cut_at_completeness_picks_strictest_cut():
    p = [1e-4, 1e-3, 1e-2, 0.5]
    true = [True, False, True, False]
    cut = M.cut_at_completeness(p, true, n_injected=2, target=1.0, keep="le")
    assert cut["threshold"] == 1e-2 and cut["n_selected"] == 3 and cut["reliability"] == pytest.approx(2 / 3)
    half = M.cut_at_completeness(p, true, 2, 0.5, "le")
    assert half["threshold"] == 1e-4 and half["reliability"] == 1.0
    ge = M.cut_at_completeness([0.9, 0.7, 0.2], [True, False, True], 2, 1.0, "ge")
    assert ge["threshold"] == 0.2 and ge["n_selected"] == 3
    assert M.cut_at_completeness(p, true, 3, 1.0, "le")["threshold"] is None  # 3 needed, 2 true exist
    assert M.cut_at_completeness(p, true, 2, 0.0, "le")["n_selected"] == 0


def test_calibration_curve():
    t = M.calibration_curve([0.05, 0.15, 0.15, 0.95], [False, False, True, True], [0, 0.1, 0.2, 1.0])
    assert list(t["n"]) == [1, 2, 1]
    assert t["mean_predicted"].tolist() == pytest.approx([0.05, 0.15, 0.95])
    assert list(t["value"]) == [0.0, 0.5, 1.0]


def test_signal_to_noise_and_proper_motion():
    sn = M.signal_to_noise([10.0, 5.0], [2.0, 0.0])
    assert sn[0] == 5.0 and math.isnan(sn[1])
    pm = M.total_proper_motion([3.0, np.nan], [4.0, 1.0])
    assert pm[0] == 5.0 and math.isnan(pm[1])


def test_distance_requires_parallax_snr_above_5():
    d = M.distance_pc([10.0, 10.0, -1.0, np.nan, 10.0], [1.0, 2.5, 0.1, 1.0, 2.0])
    assert d[0] == pytest.approx(100.0)
    assert np.isnan(d[1:]).all()  # ϖ/σ = 4; negative; missing; exactly 5 is not > 5


def test_spectral_luminosity_matches_astropy_units():
    import astropy.units as u

    expected = (4 * math.pi * (10 * u.pc) ** 2 * (2 * u.mJy)).to(u.erg / u.s / u.Hz).value
    assert M.spectral_luminosity(2.0, 10.0) == pytest.approx(expected, rel=1e-9)
    assert np.isnan(M.spectral_luminosity(1.0, np.nan))


def test_galactic_lb_round_trip():
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    icrs = SkyCoord(l=[30.0, 300.0] * u.deg, b=[1.0, -0.5] * u.deg, frame="galactic").icrs
    l_deg, b_deg = M.galactic_lb(icrs.ra.deg, icrs.dec.deg)
    assert l_deg == pytest.approx([30.0, 300.0], abs=1e-9)
    assert b_deg == pytest.approx([1.0, -0.5], abs=1e-9)
    assert M.galactic_lb([], [])[0].size == 0
