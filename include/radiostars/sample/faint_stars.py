"""Synthetic faint Gaia-like field stars (is_synthetic = 1) inside the demo fields.

Model (plausible, not a Galaxy model):

* positions uniform in the field (see :func:`fields.uniform_lb`), epoch 2016.0;
* G on [12, 21] with dN/dG ∝ 10^(0.3 G) (inverse CDF of a truncated exponential);
* distance d ~ Gamma(k=2, θ=1.5 kpc), clipped to [0.05, 20] kpc; true parallax ϖ = 1/d [mas];
* tangential velocity per axis ~ N(0, 35 km/s); μ = v / (4.74047 d) [mas/yr, d in kpc];
* Gaia DR3-like errors (Lindegren et al. 2021, roughly): σ_ϖ(G) = sqrt(0.015² + (0.5·10^(0.25(G−20)))²) mas,
  σ_pos = 0.8 σ_ϖ [mas], σ_μ = 1.1 σ_ϖ [mas/yr]; observed = true + N(0, σ);
* two-parameter solutions (no parallax / pm, NULL, position error × 3) with probability
  0.6 · clip((G − 19) / 2, 0, 1);
* BP−RP ~ N(1.5 + 0.1 (G − 15), 0.5), clipped to [−0.3, 5].
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from radiostars.sample.fields import Field, galactic_to_icrs, uniform_lb
from radiostars.sample.gaia_bright import GAIA_REF_EPOCH
from radiostars.sample.ids import synthetic_gaia_id

G_MIN, G_MAX, G_SLOPE = 12.0, 21.0, 0.3
K_KMS_PER_KPC_MASYR = 4.74047


def sample_g_mag(rng: np.random.Generator, n: int, g_min: float = G_MIN, g_max: float = G_MAX,
                 slope: float = G_SLOPE) -> np.ndarray:
    """Inverse CDF of dN/dG ∝ 10^(slope G) on [g_min, g_max]."""
    lo, hi = 10 ** (slope * g_min), 10 ** (slope * g_max)
    return np.log10(lo + rng.random(n) * (hi - lo)) / slope


def parallax_error_mas(g_mag: np.ndarray) -> np.ndarray:
    """σ_ϖ(G) = sqrt(0.015² + (0.5 · 10^(0.25 (G − 20)))²) [mas]."""
    return np.hypot(0.015, 0.5 * 10 ** (0.25 * (g_mag - 20.0)))


def faint_star_chunk(rng: np.random.Generator, field: Field, first: int, n: int) -> pd.DataFrame:
    """``n`` synthetic stars of ``field`` numbered ``first..first+n-1`` (gaia_dr3 columns)."""
    l_deg, b_deg = uniform_lb(rng, field, n)
    ra, dec = galactic_to_icrs(l_deg, b_deg)
    g = sample_g_mag(rng, n)
    d_kpc = np.clip(rng.gamma(2.0, 1.5, n), 0.05, 20.0)
    plx_true = 1.0 / d_kpc
    pm_true = rng.normal(0.0, 35.0, (2, n)) / (K_KMS_PER_KPC_MASYR * d_kpc)
    s_plx = parallax_error_mas(g)
    s_pos, s_pm = 0.8 * s_plx, 1.1 * s_plx
    noise = rng.standard_normal((3, n))
    two_param = rng.random(n) < 0.6 * np.clip((g - 19.0) / 2.0, 0.0, 1.0)
    nan_if = np.where(two_param, np.nan, 1.0)
    bp_rp = np.clip(rng.normal(1.5 + 0.1 * (g - 15.0), 0.5), -0.3, 5.0)
    pos_err = s_pos * np.where(two_param, 3.0, 1.0)
    return pd.DataFrame({
        "source_id": synthetic_gaia_id(field.index, np.arange(first, first + n, dtype=np.int64)),
        "ra": ra, "dec": dec,
        "ra_error": pos_err, "dec_error": pos_err.copy(),
        "parallax": (plx_true + s_plx * noise[0]) * nan_if, "parallax_error": s_plx * nan_if,
        "pmra": (pm_true[0] + s_pm * noise[1]) * nan_if, "pmdec": (pm_true[1] + s_pm * noise[2]) * nan_if,
        "pmra_error": s_pm * nan_if, "pmdec_error": s_pm * nan_if,
        "phot_g_mean_mag": g, "bp_rp": bp_rp,
        "ref_epoch": np.full(n, GAIA_REF_EPOCH),
        "is_synthetic": np.ones(n, dtype=bool),
    })
