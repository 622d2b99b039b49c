"""Gaia DR3-like catalogue values of a star from its true astrometry (the `realistic` sky).

**Errors** (sky-averaged DR3 performance model, PyGaia / ESA science-performance pages)::

    z = 10^{0.4 (max(G, 13) − 15)},   σ_ϖ = sqrt(40 + 800 z + 30 z²) µas,
    σ_α* = 0.80 σ_ϖ, σ_δ = 0.70 σ_ϖ (positions at J2016.0), σ_μα* = 1.03 σ_ϖ, σ_μδ = 0.89 σ_ϖ.

(G = 17 → σ_ϖ = 0.08 mas; G = 20 → 0.62; G = 21 → 1.45 — within ~20 % of the EDR3 documentation's
0.07 / 0.5 / 1.3 mas.) Catalogue values are truth + N(0, σ) (pulls N(0, 1) by construction).

**Two-parameter solutions.** 343 964 953 of 1 811 709 771 DR3 sources (19.0 %) have positions only
(EDR3 documentation). Their share as a function of G was not found; assumed logistic
P(2p | G) = 1 / (1 + e^{−(G − 20.67)/0.4}), whose centre reproduces the 19.0 % over the model's
whole-sky G distribution (tests/unit/test_sample_sky.py). Their catalogue parallax and proper motion
are NULL; the position error is 2.5 σ_α*(G) clipped to the quoted 1–4 mas (assumed shape); the star
still moves in the truth.

**BP−RP.** Intrinsic colour (dwarf sequence, or a giant colour) + E(BP−RP) + N(0, 0.05) (assumed
scatter); NULL for 80 % of two-parameter sources (so ~15 % of all sources have no colour, as the
1.54·10⁹ BP / 1.81·10⁹ G sources of DR3 — assumed shape).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from radiostars.sample import galaxy as gx

GAIA_REF_EPOCH = 2016.0
TWO_PARAM_G50, TWO_PARAM_WIDTH = 20.67, 0.4
TWO_PARAM_POS_FACTOR, TWO_PARAM_POS_MIN_MAS, TWO_PARAM_POS_MAX_MAS = 2.5, 1.0, 4.0
NO_COLOUR_GIVEN_2P = 0.8
BP_RP_SCATTER = 0.05


def parallax_error_mas(g_mag) -> np.ndarray:
    """σ_ϖ(G) [mas] of the PyGaia DR3 model."""
    z = 10 ** (0.4 * (np.maximum(np.asarray(g_mag, float), 13.0) - 15.0))
    return np.sqrt(40.0 + 800.0 * z + 30.0 * z**2) / 1000.0


def astrometric_errors(g_mag) -> dict[str, np.ndarray]:
    """σ of α*, δ [mas], ϖ [mas], μα*, μδ [mas/yr] for five-parameter solutions."""
    s = parallax_error_mas(g_mag)
    return {"ra": 0.80 * s, "dec": 0.70 * s, "parallax": s, "pmra": 1.03 * s, "pmdec": 0.89 * s}


def two_parameter_probability(g_mag) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(np.asarray(g_mag, float) - TWO_PARAM_G50) / TWO_PARAM_WIDTH))


def intrinsic_bp_rp(rng: np.random.Generator, mg: np.ndarray) -> np.ndarray:
    """Dwarf-sequence colour, or a red-giant colour for a share of the stars brighter than M_G = 2.5."""
    mg = np.asarray(mg, float)
    c = gx.dwarf_bp_rp(mg)
    giant = (mg < gx.GIANT_MG_MAX) & (mg > -3.0) & (rng.random(len(mg)) < gx.GIANT_FRACTION)
    return np.where(giant, rng.normal(gx.GIANT_BPRP, gx.GIANT_BPRP_SIGMA, len(mg)), c)


def offset_mas(ra_deg, dec_deg, dx_mas, dy_mas) -> tuple[np.ndarray, np.ndarray]:
    """Small tangent-plane offsets (east, north) [mas] → new (ra, dec) [deg] (first order, exact to
    ≪ 1 µas for offsets of a few mas)."""
    dec = np.asarray(dec_deg, float)
    ra = (np.asarray(ra_deg, float) + dx_mas / 3.6e6 / np.cos(np.radians(dec))) % 360.0
    return ra, dec + dy_mas / 3.6e6


def observe(
    rng: np.random.Generator,
    ra_deg,
    dec_deg,
    parallax_mas,
    pmra_mas_yr,
    pmdec_mas_yr,
    g_mag,
    bp_rp_true,
    two_param: np.ndarray | None = None,
) -> pd.DataFrame:
    """Catalogue columns (gaia_dr3 names, without source_id / is_synthetic) of stars with the given
    true astrometry at J2016.0; ``two_param`` forces the solution type (drawn from G when None)."""
    g = np.asarray(g_mag, float)
    n = len(g)
    err = astrometric_errors(g)
    if two_param is None:
        two_param = rng.random(n) < two_parameter_probability(g)
    noise = rng.standard_normal((5, n))
    pos_2p = np.clip(TWO_PARAM_POS_FACTOR * err["ra"], TWO_PARAM_POS_MIN_MAS, TWO_PARAM_POS_MAX_MAS)
    s_ra = np.where(two_param, pos_2p, err["ra"])
    s_dec = np.where(two_param, pos_2p, err["dec"])
    ra, dec = offset_mas(ra_deg, dec_deg, s_ra * noise[0], s_dec * noise[1])
    nan_if = np.where(two_param, np.nan, 1.0)
    colour = np.asarray(bp_rp_true, float) + BP_RP_SCATTER * rng.standard_normal(n)
    no_colour = two_param & (rng.random(n) < NO_COLOUR_GIVEN_2P)
    return pd.DataFrame(
        {
            "ra": ra,
            "dec": dec,
            "ra_error": s_ra,
            "dec_error": s_dec,
            "parallax": (np.asarray(parallax_mas, float) + err["parallax"] * noise[2]) * nan_if,
            "parallax_error": err["parallax"] * nan_if,
            "pmra": (np.asarray(pmra_mas_yr, float) + err["pmra"] * noise[3]) * nan_if,
            "pmdec": (np.asarray(pmdec_mas_yr, float) + err["pmdec"] * noise[4]) * nan_if,
            "pmra_error": err["pmra"] * nan_if,
            "pmdec_error": err["pmdec"] * nan_if,
            "phot_g_mean_mag": g,
            "bp_rp": np.where(no_colour, np.nan, colour),
            "ref_epoch": np.full(n, GAIA_REF_EPOCH),
        }
    )
