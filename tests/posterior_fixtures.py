"""Synthetic candidate pairs for the run posterior (radiostars.crossmatch.posterior), at the pair level: what the
per-pixel match would deliver for real and shifted-control radio sources in a crowded field.

Per radio source: σ_radio ~ U(0.5, 1.5)″, σ_sys 0.5″, match radius R = min(10″, max(1″, 4σ)) with
σ² = σ_radio² + σ_opt² + σ_sys². Field stars: a Poisson field of density ν (deg⁻²) around every source (real and
control), kept when within their pair's R; a fraction c of the real sources has a counterpart with a Gaussian
offset (σ per axis) and distinct properties. Local density as the annulus would measure it: ρ̂ = ν·Poisson(400)/400.

Property distributions (independent, as the posterior assumes):
* field:        G from p(G) ∝ 10^(0.35 G) on [8, 21] (counts rising to the faint end); 25 % two-parameter
                solutions (no parallax, no proper motion; σ_opt 0.18″ from the missing-pm allowance), else
                ϖ/σ_ϖ ~ N(0.8, 1.3) and |μ| ~ lognormal(median 5 mas/yr, σ_ln 0.8) (``field=PLANE_FIELD``;
                ``HIGH_LATITUDE_FIELD``: brighter, nearer stars);
* counterparts: G ~ N(10.5, 2) clipped to [3, 20.5]; 3 % two-parameter; ϖ/σ_ϖ ~ lognormal(median 40, 0.8),
                |μ| ~ lognormal(median 60 mas/yr, 0.8).
With ``hipparcos`` a counterpart brighter than G = 9 is also in Hipparcos (Hp = G + 0.2, the same position to
5 mas), and Hipparcos field stars (3 deg⁻², 5 < Hp < 10) sit around every source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from radiostars.crossmatch.bayes import ln_bayes_factor
from radiostars.crossmatch.control import offset_radec

SIGMA_SYS = 0.5
R_MAX, R_MIN, N_SIGMA = 10.0, 1.0, 4.0
SIGMA_OPT_5P, SIGMA_OPT_2P = 0.002, 0.18
G_FIELD = (8.0, 21.0, 0.35)  # lo, hi, slope of log10 counts per mag
G_CP = (10.5, 2.0)
P2_FIELD, P2_CP = 0.25, 0.03


@dataclass
class SyntheticRun:
    pairs: pd.DataFrame
    n_real: int
    n_control: int
    truth: pd.DataFrame  # per real source: radio_id, has_counterpart (in its candidates), optical_id (or -1)
    c_population: float


def _field_g(rng, n, g_field=G_FIELD):
    lo, hi, a = g_field
    u = rng.uniform(size=n)
    k = a * np.log(10)
    return np.log(np.exp(k * lo) + u * (np.exp(k * hi) - np.exp(k * lo))) / k


def field_g_bin_probabilities(edges):
    """Exact bin probabilities of the field G distribution (clipped to the end bins)."""
    lo, hi, a = G_FIELD
    k = a * np.log(10)
    cdf = lambda g: (np.exp(k * np.clip(g, lo, hi)) - np.exp(k * lo)) / (np.exp(k * hi) - np.exp(k * lo))  # noqa: E731
    e = np.asarray(edges, float)
    p = np.diff(cdf(e))
    return p


# a high-latitude field (ν ≲ 10⁴ deg⁻²): brighter, nearer stars than the plane's — counts flatter in G, larger
# parallax significance and proper motion (the `field` argument of synthetic_run)
HIGH_LATITUDE_FIELD = {"g_field": (8.0, 20.0, 0.15), "snr": (3.0, 3.0), "pm_median": 15.0}
PLANE_FIELD = {"g_field": G_FIELD, "snr": (0.8, 1.3), "pm_median": 5.0}


def draw_properties(rng, n, counterpart: bool, field: dict | None = None):
    field = field or PLANE_FIELD
    if counterpart:
        g = np.clip(rng.normal(*G_CP, n), 3.0, 20.5)
        two = rng.uniform(size=n) < P2_CP
        snr = np.exp(rng.normal(np.log(40.0), 0.8, n))
        pm = np.exp(rng.normal(np.log(60.0), 0.8, n))
    else:
        g = _field_g(rng, n, field["g_field"])
        two = rng.uniform(size=n) < P2_FIELD
        snr = rng.normal(*field["snr"], n)
        pm = np.exp(rng.normal(np.log(field["pm_median"]), 0.8, n))
    perr = np.where(two, np.nan, 0.02 + 0.3 * 10 ** (0.2 * (g - 19.0)))
    pa = rng.uniform(0, 2 * np.pi, n)
    return {
        "mag": g,
        "colour": np.full(n, np.nan),
        "parallax_mas": np.where(two, np.nan, snr * perr),
        "parallax_error_mas": perr,
        "pmra_mas_yr": np.where(two, np.nan, pm * np.sin(pa)),
        "pmdec_mas_yr": np.where(two, np.nan, pm * np.cos(pa)),
        "pmra_error_mas_yr": np.where(two, np.nan, perr),
        "pmdec_error_mas_yr": np.where(two, np.nan, perr),
        "sigma_opt_arcsec": np.where(two, SIGMA_OPT_2P, SIGMA_OPT_5P),
    }


def synthetic_run(
    seed: int,
    n_real: int,
    c: float,
    *,
    density_deg2: float = 1.5e5,
    n_offsets: int = 8,
    hipparcos: bool = False,
    hip_density_deg2: float = 3.0,
    field: dict | None = None,
) -> SyntheticRun:
    rng = np.random.default_rng(seed)
    n_src = n_real * (1 + n_offsets)
    control_offset = np.r_[np.full(n_real, -1), np.repeat(np.arange(n_offsets), n_real)]
    radio_id = np.r_[np.arange(n_real), np.tile(np.arange(n_real), n_offsets)]
    ra0 = rng.uniform(0, 360, n_src)
    dec0 = np.rad2deg(np.arcsin(rng.uniform(-0.8, 0.8, n_src)))
    s_radio = rng.uniform(0.5, 1.5, n_src)
    nu_arcsec2 = density_deg2 / 3600.0**2
    rho_hat = nu_arcsec2 * rng.poisson(400, n_src) / 400.0
    frames = []

    def emit(src, sep, pa, props, catalogue, ids, rho):
        s_tot = np.sqrt(s_radio[src] ** 2 + props["sigma_opt_arcsec"] ** 2 + SIGMA_SYS**2)
        radius = np.minimum(R_MAX, np.maximum(R_MIN, N_SIGMA * s_tot))
        keep = sep <= radius
        ra, dec = offset_radec(ra0[src][keep], dec0[src][keep], sep[keep], np.rad2deg(pa[keep]))
        f = pd.DataFrame(
            {
                "radio_id": radio_id[src][keep],
                "control_offset": control_offset[src][keep],
                "catalogue": catalogue,
                "optical_id": ids[keep],
                "sep_arcsec": sep[keep],
                "sigma_arcsec": s_tot[keep],
                "ln_bayes_factor": ln_bayes_factor(sep[keep], s_tot[keep]),
                "rho_arcsec2": rho[src][keep],
                "match_radius_arcsec": radius[keep],
                "ra_opt_deg": ra,
                "dec_opt_deg": dec,
                "dt_yr": 3.5,
                **{k: v[keep] for k, v in props.items()},
            }
        )
        frames.append(f)
        return keep

    # field stars: Poisson in the largest possible disc of each source, kept within their own R
    r_disc = np.minimum(R_MAX, np.maximum(R_MIN, N_SIGMA * np.sqrt(s_radio**2 + SIGMA_OPT_2P**2 + SIGMA_SYS**2)))
    n_field = rng.poisson(np.pi * r_disc**2 * nu_arcsec2)
    src = np.repeat(np.arange(n_src), n_field)
    sep = r_disc[src] * np.sqrt(rng.uniform(size=src.size))
    emit(
        src,
        sep,
        rng.uniform(0, 2 * np.pi, src.size),
        draw_properties(rng, src.size, False, field),
        "gaia_dr3",
        np.arange(src.size, dtype=np.int64) + 7 * 10**18,
        rho_hat,
    )
    # counterparts of the real sources
    has = rng.uniform(size=n_real) < c
    cp = np.flatnonzero(has)
    props = draw_properties(rng, cp.size, True)
    s_tot = np.sqrt(s_radio[cp] ** 2 + props["sigma_opt_arcsec"] ** 2 + SIGMA_SYS**2)
    sep = s_tot * np.sqrt(-2.0 * np.log(rng.uniform(size=cp.size)))  # Rayleigh(σ per axis)
    pa = rng.uniform(0, 2 * np.pi, cp.size)
    cp_ids = np.arange(cp.size, dtype=np.int64) + 8 * 10**18
    kept = emit(cp, sep, pa, props, "gaia_dr3", cp_ids, rho_hat)
    if hipparcos:
        rho_h = np.full(n_src, hip_density_deg2 / 3600.0**2)
        bright = kept & (props["mag"] < 9.0)
        hp = {k: v[bright] for k, v in props.items()}
        hp["mag"] = hp["mag"] + 0.2
        hp["sigma_opt_arcsec"] = np.full(int(bright.sum()), 0.02)
        sep_h = np.hypot(
            sep[bright] * np.cos(pa[bright]) + rng.normal(0, 0.003, int(bright.sum())),
            sep[bright] * np.sin(pa[bright]) + rng.normal(0, 0.003, int(bright.sum())),
        )
        emit(cp[bright], sep_h, pa[bright], hp, "hipparcos2", np.arange(int(bright.sum()), dtype=np.int64) + 1, rho_h)
        n_hf = rng.poisson(np.pi * r_disc**2 * hip_density_deg2 / 3600.0**2)
        srch = np.repeat(np.arange(n_src), n_hf)
        ph = draw_properties(rng, srch.size, False)
        ph["mag"] = rng.uniform(5.0, 10.0, srch.size)
        ph["sigma_opt_arcsec"] = np.full(srch.size, 0.02)
        emit(
            srch,
            r_disc[srch] * np.sqrt(rng.uniform(size=srch.size)),
            rng.uniform(0, 2 * np.pi, srch.size),
            ph,
            "hipparcos2",
            np.arange(srch.size, dtype=np.int64) + 10**6,
            rho_h,
        )
    pairs = pd.concat(frames, ignore_index=True)
    truth = pd.DataFrame({"radio_id": np.arange(n_real), "has_counterpart": False, "optical_id": np.int64(-1)})
    truth.loc[cp[kept], "has_counterpart"] = True
    truth.loc[cp[kept], "optical_id"] = cp_ids[kept]
    return SyntheticRun(pairs=pairs, n_real=n_real, n_control=n_real * n_offsets, truth=truth, c_population=c)
