"""Propagate catalogue positions to another epoch.

:func:`propagate_astropy` is the reference: ``SkyCoord.apply_space_motion`` (ERFA ``pmsafe``) with
radial velocity 0 and distance 1/ϖ (10 kpc when ϖ is missing or < 0.1 mas; with zero radial
velocity the distance only enters through sub-µas light-time terms). Missing proper motions count
as zero (the star keeps its catalogue position).

:func:`propagate_linear` is the closed form used for checks and by fast code: with zero radial
velocity the star moves on a straight line in space, so its direction at t is

    u(t) ∝ u₀ + Δt (μα* p̂ + μδ q̂),   p̂ = (−sin α, cos α, 0),  q̂ = (−sin δ cos α, −sin δ sin α, cos δ)

with μ in rad/yr and Δt in Julian years (agrees with astropy to ≪ 1 mas for Δt ≲ 30 yr and
μ ≲ 10″/yr).
"""

from __future__ import annotations

import warnings

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.time import Time

MAS_PER_RAD = 180.0 / np.pi * 3600e3


def _nan_to_zero(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.where(np.isfinite(x), x, 0.0)


def propagate_astropy(
    ra_deg, dec_deg, pmra_mas_yr, pmdec_mas_yr, parallax_mas, ref_epoch_jyear, target_epoch_mjd
) -> tuple[np.ndarray, np.ndarray]:
    """Positions at ``target_epoch_mjd`` (UTC MJD) via astropy apply_space_motion [deg]."""
    plx = np.asarray(parallax_mas, dtype=float)
    dist_pc = np.where(np.isfinite(plx) & (plx >= 0.1), 1000.0 / np.where(plx > 0, plx, 1.0), 1e4)
    ref = np.broadcast_to(np.asarray(ref_epoch_jyear, dtype=float), dist_pc.shape)
    c = SkyCoord(
        ra=np.asarray(ra_deg, float) * u.deg,
        dec=np.asarray(dec_deg, float) * u.deg,
        distance=dist_pc * u.pc,
        pm_ra_cosdec=_nan_to_zero(pmra_mas_yr) * u.mas / u.yr,
        pm_dec=_nan_to_zero(pmdec_mas_yr) * u.mas / u.yr,
        radial_velocity=np.zeros(dist_pc.shape) * u.km / u.s,
        obstime=Time(ref, format="jyear", scale="tcb"),
        frame="icrs",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ERFA warns about distant stars / dubious years
        moved = c.apply_space_motion(new_obstime=Time(np.asarray(target_epoch_mjd, float), format="mjd", scale="utc"))
    return moved.ra.deg, moved.dec.deg


def propagate_linear(ra_deg, dec_deg, pmra_mas_yr, pmdec_mas_yr, dt_yr) -> tuple[np.ndarray, np.ndarray]:
    """Rectilinear motion with zero radial velocity (closed form above) [deg]."""
    a, d = np.radians(ra_deg), np.radians(dec_deg)
    mua = _nan_to_zero(pmra_mas_yr) / MAS_PER_RAD
    mud = _nan_to_zero(pmdec_mas_yr) / MAS_PER_RAD
    dt = np.asarray(dt_yr, dtype=float)
    x = np.cos(d) * np.cos(a) + dt * (-mua * np.sin(a) - mud * np.sin(d) * np.cos(a))
    y = np.cos(d) * np.sin(a) + dt * (mua * np.cos(a) - mud * np.sin(d) * np.sin(a))
    z = np.sin(d) + dt * (mud * np.cos(d))
    return np.degrees(np.arctan2(y, x)) % 360.0, np.degrees(np.arctan2(z, np.hypot(x, y)))
