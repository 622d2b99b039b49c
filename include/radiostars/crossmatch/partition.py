"""HEALPix (nested) partitioning with margins, for partition-local cross-matching.

Scheme (the LSDB/HATS idea, Górski et al. 2005 for HEALPix):

* Every radio source lives in exactly one *home* pixel at order ``order`` (no copies).
* Every optical source is copied into its home pixel and into every other pixel that comes
  within its margin m_i (≥ search radius + its proper-motion reach). Then, for any pair whose
  separation is ≤ r_max at the radio epoch, the optical source is present in the radio
  source's home pixel; emitting a pair only from the radio source's home pixel finds it exactly
  once, whatever pixel edge, RA 0/360 seam or pole lies between the two.

Margin membership is computed vectorised, without hand-written pixel geometry, from
``astropy_healpix`` ``lonlat_to_healpix`` and ``neighbours`` at a finer order k' ≥ k: if a
point lies in fine pixel f, every point within the *safe width* w(k') of it lies in f or one of
its 8 (or 7) neighbours. Hence the order-k parents of {f} ∪ N(f) contain every order-k pixel the
margin cone touches — a conservative superset (extra copies are harmless: pairs are only
emitted from the radio source's home pixel). We use w(k') = ``SAFE_WIDTH_FACTOR``·res(k') with
res = sqrt(4π/N_pix) the HEALPix resolution; the empirical minimum over all pixels is ≈ 0.68·res
(orders 1–5, checked in the unit tests), so 0.5 leaves margin. k' is the largest order with
w(k') ≥ m_i, so only points within ≈ 2·res(k') ≈ 4 m_i of a pixel edge are copied. When a
margin exceeds w(k) (a very fast star) k' < k and the 9 coarse pixels are expanded to their
order-k children (nested indices: children of p are p·4^Δ … p·4^Δ + 4^Δ − 1).

The poles need no special case: there 4 pixels meet and ``neighbours`` returns them; at the 8
points where only 3 pixels meet, the missing neighbour is reported as −1 and skipped.
"""

from __future__ import annotations

import math
import warnings
from functools import cache

import astropy.units as u
import numpy as np
import numpy.typing as npt
from astropy_healpix import HEALPix

from .params import DEFAULT_PIXEL_TO_MARGIN
from .separation import validate_radec

ArrayLike = npt.ArrayLike
IntArray = npt.NDArray[np.int64]

MAX_ORDER: int = 29
SAFE_WIDTH_FACTOR: float = 0.5


def _validate_order(order: int, name: str = "order") -> int:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)):
        raise ValueError(f"{name}: must be an int, got {type(order).__name__}")
    if not 0 <= int(order) <= MAX_ORDER:
        raise ValueError(f"{name}: must be in [0, {MAX_ORDER}], got {order}")
    return int(order)


@cache
def _hp(order: int) -> HEALPix:
    return HEALPix(nside=2**order, order="nested")


def pixel_resolution_arcsec(order: int) -> float:
    """HEALPix resolution sqrt(4π/N_pix) at ``order`` (nside = 2**order), in arcsec."""
    order = _validate_order(order)
    return float(_hp(order).pixel_resolution.to_value(u.arcsec))


def safe_width_arcsec(order: int) -> float:
    """Distance guaranteed to stay inside a pixel's 3×3 neighbourhood: 0.5 × resolution."""
    return SAFE_WIDTH_FACTOR * pixel_resolution_arcsec(order)


def max_order_for_margin(margin_arcsec: float, pixel_to_margin: float = DEFAULT_PIXEL_TO_MARGIN) -> int:
    """Largest order whose pixel resolution is ≥ ``pixel_to_margin`` × ``margin_arcsec``.

    Pixels much larger than the margin keep the copied fraction small (≈ 4·4m/res of the optical
    rows). Raises ``ValueError`` if even order 0 (58.6°) is too small.
    """
    if not (np.isfinite(margin_arcsec) and margin_arcsec > 0):
        raise ValueError(f"margin_arcsec: must be finite and > 0, got {margin_arcsec!r}")
    if not (np.isfinite(pixel_to_margin) and pixel_to_margin >= 1):
        raise ValueError(f"pixel_to_margin: must be finite and >= 1, got {pixel_to_margin!r}")
    need = pixel_to_margin * margin_arcsec
    if pixel_resolution_arcsec(0) < need:
        raise ValueError(
            f"margin_arcsec={margin_arcsec}: too large for HEALPix partitioning "
            f"(needs pixels >= {need / 3600:.1f} deg, order 0 is {pixel_resolution_arcsec(0) / 3600:.1f} deg)"
        )
    order = 0
    while order < MAX_ORDER and pixel_resolution_arcsec(order + 1) >= need:
        order += 1
    return order


def check_order_for_margin(order: int, margin_arcsec: float, pixel_to_margin: float = DEFAULT_PIXEL_TO_MARGIN) -> None:
    """Raise ``ValueError`` if pixels at ``order`` are not ≥ pixel_to_margin × margin (suggesting an order)."""
    order = _validate_order(order, "healpix_order")
    best = max_order_for_margin(margin_arcsec, pixel_to_margin)
    if order > best:
        raise ValueError(
            f"healpix_order={order}: pixels ({pixel_resolution_arcsec(order):.0f} arcsec) are not >= "
            f"{pixel_to_margin:g} x margin_arcsec={margin_arcsec:g}; use healpix_order <= {best}"
        )


def home_pixel(ra_deg: ArrayLike, dec_deg: ArrayLike, order: int) -> IntArray:
    """Nested HEALPix index at ``order`` of each position (ICRS ra/dec in degrees), int64."""
    order = _validate_order(order)
    ra, dec = validate_radec("ra_deg", ra_deg, "dec_deg", dec_deg)
    ra, dec = np.broadcast_arrays(ra, dec)
    return np.asarray(_hp(order).lonlat_to_healpix(ra * u.deg, dec * u.deg), dtype=np.int64)


@cache
def _safe_widths_arcsec(max_order: int) -> np.ndarray:
    widths = np.array([safe_width_arcsec(o) for o in range(max_order + 1)])
    widths.flags.writeable = False
    return widths


def fine_order_for_margin(margin_arcsec: ArrayLike, max_order: int = MAX_ORDER) -> IntArray:
    """Largest order k' ≤ max_order with safe width w(k') ≥ margin (−1 if none, i.e. margin > w(0))."""
    m = np.asarray(margin_arcsec, dtype=np.float64)
    widths = _safe_widths_arcsec(max_order)  # decreasing
    # number of orders whose width is >= m, minus one
    return (np.searchsorted(-widths, -m, side="right") - 1).astype(np.int64)


def _dedupe_columns(cand: np.ndarray) -> tuple[IntArray, IntArray]:
    """cand: (k, n) pixel candidates per point (−1 = none). Returns unique (point, pixel) pairs."""
    cand = np.sort(cand, axis=0)
    keep = cand >= 0
    keep[1:] &= cand[1:] != cand[:-1]
    point = np.broadcast_to(np.arange(cand.shape[1], dtype=np.int64), cand.shape)
    return point[keep], cand[keep]


def margin_pixels(
    ra_deg: ArrayLike, dec_deg: ArrayLike, margin_arcsec: ArrayLike, order: int
) -> tuple[IntArray, IntArray]:
    """(point_index, pixel) pairs: each point's home pixel plus every order-``order`` pixel its
    margin cone may touch (a conservative superset, see the module docstring).

    ``margin_arcsec`` is a scalar or one value per point (e.g. r_max + proper-motion reach).
    Output is sorted by point index then pixel, without duplicates. Raises ``ValueError`` for bad
    positions, a negative/non-finite margin, or a margin larger than w(0) ≈ 29°.
    """
    order = _validate_order(order)
    ra, dec = validate_radec("ra_deg", ra_deg, "dec_deg", dec_deg)
    ra, dec = np.broadcast_arrays(np.atleast_1d(ra), np.atleast_1d(dec))
    n = ra.shape[0]
    try:
        margin = np.broadcast_to(np.asarray(margin_arcsec, dtype=np.float64), (n,))
    except ValueError as exc:
        raise ValueError(f"margin_arcsec: expected a scalar or {n} values") from exc
    if np.any(~np.isfinite(margin) | (margin < 0)):
        raise ValueError("margin_arcsec: must be finite and >= 0")
    if n and margin.max() > safe_width_arcsec(0):
        raise ValueError(
            f"margin_arcsec: {margin.max():g} exceeds the largest supported margin {safe_width_arcsec(0):.0f}"
        )

    fine = fine_order_for_margin(margin)
    fine[margin == 0] = MAX_ORDER + 1  # home only
    points: list[IntArray] = []
    pixels: list[IntArray] = []
    home_only = np.flatnonzero(fine > MAX_ORDER)
    if home_only.size:
        points.append(home_only)
        pixels.append(home_pixel(ra[home_only], dec[home_only], order))
    for fo in np.unique(fine):
        if fo > MAX_ORDER:
            continue
        sel = np.flatnonzero(fine == fo)
        hp = _hp(int(fo))
        f = np.asarray(hp.lonlat_to_healpix(ra[sel] * u.deg, dec[sel] * u.deg), dtype=np.int64)
        # many points share a fine pixel: work out each distinct fine pixel's candidates once
        uf, inv = np.unique(f, return_inverse=True)
        with warnings.catch_warnings(), np.errstate(invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            nb = np.asarray(hp.neighbours(uf), dtype=np.int64).reshape(8, -1)
        cand = np.vstack([uf[None, :], nb])  # (9, u); row 0's parent is the home pixel
        if fo >= order:
            shift = 2 * (int(fo) - order)
            cand = np.where(cand >= 0, cand >> shift, -1)
        else:
            nchild = 4 ** (order - int(fo))
            kids = cand[:, None, :] * nchild + np.arange(nchild, dtype=np.int64)[None, :, None]
            cand = np.where(cand[:, None, :] >= 0, kids, -1).reshape(-1, uf.size)
        u_idx, u_pix = _dedupe_columns(cand)
        key = np.lexsort((u_pix, u_idx))
        u_idx, u_pix = u_idx[key], u_pix[key]
        per_u = np.bincount(u_idx, minlength=uf.size)
        first_u = np.cumsum(per_u) - per_u
        per_point = per_u[inv]
        total = int(per_point.sum())
        within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(per_point) - per_point, per_point)
        points.append(np.repeat(sel, per_point))
        pixels.append(u_pix[np.repeat(first_u[inv], per_point) + within])
    if not points:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    point = np.concatenate(points)
    pixel = np.concatenate(pixels)
    if len(points) > 1:  # every point is in exactly one piece, its pixels already sorted
        key = np.argsort(point, kind="stable")
        point, pixel = point[key], pixel[key]
    return point, pixel


def npix(order: int) -> int:
    """Number of pixels at ``order``: 12·4^order."""
    order = _validate_order(order)
    return 12 * 4**order


def pixel_area_arcsec2(order: int) -> float:
    """Area of one pixel at ``order`` in arcsec² (4π/N_pix)."""
    return 4.0 * math.pi / npix(order) * (180.0 * 3600.0 / math.pi) ** 2
