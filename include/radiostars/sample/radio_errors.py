"""Radio position errors: what the catalogue quotes and what only the truth knows.

**Quoted** (``ra_err_arcsec`` = ``dec_err_arcsec``): the statistical error of a Gaussian fit per axis,
σ_stat = θ_beam / (2 · S/N), θ_beam = 8″ (MeerKAT at 1.3 GHz, SMGPS), S/N = measured peak / rms
(Condon 1997, PASP 109, 166, point-source limit θ/(2.355 S/N), rounded to θ/(2 S/N) as commonly quoted).
The catalogue never quotes the systematic part: the cross-match's ``sigma_sys_arcsec`` models it,
counted once (docs/data.md "Radio astrometry convention").

**Truth** (measured = true + offset, tangent plane, east and north):

* ``realistic`` / ``evaluation``: offset = field's coherent offset (c_E, c_N) ~ N(0, σ_sys,field) per
  axis, drawn once per field (SARAO knowledge base "Astrometry": per-pointing calibrator errors, up to
  ~2″ in early data), + a statistical offset: N(0, σ_stat) per axis for a core, and for a fraction
  f_tail = 4 % of sources (4 % beyond 3σ in SDSS × ICRF2, Orosz & Frey 2013; 6–9 % for Gaia × VLBI,
  Petrov & Kovalev 2017, Petrov et al. 2019) a radial offset of U(3, 5) σ_stat in a random direction
  (``is_tail`` in the truth). Pulls over the quoted σ after removing the field's offset are therefore
  (1 − f) Rayleigh(1) + f U(3, 5) in radius.
* ``easy``: offset = N(0, √(σ_stat² + σ_sys,field²)) per axis, independent per source (the first
  sample's model, with σ_sys no longer folded into the quoted error).
"""

from __future__ import annotations

import numpy as np

from radiostars.sample.fields import offset_radec

BEAM_FWHM_ARCSEC = 8.0
TAIL_FRACTION = 0.04
TAIL_PULL_RANGE = (3.0, 5.0)


def quoted_error_arcsec(snr: np.ndarray, beam_arcsec: float = BEAM_FWHM_ARCSEC) -> np.ndarray:
    """σ_stat = θ / (2 S/N) [arcsec] per axis, what the catalogue quotes."""
    snr = np.asarray(snr, dtype=float)
    if np.any(~np.isfinite(snr)) or np.any(snr <= 0):
        raise ValueError("snr must be finite and > 0")
    return beam_arcsec / (2.0 * snr)


def position_error_arcsec(
    snr: np.ndarray, sys_err_arcsec: np.ndarray | float, beam_arcsec: float = BEAM_FWHM_ARCSEC
) -> np.ndarray:
    """√(σ_stat² + σ_sys²) [arcsec] per axis: the total scatter of the easy sky (not what is quoted)."""
    return np.hypot(quoted_error_arcsec(snr, beam_arcsec), sys_err_arcsec)


def coherent_offset_arcsec(rng: np.random.Generator, sys_err_arcsec: float) -> tuple[float, float]:
    """One field's coherent offset (east, north) ~ N(0, σ_sys) per axis [arcsec]."""
    e, n = rng.standard_normal(2) * sys_err_arcsec
    return float(e), float(n)


def statistical_offsets(
    rng: np.random.Generator, sigma_arcsec: np.ndarray, tail_fraction: float = TAIL_FRACTION
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(east, north, is_tail): N(0, σ) per axis, or for a share ``tail_fraction`` a radial offset of
    U(3, 5) σ at a uniform position angle."""
    sigma = np.asarray(sigma_arcsec, float)
    n = len(sigma)
    g = rng.standard_normal((2, n)) * sigma
    tail = rng.random(n) < tail_fraction
    r = rng.uniform(*TAIL_PULL_RANGE, n) * sigma
    pa = rng.uniform(0, 2 * np.pi, n)
    return np.where(tail, r * np.sin(pa), g[0]), np.where(tail, r * np.cos(pa), g[1]), tail


def scatter_positions(
    rng: np.random.Generator, ra_deg: np.ndarray, dec_deg: np.ndarray, sigma_arcsec: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """True → measured: tangent-plane offsets dx, dy ~ N(0, σ) [arcsec]."""
    d = rng.standard_normal((2, len(ra_deg))) * sigma_arcsec
    return offset_radec(ra_deg, dec_deg, d[0], d[1])
