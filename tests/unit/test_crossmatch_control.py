import json

import numpy as np
import pandas as pd
import pytest
import astropy.units as u
from astropy.coordinates import SkyCoord

from radiostars.crossmatch import (
    CrossmatchParams,
    annulus_area_arcsec2,
    control_radio_frame,
    crossmatch_partition,
    false_match_rate,
    local_density,
    offset_radec,
    p_chance,
)
from radiostars.crossmatch.separation import radec_to_xyz, separation_arcsec

pytestmark = pytest.mark.unit


def test_offset_equals_astropy_directional_offset_by_including_poles():
    rng = np.random.default_rng(0)
    ra = np.r_[rng.uniform(0, 360, 500), 0.0, 123.0, 200.0, 359.99]
    dec = np.r_[np.rad2deg(np.arcsin(rng.uniform(-1, 1, 500))), 90.0, -90.0, 89.9999, -89.99]
    pa = rng.uniform(0, 360, ra.size)
    d = rng.uniform(0, 7200, ra.size)
    r2, d2 = offset_radec(ra, dec, d, pa)
    ref = SkyCoord(ra * u.deg, dec * u.deg).directional_offset_by(pa * u.deg, d * u.arcsec)
    assert separation_arcsec(r2, d2, ref.ra.deg, ref.dec.deg).max() < 1e-6
    assert np.allclose(separation_arcsec(ra, dec, r2, d2), d, atol=1e-6)


def test_control_frame_ids_and_shift():
    radio = pd.DataFrame(dict(radio_id=["x", "y"], ra_deg=[0.0, 359.999], dec_deg=[0.0, -89.99], sigma_radio_arcsec=1.0,
                              epoch_yr=2019.0, healpix=[1, 2]))
    params = CrossmatchParams()
    ctl = control_radio_frame(radio, params.control_offsets())
    assert len(ctl) == 2 * 8 and "healpix" not in ctl.columns
    assert ctl["radio_id"].is_unique and set(ctl["source_radio_id"]) == {"x", "y"}
    sep = separation_arcsec(ctl["ra_deg"], ctl["dec_deg"], np.tile([0.0, 359.999], 8), np.tile([0.0, -89.99], 8))
    assert np.allclose(sep, 60.0, atol=1e-6)


def test_annulus_area_and_p_chance():
    assert annulus_area_arcsec2(30, 180) == pytest.approx(np.pi * (180**2 - 30**2), rel=1e-6)
    assert p_chance(0.0, 1.0) == 0.0
    assert p_chance(2.0, 1e-3) == pytest.approx(1 - np.exp(-np.pi * 4e-3))
    with pytest.raises(ValueError, match="inner_arcsec"):
        annulus_area_arcsec2(180, 30)


def _uniform_patch(rng, n, ra0, dec0, half_deg):
    """Uniform on the sphere inside a RA/Dec box."""
    z = rng.uniform(np.sin(np.deg2rad(dec0 - half_deg)), np.sin(np.deg2rad(dec0 + half_deg)), n)
    return rng.uniform(ra0 - half_deg, ra0 + half_deg, n) % 360, np.rad2deg(np.arcsin(z))


def test_density_estimate_unbiased_with_subsampling():
    rng = np.random.default_rng(3)
    ora, odec = _uniform_patch(rng, 200_000, 10.0, 0.0, 0.5)  # 2e5 per deg^2
    area_deg2 = np.deg2rad(1.0) * (np.sin(np.deg2rad(0.5)) - np.sin(np.deg2rad(-0.5))) * (180 / np.pi) ** 2
    true_rho = ora.size / (area_deg2 * 3600**2)
    rra, rdec = _uniform_patch(rng, 300, 10.0, 0.0, 0.4)
    n, rho, frac = local_density(radec_to_xyz(rra, rdec), radec_to_xyz(ora, odec), 30, 180, target_count=400)
    assert frac < 0.5  # subsampled (~1500 expected per annulus)
    assert np.mean(rho) == pytest.approx(true_rho, rel=0.02)


def test_control_false_match_rate_agrees_with_analytic_chance():
    """Uniform random field, nothing real: control FAR == Σ p_chance expectation within Poisson error."""
    rng = np.random.default_rng(11)
    R = 8.0
    params = CrossmatchParams(radius_arcsec=R, r_min_arcsec=R, n_sigma=1.0, sigma_sys_arcsec=0.0, healpix_order=5,
                              density_inner_arcsec=30.0, density_outer_arcsec=180.0, margin_arcsec=180.0)
    ora, odec = _uniform_patch(rng, 40_000, 200.0, -30.0, 1.0)  # 1e4 per deg^2 (~7.7e-4 arcsec^-2)
    rra, rdec = _uniform_patch(rng, 1200, 200.0, -30.0, 0.85)  # annuli + 1' shifts stay inside the field
    radio = pd.DataFrame(dict(radio_id=np.arange(rra.size), ra_deg=rra, dec_deg=rdec, sigma_radio_arcsec=1.0, epoch_yr=2019.5))
    opt = pd.DataFrame(dict(optical_id=np.arange(ora.size), ra_deg=ora, dec_deg=odec, ref_epoch_yr=2016.0,
                            ra_error_mas=0.2, dec_error_mas=0.2, pmra_mas_yr=np.nan, pmdec_mas_yr=np.nan))
    offsets = params.control_offsets()
    ctl = control_radio_frame(radio, offsets)
    res = crossmatch_partition(ctl, opt, params)
    summary = false_match_rate(res.pairs, n_radio=len(radio), n_offsets=len(offsets),
                               expected_count_per_source=res.radio["expected_chance"].to_numpy())
    assert summary.n_control_pairs > 300  # a meaningful count
    assert abs(summary.far_pairs - summary.expected_pairs) < 3 * summary.far_pairs_err
    assert abs(summary.far_sources - summary.expected_sources) < 3 * summary.far_sources_err
    # per-pair p_chance (r = sep) of chance pairs is uniform on [0, p(R)] -> mean ≈ p(R)/2
    assert res.pairs["p_chance"].mean() == pytest.approx(res.radio["p_any_chance"].mean() / 2, rel=0.15)
    json.dumps(summary.to_dict())


def test_false_match_rate_validation():
    with pytest.raises(ValueError, match="n_radio"):
        false_match_rate(pd.DataFrame({"radio_id": []}), 0, 1)
    with pytest.raises(ValueError, match="expected_count_per_source"):
        false_match_rate(pd.DataFrame({"radio_id": []}), 2, 1, [0.1])


def test_pooled_density_uses_the_wide_region_only_for_sparse_annuli():
    from radiostars.crossmatch.density import pooled_density

    rho = pooled_density(np.array([0, 3, 50]), 1.0, 100.0, n_wide=40, wide_area_arcsec2=10_000.0, min_count=10)
    assert rho[0] == pytest.approx(40 / 10_100)
    assert rho[1] == pytest.approx(43 / 10_100)
    assert rho[2] == pytest.approx(0.5)  # enough sources: the annulus alone
    assert np.array_equal(pooled_density(np.array([0, 3]), 1.0, 100.0, 40, 0.0), np.array([0.0, 0.03]))
    with pytest.raises(ValueError, match="fraction"):
        pooled_density(np.array([1]), 0.0, 100.0, 1, 1.0)


def test_sparse_catalogue_gets_a_pixel_density_not_zero():
    """Hipparcos-like density (~3 deg⁻²): the 30″–180″ annulus is empty, the pixel is not."""
    from radiostars.crossmatch import CrossmatchParams, crossmatch_partition
    from radiostars.crossmatch.density import annulus_area_arcsec2
    from radiostars.crossmatch.partition import home_pixel, pixel_area_arcsec2

    params = CrossmatchParams()
    rng = np.random.default_rng(3)
    n_opt = 400  # ~ 3 deg⁻² over a 12°×12° patch
    ra = rng.uniform(40, 52, n_opt)
    dec = rng.uniform(-6, 6, n_opt)
    optical = pd.DataFrame({"optical_id": np.arange(n_opt, dtype=np.int64), "ra_deg": ra, "dec_deg": dec,
                            "ref_epoch_yr": 1991.25, "ra_error_mas": 1.0, "dec_error_mas": 1.0})
    pixel = int(home_pixel(ra[:1], dec[:1], params.healpix_order)[0])
    radio = pd.DataFrame({"radio_id": ["a", "b"], "ra_deg": [ra[0] + 1e-4, ra[0] + 0.01], "dec_deg": [dec[0], dec[0]],
                          "sigma_radio_arcsec": [1.0, 1.0], "epoch_yr": [2020.0, 2020.0]})
    result = crossmatch_partition(radio, optical, params, partition_pixel=pixel)
    n_home = int(np.count_nonzero(home_pixel(ra, dec, params.healpix_order) == pixel))
    assert (result.radio["n_annulus"] < 10).all()
    assert (result.radio["rho_arcsec2"] > 0).all()
    a_ann = annulus_area_arcsec2(params.density_inner_arcsec, params.density_outer_arcsec)
    expected = (result.radio["n_annulus"] + n_home) / (a_ann + pixel_area_arcsec2(params.healpix_order))
    assert np.allclose(result.radio["rho_arcsec2"], expected, rtol=1e-12)
    assert result.radio["n_annulus"].iloc[1] == 1  # optical 0 lies 36″ from b: in b's annulus
    pair = result.pairs.iloc[0]
    assert pair["optical_id"] == 0 and 0 < pair["prior"] < 1 and pair["p_chance"] > 0


def test_partition_without_home_radio_rows_and_a_prepared_optical_is_empty_not_an_error():
    from radiostars.crossmatch import CrossmatchParams, crossmatch_partition
    from radiostars.crossmatch.match import prepare_optical

    optical = pd.DataFrame({"optical_id": np.arange(3, dtype=np.int64), "ra_deg": [10.0, 10.001, 10.002],
                            "dec_deg": [0.0, 0.0, 0.0], "ref_epoch_yr": 2016.0, "ra_error_mas": 1.0,
                            "dec_error_mas": 1.0})
    radio = pd.DataFrame({"radio_id": ["a"], "ra_deg": [10.0], "dec_deg": [0.0], "sigma_radio_arcsec": [1.0],
                          "epoch_yr": [2020.0]})
    prepared = prepare_optical(optical, 2020.0, 2020.0, "gaia_dr3")
    result = crossmatch_partition(radio, prepared, CrossmatchParams(), partition_pixel=0)  # "a" is not homed in pixel 0
    assert result.pairs.empty and result.radio.empty
