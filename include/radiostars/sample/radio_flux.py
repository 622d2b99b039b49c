"""Radio flux densities: a Euclidean-like power-law log N–log S and 5σ detection.

Integral counts N(>S) = ρ₀ (S / S₀)^(−γ) per deg², with γ = 1.5 (Euclidean) by default,
S₀ = 0.1 mJy and ρ₀ = 1000 deg⁻² (≈ SMGPS: 510 599 sources at S/N ≥ 5 over ~500 deg², i.e.
5σ ≈ 0.1 mJy at rms 20 µJy). True S is drawn by inverse CDF, S = S_lo · U^(−1/γ), from
S_lo = 3σ (so Eddington bias is modelled); measured peak = S/r + N(0, σ) with r = int/peak ≥ 1
(r − 1 ~ Exp(0.15)); a source is kept when peak/σ ≥ 5. The integrated flux error is
σ_int = sqrt((r σ)² + (0.05 S)²) (noise over r beams plus a 5 % calibration term).
"""

from __future__ import annotations

import numpy as np

DETECTION_SNR = 5.0
DEFAULT_SLOPE = 1.5
S0_MJY = 0.1
DEFAULT_BG_DENSITY_PER_DEG2 = 1000.0
CAL_ERR_FRACTION = 0.05


def expected_count_above(
    s_mjy: float, area_deg2: float, density_per_deg2: float = DEFAULT_BG_DENSITY_PER_DEG2, slope: float = DEFAULT_SLOPE
) -> float:
    """N(>S) · area = ρ₀ (S/S₀)^(−γ) · area."""
    return density_per_deg2 * (s_mjy / S0_MJY) ** (-slope) * area_deg2


def sample_power_law(rng: np.random.Generator, n: int, s_lo_mjy: float, slope: float = DEFAULT_SLOPE) -> np.ndarray:
    """S = S_lo · U^(−1/γ), U ~ U(0,1]: N(>S) ∝ S^(−γ) above S_lo."""
    return s_lo_mjy * (1.0 - rng.random(n)) ** (-1.0 / slope)


def observe_fluxes(rng: np.random.Generator, int_true_mjy: np.ndarray, rms_mjy: np.ndarray) -> dict[str, np.ndarray]:
    """Peak/int fluxes measured with noise; returns peak, int, int_err [mJy] and the size ratio r."""
    n = len(int_true_mjy)
    ratio = 1.0 + rng.exponential(0.15, n)
    peak_true = int_true_mjy / ratio
    peak = peak_true + rms_mjy * rng.standard_normal(n)
    int_err = np.hypot(ratio * rms_mjy, CAL_ERR_FRACTION * int_true_mjy)
    integ = int_true_mjy + int_err * rng.standard_normal(n)
    return {
        "peak_flux_mjy": peak,
        "int_flux_mjy": integ,
        "int_flux_err_mjy": int_err,
        "ratio": ratio,
        "int_true_mjy": int_true_mjy,
    }


def detected_background(
    rng: np.random.Generator,
    rms_mjy: float,
    area_deg2: float,
    density_per_deg2: float = DEFAULT_BG_DENSITY_PER_DEG2,
    slope: float = DEFAULT_SLOPE,
    n_target: int | None = None,
) -> dict[str, np.ndarray]:
    """Detected (peak ≥ 5σ) background sources for one field of uniform rms.

    Draws Poisson(N(>3σ)·area) true sources and keeps the detected ones; with ``n_target`` draws in
    batches until exactly that many are detected (used by the scale generator).
    """
    s_lo = 3.0 * rms_mjy
    lam = expected_count_above(s_lo, area_deg2, density_per_deg2, slope)
    frac_detected = (DETECTION_SNR / 3.0) ** (-slope)  # N(>5σ) / N(>3σ), ignoring noise
    parts: list[dict[str, np.ndarray]] = []
    got = 0
    while True:
        if n_target is None:
            n = int(rng.poisson(lam))
        else:
            n = int(1.2 * (n_target - got) / frac_detected) + 16
        obs = observe_fluxes(rng, sample_power_law(rng, n, s_lo, slope), np.full(n, rms_mjy))
        keep = obs["peak_flux_mjy"] >= DETECTION_SNR * rms_mjy
        parts.append({k: v[keep] for k, v in obs.items()})
        got += int(keep.sum())
        if n_target is None or got >= n_target:
            break
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if n_target is not None:
        out = {k: v[:n_target] for k, v in out.items()}
    return out


def radio_source_columns(
    ra_deg: np.ndarray,
    dec_deg: np.ndarray,
    sigma_arcsec: np.ndarray,
    obs: dict[str, np.ndarray],
    rms_mjy: np.ndarray,
    obs_epoch_mjd: np.ndarray,
    field: str,
) -> dict[str, np.ndarray]:
    """The catalogue columns of radio sources (the `radio_sources` table, docs/data.md), without the name: the
    quoted position error per axis, the observed fluxes of :func:`observe_fluxes`, the field's rms and epochs."""
    n = len(ra_deg)
    return {
        "ra_deg": ra_deg,
        "dec_deg": dec_deg,
        "ra_err_arcsec": sigma_arcsec,
        "dec_err_arcsec": np.array(sigma_arcsec, copy=True),
        "peak_flux_mjy": obs["peak_flux_mjy"],
        "int_flux_mjy": obs["int_flux_mjy"],
        "int_flux_err_mjy": obs["int_flux_err_mjy"],
        "rms_mjy": np.broadcast_to(np.asarray(rms_mjy, dtype=float), (n,)).copy(),
        "obs_epoch_mjd": obs_epoch_mjd,
        "field": np.full(n, field, dtype=object),
    }
