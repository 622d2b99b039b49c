"""Budavári & Szalay (2008) Bayes factors and NWAY-style association probabilities.

Two-catalogue Bayes factor for circular Gaussian errors (BS08 eq. 16):

    B = 2/(σ_r² + σ_o²) · exp(−ψ²/(2(σ_r² + σ_o²)))        (ψ, σ in radians)

It is the ratio of the density of the offset under "same source" (a 2-D Gaussian,
exp(−ψ²/2s²)/(2π s²) per sr) to that under "unrelated" (uniform on the sphere, 1/(4π) per sr).
We use σ² = σ_radio² + σ_opt(t)² + σ_sys² of the match (the radio epoch error budget), and
report ln B.

Prior (BS08 §2.3; Salvato et al. 2018 eq. 3): with a fraction c of radio sources expected to
have a counterpart and ν optical sources per sr, P(H) = c / (ν · 4π) — the 4π matching the
all-sky normalisation of B. We use the local density ρ around each radio source for ν.

Posteriors (Salvato et al. 2018, NWAY; its ``_compute_final_probabilities``): per pair
p_single = [1 + (1 − P)/(B P)]⁻¹. Per radio source with candidates i, weights w_i = B_i P_i and
w_none = 1 (NWAY's "no counterpart" association has B = 1 and prior 1), so

    p_any = Σ w_i / (1 + Σ w_i),        p_i = w_i / Σ_j w_j,

p_any being the probability that the radio source has any counterpart among the candidates and
p_i the relative probability that candidate i is it. (Sutherland & Saunders 1992 use 1 − c for
w_none; identical for the small c of radio stars.) Everything is computed in log space.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from .separation import ARCSEC_PER_RAD

FloatArray = npt.NDArray[np.float64]
SR_PER_ARCSEC2 = 1.0 / ARCSEC_PER_RAD**2


def ln_bayes_factor(sep_arcsec: npt.ArrayLike, sigma_arcsec: npt.ArrayLike) -> FloatArray:
    """ln B = ln 2 − ln s² − ψ²/(2 s²), with s² = Σσ² and ψ converted to radians."""
    psi = np.asarray(sep_arcsec, dtype=np.float64)
    s = np.asarray(sigma_arcsec, dtype=np.float64)
    if np.any(~np.isfinite(psi) | (psi < 0)):
        raise ValueError("sep_arcsec: must be finite and >= 0")
    if np.any(~np.isfinite(s) | (s <= 0)):
        raise ValueError("sigma_arcsec: must be finite and > 0")
    s2 = (s / ARCSEC_PER_RAD) ** 2
    return np.log(2.0) - np.log(s2) - (psi / ARCSEC_PER_RAD) ** 2 / (2.0 * s2)


def ln_bayes_factor_two(
    sep_arcsec: npt.ArrayLike, sigma_radio_arcsec: npt.ArrayLike, sigma_opt_arcsec: npt.ArrayLike
) -> FloatArray:
    """BS08 eq. 16 with the two errors given separately (s² = σ_r² + σ_o²)."""
    sr = np.asarray(sigma_radio_arcsec, dtype=np.float64)
    so = np.asarray(sigma_opt_arcsec, dtype=np.float64)
    return ln_bayes_factor(sep_arcsec, np.sqrt(sr * sr + so * so))


def prior_from_density(rho_per_arcsec2: npt.ArrayLike, completeness: float) -> FloatArray:
    """P(H) = c / (4π ν) with ν = ρ in sr⁻¹ (clipped to ≤ 1; ρ = 0 gives P = 1)."""
    if not (0.0 < completeness <= 1.0):
        raise ValueError(f"completeness: must be in (0, 1], got {completeness!r}")
    rho = np.asarray(rho_per_arcsec2, dtype=np.float64)
    if np.any(~np.isfinite(rho) | (rho < 0)):
        raise ValueError("rho_per_arcsec2: must be finite and >= 0")
    nu_sr = rho / SR_PER_ARCSEC2
    with np.errstate(divide="ignore"):
        return np.minimum(1.0, completeness / (4.0 * np.pi * nu_sr))


def posterior_single(ln_b: npt.ArrayLike, prior: npt.ArrayLike) -> FloatArray:
    """[1 + (1 − P)/(B P)]⁻¹ = 1/(1 + exp(ln(1 − P) − ln B − ln P)), overflow-safe."""
    lb = np.asarray(ln_b, dtype=np.float64)
    p = np.asarray(prior, dtype=np.float64)
    if np.any((p <= 0) | (p > 1)):
        raise ValueError("prior: must be in (0, 1]")
    with np.errstate(divide="ignore"):
        x = np.log1p(-p) - lb - np.log(p)
    return 1.0 / (1.0 + np.exp(np.minimum(x, 700.0)))


def group_log_sum_exp(codes: npt.ArrayLike, ln_w: npt.ArrayLike, n_groups: int | None = None) -> FloatArray:
    """ln Σ_i exp(ln_w_i) per group (``codes`` = 0-based group index per row), overflow-safe; −inf for a group
    without rows or whose weights are all 0 (ln_w = −inf)."""
    c = np.asarray(codes, dtype=np.int64)
    lw = np.asarray(ln_w, dtype=np.float64)
    if c.shape != lw.shape or c.ndim != 1:
        raise ValueError("codes/ln_w: need two 1-D arrays of one shape")
    if np.isnan(lw).any() or np.isposinf(lw).any():
        raise ValueError("ln_w: NaN or +inf log weight")
    ng = int(c.max()) + 1 if n_groups is None and c.size else int(n_groups or 0)
    if c.size and (c.min() < 0 or c.max() >= ng):
        raise ValueError("codes: must be in [0, n_groups)")
    mx = np.full(ng, -np.inf)
    np.maximum.at(mx, c, lw)
    shift = np.where(np.isfinite(mx), mx, 0.0)
    s = np.bincount(c, weights=np.exp(lw - shift[c]), minlength=ng)
    with np.errstate(divide="ignore"):
        return np.log(s) + shift


def probabilities_from_log_weights(codes: npt.ArrayLike, ln_w: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """(p_any, p_i) per row from the log weights ln w_i of each hypothesis against "no counterpart" (w_none = 1):
    p_any = Σw/(1 + Σw) per group, p_i = w_i/Σw. A group whose weights are all 0 gets p_any = 0 and p_i = 0."""
    c = np.asarray(codes, dtype=np.int64)
    lw = np.asarray(ln_w, dtype=np.float64)
    if c.size == 0:
        return np.zeros(0), np.zeros(0)
    ln_sum = group_log_sum_exp(c, lw)
    with np.errstate(over="ignore", invalid="ignore"):
        p_any = 1.0 / (1.0 + np.exp(-ln_sum))  # Σw/(1+Σw); −inf → 0
        p_i = np.where(np.isfinite(ln_sum[c]), np.exp(lw - ln_sum[c]), 0.0)
    return p_any[c], p_i


def nway_probabilities(
    group: npt.ArrayLike, ln_b: npt.ArrayLike, prior: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """(p_any, p_i) per pair; ``group`` labels the radio source of each pair (any hashable)."""
    lb = np.asarray(ln_b, dtype=np.float64)
    p = np.asarray(prior, dtype=np.float64)
    codes, _ = pd.factorize(np.asarray(group))
    if lb.shape != codes.shape or p.shape not in ((), codes.shape):
        raise ValueError("group/ln_b/prior: shapes differ")
    if codes.size == 0:
        return np.zeros(0), np.zeros(0)
    if np.any((p <= 0) | (p > 1)):
        raise ValueError("prior: must be in (0, 1]")
    return probabilities_from_log_weights(codes, lb + np.log(p))
