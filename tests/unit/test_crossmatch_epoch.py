import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Distance, SkyCoord
from astropy.time import Time

from radiostars.crossmatch.epoch import (
    circular_sigma,
    jyear_to_mjd,
    mjd_to_jyear,
    propagate_radec,
    propagate_sigma_mas,
    reach_bound_arcsec,
    track_bounds,
)
from radiostars.crossmatch.separation import separation_arcsec

pytestmark = pytest.mark.unit

MAS_TOL = 0.1  # required agreement with astropy, mas


def _astropy(ra, dec, pmra, pmdec, plx, t1, t2, rv=None):
    kw = {}
    if plx is not None:
        kw["distance"] = Distance(parallax=np.asarray(plx) * u.mas)
    if rv is not None:
        kw["radial_velocity"] = np.asarray(rv) * u.km / u.s
    c = SkyCoord(
        ra=np.asarray(ra) * u.deg,
        dec=np.asarray(dec) * u.deg,
        pm_ra_cosdec=np.asarray(pmra) * u.mas / u.yr,
        pm_dec=np.asarray(pmdec) * u.mas / u.yr,
        obstime=Time(t1, format="jyear", scale="tdb"),
        **kw,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ERFA "distance overridden" for parallax-less rows
        c2 = c.apply_space_motion(new_obstime=Time(t2, format="jyear", scale="tdb"))
    return c2.ra.deg, c2.dec.deg


def _random_stars(n, seed):
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, 360, n)
    dec = np.rad2deg(np.arcsin(rng.uniform(-0.999, 0.999, n)))
    pmra, pmdec = rng.normal(0, 400, n), rng.normal(0, 400, n)
    plx = 10 ** rng.uniform(-1, 2.5, n)
    return ra, dec, pmra, pmdec, plx


@pytest.mark.parametrize("with_parallax", [True, False])
def test_random_stars_equal_astropy_over_30_years(with_parallax):
    ra, dec, pmra, pmdec, plx = _random_stars(1500, 1)
    rng = np.random.default_rng(2)
    t1 = np.where(rng.random(ra.size) < 0.5, 2016.0, 1991.25)
    t2 = t1 + rng.uniform(-30, 30, ra.size)  # per-row target epochs
    ra_a, dec_a = _astropy(ra, dec, pmra, pmdec, plx if with_parallax else None, t1, t2)
    ra_o, dec_o = propagate_radec(ra, dec, pmra, pmdec, plx if with_parallax else np.nan, t1, t2)
    err_mas = separation_arcsec(ra_o, dec_o, ra_a, dec_a) * 1e3
    assert err_mas.max() < MAS_TOL


def test_radial_velocity_supported():
    ra, dec, pmra, pmdec, plx = _random_stars(300, 3)
    rv = np.random.default_rng(4).normal(0, 100, ra.size)
    ra_a, dec_a = _astropy(ra, dec, pmra, pmdec, plx, 2016.0, 2046.0, rv)
    ra_o, dec_o = propagate_radec(ra, dec, pmra, pmdec, plx, 2016.0, 2046.0, rv_km_s=rv)
    assert (separation_arcsec(ra_o, dec_o, ra_a, dec_a) * 1e3).max() < MAS_TOL


# (name, ra, dec, pmra*, pmdec, parallax, rv, ref epoch): Gaia DR3 (2016.0) / Hipparcos (1991.25)
FAMOUS = [
    ("Barnard (Gaia DR3)", 269.44850252543836, 4.739420051112412, -801.551, 10362.394, 546.976, -110.47, 2016.0),
    ("Proxima Cen (Gaia DR3)", 217.39232147200883, -62.67607511676666, -3781.306, 769.766, 768.067, -22.4, 2016.0),
    ("61 Cyg A (Hipparcos 2)", 316.7247482, 38.7494150, 4105.76, 3155.94, 286.82, -65.7, 1991.25),
]


@pytest.mark.parametrize("star", FAMOUS, ids=[s[0] for s in FAMOUS])
@pytest.mark.parametrize("use_rv", [False, True])
def test_famous_high_pm_stars_equal_astropy(star, use_rv):
    _, ra, dec, pmra, pmdec, plx, rv, t1 = star
    t2 = np.array([t1 - 30, t1 - 7.3, t1 + 3.5, t1 + 30])
    ra_a, dec_a = _astropy(ra, dec, pmra, pmdec, plx, t1, t2, rv if use_rv else None)
    ra_o, dec_o = propagate_radec(ra, dec, pmra, pmdec, plx, t1, t2, rv_km_s=rv if use_rv else None)
    assert (separation_arcsec(ra_o, dec_o, ra_a, dec_a) * 1e3).max() < MAS_TOL


def test_barnard_gaia_to_hipparcos_epoch_lands_on_hip_87937():
    _, ra, dec, pmra, pmdec, plx, rv, _ = FAMOUS[0]
    ra_o, dec_o = propagate_radec(ra, dec, pmra, pmdec, plx, 2016.0, 1991.25, rv_km_s=rv)
    # HIP 87937 (van Leeuwen 2007) at J1991.25
    assert separation_arcsec(ra_o, dec_o, 269.45402305, 4.66828815) < 0.5


def test_missing_pm_keeps_position_exactly():
    ra_o, dec_o = propagate_radec([10.0, 359.0], [-89.0, 5.0], [np.nan, 5.0], [np.nan, np.nan], np.nan, 2016.0, 2020.0)
    assert ra_o.tolist() == [10.0, 359.0] and dec_o.tolist() == [-89.0, 5.0]


def test_pole_star_is_finite():
    ra_o, dec_o = propagate_radec(0.0, 90.0, 100.0, 0.0, 10.0, 2016.0, 2026.0)
    assert np.isfinite(ra_o) and separation_arcsec(0.0, 90.0, ra_o, dec_o) == pytest.approx(1.0, rel=1e-6)


def test_epoch_conversions():
    assert jyear_to_mjd(2016.0) == 57388.5
    assert mjd_to_jyear(57388.5) == 2016.0
    assert jyear_to_mjd(1991.25) == 48348.5625
    mjd = np.array([58000.123, 51544.5])
    assert np.allclose(jyear_to_mjd(mjd_to_jyear(mjd)), mjd, rtol=0, atol=1e-9)
    assert np.allclose(mjd_to_jyear(mjd), Time(mjd, format="mjd", scale="tdb").jyear, rtol=0, atol=1e-12)


def test_sigma_propagation():
    s = propagate_sigma_mas([1.0, 1.0, 2.0], [0.5, np.nan, np.nan], [10.0, 10.0, -4.0], [False, False, True], 50.0)
    assert s == pytest.approx([np.hypot(1, 5), 1.0, np.hypot(2, 200)])
    assert circular_sigma(3.0, 4.0) == pytest.approx(np.sqrt(12.5))
    with pytest.raises(ValueError, match="missing_pm_sigma_mas_yr"):
        propagate_sigma_mas(1.0, 1.0, 1.0, missing_pm_sigma_mas_yr=-1)
    with pytest.raises(ValueError, match="sigma_pos_mas"):
        propagate_sigma_mas(np.nan, 1.0, 1.0)


def test_track_bounds_enclose_every_epoch():
    ra, dec, pmra, pmdec, plx = _random_stars(200, 5)
    pmra *= 20  # up to ~10 arcsec/yr
    cra, cdec, half, reach = track_bounds(ra, dec, pmra, pmdec, plx, 2016.0, 2010.0, 2025.0)
    for t in np.linspace(2010.0, 2025.0, 7):
        r, d = propagate_radec(ra, dec, pmra, pmdec, plx, 2016.0, t)
        assert np.all(separation_arcsec(r, d, cra, cdec) <= half + 1e-6)
        assert np.all(separation_arcsec(r, d, ra, dec) <= reach + 1e-6)


def test_reach_bound_covers_the_rigorous_reach_without_radial_velocity():
    ra, dec, pmra, pmdec, plx = _random_stars(500, 6)
    pmra *= 20  # up to ~10 arcsec/yr
    famous = np.array([s[1:6] for s in FAMOUS]).T
    ra, dec, pmra, pmdec, plx = (np.concatenate([a, f]) for a, f in zip((ra, dec, pmra, pmdec, plx), famous))
    ref = np.where(np.arange(ra.size) % 2 == 0, 2016.0, 1991.25)
    _, _, _, reach = track_bounds(ra, dec, pmra, pmdec, plx, ref, 2018.0, 2046.0)
    bound = reach_bound_arcsec(pmra, pmdec, ref, 2018.0, 2046.0)
    assert np.all(bound >= reach)
    # and it is tight: the linear bound overshoots by far less than a match radius
    assert np.max(bound - reach) < 0.05 * np.max(reach)
    assert reach_bound_arcsec(np.nan, np.nan, 2016.0, 2018.0, 2020.0) == 0.0


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(dec_deg=95.0), "dec_deg"),
        (dict(ref_epoch_yr=57388.5), "ref_epoch_yr"),
        (dict(target_epoch_yr=np.nan), "target_epoch_yr"),
        (dict(pmra_mas_yr=np.inf), "pmra_mas_yr"),
    ],
)
def test_validation(kwargs, name):
    args = dict(
        ra_deg=1.0,
        dec_deg=2.0,
        pmra_mas_yr=1.0,
        pmdec_mas_yr=1.0,
        parallax_mas=1.0,
        ref_epoch_yr=2016.0,
        target_epoch_yr=2020.0,
    )
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        propagate_radec(**args)
