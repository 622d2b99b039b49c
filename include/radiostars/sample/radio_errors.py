"""Radio position error model.

Per axis, σ = sqrt((θ_beam / (2 · S/N))² + σ_sys²) with θ_beam = 8″ (MeerKAT at 1.3 GHz, SMGPS) and
S/N = peak / rms (Condon 1997, simplified for a circular Gaussian beam). σ_sys is per field:
~0.3–0.5″, up to 1.5″ for early data (SMGPS positions can be off by up to ~2″ in early data).
The measured position is the true one moved by N(0, σ) east and north (tangent-plane offset);
the systematic part is drawn per source (not as a coherent field offset), matching the quoted σ.
"""

from __future__ import annotations

import numpy as np

from radiostars.sample.fields import offset_radec

BEAM_FWHM_ARCSEC = 8.0


def position_error_arcsec(snr: np.ndarray, sys_err_arcsec: np.ndarray | float,
                          beam_arcsec: float = BEAM_FWHM_ARCSEC) -> np.ndarray:
    """σ = sqrt((θ/(2 S/N))² + σ_sys²) [arcsec] per axis."""
    snr = np.asarray(snr, dtype=float)
    if np.any(~np.isfinite(snr)) or np.any(snr <= 0):
        raise ValueError("snr must be finite and > 0")
    return np.hypot(beam_arcsec / (2.0 * snr), sys_err_arcsec)


def scatter_positions(rng: np.random.Generator, ra_deg: np.ndarray, dec_deg: np.ndarray,
                      sigma_arcsec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True → measured: tangent-plane offsets dx, dy ~ N(0, σ) [arcsec]."""
    d = rng.standard_normal((2, len(ra_deg))) * sigma_arcsec
    return offset_radec(ra_deg, dec_deg, d[0], d[1])
