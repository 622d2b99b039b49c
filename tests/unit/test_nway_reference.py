"""Our Bayesian cross-identification against the reference implementation, NWAY 4.x (``nwaylib``).

How NWAY's quantities map onto ours (nwaylib 4.8.0, ``nway_match`` with two catalogues, no
magnitude priors; read from its source):

* ``dist_bayesfactor`` is **log10** B (``bayesdistance.log_bf``: (ln 2 + 2 ln(206264.8…) − ln s² −
  ψ²/2s²)·log10 e with ψ, s in arcsec) → ln B = ln 10 · dist_bayesfactor. Same BS08 eq. 16 as ours.
* Its error per catalogue is one circular σ in arcsec and s² = σ_1² + σ_2². We give it the radio
  σ with our systematic term folded in, sqrt(σ_radio² + σ_sys²), and the optical σ at the radio
  epoch, sqrt((σ_α*² + σ_δ²)/2), at the optical position propagated to the radio epoch (NWAY does no
  epoch propagation; here astropy's ``apply_space_motion`` does it, independently of our code).
* Prior (``_compute_source_densities``, ``_compute_single_log_bf``): a scalar completeness c becomes
  (1, c); P = c / ν₊_allsky with ν₊_allsky = (N_opt + 1)/Ω · 4π (the "+1" allows the counterpart to
  be absent from the catalogue), one value for the whole field of area Ω. Ours is
  P = c/(4π ρ) per radio source; feeding ρ = (N_opt + 1)/Ω gives NWAY's prior exactly.
* ``p_single``, ``prob_has_match`` = p_any and ``prob_this_match`` = p_i (``_compute_final_probabilities``):
  the "no counterpart" row (ncat = 1) has B = 1 and P = 1, so p_any = Σw/(1 + Σw), p_i = w_i/Σw with
  w = B·P, like ours.
* Candidates: NWAY keeps ψ < match_radius, we keep ψ ≤ R; with a fixed R (r_min = r_max) the sets agree.

What cannot be made bit-equal, and why: the separation. A float64 RA of 150° has a resolution of
ulp(150°) = 2.8e-14° = 1.0e-10″, so two correct implementations differ by ~1e-10″ in ψ (both are within
that of a long-double computation), which moves ln B by (ψ₁² − ψ₂²)/(2 s²) ≈ 1e-9 for ψ/s ≈ 10. The tests
therefore check (a) ψ to a few ulp, (b) that after removing exactly that term ln B agrees to 1e-12, (c)
ln B from our formula on NWAY's own ψ to 1e-12 and (d), in a field at RA ≈ 1° where the ulp is 100x
smaller, ln B end to end to 1e-9. p_any and p_i agree to 1e-6 end to end (in practice ~1e-10).

Known NWAY limitation found on the way (not a difference of definitions): when every source lies at
|δ| < 45° and away from RA 0/360, ``fastskymatch.crossproduct`` hashes positions on a flat RA/Dec grid
of cell = match radius in *degrees of RA*, so a pair closer than the radius but with ΔRA > radius
(possible when |δ| > 0) can be missed: at δ = 40°, 23 % of pairs at 0.95 R along RA were missed. The
fields here are at |δ| < 0.5° (ΔRA ≤ 1.00004 ψ) and the tests check the candidate sets are identical.

Importing ``nwaylib.fastskymatch`` creates ./cache (a joblib cache of ``crossproduct``): we import it from
a scratch folder and call the uncached function.
"""

from __future__ import annotations

import os
import warnings
from unittest import mock

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord
from astropy.time import Time

from radiostars.crossmatch import CrossmatchParams, crossmatch_partition
from radiostars.crossmatch.bayes import ln_bayes_factor, nway_probabilities, posterior_single, prior_from_density
from radiostars.crossmatch.posterior import cross_fit_fold

pytestmark = pytest.mark.unit

LN10 = np.log(10.0)
R = 8.0  # fixed match radius (arcsec): r_min = r_max
SIGMA_SYS = 0.5
COMPLETENESS = 0.3


@pytest.fixture(scope="module")
def nwaylib(tmp_path_factory):
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("nway"))
    try:
        import nwaylib as lib
        import nwaylib.fastskymatch  # noqa: F401  (makes ./cache here)
    finally:
        os.chdir(cwd)
    assert lib.__version__.split(".")[0] == "4", lib.__version__
    return lib


def _box_area_deg2(ra0, dec0, half):
    return np.rad2deg(
        np.deg2rad(2 * half) * (np.sin(np.deg2rad(dec0 + half)) - np.sin(np.deg2rad(dec0 - half)))
    ) * np.rad2deg(1.0)


def _box(rng, n, ra0, dec0, half):
    z = rng.uniform(np.sin(np.deg2rad(dec0 - half)), np.sin(np.deg2rad(dec0 + half)), n)
    return rng.uniform(ra0 - half, ra0 + half, n), np.rad2deg(np.arcsin(z))


def _field(seed, ra0, dec0, *, half=0.1, n_opt=2000, n_radio=200, dt_yr=0.0):
    """Optical stars uniform in a box; half the radio sources on a star (Gaussian offset at the radio
    epoch), the rest random; plus a source exactly on a star (ψ = 0), one in a tight group of 6 stars,
    one with a huge σ and — with dt_yr — a 5″/yr star whose σ grows with Δt."""
    rng = np.random.default_rng(seed)
    ora, odec = _box(rng, n_opt, ra0, dec0, half * 0.98)
    # a tight group of 6 stars around one point
    gi = np.arange(6)
    ora[gi] = ra0 + 0.02 + rng.normal(0, 1.5, 6) / 3600
    odec[gi] = dec0 + 0.02 + rng.normal(0, 1.5, 6) / 3600
    ea, ed = rng.uniform(20, 800, n_opt), rng.uniform(20, 800, n_opt)  # mas, RA* and Dec differ
    moving = dt_yr != 0.0
    pmra = rng.normal(0, 20, n_opt) if moving else np.full(n_opt, np.nan)
    pmdec = rng.normal(0, 20, n_opt) if moving else np.full(n_opt, np.nan)
    epa, epd = rng.uniform(0.02, 0.5, n_opt), rng.uniform(0.02, 0.5, n_opt)
    if moving:  # a very fast star with a poor proper motion
        pmra[6], pmdec[6], epa[6], epd[6] = 3000.0, -4000.0, 100.0, 150.0
    opt = pd.DataFrame(
        dict(
            optical_id=np.arange(n_opt, dtype=np.int64),
            ra_deg=ora,
            dec_deg=odec,
            ref_epoch_yr=2016.0,
            ra_error_mas=ea,
            dec_error_mas=ed,
            pmra_mas_yr=pmra,
            pmdec_mas_yr=pmdec,
            pmra_error_mas_yr=epa,
            pmdec_error_mas_yr=epd,
        )
    )
    # optical at the radio epoch, by astropy (independent of our propagation)
    t_radio = 2016.0 + dt_yr
    if moving:
        c = SkyCoord(
            ra=ora * u.deg,
            dec=odec * u.deg,
            pm_ra_cosdec=pmra * u.mas / u.yr,
            pm_dec=pmdec * u.mas / u.yr,
            obstime=Time(2016.0, format="jyear", scale="tdb"),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ERFA: no distance given
            c2 = c.apply_space_motion(new_obstime=Time(t_radio, format="jyear", scale="tdb"))
        ora_t, odec_t = c2.ra.deg, c2.dec.deg
        sa, sd = np.hypot(ea, epa * dt_yr), np.hypot(ed, epd * dt_yr)
    else:
        ora_t, odec_t, sa, sd = ora, odec, ea, ed
    sigma_opt = np.sqrt((sa**2 + sd**2) / 2) / 1000.0  # arcsec at the radio epoch

    rra, rdec = _box(rng, n_radio, ra0, dec0, half * 0.9)
    sr = rng.uniform(0.3, 2.0, n_radio)
    k = n_radio // 2
    on = np.r_[rng.choice(np.arange(7, n_opt), k - 3, replace=False), 0, 6, 7]  # 0: group, 6: fast star
    s_tot = np.sqrt(sr[:k] ** 2 + SIGMA_SYS**2 + sigma_opt[on] ** 2)  # per axis
    off = rng.normal(0, 1, (k, 2)) * s_tot[:, None] / 3600
    off[-1] = 0.0  # exactly on star 7 (ψ = 0)
    sr[3] = 30.0  # a counterpart with a huge σ: weak evidence
    rdec[:k] = odec_t[on] + off[:, 1]
    rra[:k] = ora_t[on] + off[:, 0] / np.cos(np.deg2rad(odec_t[on]))
    radio = pd.DataFrame(
        dict(radio_id=np.arange(n_radio), ra_deg=rra, dec_deg=rdec, sigma_radio_arcsec=sr, epoch_yr=t_radio)
    )
    nway_tables = [
        dict(
            name="radio",
            ra=rra,
            dec=rdec,
            error=np.sqrt(sr**2 + SIGMA_SYS**2),
            area=_box_area_deg2(ra0, dec0, half),
            mags=[],
            magnames=[],
            maghists=[],
        ),
        dict(
            name="opt",
            ra=ora_t,
            dec=odec_t,
            error=sigma_opt,
            area=_box_area_deg2(ra0, dec0, half),
            mags=[],
            magnames=[],
            maghists=[],
        ),
    ]
    rho_nway = (n_opt + 1) / (_box_area_deg2(ra0, dec0, half) * 3600.0**2)  # NWAY's (N+1)/Ω, per arcsec²
    opt.attrs["counterpart_ids"] = on  # the stars the first k radio sources sit on
    return radio, opt, nway_tables, rho_nway


def _run_nway(lib, tables):
    fsm = lib.fastskymatch
    uncached = getattr(fsm.crossproduct, "func", fsm.crossproduct)  # joblib.Memory-wrapped in 4.8.0
    with mock.patch.object(fsm, "crossproduct", uncached), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pandas groupby.apply inside nwaylib
        out = lib.nway_match(tables, match_radius=R, prior_completeness=COMPLETENESS, logger=lib.NullOutputLogger())
    return out.reset_index(drop=True)


def _compare(lib, radio, opt, tables):
    """Our pairs (crossmatch_partition, local-density prior) joined with NWAY's rows (prefix nw_)."""
    params = CrossmatchParams(
        radius_arcsec=R, r_min_arcsec=R, sigma_sys_arcsec=SIGMA_SYS, prior_completeness=COMPLETENESS
    )
    ours = crossmatch_partition(radio, opt, params).pairs
    nw = _run_nway(lib, tables)
    assert (nw.loc[nw["ncat"] == 1, "prob_this_match"] == 0).all() and (nw["ncat"] == 1).sum() == len(radio)
    nw = nw[nw["ncat"] == 2].add_prefix("nw_")
    m = ours.merge(nw, left_on=["radio_id", "optical_id"], right_on=["nw_radio", "nw_opt"], how="outer", indicator=True)
    assert (m["_merge"] == "both").all(), m["_merge"].value_counts()  # identical candidate sets
    return m, params


@pytest.mark.parametrize("seed, ra0, dec0", [(1, 1.0, 0.3), (2, 150.0, -0.2)])
def test_equal_to_nway_same_epoch(nwaylib, seed, ra0, dec0):
    """ulp(1°) = 8e-13″ (ln B end to end to 1e-9); ulp(150°) = 1.0e-10″ (ln B up to the ψ rounding term)."""
    radio, opt, tables, rho_nway = _field(seed, ra0, dec0)
    psi_tol_arcsec = 4 * np.spacing(ra0 + 0.1) * 3600.0  # a few ulp of the RA
    m, params = _compare(nwaylib, radio, opt, tables)
    assert len(m) > 150 and m.groupby("radio_id").size().max() >= 5  # one vs many candidates
    assert m.loc[m["radio_id"] == 3, "sigma_arcsec"].min() > 29  # the huge-σ source has its candidate
    psi, psi_nw, s = m["sep_arcsec"].to_numpy(), m["nw_Separation_radio_opt"].to_numpy(), m["sigma_arcsec"].to_numpy()
    lnb, lnb_nw = m["ln_bayes_factor"].to_numpy(), LN10 * m["nw_dist_bayesfactor"].to_numpy()
    assert psi.min() == 0.0 and lnb.min() < -20 and lnb.max() > 20  # ψ = 0, and a wide range of ln B
    # σ: ours from ra/dec errors and σ_sys == NWAY's two circular errors
    np.testing.assert_allclose(
        s**2, tables[0]["error"][m["radio_id"]] ** 2 + tables[1]["error"][m["optical_id"]] ** 2, rtol=1e-14
    )
    # (a) separations to float64 resolution, (b) ln B identical up to that ψ rounding, (c) same ψ -> same ln B
    assert np.abs(psi - psi_nw).max() <= psi_tol_arcsec
    np.testing.assert_allclose(lnb - lnb_nw, -(psi**2 - psi_nw**2) / (2 * s**2), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ln_bayes_factor(psi_nw, s), lnb_nw, rtol=0, atol=1e-12)
    if psi_tol_arcsec < 1e-11:
        np.testing.assert_allclose(lnb, lnb_nw, rtol=0, atol=1e-9)  # (d) end to end
    # posteriors with NWAY's prior: P = c/(4π ν₊), ν₊ = (N+1)/Ω
    prior = prior_from_density(rho_nway, params.prior_completeness)
    p_any, p_i = nway_probabilities(m["radio_id"].to_numpy(), lnb, prior)
    np.testing.assert_allclose(posterior_single(lnb, prior), m["nw_p_single"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(p_any, m["nw_prob_has_match"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(p_i, m["nw_prob_this_match"], rtol=0, atol=1e-6)
    # on NWAY's own ln B the posteriors agree to rounding
    p_any2, p_i2 = nway_probabilities(m["radio_id"].to_numpy(), lnb_nw, prior)
    np.testing.assert_allclose(p_any2, m["nw_prob_has_match"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(p_i2, m["nw_prob_this_match"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(posterior_single(lnb_nw, prior), m["nw_p_single"], rtol=0, atol=1e-12)
    assert m["nw_prob_has_match"].max() > 0.75 and m["nw_prob_has_match"].min() < 0.01  # a wide range of p_any
    # the pipeline's p_i does not depend on the prior (one P per radio source): equal as it is
    np.testing.assert_allclose(m["p_i"], m["nw_prob_this_match"], rtol=0, atol=1e-6)


def test_equal_to_nway_at_the_radio_epoch_with_proper_motions(nwaylib):
    """Radio epoch 2020.0, Gaia-like epoch 2016.0: NWAY gets astropy-propagated positions and
    σ(t)² = σ_pos² + (σ_pm Δt)²; we propagate ourselves. The 5″/yr star (σ_pm ~ 0.1″/yr) is matched
    with σ_opt ≈ 0.5″ at the radio epoch."""
    radio, opt, tables, rho_nway = _field(3, 150.0, 0.2, dt_yr=4.0)
    m, params = _compare(nwaylib, radio, opt, tables)
    fast = m[m["optical_id"] == 6]
    assert len(fast) >= 1 and fast["sigma_opt_arcsec"].iloc[0] > 0.4
    psi, psi_nw, s = m["sep_arcsec"].to_numpy(), m["nw_Separation_radio_opt"].to_numpy(), m["sigma_arcsec"].to_numpy()
    lnb, lnb_nw = m["ln_bayes_factor"].to_numpy(), LN10 * m["nw_dist_bayesfactor"].to_numpy()
    np.testing.assert_allclose(m["sigma_opt_arcsec"], tables[1]["error"][m["optical_id"]], rtol=1e-13)
    assert np.abs(psi - psi_nw).max() < 1e-9  # our propagation vs astropy's: < 1e-9″
    np.testing.assert_allclose(lnb - lnb_nw, -(psi**2 - psi_nw**2) / (2 * s**2), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ln_bayes_factor(psi_nw, s), lnb_nw, rtol=0, atol=1e-12)
    prior = prior_from_density(rho_nway, params.prior_completeness)
    p_any, p_i = nway_probabilities(m["radio_id"].to_numpy(), lnb, prior)
    np.testing.assert_allclose(p_any, m["nw_prob_has_match"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(p_i, m["nw_prob_this_match"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(fast["p_i"], fast["nw_prob_this_match"], rtol=0, atol=1e-6)
    assert fast["nw_prob_this_match"].max() > 0.9


def test_local_density_prior_vs_nway_whole_field_prior(nwaylib):
    """Where our prior deliberately differs: a field whose east half is 4x denser than its west half.

    NWAY uses one prior for the field (mean density); ours uses the density around each radio source.
    p_i is the same (the prior is common to a source's candidates and cancels); the odds of p_any
    scale by exactly P_local/P_NWAY ≈ ν_field/ν_local: ≈ 0.63 in the dense half (NWAY over-confident there)
    and ≈ 2.5 in the sparse half (NWAY under-confident)."""
    rng = np.random.default_rng(7)
    ra0, dec0, half = 150.0, 0.0, 0.25
    n_w, n_e = 2000, 8000
    wra, wdec = _box(rng, n_w, ra0, dec0, half)
    wra = ra0 - half + (wra - (ra0 - half)) / 2  # west half
    era, edec = _box(rng, n_e, ra0, dec0, half)
    era = ra0 + (era - (ra0 - half)) / 2  # east half
    ora, odec = np.r_[wra, era], np.r_[wdec, edec]
    n_opt = ora.size
    opt = pd.DataFrame(
        dict(
            optical_id=np.arange(n_opt, dtype=np.int64),
            ra_deg=ora,
            dec_deg=odec,
            ref_epoch_yr=2019.0,
            ra_error_mas=100.0,
            dec_error_mas=100.0,
            pmra_mas_yr=np.nan,
            pmdec_mas_yr=np.nan,
        )
    )
    # radio sources well inside each half (density annuli 30-180″ do not cross the boundary or the edge)
    n_r = 150
    rra = np.r_[rng.uniform(ra0 - half + 0.06, ra0 - 0.06, n_r), rng.uniform(ra0 + 0.06, ra0 + half - 0.06, n_r)]
    rdec = rng.uniform(dec0 - half + 0.06, dec0 + half - 0.06, 2 * n_r)
    # some real counterparts: stars well inside either half replace the first 80 radio positions
    inner = np.flatnonzero(
        (np.abs(ora - ra0) > 0.06) & (np.abs(ora - ra0) < half - 0.06) & (np.abs(odec - dec0) < half - 0.06)
    )
    star = rng.choice(inner, 80, replace=False)
    rra[:80] = ora[star] + rng.normal(0, 0.5, 80) / 3600
    rdec[:80] = odec[star] + rng.normal(0, 0.5, 80) / 3600
    sr = rng.uniform(0.5, 1.5, 2 * n_r)
    radio = pd.DataFrame(
        dict(radio_id=np.arange(2 * n_r), ra_deg=rra, dec_deg=rdec, sigma_radio_arcsec=sr, epoch_yr=2019.0)
    )
    area = _box_area_deg2(ra0, dec0, half)
    tables = [
        dict(
            name="radio",
            ra=rra,
            dec=rdec,
            error=np.sqrt(sr**2 + SIGMA_SYS**2),
            area=area,
            mags=[],
            magnames=[],
            maghists=[],
        ),
        dict(name="opt", ra=ora, dec=odec, error=np.full(n_opt, 0.1), area=area, mags=[], magnames=[], maghists=[]),
    ]
    m, params = _compare(nwaylib, radio, opt, tables)
    assert len(m) > 150
    p_nway = prior_from_density((n_opt + 1) / (area * 3600.0**2), COMPLETENESS)
    ratio = m["prior"].to_numpy() / p_nway
    east = rra[m["radio_id"].to_numpy()] > ra0
    mean_density, dense, sparse = (n_w + n_e) / 2, n_e, n_w  # per half-field area
    assert np.median(ratio[east]) == pytest.approx(mean_density / dense, rel=0.1)
    assert np.median(ratio[~east]) == pytest.approx(mean_density / sparse, rel=0.1)
    # p_i: identical; p_any: odds scale by exactly the prior ratio
    np.testing.assert_allclose(m["p_i"], m["nw_prob_this_match"], rtol=0, atol=1e-6)
    # (NWAY forms p_any as 1 − 10^(−log10(1 + Σw)): relative rounding ~1e-16/p_any, so skip p_any < 1e-8)
    ok = (m["p_any"] < 0.999) & (m["nw_prob_has_match"] < 0.999) & (m["nw_prob_has_match"] > 1e-8)
    assert ok.sum() > 50
    odds = m["p_any"] / (1 - m["p_any"])
    odds_nw = m["nw_prob_has_match"] / (1 - m["nw_prob_has_match"])
    np.testing.assert_allclose((odds / odds_nw)[ok], ratio[ok], rtol=1e-6)
    # so with the whole-field prior every p_any is too high in the dense half and too low in the sparse one
    lower = (m["p_any"] < m["nw_prob_has_match"]).to_numpy()
    assert lower[east & ok].all() and not lower[~east & ok].any()


# ---- with property priors: NWAY's --mag with our learned histograms -----------------------------------------


def _with_properties(seed, ra0, dec0):
    """The _field sky with optical properties: G and a colour, the counterparts bright and red, the field faint
    and blue; a few values missing (NaN: neutral, ratio 1, in both codes)."""
    radio, opt, tables, rho_nway = _field(seed, ra0, dec0)
    rng = np.random.default_rng(seed + 100)
    n = len(opt)
    g = 14.0 + 7.0 * rng.uniform(size=n) ** 0.5
    colour = rng.normal(1.2, 0.5, n)
    on = opt.attrs["counterpart_ids"]
    g[on] = np.clip(rng.normal(12.0, 2.0, on.size), 4.0, 20.9)
    colour[on] = rng.normal(2.6, 0.5, on.size)
    g[rng.choice(n, 20, replace=False)] = np.nan
    colour[rng.choice(n, 40, replace=False)] = np.nan
    g[on[:4]], colour[on[4:8]] = np.nan, np.nan  # candidates without a value
    opt = opt.assign(mag=g, colour=colour)
    return radio, opt, tables, rho_nway


def _contract_pairs(pairs, opt, rho, control_offset, radio_id):
    """A crossmatch_partition pair frame in the run posterior's input contract (posterior.PAIRS_INPUT)."""
    props = opt.set_index("optical_id")
    out = pd.DataFrame(
        {
            "radio_id": radio_id,
            "control_offset": control_offset,
            "catalogue": "gaia_dr3",
            "optical_id": pairs["optical_id"].to_numpy(np.int64),
        }
    )
    for col in (
        "sep_arcsec",
        "sigma_arcsec",
        "ln_bayes_factor",
        "match_radius_arcsec",
        "ra_opt_deg",
        "dec_opt_deg",
        "sigma_opt_arcsec",
        "dt_yr",
    ):
        out[col] = pairs[col].to_numpy()
    out["rho_arcsec2"] = rho  # NWAY's whole-field (N+1)/Ω, so that the priors agree
    for col in ("mag", "colour"):
        out[col] = props.loc[out["optical_id"], col].to_numpy()
    for col in (
        "parallax_mas",
        "parallax_error_mas",
        "pmra_mas_yr",
        "pmdec_mas_yr",
        "pmra_error_mas_yr",
        "pmdec_error_mas_yr",
    ):
        out[col] = np.nan
    return out


def test_equal_to_nway_with_learned_property_priors(nwaylib):
    """The run posterior (score_run: fitted c, G and colour histograms learned by EM against the shifted
    control's field, cross-fitted) against NWAY given the same histograms (--mag with a histogram file, i.e.
    ``maghists`` = (bins_lo, bins_hi, hist_sel, hist_all)) and prior completeness c/(1 − c) — our mixture's
    w_none = 1 − c is NWAY's w_none = 1 at odds c/(1 − c). Each fold's sources are scored by the model fitted on
    the other fold, so NWAY runs once per fold on that fold's radio sources with that model's histograms."""
    from radiostars.crossmatch import control_radio_frame
    from radiostars.crossmatch.posterior import score_run
    from radiostars.crossmatch.properties import FEATURES

    radio, opt, tables, rho_nway = _with_properties(11, 150.0, 0.1)
    params = CrossmatchParams(
        radius_arcsec=R, r_min_arcsec=R, sigma_sys_arcsec=SIGMA_SYS, property_features=("mag", "colour")
    )
    real = crossmatch_partition(radio, opt, params).pairs
    control_radio = control_radio_frame(radio, params.control_offsets())
    ctrl = crossmatch_partition(control_radio, opt, params).pairs
    k_of = control_radio.set_index("radio_id")
    pairs = pd.concat(
        [
            _contract_pairs(real, opt, rho_nway, -1, real["radio_id"].to_numpy()),
            _contract_pairs(
                ctrl,
                opt,
                rho_nway,
                k_of.loc[ctrl["radio_id"], "control_offset"].to_numpy(),
                k_of.loc[ctrl["radio_id"], "source_radio_id"].to_numpy(),
            ),
        ],
        ignore_index=True,
    )
    res = score_run(pairs, len(radio), len(control_radio), params)
    assert res.metrics["fallbacks"] == []
    ours = res.real_pairs
    checked = []
    for fold in (0, 1):
        model = res.fits[f"joint_fold{fold}"]
        assert model.status == "fitted" and model.classes == ("gaia_dr3",)
        hists = model.histograms["gaia_dr3"]
        assert all(h.status == "learned" for h in hists.values())
        assert np.log(hists["mag"].counterpart[8] / hists["mag"].field[8]) > 2  # G 10-11: counterparts
        maghists = []
        for feat in ("mag", "colour"):  # neutral-missing features: no missing slot, slots = bins
            edges = np.asarray(FEATURES[feat].edges)
            width = np.diff(edges)
            h = hists[feat]
            maghists.append((edges[:-1], edges[1:], h.counterpart / width, h.field / width))
        ids = np.flatnonzero(cross_fit_fold(radio["radio_id"].to_numpy()) == fold)
        c = model.c_total
        t_radio = dict(tables[0], ra=tables[0]["ra"][ids], dec=tables[0]["dec"][ids], error=tables[0]["error"][ids])
        t_opt = dict(
            tables[1],
            mags=[opt["mag"].to_numpy().copy(), opt["colour"].to_numpy().copy()],
            magnames=["G", "colour"],
            maghists=maghists,
        )
        fsm = nwaylib.fastskymatch
        uncached = getattr(fsm.crossproduct, "func", fsm.crossproduct)
        with mock.patch.object(fsm, "crossproduct", uncached), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            nw = nwaylib.nway_match(
                [t_radio, t_opt],
                match_radius=R,
                prior_completeness=c / (1.0 - c),
                store_mag_hists=False,
                logger=nwaylib.NullOutputLogger(),
            ).reset_index(drop=True)
        nw = nw[nw["ncat"] == 2].add_prefix("nw_")
        nw = nw.assign(radio_id=ids[nw["nw_radio"].to_numpy()], optical_id=nw["nw_opt"].to_numpy())
        mine = ours[ours["fold"] == fold]
        m = mine.merge(nw, on=["radio_id", "optical_id"], how="outer", indicator=True)
        assert (m["_merge"] == "both").all(), m["_merge"].value_counts()  # identical candidate sets
        # NWAY's ln B differs from ours only by the ψ rounding term (test above); the property factor is exact
        lnl = np.log(m["nw_bias_opt_G"]) + np.log(m["nw_bias_opt_colour"])
        np.testing.assert_allclose(m["ln_property_ratio"], lnl, rtol=0, atol=1e-12)
        np.testing.assert_allclose(m["p_any"], m["nw_prob_has_match"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(m["p_i"], m["nw_prob_this_match"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(m["p_single"], m["nw_p_single"], rtol=0, atol=1e-6)
        assert m["nw_prob_has_match"].max() > 0.99 and m["nw_prob_has_match"].min() < 0.01
        checked.append(m)
    m = pd.concat(checked)
    assert len(m) == len(ours) > 150
    assert np.isnan(m["mag"]).sum() >= 4 and np.isnan(m["colour"]).sum() >= 4  # NaN: factor 1 in both codes
    assert (m["nw_bias_opt_G"][np.isnan(m["mag"])] == 1).all()
    # what the property priors buy here: the positions-only posterior is less sure of the counterparts
    on = set(opt.attrs["counterpart_ids"].tolist())
    true = ours[[oid in on for oid in ours["optical_id"]] & (ours["radio_id"] < 100)]
    assert true["p_any"].median() > true["p_any_position_only"].median()
