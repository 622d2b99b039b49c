"""Local optical source density and chance-coincidence probabilities.

Density: for each radio source, the optical sources (track centres, see :mod:`match`) in the
annulus r_in < ψ ≤ r_out are counted with the partition's KD-tree and divided by the annulus
area A = 2π(cos r_in − cos r_out) sr (exact spherical area, in arcsec²):  ρ = n / A.
The inner radius (≥ the match radius) excludes the counterpart itself. In dense fields
(Galactic plane, 10⁵–10⁶ deg⁻²) an 180″ annulus holds ~10³–10⁴ sources and counting them all
dominates the run time, so the count is made on a deterministic random subsample of fraction f
chosen so that ~``target_count`` sources are expected per annulus, and ρ = n_f / (f A): unbiased,
with a relative Poisson error ≈ 1/sqrt(target_count) (5 % at the default 400), well below the
real variation of ρ over an annulus.

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
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from .separation import ARCSEC_PER_RAD, chord_from_arcsec

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def annulus_area_arcsec2(inner_arcsec: float, outer_arcsec: float) -> float:
    """Exact area of the spherical annulus inner < ψ ≤ outer: 2π(cos r_in − cos r_out), in arcsec²."""
    if not (np.isfinite(inner_arcsec) and np.isfinite(outer_arcsec)) or inner_arcsec < 0 or outer_arcsec <= inner_arcsec:
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
) -> tuple[IntArray, FloatArray, float]:
    """Annulus counts and densities around each radio position.

    Returns (n_annulus, rho_per_arcsec2, fraction) where ``n_annulus`` is the count in the
    (possibly subsampled) optical set and ρ = n / (fraction · A). ``tree`` may be a prebuilt
    KD-tree over ``optical_xyz`` (reused for the pilot count and when no subsampling is needed).
    """
    area = annulus_area_arcsec2(inner_arcsec, outer_arcsec)
    if isinstance(target_count, bool) or not isinstance(target_count, (int, np.integer)) or target_count < 1:
        raise ValueError(f"target_count: must be an int >= 1, got {target_count!r}")
    r = np.asarray(radio_xyz, dtype=np.float64).reshape(-1, 3)
    o = np.asarray(optical_xyz, dtype=np.float64).reshape(-1, 3)
    if r.shape[0] == 0:
        return np.zeros(0, np.int64), np.zeros(0), 1.0
    if o.shape[0] == 0:
        return np.zeros(r.shape[0], np.int64), np.zeros(r.shape[0]), 1.0
    full = tree if tree is not None else cKDTree(o, balanced_tree=False, compact_nodes=False)
    c_in, c_out = chord_from_arcsec(inner_arcsec), chord_from_arcsec(outer_arcsec)
    rng = np.random.default_rng(seed)
    # pilot: mean annulus count on <= 200 radio positions with all optical rows
    pilot = r[rng.choice(r.shape[0], size=min(200, r.shape[0]), replace=False)]
    mean_count = float(np.mean(full.query_ball_point(pilot, c_out, return_length=True) - full.query_ball_point(pilot, c_in, return_length=True)))
    fraction = 1.0 if mean_count <= 2 * target_count else target_count / mean_count
    if fraction < 1.0:
        keep = rng.random(o.shape[0]) < fraction
        t = cKDTree(o[keep], balanced_tree=False, compact_nodes=False)
    else:
        t = full
    n = (t.query_ball_point(r, c_out, return_length=True) - t.query_ball_point(r, c_in, return_length=True)).astype(np.int64)
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
