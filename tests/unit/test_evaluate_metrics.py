"""Metric functions of radiostars.evaluate on hand-made inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from radiostars.evaluate import metrics as M
from tests.dbt_unit_cases import dbt_unit_test

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


DBT = M.PROJECT_ROOT / "dbt_project"


def _dbt_hand_cases() -> list[tuple]:
    """The hand cases of the dbt unit test ``reliability_class_hand_cases`` (radio_star_candidates.yml: one
    source of cases for both implementations): (label, p_any, p_i, p_chance, n_candidates, near, cut, expected);
    near is None when the run has no known-objects snapshot."""
    test = dbt_unit_test("reliability_class_hand_cases")
    runs = {r["run_id"]: r for r in test["given"]["ref('stg_crossmatch_runs')"]}
    near = {(n["run_id"], n["radio_source_name"]) for n in test["given"]["ref('int_known_object_proximity')"]}
    expected = {(e["run_id"], e["radio_source_name"]): e["reliability_class"] for e in test["expect"]}
    rows = []
    for c in test["given"]["ref('int_candidates_physics')"]:
        run, key = runs[c["run_id"]], (c["run_id"], c["radio_source_name"])
        is_near = (key in near) if run["known_objects_source"] != "none" else None
        num = lambda v: None if v is None else float(v)  # noqa: E731
        rows.append(
            (
                c["optical_name"],
                num(c["p_any"]),
                num(c["p_i"]),
                float(c["p_chance"]),
                int(c["n_candidates"]),
                is_near,
                num(run["p_any_cut"]),
                expected[key],
            )
        )
    return rows


def test_reliability_class_thresholds_are_the_dbt_vars():
    import yaml

    dbt_vars = yaml.safe_load((DBT / "dbt_project.yml").read_text())["vars"]
    rule = M.class_rule()
    for name in rule.__dataclass_fields__:
        want = dbt_vars[name]
        assert getattr(rule, name) == (tuple(want) if isinstance(want, list) else want), name
    # every var the SQL rule uses is one the Python rule reads (no threshold only one side knows)
    import re

    macro = (DBT / "macros" / "reliability_class.sql").read_text()
    used = set(re.findall(r"var\('([a-z_]+)'\)", macro))
    assert used and used <= set(rule.__dataclass_fields__)
    assert M.CLASSES == ("A", "B", "C")


def test_reliability_class_on_the_dbt_hand_cases():
    cases = _dbt_hand_cases()
    assert len(cases) >= 15 and {c[-1] for c in cases} == {"A", "B", "C"}
    _, p_any, p_i, p_chance, n_cand, near, cut, expected = zip(*cases)
    got = M.reliability_class(p_chance, p_any, p_i, n_candidates=n_cand, near_known_nonstellar=near, p_any_cut=cut)
    assert dict(zip((c[0] for c in cases), got)) == dict(zip((c[0] for c in cases), expected))
    for case in cases:  # one at a time, scalars: the same answers
        label, pa_, pi_, pc, nc, nr, ct, exp = case
        assert (
            M.reliability_class([pc], [pa_], [pi_], n_candidates=[nc], near_known_nonstellar=[nr], p_any_cut=ct)[0]
            == exp
        ), label


def test_reliability_class_without_flags_or_bayes_columns():
    rule = M.ClassRule(
        class_a_p_any=0.9,
        class_a_p_i=0.9,
        class_b_p_i=0.5,
        p_any_cut_uncalibrated=0.5,
        class_a_p_chance=0.001,
        class_b_p_chance=0.01,
        near_known_arcsec=10.0,
        nonstellar_types=("AGN",),
    )
    # no known-objects snapshot (flag unknown for all) → never A; no n_candidates → no p_chance-path A
    got = M.reliability_class([0.0005, 0.005, 0.5, np.nan], rule=rule)
    assert list(got) == ["B", "B", "C", "C"]
    got = M.reliability_class([0.0005, 0.0005], n_candidates=[1, 1], near_known_nonstellar=[False, True], rule=rule)
    assert list(got) == ["A", "C"]
    # NaN p_any counts as missing (p_chance path), a per-row cut, NaN cut → the uncalibrated cut 0.5
    got = M.reliability_class(
        [0.5, 0.5, 0.5],
        [np.nan, 0.95, 0.6],
        [0.95, 0.95, 0.6],
        near_known_nonstellar=[False, False, False],
        p_any_cut=[0.8, 0.96, np.nan],
        rule=rule,
    )
    assert list(got) == ["C", "C", "B"]
    with pytest.raises(ValueError, match="near_known_nonstellar: 1 values for 2"):
        M.reliability_class([0.1, 0.2], near_known_nonstellar=[True], rule=rule)


def test_near_known_nonstellar_flag_within_the_radius_and_types():
    rule = M.class_rule()
    known = pd.DataFrame(
        {"ra_deg": [10.0, 10.0, 359.9990], "dec_deg": [0.0025, -0.003, 0.0], "object_type": ["AGN", "Star", "PN"]}
    )
    ra = np.array([10.0, 10.0, 0.0015, 50.0])
    dec = np.array([0.0, -0.003, 0.0, 0.0])
    # 9″ from an AGN → near; on a Star only → not; across RA 0/360, 9″ from a PN → near; far → not
    assert list(M.near_known_nonstellar(ra, dec, known, rule)) == [True, False, True, False]
    far = known.assign(dec_deg=known["dec_deg"] + 0.0004)  # the AGN now 10.44″ away
    assert list(M.near_known_nonstellar(ra[:1], dec[:1], far, rule)) == [False]
    assert M.near_known_nonstellar(ra, dec, None, rule) is None
    assert list(M.near_known_nonstellar(ra, dec, known.iloc[0:0], rule)) == [False] * 4


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
    metrics = {
        "far_analytic": 0.1,
        "far_control": 0.12,
        "far_control_err": 0.01,
        "p_chance_sum": 5.0,
        "control": {"pairs": 96},
    }
    far = M.far_calibration(metrics, n_radio=100, n_false_pairs=9, n_false_best=4)
    assert far["analytic"]["err"] == pytest.approx(math.sqrt(10) / 100)
    assert far["truth_pairs"] == {"value": 0.09, "err": pytest.approx(0.03), "count": 9}
    assert far["truth_best"]["value"] == 0.04 and far["truth_best"]["err"] == pytest.approx(0.02)
    assert far["p_chance_sum_per_source"] == pytest.approx(0.05)
    assert far["analytic_vs_control"]["ratio"] == pytest.approx(0.1 / 0.12)
    assert far["analytic_vs_control"]["within_tolerance"] is True  # 1/1.2 − 1 = −16.7 %
    assert far["control"]["pairs"] == 96
    pull = (0.1 - 0.12) / math.sqrt((math.sqrt(10) / 100) ** 2 + 0.01**2)
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
    pairs = pd.DataFrame(
        {"radio_source_name": ["A", "A", "C"], "healpix": [5, 5, 7], "local_density_per_arcsec2": [1e-3, 1e-3, 3e-3]}
    )
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


def test_compare_at_equal_completeness_on_a_hand_made_truth_table():
    # 4 injected stars (T1..T4) and 3 false best candidates; columns: p_any, p_chance, true?
    table = pd.DataFrame(
        [
            ("T1", 0.99, 0.004, True),
            ("T2", 0.95, 0.0005, True),
            ("T3", 0.60, 0.02, True),
            ("T4", 0.40, 0.03, True),
            ("F1", 0.30, 0.0001, False),
            ("F2", 0.50, 0.05, False),
            ("F3", 0.98, 0.2, False),
        ],
        columns=["name", "p_any", "p_chance", "true"],
    )
    t = M.compare_at_equal_completeness(
        table["p_any"], table["p_chance"], table["true"], 4, [0.25, 0.5, 0.75, 1.0, 1.25]
    )
    # 1 star: p_any ≥ 0.99 keeps T1 alone; p_chance ≤ 0.0005 needs F1 too
    assert t.loc[
        0, ["p_any_threshold", "p_any_reliability", "p_chance_threshold", "p_chance_reliability"]
    ].tolist() == [0.99, 1.0, 0.0005, 0.5]
    # 2 stars: {T1, F3, T2} vs {F1, T2, T1}; 3 stars: + T3 on both sides
    assert t["p_any_reliability"].tolist()[1:3] == pytest.approx([2 / 3, 3 / 4])
    assert t["p_chance_reliability"].tolist()[1:3] == pytest.approx([2 / 3, 3 / 4])
    # 4 stars: p_any ≥ 0.40 takes all 7 but F1 (4/6); p_chance ≤ 0.03 all but F2, F3 (4/5)
    assert t.loc[3, ["p_any_n_selected", "p_chance_n_selected"]].tolist() == [6, 5]
    assert t.loc[3, "reliability_gain"] == pytest.approx(4 / 6 - 4 / 5)
    assert t["purer"].tolist() == ["p_any", "equal", "equal", "p_chance", None]  # 5 stars: unreachable
    assert math.isnan(t.loc[4, "reliability_gain"])


def test_false_selection_rate_counts_every_source_without_a_counterpart():
    # 10 star-less radio sources, 3 with a (chance) best candidate
    r = M.false_selection_rate([0.9, 0.5, np.nan], 0.8, 10)
    assert (r.k, r.n) == (1, 10)
    assert M.false_selection_rate([0.9, 0.5, np.nan], 0.5, 10).k == 2  # the cut is inclusive
    assert M.false_selection_rate([1e-4, 0.02], 0.01, 5, keep="le") == M.Rate(1, 5)
    with pytest.raises(ValueError, match="3 selected among 2"):
        M.false_selection_rate([0.9, 0.9, 0.9], 0.5, 2)


def test_p_i_calibration_of_a_calibrated_and_an_overconfident_score():
    # 10 pairs at p = 0.8 of which 8 true, 10 at p = 0.2 of which 2 true: calibrated, on the diagonal
    p = [0.8] * 10 + [0.2] * 10
    true = [True] * 8 + [False] * 2 + [True] * 2 + [False] * 8
    t = M.calibration_curve(p, true, [0, 0.5, 1.0])
    assert t["mean_predicted"].tolist() == pytest.approx(t["value"].tolist())
    # the same truth scored at 0.99 / 0.01: observed 0.8 / 0.2 — overconfident, off the diagonal
    t = M.calibration_curve([0.99] * 10 + [0.01] * 10, true, [0, 0.5, 1.0])
    assert t["value"].tolist() == pytest.approx([0.2, 0.8]) and t["mean_predicted"].tolist() == pytest.approx(
        [0.01, 0.99]
    )
    assert all(lo <= v <= hi for v, lo, hi in zip(t["value"], t["lo"], t["hi"]))


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
