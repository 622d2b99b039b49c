import astropy.units as u
import numpy as np
import pytest
from astropy_healpix import HEALPix

from radiostars.crossmatch.control import offset_radec
from radiostars.crossmatch.partition import (
    SAFE_WIDTH_FACTOR,
    check_order_for_margin,
    home_pixel,
    margin_pixels,
    max_order_for_margin,
    pixel_resolution_arcsec,
)

pytestmark = pytest.mark.unit


def _xyz(lon, lat):
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], -1)


@pytest.mark.parametrize("order, n_sample", [(1, None), (2, None), (3, 250)])
def test_safe_width_factor_holds(order, n_sample):
    """Every point of pixel f is >= SAFE_WIDTH_FACTOR*res away from pixels outside f's 3x3 block."""
    hp = HEALPix(2**order, order="nested")
    pix = np.arange(hp.npix)
    if n_sample:
        pix = np.random.default_rng(0).choice(pix, n_sample, replace=False)
    step = 12
    with np.errstate(invalid="ignore"):
        lon, lat = hp.boundaries_lonlat(np.arange(hp.npix), step)
        nb = hp.neighbours(np.arange(hp.npix))
    B = _xyz(lon.to_value(u.rad), lat.to_value(u.rad))
    res = hp.pixel_resolution.to_value(u.rad)
    worst = np.inf
    for f in pix:
        ring1 = set(nb[:, f][nb[:, f] >= 0].tolist()) | {int(f)}
        ring2 = set()
        for g in ring1:
            ring2 |= set(nb[:, g][nb[:, g] >= 0].tolist())
        ring2 -= ring1
        d = np.arccos(np.clip(B[f] @ B[sorted(ring2)].reshape(-1, 3).T, -1, 1)).min()
        worst = min(worst, d / res)
    assert worst > SAFE_WIDTH_FACTOR * 1.25  # measured ~0.70 at these orders


def _edge_points(n, seed):
    """Points at pixel corners/edges, the RA seam and both poles."""
    rng = np.random.default_rng(seed)
    hp = HEALPix(2**3, order="nested")
    corners_lon, corners_lat = hp.boundaries_lonlat(rng.integers(0, hp.npix, n), 4)
    k = rng.integers(0, corners_lon.shape[1], n)
    lon = corners_lon.to_value(u.deg)[np.arange(n), k] + rng.normal(0, 0.01, n)
    lat = np.clip(corners_lat.to_value(u.deg)[np.arange(n), k] + rng.normal(0, 0.01, n), -90, 90)
    extra_lon = np.r_[rng.uniform(0, 360, 20), 359.999 + rng.uniform(0, 0.002, 20) % 360, rng.uniform(0, 360, 20)]
    extra_lat = np.r_[90 - rng.uniform(0, 0.01, 20), rng.uniform(-60, 60, 20), -90 + rng.uniform(0, 0.01, 20)]
    return np.r_[lon % 360, extra_lon % 360], np.r_[lat, extra_lat]


@pytest.mark.parametrize("order, margin", [(3, 60.0), (5, 30.0), (2, 1800.0), (6, 400.0)])
def test_margin_pixels_cover_the_margin_disc(order, margin):
    """Brute force: every point sampled in the disc of radius margin lies in a listed pixel."""
    ra, dec = _edge_points(300, order)
    point, pixel = margin_pixels(ra, dec, margin, order)
    listed = set(zip(point.tolist(), pixel.tolist()))
    # sample the disc: rings at several radii, 32 azimuths
    for frac in (0.25, 0.5, 0.75, 0.999):
        for pa in np.linspace(0, 360, 32, endpoint=False):
            r2, d2 = offset_radec(ra, dec, frac * margin, pa)
            hp = home_pixel(r2, d2, order)
            missing = [(i, int(p)) for i, p in enumerate(hp) if (i, int(p)) not in listed]
            assert not missing, missing[:5]
    # home pixel always included, no duplicates
    assert set(zip(range(ra.size), home_pixel(ra, dec, order).tolist())) <= listed
    assert len(listed) == point.size


def test_margin_pixels_per_row_margin_and_large_margin_fallback():
    # a margin larger than the safe width at this order (fast star) is expanded via children
    order = 8
    big = 0.9 * SAFE_WIDTH_FACTOR * pixel_resolution_arcsec(5)
    ra, dec = np.array([10.0, 10.0, 0.0]), np.array([0.0, 89.99, -89.99])
    point, pixel = margin_pixels(ra, dec, [0.0, big, big], order)
    assert (point == 0).sum() == 1  # zero margin: home only
    for i in (1, 2):
        got = set(pixel[point == i].tolist())
        for pa in np.linspace(0, 360, 64, endpoint=False):
            for f in (0.5, 0.99):
                r2, d2 = offset_radec(ra[i], dec[i], f * big, pa)
                assert int(home_pixel(r2, d2, order)) in got


def test_copy_fraction_small_for_uniform_sky():
    rng = np.random.default_rng(1)
    n = 20000
    ra, dec = rng.uniform(0, 360, n), np.rad2deg(np.arcsin(rng.uniform(-1, 1, n)))
    point, _ = margin_pixels(ra, dec, 10.0, 6)
    assert point.size / n < 1.1


def test_order_selection():
    o = max_order_for_margin(180.0)
    assert pixel_resolution_arcsec(o) >= 1800 > pixel_resolution_arcsec(o + 1)
    assert o == 6
    check_order_for_margin(6, 180.0)
    with pytest.raises(ValueError, match="healpix_order"):
        check_order_for_margin(8, 180.0)
    with pytest.raises(ValueError, match="margin_arcsec"):
        max_order_for_margin(10 * 3600.0)
    with pytest.raises(ValueError, match="margin_arcsec"):
        margin_pixels([0.0], [0.0], -1.0, 3)
    with pytest.raises(ValueError, match="order"):
        home_pixel([0.0], [0.0], 30)
    with pytest.raises(ValueError, match="dec_deg"):
        home_pixel([0.0], [91.0], 3)
