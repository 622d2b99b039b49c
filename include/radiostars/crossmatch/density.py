"""Local optical source density and chance-coincidence probabilities.

Density: for each radio source, the optical sources (track centres, see :mod:`match`) in the
annulus r_in < ψ ≤ r_out are counted with the partition's KD-tree and divided by the annulus
area A = 2π(cos r_in − cos r_out) sr (exact spherical area, in arcsec²):  ρ = n / A.
The inner radius (≥ the match radius) excludes the counterpart itself. In dense fields
(Galactic plane, 10⁵–10⁶ deg⁻²) an 180″ annulus holds ~10³–10⁴ sources and counting them all
dominates the run time, so the count is made on a deterministic random subsample of fraction f
chosen so that ~``target_count`` sources are expected per annulus, and ρ = n_f / (f A): unbiased,
with a relative Poisson error ≈ 1/sqrt(target_count) (5 % at the default 400), well below the
real variation of ρ over an annulus. The subsample is a per-row hash of a stable row key (the
optical id): row i is kept iff u(key_i, seed) < f (:func:`unit_hash`), so whether a given star is
counted does not depend on the row order or on which other rows (e.g. margin copies far from every
radio position) are present — the Spark engine feeds a pixel the same stars in different orders and
with different margins depending on the execution path, and must get the same densities.

Chance probability per pair: for a Poisson field of density ρ the probability that at least one
unrelated source lies within r of a given position is p = 1 − exp(−π r² ρ). We evaluate it at
r = sep_arcsec: "the probability of an unrelated source at least this close", i.e. the
significance of *this* association (Downes et al. 1986 style) — a pair at 0.2″ is far more
convincing than one at 4″ in the same field, which r = search radius would not show.
The per-radio-source expectation that the control run estimates is instead evaluated at the
match radius R: μ = π R² ρ unrelated sources expected within R, P(≥1) = 1 − exp(−μ).

Sparse catalogues: Hipparcos (~3 deg⁻²) expects 0.02 stars in a 30″–180″ annulus, so the annulus
is almost always empty and ρ = 0 would make p_chance 0 and the Bayesian prior 1 (every Hipparcos
candidate "certain"). Below ``DENSITY_MIN_COUNT`` annulus sources, :func:`pooled_density` pools the
annulus with a wider region around it (the partition's HEALPix pixel, ~0.8 deg² at order 6):
ρ = (n_ann + n_wide)/(f·A_ann + A_wide) — the maximum-likelihood Poisson rate of both regions,
dominated by the wide region exactly when the annulus has too few sources to say anything.

Density from a count map (the Spark engine, issue 16): carrying every optical row within r_out of a
radio position into Python costs ~10⁴ rows per source in the Galactic plane, while only the rows
within the match radius can pair. The engine therefore ships, next to the few rows within reach, a
*count map*: the number of catalogue rows per HEALPix cell at order K (:func:`density_cell_order`,
cells ≈ (r_out − r_in)/4 wide), each cell as (centre, count). :func:`cell_density` estimates the
annulus count as Σ_c n_c · w(d_c), d_c the distance of cell c's centre, with the linear ramp

    w(d) = ramp_out(d) − ramp_in(d),   ramp_r(d) = clip((r + h − d) / 2h, 0, 1),  h = res(K)/2,

the fraction of a cell of width 2h centred at d that lies inside radius r when the edge is straight.
For a uniform field E[Σ n_c w] = ρ ∫ w dA = ρ[(π r_out² + π h²/3) − (π r_in² + π h²/3)] = ρ A (planar,
r_in ≥ h; with r_in = 0 only the outer ramp is used): unbiased, and the error of the pixelisation
(edge cells counted by fraction instead of star by star) is of second order in h/r, well inside the
Poisson error 1/sqrt(n) of the annulus count itself (tested on uniform and clustered fields,
tests/unit/test_crossmatch_density_cells.py). No subsampling is needed (f = 1): a cell replaces
n_c rows. References: the same estimator as an area-weighted count on a HEALPix map (Górski et al.
2005); the count map itself is the HATS/LSDB "pixel statistics" idea at a fine order.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from .separation import ARCSEC_PER_RAD, arcsec_from_chord, chord_from_arcsec, radec_to_xyz

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
UIntArray = npt.NDArray[np.uint64]

_MASK64 = (1 << 64) - 1
_GOLDEN_GAMMA = 0x9E3779B97F4A7C15  # 2^64 / φ, the splitmix64 increment
_MIX_M1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def _mix64_py(z: int) -> int:
    """splitmix64 finaliser on a Python int (mod 2^64); used once per call for the seed salt."""
    z &= _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _mix64(z: UIntArray) -> UIntArray:
    """splitmix64 finaliser, element-wise on uint64; the products wrap mod 2^64 (intended)."""
    z = np.asarray(z, dtype=np.uint64).reshape(-1)  # 1-d: numpy warns on 0-d scalar overflow
    with np.errstate(over="ignore"):
        z = (z ^ (z >> _S30)) * _MIX_M1
        z = (z ^ (z >> _S27)) * _MIX_M2
    return z ^ (z >> _S31)


def _as_uint64_keys(keys: npt.ArrayLike) -> UIntArray:
    """Integer keys as their 64-bit pattern (int64 two's complement → uint64); never via float."""
    k = np.asarray(keys)
    if k.dtype.kind == "i":
        return np.asarray(k, dtype=np.int64).view(np.uint64)
    if k.dtype.kind == "u":
        return np.asarray(k, dtype=np.uint64)
    if k.size == 0 and k.dtype.kind == "f":  # np.asarray([]) is float64
        return np.zeros(k.shape, np.uint64)
    raise ValueError(f"keys: must be an integer array (int64 ids, never float), got dtype {k.dtype}")


def unit_hash(keys: npt.ArrayLike, seed: int = 0) -> FloatArray:
    """Stable pseudo-uniform u ∈ [0, 1) per integer key: u = (h >> 11) · 2⁻⁵³ with
    h = mix64(γ · key + mix64(seed)) mod 2⁶⁴,  γ = 0x9E3779B97F4A7C15 (odd, ≈ 2⁶⁴/φ).

    mix64 is the splitmix64 finaliser (Steele, Lea & Flood 2014; shifts/multipliers of Vigna's
    splitmix64.c, Stafford's "Mix13"), so h is the splitmix64 output at counter ``key`` of the
    stream whose state starts at mix64(seed). Both steps are bijections of 64-bit words (γ odd),
    so distinct keys give distinct h, and consecutive or structured ids (Gaia source_id =
    HEALPix-12 index · 2³⁵ + running number) give independent-looking u. The top 53 bits of h
    make u an exact float64 multiple of 2⁻⁵³, so P(u < f) = f to within 2⁻⁵³.

    Why: "keep row i iff u_i < f" selects a subsample of fraction f in which each row's fate depends
    only on its own key (and the seed) — unlike a random stream drawn over the rows, it does not
    change when the rows are reordered or when unrelated rows are added or removed. The keys are
    used as their 64-bit pattern (int64 → uint64 two's complement; uint64 as is) and must not go
    through float64, which is exact only up to 2⁵³ (Gaia source_ids reach ~7·10¹⁸).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed: must be an int, got {seed!r}")
    k = _as_uint64_keys(keys)
    salt = np.uint64(_mix64_py(int(seed)))
    with np.errstate(over="ignore"):
        h = _mix64(k.reshape(-1) * np.uint64(_GOLDEN_GAMMA) + salt)
    return ((h >> _S11).astype(np.float64) * (1.0 / 2.0**53)).reshape(k.shape)


def annulus_area_arcsec2(inner_arcsec: float, outer_arcsec: float) -> float:
    """Exact area of the spherical annulus inner < ψ ≤ outer: 2π(cos r_in − cos r_out), in arcsec²."""
    if (
        not (np.isfinite(inner_arcsec) and np.isfinite(outer_arcsec))
        or inner_arcsec < 0
        or outer_arcsec <= inner_arcsec
    ):
        raise ValueError(f"inner_arcsec/outer_arcsec: need 0 <= inner < outer, got {inner_arcsec!r}, {outer_arcsec!r}")
    a_in, a_out = inner_arcsec / ARCSEC_PER_RAD, outer_arcsec / ARCSEC_PER_RAD
    # cos a − cos b = 2 sin((a+b)/2) sin((b−a)/2): no cancellation for tiny angles
    sr = 2.0 * math.pi * 2.0 * math.sin((a_in + a_out) / 2.0) * math.sin((a_out - a_in) / 2.0)
    return sr * ARCSEC_PER_RAD**2


def local_density(
    radio_xyz: npt.ArrayLike,
    optical_xyz: npt.ArrayLike,
    inner_arcsec: float,
    outer_arcsec: float,
    *,
    target_count: int = 400,
    seed: int = 0,
    tree: cKDTree | None = None,
    keys: npt.ArrayLike | None = None,
) -> tuple[IntArray, FloatArray, float]:
    """Annulus counts and densities around each radio position.

    Returns (n_annulus, rho_per_arcsec2, fraction) where ``n_annulus`` is the count in the
    (possibly subsampled) optical set and ρ = n / (fraction · A). ``tree`` may be a prebuilt
    KD-tree over ``optical_xyz`` (reused for the pilot count and when no subsampling is needed).

    The fraction is f = min(1, target_count / n̄) (f = 1 unless n̄ > 2·target_count), n̄ being the
    mean full annulus count on ≤ 200 radio positions drawn with ``seed`` (a draw over the radio
    rows only). When f < 1, optical row i is kept iff ``unit_hash(keys[i], seed) < f``; ``keys``
    are stable int64 row ids (e.g. Gaia source_id), one per optical row, so (n, ρ, f) do not
    depend on the optical row order, nor on rows outside the outer radius of every radio position.
    Without ``keys`` the row index is the key: still deterministic, but then the subsample (not f)
    changes when the rows are reordered or rows are inserted before others.
    """
    area = annulus_area_arcsec2(inner_arcsec, outer_arcsec)
    if isinstance(target_count, bool) or not isinstance(target_count, (int, np.integer)) or target_count < 1:
        raise ValueError(f"target_count: must be an int >= 1, got {target_count!r}")
    r = np.asarray(radio_xyz, dtype=np.float64).reshape(-1, 3)
    o = np.asarray(optical_xyz, dtype=np.float64).reshape(-1, 3)
    if r.shape[0] == 0:
        return np.zeros(0, np.int64), np.zeros(0), 1.0
    if keys is not None:
        k = _as_uint64_keys(keys)
        if k.shape != (o.shape[0],):
            raise ValueError(f"keys: need one key per optical row, shape ({o.shape[0]},), got {k.shape}")
    else:
        k = np.arange(o.shape[0], dtype=np.int64).view(np.uint64)
    if o.shape[0] == 0:
        return np.zeros(r.shape[0], np.int64), np.zeros(r.shape[0]), 1.0
    full = tree if tree is not None else cKDTree(o, balanced_tree=False, compact_nodes=False)
    c_in, c_out = chord_from_arcsec(inner_arcsec), chord_from_arcsec(outer_arcsec)
    rng = np.random.default_rng(seed)
    # pilot: mean annulus count on <= 200 radio positions with all optical rows
    pilot = r[rng.choice(r.shape[0], size=min(200, r.shape[0]), replace=False)]
    mean_count = float(
        np.mean(
            full.query_ball_point(pilot, c_out, return_length=True)
            - full.query_ball_point(pilot, c_in, return_length=True)
        )
    )
    fraction = 1.0 if mean_count <= 2 * target_count else target_count / mean_count
    if fraction < 1.0:
        keep = unit_hash(k, seed) < fraction  # per-row, order-independent (see unit_hash)
        t = cKDTree(o[keep], balanced_tree=False, compact_nodes=False)
    else:
        t = full
    n = (t.query_ball_point(r, c_out, return_length=True) - t.query_ball_point(r, c_in, return_length=True)).astype(
        np.int64
    )
    return n, n / (fraction * area), fraction


DENSITY_MIN_COUNT = 10  # fewer annulus sources than this: pool with the wide region


def pooled_density(
    n_annulus: npt.ArrayLike,
    fraction: float,
    annulus_area_arcsec2_: float,
    n_wide: int,
    wide_area_arcsec2: float,
    min_count: int = DENSITY_MIN_COUNT,
) -> FloatArray:
    """ρ = n/(f·A) where the annulus holds ≥ ``min_count`` sources, else (n + n_w)/(f·A + A_w).

    ``n_wide`` sources counted (without subsampling) over ``wide_area_arcsec2``; a zero wide area
    disables pooling.
    """
    n = np.asarray(n_annulus, dtype=np.float64)
    if not (0.0 < fraction <= 1.0):
        raise ValueError(f"fraction: must be in (0, 1], got {fraction!r}")
    if annulus_area_arcsec2_ <= 0 or wide_area_arcsec2 < 0 or n_wide < 0:
        raise ValueError("annulus_area_arcsec2_/wide_area_arcsec2/n_wide: must be > 0 / >= 0 / >= 0")
    area = fraction * annulus_area_arcsec2_
    rho = n / area
    if wide_area_arcsec2 > 0:
        sparse = n < min_count
        rho = np.where(sparse, (n + n_wide) / (area + wide_area_arcsec2), rho)
    return rho


def p_chance(r_arcsec: npt.ArrayLike, rho_per_arcsec2: npt.ArrayLike) -> FloatArray:
    """1 − exp(−π r² ρ): probability of ≥ 1 unrelated source within r (Poisson field)."""
    r = np.asarray(r_arcsec, dtype=np.float64)
    rho = np.asarray(rho_per_arcsec2, dtype=np.float64)
    if np.any(r < 0) or np.any(rho < 0):
        raise ValueError("r_arcsec/rho_per_arcsec2: must be >= 0")
    return -np.expm1(-np.pi * r * r * rho)


def expected_chance_count(radius_arcsec: npt.ArrayLike, rho_per_arcsec2: npt.ArrayLike) -> FloatArray:
    """Poisson mean π R² ρ of unrelated sources within R."""
    r = np.asarray(radius_arcsec, dtype=np.float64)
    rho = np.asarray(rho_per_arcsec2, dtype=np.float64)
    if np.any(r < 0) or np.any(rho < 0):
        raise ValueError("radius_arcsec/rho_per_arcsec2: must be >= 0")
    return np.pi * r * r * rho


# --------------------------------------------------------------------------- density from a count map
CELL_WIDTHS_PER_ANNULUS = 4.0  # count-map cells ≈ (r_out − r_in)/4 wide


def density_cell_order(inner_arcsec: float, outer_arcsec: float) -> int:
    """Order K of the count map: the coarsest HEALPix order whose resolution is ≤ (r_out − r_in)/4.

    Coarser cells mean fewer cells (≈ n_rows / cells rows folded into one), finer ones a smaller
    pixelisation term; at (r_out − r_in)/4 an annulus spans ~2·(r_out + r_in)/res ≈ 60 cell rows
    around and the ramp error is ≲ 1 % of the count (module docstring)."""
    from .partition import MAX_ORDER, pixel_resolution_arcsec

    annulus_area_arcsec2(inner_arcsec, outer_arcsec)  # validates the radii
    want = (outer_arcsec - inner_arcsec) / CELL_WIDTHS_PER_ANNULUS
    order = 0
    while order < MAX_ORDER and pixel_resolution_arcsec(order) > want:
        order += 1
    return order


def cell_half_width_arcsec(order: int) -> float:
    """h = res(K)/2: the ramp half-width of :func:`cell_density`."""
    from .partition import pixel_resolution_arcsec

    return 0.5 * pixel_resolution_arcsec(order)


def cell_density(
    radio_xyz: npt.ArrayLike,
    cell_xyz: npt.ArrayLike,
    cell_counts: npt.ArrayLike,
    inner_arcsec: float,
    outer_arcsec: float,
    half_width_arcsec: float,
    *,
    tree: cKDTree | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Annulus counts n̂ = Σ_c n_c w(d_c) and ρ = n̂ / A around each radio position from a count map.

    ``cell_xyz`` (m, 3) are the unit vectors of the cell centres, ``cell_counts`` (m,) the rows per
    cell; w is the ramp of the module docstring. Every cell with a centre within r_out + h of a radio
    position must be present (the engine ships cells with that margin). Returns (n̂, ρ) per radio row.
    """
    area = annulus_area_arcsec2(inner_arcsec, outer_arcsec)
    if not (np.isfinite(half_width_arcsec) and half_width_arcsec > 0):
        raise ValueError(f"half_width_arcsec: must be finite and > 0, got {half_width_arcsec!r}")
    r = np.asarray(radio_xyz, dtype=np.float64).reshape(-1, 3)
    c = np.asarray(cell_xyz, dtype=np.float64).reshape(-1, 3)
    counts = np.asarray(cell_counts, dtype=np.float64).reshape(-1)
    if counts.shape[0] != c.shape[0]:
        raise ValueError(f"cell_counts: need one count per cell ({c.shape[0]}), got {counts.shape[0]}")
    if np.any(~np.isfinite(counts) | (counts < 0)):
        raise ValueError("cell_counts: must be finite and >= 0")
    n = np.zeros(r.shape[0])
    if r.shape[0] == 0 or c.shape[0] == 0:
        return n, n.copy()
    h = float(half_width_arcsec)
    ctree = tree if tree is not None else cKDTree(c, balanced_tree=False, compact_nodes=False)
    rtree = cKDTree(r, balanced_tree=False, compact_nodes=False)
    sdm = rtree.sparse_distance_matrix(ctree, chord_from_arcsec(outer_arcsec + h), output_type="ndarray")
    d = arcsec_from_chord(sdm["v"])
    w = np.clip((outer_arcsec + h - d) / (2 * h), 0.0, 1.0)
    if inner_arcsec > 0:
        w -= np.clip((inner_arcsec + h - d) / (2 * h), 0.0, 1.0)
    n = np.bincount(sdm["i"], weights=w * counts[sdm["j"]], minlength=r.shape[0])
    return n, n / area


def count_map(ra_deg: npt.ArrayLike, dec_deg: npt.ArrayLike, order: int) -> tuple[IntArray, IntArray]:
    """(cell, n): the nested order-``order`` HEALPix cells holding the positions and their row counts
    (sorted by cell). Partial maps of disjoint row sets add up cell by cell (the engine sums per batch)."""
    from .partition import home_pixel

    cells = home_pixel(ra_deg, dec_deg, order).reshape(-1)
    if cells.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cell, n = np.unique(cells, return_counts=True)
    return cell.astype(np.int64), n.astype(np.int64)


def cell_centres_xyz(cells: npt.ArrayLike, order: int) -> FloatArray:
    """Unit vectors (m, 3) of the centres of nested order-``order`` cells."""
    from .partition import _hp

    cells = np.asarray(cells, dtype=np.int64).reshape(-1)
    if cells.size == 0:
        return np.zeros((0, 3))
    lon, lat = _hp(int(order)).healpix_to_lonlat(cells)
    return radec_to_xyz(np.degrees(np.asarray(lon)), np.degrees(np.asarray(lat))).reshape(-1, 3)
