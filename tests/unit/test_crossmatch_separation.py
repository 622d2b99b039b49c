import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from radiostars.crossmatch.separation import (
    arcsec_from_chord,
    chord_from_arcsec,
    radec_to_xyz,
    separation_arcsec,
    xyz_to_radec,
)

pytestmark = pytest.mark.unit


def _astropy_sep(ra1, dec1, ra2, dec2):
    return SkyCoord(ra1 * u.deg, dec1 * u.deg).separation(SkyCoord(ra2 * u.deg, dec2 * u.deg)).to_value(u.arcsec)


def test_random_pairs_match_astropy_below_1_uas():
    rng = np.random.default_rng(0)
    n = 20000
    ra1, dec1 = rng.uniform(0, 360, n), np.rad2deg(np.arcsin(rng.uniform(-1, 1, n)))
    # mix of tiny, arcsec, degree and near-antipodal separations, across the RA seam and poles
    scale = 10.0 ** rng.uniform(-9, 2.2, n)
    ra2 = (ra1 + rng.normal(0, 1, n) * scale) % 360
    dec2 = np.clip(dec1 + rng.normal(0, 1, n) * scale, -90, 90)
    ours = separation_arcsec(ra1, dec1, ra2, dec2)
    assert np.max(np.abs(ours - _astropy_sep(ra1, dec1, ra2, dec2))) < 1e-6


def test_seam_pole_and_antipode():
    assert separation_arcsec(359.9999, 0.0, 0.0001, 0.0) == pytest.approx(0.72, abs=1e-9)
    assert separation_arcsec(0.0, 90.0, 180.0, 89.0) == pytest.approx(3600.0, abs=1e-6)
    assert separation_arcsec(10.0, 20.0, 190.0, -20.0) == pytest.approx(180 * 3600.0, abs=1e-6)


def test_chord_roundtrip_and_xyz():
    a = np.array([0.0, 1e-6, 1.0, 3600.0, 648000.0])
    assert np.allclose(arcsec_from_chord(chord_from_arcsec(a)), a, atol=1e-9, rtol=1e-12)
    ra, dec = xyz_to_radec(radec_to_xyz([359.5, 0.0, 123.0], [-89.9, 0.0, 45.0]))
    assert np.allclose(ra, [359.5, 0.0, 123.0]) and np.allclose(dec, [-89.9, 0.0, 45.0])


@pytest.mark.parametrize(
    "args, name",
    [((0.0, 91.0, 0.0, 0.0), "dec1_deg"), ((np.nan, 0.0, 0.0, 0.0), "ra1_deg"), ((0.0, 0.0, 0.0, -90.5), "dec2_deg")],
)
def test_validation_names_argument(args, name):
    with pytest.raises(ValueError, match=name):
        separation_arcsec(*args)
