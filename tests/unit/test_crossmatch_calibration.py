import json
import math

import numpy as np
import pandas as pd
import pytest

from radiostars.crossmatch import (
    DEFAULT_CUT_GRID,
    CrossmatchParams,
    calibrate_p_any_cut,
    control_p_any_per_source,
    control_radio_frame,
    crossmatch_partition,
    false_selection_curve,
    false_selection_rate,
)
from radiostars.crossmatch.calibration import max_selected

pytestmark = pytest.mark.unit

P4 = [0.1, 0.5, 0.5, 0.9]  # 4 matched control sources (a tie at 0.5) among N = 100


@pytest.mark.parametrize(
    "alpha, cut, k",
    [
        (0.04, 0.0, 4),  # k* = 4 >= m: no cut needed
        (0.05, 0.0, 4),
        (0.03, np.nextafter(0.1, 1), 3),  # k* = 3: just above the 4th largest (0.1)
        (0.02, np.nextafter(0.5, 1), 1),  # k* = 2: the 3rd largest is tied with the 2nd -> both excluded
        (0.01, np.nextafter(0.5, 1), 1),  # k* = 1
        (0.005, np.nextafter(0.9, 1), 0),  # k* = 0: above the largest
    ],
)
def test_cut_by_hand(alpha, cut, k):
    c = calibrate_p_any_cut(P4, 100, alpha)
    assert c.p_any_cut == cut and c.n_selected_at_cut == k and c.false_rate_at_cut == k / 100
    assert c.n_control_sources == 100 and c.target_false_rate == alpha
    # the cut is the smallest: one float lower selects too many (unless it is already 0)
    if cut > 0:
        assert false_selection_rate(P4, 100, np.nextafter(cut, -1))[0] > alpha


def test_order_and_duplicates_do_not_matter():
    a = calibrate_p_any_cut([0.9, 0.1, 0.5, 0.5], 100, 0.02)
    b = calibrate_p_any_cut(np.array(P4), np.int64(100), 0.02)
    assert a == b


def test_exact_cut_is_minimal_on_random_values_brute_force():
    rng = np.random.default_rng(5)
    for trial in range(40):
        m = int(rng.integers(0, 60))
        p = np.round(rng.uniform(0, 1, m), int(rng.integers(1, 4)))  # rounding makes ties
        n = m + int(rng.integers(1, 200))
        alpha = float(rng.uniform(0.001, 0.5))
        c = calibrate_p_any_cut(p, n, alpha)
        # brute force over every candidate threshold: 0 and just above each distinct value
        cands = np.r_[0.0, np.nextafter(np.unique(p), 2)]
        ok = [t for t in cands if np.count_nonzero(p >= t) / n <= alpha]
        assert c.p_any_cut == min(ok), trial
        assert c.n_selected_at_cut == np.count_nonzero(p >= c.p_any_cut)
        assert c.false_rate_at_cut <= alpha


def test_target_times_n_rounding():
    # 0.29 * 100 = 28.999999999999996 and 0.57 * 100 = 56.99999999999999 in float64
    assert max_selected(100, 0.29) == 29 and max_selected(100, 0.57) == 57
    assert max_selected(300, 0.01) == 3 and max_selected(99, 0.01) == 0 and max_selected(1, 0.999) == 0
    p = np.linspace(0.01, 0.99, 57)
    c = calibrate_p_any_cut(p, 100, 0.57)
    assert c.p_any_cut == 0.0 and c.n_selected_at_cut == 57


def test_empty_control_and_all_at_one():
    c = calibrate_p_any_cut([], 500, 0.01)
    assert c.p_any_cut == 0.0 and c.false_rate_at_cut == 0.0 and c.n_selected_at_cut == 0
    assert all(pt["n_selected"] == 0 for pt in c.curve)
    # more than alpha*N sources at p_any = 1.0: no cut in [0, 1] reaches the target, nothing is selected
    c = calibrate_p_any_cut([1.0, 1.0, 0.2], 10, 0.1)
    assert c.p_any_cut > 1.0 and c.n_selected_at_cut == 0


def test_curve_and_json():
    c = calibrate_p_any_cut(P4, 100, 0.02)
    cuts = [pt["p_any_cut"] for pt in c.curve]
    assert cuts == sorted(cuts) and set(DEFAULT_CUT_GRID) | {c.p_any_cut} == set(cuts)
    assert len(cuts) == len(DEFAULT_CUT_GRID) + 1
    byc = {pt["p_any_cut"]: pt for pt in c.curve}
    assert byc[0.0] == {"p_any_cut": 0.0, "false_rate": 0.04, "n_selected": 4}
    assert byc[0.1]["n_selected"] == 4 and byc[0.15]["n_selected"] == 3 and byc[0.5]["n_selected"] == 3
    assert byc[0.55]["n_selected"] == 1 and byc[0.9]["n_selected"] == 1 and byc[0.95]["n_selected"] == 0
    assert byc[c.p_any_cut]["n_selected"] == c.n_selected_at_cut
    d = c.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert set(d) == {
        "target_false_rate",
        "p_any_cut",
        "false_rate_at_cut",
        "n_selected_at_cut",
        "n_control_sources",
        "curve",
    }
    assert isinstance(d["curve"], list) and all(type(pt["n_selected"]) is int for pt in d["curve"])
    # the grid cut equal to the calibrated one appears once
    assert len(calibrate_p_any_cut([], 5, 0.1).curve) == len(DEFAULT_CUT_GRID)
    assert false_selection_curve(P4, 100, [0.5, 0.5, 0.0]) == [
        {"p_any_cut": 0.0, "false_rate": 0.04, "n_selected": 4},
        {"p_any_cut": 0.5, "false_rate": 0.03, "n_selected": 3},
    ]


def test_false_selection_rate_with_poisson_error():
    assert false_selection_rate(P4, 100, 0.5) == (0.03, math.sqrt(3) / 100)
    assert false_selection_rate(P4, 100, 0.0) == (0.04, 0.02)
    assert false_selection_rate(P4, 100, 0.95) == (0.0, 0.0)
    assert false_selection_rate([], 7, 0.3) == (0.0, 0.0)


@pytest.mark.parametrize(
    "p, n, alpha, match",
    [
        ([0.1, float("nan")], 10, 0.01, "control_p_any"),
        ([0.1, 1.5], 10, 0.01, "outside \\[0, 1\\]"),
        ([-0.1], 10, 0.01, "control_p_any"),
        ([0.1, 0.2], 1, 0.01, "n_control_sources"),
        ([0.1], 0, 0.01, "n_control_sources"),
        ([0.1], 2.0, 0.01, "n_control_sources"),
        ([0.1], True, 0.01, "n_control_sources"),
        ([0.1], 10, 0.0, "target_false_rate"),
        ([0.1], 10, 1.0, "target_false_rate"),
        ([0.1], 10, float("nan"), "target_false_rate"),
        ([[0.1]], 10, 0.01, "1-D"),
    ],
)
def test_validation(p, n, alpha, match):
    with pytest.raises(ValueError, match=match):
        calibrate_p_any_cut(p, n, alpha)


def test_false_selection_rate_validation():
    with pytest.raises(ValueError, match="cut"):
        false_selection_rate(P4, 100, float("nan"))
    with pytest.raises(ValueError, match="n_control_sources"):
        false_selection_rate(P4, 0, 0.5)


def test_control_p_any_per_source():
    pairs = pd.DataFrame({"radio_id": ["a#c0", "a#c0", "b#c1", "c#c0"], "p_any": [0.3, 0.3, 0.7, 0.0]})
    assert control_p_any_per_source(pairs).tolist() == [0.3, 0.7, 0.0]
    assert control_p_any_per_source(pairs.iloc[:0]).size == 0
    with pytest.raises(ValueError, match="p_any"):
        control_p_any_per_source(pairs[["radio_id"]])


# --- a field with no counterparts: the cut calibrated on one draw holds on an independent draw -----------


def _uniform_patch(rng, n, ra0, dec0, half_deg):
    z = rng.uniform(np.sin(np.deg2rad(dec0 - half_deg)), np.sin(np.deg2rad(dec0 + half_deg)), n)
    return rng.uniform(ra0 - half_deg, ra0 + half_deg, n) % 360, np.rad2deg(np.arcsin(z))


def _radio(rng, n, prefix):
    ra, dec = _uniform_patch(rng, n, 200.0, -30.0, 0.85)  # density annuli and 1' shifts stay inside the field
    return pd.DataFrame(
        dict(
            radio_id=[f"{prefix}{i}" for i in range(n)],
            ra_deg=ra,
            dec_deg=dec,
            sigma_radio_arcsec=rng.uniform(0.5, 2.5, n),
            epoch_yr=2019.5,
        )
    )


def test_calibrated_cut_reproduces_target_rate_on_an_independent_random_field():
    """Nothing real in the field: every radio source's candidates are chance alignments.

    Draw 1 (1,500 radio positions x 8 shifted copies = 12,000 control sources) calibrates the cut; draw 2
    (12,000 independent random radio positions, matched as a science run) must then select the target
    fraction within the Poisson error of both draws (3 sigma). It fails e.g. if N counted only the
    matched control sources (the cut would select ~10x too few) or if the cut came from the grid.
    """
    rng = np.random.default_rng(2024)
    params = CrossmatchParams(prior_completeness=0.2, healpix_order=5)
    ora, odec = _uniform_patch(rng, 40_000, 200.0, -30.0, 1.0)  # 1e4 per deg^2
    opt = pd.DataFrame(
        dict(
            optical_id=np.arange(ora.size),
            ra_deg=ora,
            dec_deg=odec,
            ref_epoch_yr=2016.0,
            ra_error_mas=rng.uniform(0.05, 1.0, ora.size),
            dec_error_mas=rng.uniform(0.05, 1.0, ora.size),
            pmra_mas_yr=rng.normal(0, 5, ora.size),
            pmdec_mas_yr=rng.normal(0, 5, ora.size),
            pmra_error_mas_yr=0.05,
            pmdec_error_mas_yr=0.05,
        )
    )
    ctl = control_radio_frame(_radio(rng, 1500, "r"), params.control_offsets())
    cal_pairs = crossmatch_partition(ctl, opt, params).pairs
    sci = _radio(rng, len(ctl), "s")
    sci_pairs = crossmatch_partition(sci, opt, params).pairs
    n1, n2 = len(ctl), len(sci)
    p1, p2 = control_p_any_per_source(cal_pairs), control_p_any_per_source(sci_pairs)
    assert 0.05 < p1.size / n1 < 0.5 and p1.max() > 0.9  # a meaningful p_any distribution
    for alpha in (0.01, params.target_false_rate, 0.03):
        cal = calibrate_p_any_cut(p1, n1, alpha)
        assert 0.0 < cal.p_any_cut < 1.0
        assert alpha - 1.0 / n1 < cal.false_rate_at_cut <= alpha  # exact on the calibration draw
        rate, err = false_selection_rate(p2, n2, cal.p_any_cut)
        sigma = math.sqrt(alpha / n1 + alpha / n2)
        assert abs(rate - alpha) < 3 * sigma, (alpha, cal.p_any_cut, rate, err)
        # N = matched sources only would be a much stricter cut: far off target on draw 2
        wrong = calibrate_p_any_cut(p1, p1.size, alpha)
        assert false_selection_rate(p2, n2, wrong.p_any_cut)[0] < alpha - 3 * sigma
