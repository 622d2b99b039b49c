"""Demo survey fields: rectangles in Galactic (l, b) inside the SMGPS footprint.

SMGPS (Goedhart et al. 2024) covers 251° ≤ l ≤ 358° and 2° ≤ l ≤ 61° at |b| ≤ 1.5°. The demo uses a
few such rectangles; their total area is configurable. The solid angle of a rectangle is

    Ω = Δl · (sin b_max − sin b_min)   [sr],

and points uniform on the sphere inside it have l uniform and sin b uniform.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.time import Time

from radiostars.sample.errors import SampleError

SQDEG_PER_SR = (180.0 / np.pi) ** 2
SMGPS_L_RANGES_DEG = ((251.0, 358.0), (2.0, 61.0))
SMGPS_B_MAX_DEG = 1.5
DEFAULT_AREA_DEG2 = 20.0

# centre l, first epoch (decimal year), image rms [mJy/beam], systematic position error [arcsec]
_FIELD_SPECS = (
    ("F262", 262.0, 2018.45, 0.012, 1.5),  # early data: large systematic (up to ~2")
    ("F300", 300.0, 2019.10, 0.018, 0.4),
    ("F330", 330.0, 2019.55, 0.025, 0.35),
    ("F020", 20.0, 2020.05, 0.015, 0.45),
    ("F045", 45.0, 2020.60, 0.028, 0.3),
)
FIELD_EPOCH_SPREAD_DAYS = 60.0


@dataclass(frozen=True)
class Field:
    """A survey field: a Galactic (l, b) box (``kind`` "plane") or a circular pointing of radius
    ``radius_deg`` around (ra0, dec0) (``kind`` "hpm": a targeted pointing on a fast star, whose
    l/b bounds are the pointing's bounding box and only informative).

    ``sys_err_arcsec`` is the σ of the field's systematic (unquoted) position error: the σ of its
    coherent offset in the realistic profiles, of a per-source draw in the easy one."""

    name: str
    index: int
    l_min_deg: float
    l_max_deg: float
    b_min_deg: float
    b_max_deg: float
    epoch_mjd_start: float
    rms_mjy: float
    sys_err_arcsec: float
    kind: str = "plane"
    ra0_deg: float = float("nan")
    dec0_deg: float = float("nan")
    radius_deg: float = 0.0
    epoch_span_days: float = 60.0

    @property
    def is_pointing(self) -> bool:
        return self.radius_deg > 0

    @property
    def area_deg2(self) -> float:
        """Box: Ω = Δl (sin b_max − sin b_min); pointing: Ω = 2π (1 − cos r); in deg²."""
        if self.is_pointing:
            return float(2 * np.pi * (1 - np.cos(np.radians(self.radius_deg))) * SQDEG_PER_SR)
        dl = np.radians(self.l_max_deg - self.l_min_deg)
        return float(dl * (np.sin(np.radians(self.b_max_deg)) - np.sin(np.radians(self.b_min_deg))) * SQDEG_PER_SR)

    @property
    def centre_lb(self) -> tuple[float, float]:
        if self.is_pointing:
            l_deg, b_deg = icrs_to_galactic(np.array([self.ra0_deg]), np.array([self.dec0_deg]))
            return float(l_deg[0]), float(b_deg[0])
        return (0.5 * (self.l_min_deg + self.l_max_deg)) % 360.0, 0.5 * (self.b_min_deg + self.b_max_deg)


def pointing(
    name: str,
    index: int,
    ra0_deg: float,
    dec0_deg: float,
    area_deg2: float,
    epoch_mjd: float,
    rms_mjy: float,
    sys_err_arcsec: float,
    epoch_span_days: float = 1.0,
) -> Field:
    """A circular pointing of ``area_deg2`` centred on (ra0, dec0)."""
    r = float(np.degrees(np.arccos(1 - area_deg2 / SQDEG_PER_SR / (2 * np.pi))))
    l_deg, b_deg = icrs_to_galactic(np.array([ra0_deg]), np.array([dec0_deg]))
    return Field(
        name,
        index,
        float(l_deg[0]) - r,
        float(l_deg[0]) + r,
        float(b_deg[0]) - r,
        float(b_deg[0]) + r,
        float(epoch_mjd),
        rms_mjy,
        sys_err_arcsec,
        "hpm",
        float(ra0_deg),
        float(dec0_deg),
        r,
        epoch_span_days,
    )


def demo_fields(area_deg2: float = DEFAULT_AREA_DEG2, n_fields: int = len(_FIELD_SPECS)) -> list[Field]:
    """``n_fields`` (1..5) equal rectangles centred on b = 0 with total area ``area_deg2``.

    Each field is as square as allowed: side h = min(sqrt(A/n), 3°) in b, width A/(n h) in l.
    """
    if not np.isfinite(area_deg2) or area_deg2 <= 0:
        raise SampleError(f"area_deg2={area_deg2!r} must be a positive number of square degrees")
    if not 1 <= n_fields <= len(_FIELD_SPECS):
        raise SampleError(f"n_fields={n_fields} must be between 1 and {len(_FIELD_SPECS)}")
    per = area_deg2 / n_fields
    h = min(np.sqrt(per), 2 * SMGPS_B_MAX_DEG)
    # width in l from the exact area formula for a band |b| <= h/2
    band = np.degrees(2 * np.sin(np.radians(h / 2))) * 1.0
    w = per / band
    fields = []
    for i, (name, lc, year, rms, sys) in enumerate(_FIELD_SPECS[:n_fields]):
        lo, hi = lc - w / 2, lc + w / 2
        if not any(a <= lo and hi <= b for a, b in SMGPS_L_RANGES_DEG):
            raise SampleError(
                f"area_deg2={area_deg2} is too large: field {name} would span "
                f"l={lo:.1f}..{hi:.1f}° outside the SMGPS footprint; use a smaller area"
            )
        epoch = Time(year, format="jyear", scale="utc").mjd
        fields.append(Field(name, i, lo, hi, -h / 2, h / 2, float(epoch), rms, sys))
    return fields


def uniform_lb(rng: np.random.Generator, field: Field, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n points uniform on the sphere inside the field: l ~ U, sin b ~ U (box); cos θ ~ U, φ ~ U
    around the centre (pointing). Returns (l_deg, b_deg)."""
    if field.is_pointing:
        ra, dec = uniform_in_cap(rng, field.ra0_deg, field.dec0_deg, field.radius_deg, n)
        return icrs_to_galactic(ra, dec)
    l_deg = rng.uniform(field.l_min_deg, field.l_max_deg, n)
    sb = rng.uniform(np.sin(np.radians(field.b_min_deg)), np.sin(np.radians(field.b_max_deg)), n)
    return l_deg % 360.0, np.degrees(np.arcsin(sb))


def uniform_in_cap(
    rng: np.random.Generator, ra0_deg: float, dec0_deg: float, radius_deg: float, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """n points uniform on the sphere within ``radius_deg`` of (ra0, dec0): cos θ ~ U(cos r, 1), φ ~ U."""
    cos_t = rng.uniform(np.cos(np.radians(radius_deg)), 1.0, n)
    phi = rng.uniform(0, 2 * np.pi, n)
    t = np.arccos(cos_t)
    # offset from the pole (0, 0, 1), then rotate the pole to (ra0, dec0)
    x, y, z = np.sin(t) * np.cos(phi), np.sin(t) * np.sin(phi), cos_t
    a0, d0 = np.radians(ra0_deg), np.radians(dec0_deg)
    # pole → centre: rotate about y by (90° − dec0), then about z by ra0
    c, s = np.cos(np.pi / 2 - d0), np.sin(np.pi / 2 - d0)
    x, z = c * x + s * z, -s * x + c * z
    ca, sa = np.cos(a0), np.sin(a0)
    x, y = ca * x - sa * y, sa * x + ca * y
    return np.degrees(np.arctan2(y, x)) % 360.0, np.degrees(np.arcsin(np.clip(z, -1, 1)))


def galactic_to_icrs(l_deg: np.ndarray, b_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = SkyCoord(l=l_deg * u.deg, b=b_deg * u.deg, frame="galactic").icrs
    return c.ra.deg, c.dec.deg


def icrs_to_galactic(ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = SkyCoord(ra=ra_deg * u.deg, dec=dec_deg * u.deg, frame="icrs").galactic
    return c.l.deg, c.b.deg


def field_of(
    l_deg: np.ndarray,
    b_deg: np.ndarray,
    fields: list[Field],
    ra_deg: np.ndarray | None = None,
    dec_deg: np.ndarray | None = None,
) -> np.ndarray:
    """Index of the field containing each (l, b), or -1 (pointings need ``ra_deg``/``dec_deg``)."""
    out = np.full(np.shape(l_deg), -1, dtype=np.int64)
    for f in fields:
        if f.is_pointing:
            if ra_deg is None:
                continue
            inside = sep_arcsec(ra_deg, dec_deg, f.ra0_deg, f.dec0_deg) < f.radius_deg * 3600.0
        else:
            inside = (l_deg >= f.l_min_deg) & (l_deg < f.l_max_deg) & (b_deg >= f.b_min_deg) & (b_deg < f.b_max_deg)
        out[inside] = f.index
    return out


def galactic_name(l_deg: np.ndarray, b_deg: np.ndarray, prefix: str = "G") -> np.ndarray:
    """Names like ``G300.12345+00.67890`` (1e-5 deg = 0.036 arcsec resolution)."""
    return np.array([f"{prefix}{l:09.5f}{b:+09.5f}" for l, b in zip(l_deg % 360.0, b_deg)], dtype=object)


def make_unique(names: np.ndarray, taken: set[str] | None = None) -> np.ndarray:
    """Append ``a``, ``b``, … to repeated names (and to names already in ``taken``); updates ``taken``."""
    taken = set() if taken is None else taken
    out = np.empty(len(names), dtype=object)
    for i, n in enumerate(names):
        cand, k = n, 0
        while cand in taken:
            cand = n + chr(ord("a") + k % 26) * (1 + k // 26)
            k += 1
        taken.add(cand)
        out[i] = cand
    return out


def offset_radec(
    ra_deg: np.ndarray, dec_deg: np.ndarray, dx_arcsec: np.ndarray, dy_arcsec: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Move (ra, dec) by the tangent-plane offset (dx east, dy north), exact gnomonic inverse.

    With ξ = dx, η = dy in radians and (α0, δ0) the origin:
        δ = atan2(sin δ0 + η cos δ0, sqrt(ξ² + (cos δ0 − η sin δ0)²)),
        α = α0 + atan2(ξ, cos δ0 − η sin δ0).
    """
    xi = np.radians(np.asarray(dx_arcsec) / 3600.0)
    eta = np.radians(np.asarray(dy_arcsec) / 3600.0)
    a0, d0 = np.radians(ra_deg), np.radians(dec_deg)
    den = np.cos(d0) - eta * np.sin(d0)
    ra = np.degrees(a0 + np.arctan2(xi, den)) % 360.0
    dec = np.degrees(np.arctan2(np.sin(d0) + eta * np.cos(d0), np.hypot(xi, den)))
    return ra, dec


def sep_arcsec(ra1_deg, dec1_deg, ra2_deg, dec2_deg) -> np.ndarray:
    """Great-circle separation (Vincenty formula, stable at all separations) [arcsec]."""
    a1, d1, a2, d2 = map(np.radians, (ra1_deg, dec1_deg, ra2_deg, dec2_deg))
    da = a2 - a1
    num = np.hypot(np.cos(d2) * np.sin(da), np.cos(d1) * np.sin(d2) - np.sin(d1) * np.cos(d2) * np.cos(da))
    den = np.sin(d1) * np.sin(d2) + np.cos(d1) * np.cos(d2) * np.cos(da)
    return np.degrees(np.arctan2(num, den)) * 3600.0
