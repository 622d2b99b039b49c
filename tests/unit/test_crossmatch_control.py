import json

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord
from scipy.spatial import cKDTree

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
from radiostars.crossmatch.density import unit_hash
from radiostars.crossmatch.separation import chord_from_arcsec, radec_to_xyz, separation_arcsec

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
    radio = pd.DataFrame(
        dict(
            radio_id=["x", "y"],
            ra_deg=[0.0, 359.999],
            dec_deg=[0.0, -89.99],
            sigma_radio_arcsec=1.0,
            epoch_yr=2019.0,
            healpix=[1, 2],
        )
    )
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


def _radio_on_uniform_field(rng, n_optical: int, sigma_radio_arcsec: float, **optical_columns):
    """1,200 radio sources (epoch 2019.5) well inside a 2°×2° uniform field of ``n_optical`` stars (epoch 2016,
    0.2 mas errors, further columns as given): their annuli and 1′ control shifts stay inside it."""
    ora, odec = _uniform_patch(rng, n_optical, 200.0, -30.0, 1.0)
    rra, rdec = _uniform_patch(rng, 1200, 200.0, -30.0, 0.85)
    radio = pd.DataFrame(
        dict(
            radio_id=np.arange(rra.size),
            ra_deg=rra,
            dec_deg=rdec,
            sigma_radio_arcsec=sigma_radio_arcsec,
            epoch_yr=2019.5,
        )
    )
    opt = pd.DataFrame(
        dict(
            optical_id=np.arange(ora.size),
            ra_deg=ora,
            dec_deg=odec,
            ref_epoch_yr=2016.0,
            ra_error_mas=0.2,
            dec_error_mas=0.2,
            **optical_columns,
        )
    )
    return radio, opt


def test_control_false_match_rate_agrees_with_analytic_chance():
    """Uniform random field, nothing real: control FAR == Σ p_chance expectation within Poisson error."""
    rng = np.random.default_rng(11)
    R = 8.0
    params = CrossmatchParams(
        radius_arcsec=R,
        r_min_arcsec=R,
        n_sigma=1.0,
        sigma_sys_arcsec=0.0,
        healpix_order=5,
        density_inner_arcsec=30.0,
        density_outer_arcsec=180.0,
        margin_arcsec=180.0,
    )
    # 1e4 per deg^2 (~7.7e-4 arcsec^-2); annuli + 1' shifts stay inside the field
    radio, opt = _radio_on_uniform_field(rng, 40_000, sigma_radio_arcsec=1.0, pmra_mas_yr=np.nan, pmdec_mas_yr=np.nan)
    offsets = params.control_offsets()
    ctl = control_radio_frame(radio, offsets)
    res = crossmatch_partition(ctl, opt, params)
    summary = false_match_rate(
        res.pairs,
        n_radio=len(radio),
        n_offsets=len(offsets),
        expected_count_per_source=res.radio["expected_chance"].to_numpy(),
    )
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
    optical = pd.DataFrame(
        {
            "optical_id": np.arange(n_opt, dtype=np.int64),
            "ra_deg": ra,
            "dec_deg": dec,
            "ref_epoch_yr": 1991.25,
            "ra_error_mas": 1.0,
            "dec_error_mas": 1.0,
        }
    )
    pixel = int(home_pixel(ra[:1], dec[:1], params.healpix_order)[0])
    radio = pd.DataFrame(
        {
            "radio_id": ["a", "b"],
            "ra_deg": [ra[0] + 1e-4, ra[0] + 0.01],
            "dec_deg": [dec[0], dec[0]],
            "sigma_radio_arcsec": [1.0, 1.0],
            "epoch_yr": [2020.0, 2020.0],
        }
    )
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

    optical = pd.DataFrame(
        {
            "optical_id": np.arange(3, dtype=np.int64),
            "ra_deg": [10.0, 10.001, 10.002],
            "dec_deg": [0.0, 0.0, 0.0],
            "ref_epoch_yr": 2016.0,
            "ra_error_mas": 1.0,
            "dec_error_mas": 1.0,
        }
    )
    radio = pd.DataFrame(
        {"radio_id": ["a"], "ra_deg": [10.0], "dec_deg": [0.0], "sigma_radio_arcsec": [1.0], "epoch_yr": [2020.0]}
    )
    prepared = prepare_optical(optical, 2020.0, 2020.0, "gaia_dr3")
    result = crossmatch_partition(radio, prepared, CrossmatchParams(), partition_pixel=0)  # "a" is not homed in pixel 0
    assert result.pairs.empty and result.radio.empty


# --------------------------------------------------------------------------- keyed density subsample
def _splitmix_unit_reference(key: int, seed: int) -> float:
    """Independent pure-Python statement of ``unit_hash`` (arbitrary-precision ints, no numpy)."""
    m = (1 << 64) - 1

    def mix(z):
        z &= m
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
        return z ^ (z >> 31)

    h = mix((key & m) * 0x9E3779B97F4A7C15 + mix(seed))
    return (h >> 11) / 2.0**53


def _dense_field(rng, n_opt=60_000, n_radio=200):
    """~1.7e5 deg⁻² optical field (annulus 30″–180″ holds ~1300: subsampled) with Gaia-like int64 keys."""
    ora, odec = _uniform_patch(rng, n_opt, 10.0, 0.0, 0.3)
    rra, rdec = _uniform_patch(rng, n_radio, 10.0, 0.0, 0.2)  # annuli (0.05°) stay inside the field
    keys = 7 * 10**18 + np.arange(n_opt, dtype=np.int64) * 1_000_003  # > 2^53: float would merge them
    return radec_to_xyz(rra, rdec).reshape(-1, 3), radec_to_xyz(ora, odec).reshape(-1, 3), keys


def test_keyed_density_subsample_does_not_depend_on_optical_row_order():
    rng = np.random.default_rng(21)
    rxyz, oxyz, keys = _dense_field(rng)
    n0, rho0, f0 = local_density(rxyz, oxyz, 30, 180, target_count=400, seed=7, keys=keys)
    assert 0.1 < f0 < 0.5  # the subsampled regime
    perm = rng.permutation(keys.size)
    n1, rho1, f1 = local_density(rxyz, oxyz[perm], 30, 180, target_count=400, seed=7, keys=keys[perm])
    assert f1 == f0
    assert np.array_equal(n1, n0) and np.array_equal(rho1, rho0)
    # the set-up is sensitive: with the row index as key the same shuffle changes the counts
    assert not np.array_equal(
        local_density(rxyz, oxyz, 30, 180, seed=7)[0], local_density(rxyz, oxyz[perm], 30, 180, seed=7)[0]
    )


def test_keyed_density_subsample_ignores_rows_outside_every_annulus():
    rng = np.random.default_rng(22)
    rxyz, oxyz, keys = _dense_field(rng)
    n0, rho0, f0 = local_density(rxyz, oxyz, 30, 180, target_count=400, seed=3, keys=keys)
    assert f0 < 0.5
    # far rows (a wider margin / other pixels' copies): ≥ 0.4° from the field, interleaved with the
    # near rows (whose relative order is kept), with their own distinct keys
    m = 30_000
    fra, fdec = _uniform_patch(rng, m, 10.0, 1.0, 0.3)
    fxyz = radec_to_xyz(fra, fdec).reshape(-1, 3)
    assert cKDTree(rxyz).query(fxyz)[0].min() > chord_from_arcsec(180.0)  # outside every outer radius
    far_keys = 6 * 10**18 + np.arange(m, dtype=np.int64) * 999_983
    is_far = np.zeros(keys.size + m, bool)
    is_far[rng.choice(is_far.size, m, replace=False)] = True
    all_xyz = np.empty((is_far.size, 3))
    all_keys = np.empty(is_far.size, np.int64)
    all_xyz[~is_far], all_keys[~is_far] = oxyz, keys
    all_xyz[is_far], all_keys[is_far] = fxyz, far_keys
    n1, rho1, f1 = local_density(rxyz, all_xyz, 30, 180, target_count=400, seed=3, keys=all_keys)
    assert f1 == f0  # the pilot counts only within the outer radius
    assert np.array_equal(n1, n0) and np.array_equal(rho1, rho0)
    # sensitive set-up: without keys (row index) the interleaved far rows shift the near rows' fate
    assert not np.array_equal(
        local_density(rxyz, oxyz, 30, 180, seed=3)[0], local_density(rxyz, all_xyz, 30, 180, seed=3)[0]
    )


@pytest.mark.parametrize("kind", ["consecutive", "gaia_like", "near_2_62"])
def test_unit_hash_keeps_the_requested_fraction(kind):
    n = 100_000
    j = np.arange(n, dtype=np.int64)
    keys = {
        "consecutive": j,
        "gaia_like": (j // 100) * 2**35 + 4_000_000_000_000 + j % 100,  # HEALPix-12 index · 2³⁵ + running no.
        "near_2_62": 2**62 - n // 2 + j,
    }[kind]
    u0, u1 = unit_hash(keys, 0), unit_hash(keys, 1)
    assert u0.dtype == np.float64 and u0.min() >= 0.0 and u0.max() < 1.0
    for f in (0.003, 0.05, 0.31, 0.5, 0.9):
        sigma = np.sqrt(n * f * (1 - f))
        assert abs(np.count_nonzero(u0 < f) - f * n) < 5 * sigma, f
        assert abs(np.count_nonzero(u1 < f) - f * n) < 5 * sigma, f
        # two seeds give independent subsamples: overlap ≈ f² n
        both = np.count_nonzero((u0 < f) & (u1 < f))
        assert abs(both - f * f * n) < 5 * np.sqrt(n * f * f * (1 - f * f)), f


def test_unit_hash_uses_the_exact_int64_bits_near_2_62():
    keys = np.int64(2**62) + np.arange(4096, dtype=np.int64)  # float64 spacing here is 1024
    u = unit_hash(keys, 5)
    assert np.unique(u).size == keys.size  # through float64 these would collapse to ~5 values
    for k in (2**62, 2**62 + 1, 2**62 + 1023, 2**63 - 1, -(2**63), -1, 0, 7 * 10**18 + 12345):
        assert unit_hash(np.array([k], np.int64), 5)[0] == _splitmix_unit_reference(k, 5), k
    assert np.array_equal(unit_hash(keys.astype(np.uint64), 5), u)  # same 64-bit pattern, same u
    assert np.array_equal(unit_hash([int(k) for k in keys], 5), u)  # Python ints: int64, not float
    with pytest.raises(ValueError, match="keys"):
        unit_hash(keys.astype(np.float64))
    rxyz = radec_to_xyz(np.array([10.0]), np.array([0.0])).reshape(-1, 3)
    with pytest.raises(ValueError, match="keys"):
        local_density(rxyz, rxyz, 30, 180, keys=np.array([1.0]))
    with pytest.raises(ValueError, match="keys"):
        local_density(rxyz, rxyz, 30, 180, keys=np.array([1, 2], np.int64))


def test_keyed_density_near_2_62_matches_the_reference_subsample():
    rng = np.random.default_rng(23)
    rxyz, oxyz, _ = _dense_field(rng, n_opt=40_000, n_radio=50)
    keys = 2**62 + np.arange(40_000, dtype=np.int64)  # consecutive ids float64 cannot tell apart
    n, rho, f = local_density(rxyz, oxyz, 30, 180, target_count=200, seed=9, keys=keys)
    assert f < 0.5
    keep = np.array([_splitmix_unit_reference(int(k), 9) < f for k in keys])
    t = cKDTree(oxyz[keep])
    expected = t.query_ball_point(rxyz, chord_from_arcsec(180.0), return_length=True) - t.query_ball_point(
        rxyz, chord_from_arcsec(30.0), return_length=True
    )
    assert np.array_equal(n, expected)
    assert np.allclose(rho, n / (f * annulus_area_arcsec2(30, 180)), rtol=1e-15)


def test_partition_density_is_the_same_for_shuffled_optical_rows():
    """crossmatch_partition keys the subsample on optical_id: a reordered optical frame gives the same ρ."""
    rng = np.random.default_rng(24)
    params = CrossmatchParams()
    n_opt = 24_000
    ora, odec = _uniform_patch(rng, n_opt, 120.0, 20.0, 0.2)  # 1.5e5 deg⁻²: subsampled annuli
    rra, rdec = _uniform_patch(rng, 40, 120.0, 20.0, 0.1)
    optical = pd.DataFrame(
        {
            "optical_id": 5 * 10**18 + np.arange(n_opt, dtype=np.int64) * 4_099,
            "ra_deg": ora,
            "dec_deg": odec,
            "ref_epoch_yr": 2016.0,
            "ra_error_mas": 0.2,
            "dec_error_mas": 0.2,
        }
    )
    radio = pd.DataFrame(
        {"radio_id": np.arange(rra.size), "ra_deg": rra, "dec_deg": rdec, "sigma_radio_arcsec": 1.0, "epoch_yr": 2019.5}
    )
    a = crossmatch_partition(radio, optical, params, density_seed=4).radio
    b = crossmatch_partition(radio, optical.sample(frac=1.0, random_state=1), params, density_seed=4).radio
    assert (a["density_fraction"] < 0.5).all()
    cols = ["radio_id", "n_annulus", "density_fraction", "rho_arcsec2", "expected_chance"]
    pd.testing.assert_frame_equal(a[cols].reset_index(drop=True), b[cols].reset_index(drop=True), check_exact=True)


@pytest.mark.parametrize("mean_square", [True, False])
def test_analytic_chance_count_averages_every_optical_radius(mean_square, monkeypatch):
    """40 % of the field stars lack a proper motion, so the missing-pm allowance widens their σ_opt and with it
    their own match radius R (radius from σ: r_min < n_σ·σ < r_max here). The shifted control counts π ρ ⟨R²⟩
    chance pairs; a single radius from the median σ_opt (the former analytic count, ``mean_square`` False)
    misses that by tens of per cent — the test can fail."""
    import radiostars.crossmatch.per_partition as pp

    if not mean_square:  # the former expectation: R of the median σ_opt for every star
        monkeypatch.setattr(
            pp,
            "mean_square_radius_arcsec2",
            lambda s_radio, s_opt, params: (
                pp.match_radius_arcsec(np.sqrt(s_radio**2 + params.sigma_sys_arcsec**2 + np.median(s_opt) ** 2), params)
                ** 2
            ),
        )
    rng = np.random.default_rng(12)
    params = CrossmatchParams(
        radius_arcsec=10.0,
        r_min_arcsec=0.5,
        n_sigma=4.0,
        sigma_sys_arcsec=0.3,
        missing_pm_sigma_mas_yr=300.0,  # 3.5 yr after the reference epoch: ≈ 1.05″ for a 2-parameter star
        healpix_order=5,
        density_inner_arcsec=30.0,
        density_outer_arcsec=180.0,
        margin_arcsec=180.0,
    )
    two_param = rng.uniform(size=160_000) < 0.4
    radio, opt = _radio_on_uniform_field(  # 4e4 per deg²
        rng,
        160_000,
        sigma_radio_arcsec=0.3,
        pmra_mas_yr=np.where(two_param, np.nan, 0.0),
        pmdec_mas_yr=np.where(two_param, np.nan, 0.0),
        pmra_error_mas_yr=np.where(two_param, np.nan, 0.1),
        pmdec_error_mas_yr=np.where(two_param, np.nan, 0.1),
    )
    offsets = params.control_offsets()
    res = crossmatch_partition(control_radio_frame(radio, offsets), opt, params)
    summary = false_match_rate(
        res.pairs, n_radio=len(radio), n_offsets=len(offsets), expected_count_per_source=res.radio["expected_chance"]
    )
    pull = (summary.far_pairs - summary.expected_pairs) / summary.far_pairs_err
    print(f"mean_square={mean_square}: control {summary.far_pairs:.4f} vs analytic {summary.expected_pairs:.4f}")
    if mean_square:
        assert abs(pull) < 3, (summary.far_pairs, summary.expected_pairs, pull)
    else:
        assert pull > 5, (summary.far_pairs, summary.expected_pairs, pull)
