"""One call per partition: match + density + chance probabilities + Bayes posteriors.

This is the function the Spark job maps over HEALPix partitions. It returns two frames:

* ``pairs`` — ``PAIR_SCHEMA`` of :mod:`match` plus ``ENRICHED_PAIR_SCHEMA``;
* ``radio`` — one row per radio source of the partition (matched or not), ``RADIO_SUMMARY_SCHEMA``,
  carrying the analytic chance expectation that the control run is compared with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .bayes import ln_bayes_factor, nway_probabilities, posterior_single, prior_from_density
from .density import (
    DENSITY_MIN_COUNT,
    annulus_area_arcsec2,
    cell_density,
    expected_chance_count,
    local_density,
    p_chance,
    pooled_density,
)
from .match import (
    PAIR_SCHEMA,
    PreparedOptical,
    _sigma_opt_arcsec,
    match_partition,
    match_radius_arcsec,
    prepare_optical,
    radio_home_pixels,
    validate_radio_frame,
)
from .params import CrossmatchParams
from .partition import home_pixel, pixel_area_arcsec2
from .separation import radec_to_xyz

ENRICHED_PAIR_SCHEMA: dict[str, str] = {
    "n_annulus": "int64",
    "rho_arcsec2": "float64",
    "p_chance": "float64",
    "ln_bayes_factor": "float64",
    "prior": "float64",
    "p_single": "float64",
    "p_any": "float64",
    "p_i": "float64",
}

RADIO_SUMMARY_SCHEMA: dict[str, str] = {
    "radio_id": "object",
    "healpix": "int64",
    "n_candidates": "int32",
    "n_annulus": "int64",
    "density_fraction": "float64",
    "rho_arcsec2": "float64",
    "match_radius_arcsec": "float64",
    "expected_chance": "float64",
    "p_any_chance": "float64",
}


SIGMA_OPT_QUANTILES = 32  # points of the optical σ_opt distribution averaged over in the analytic chance count


def mean_square_radius_arcsec2(
    sigma_radio_arcsec: np.ndarray, sigma_opt_arcsec: np.ndarray, params: CrossmatchParams
) -> np.ndarray:
    """⟨R²⟩ per radio source over the optical rows it could pair with: each pair has its own radius
    R = min(r_max, max(r_min, n_σ·σ)), σ² = σ_radio² + σ_sys² + σ_opt², so the expected number of unrelated
    stars within reach is π ρ ⟨R²⟩, not π ρ R(median σ_opt)² — in the crowded plane many faint stars are
    two-parameter solutions whose missing-pm allowance widens their R (the latter was 3 % under the shifted
    control on the 50 deg² evaluation profile, pull −6). σ_opt is summarised by
    :data:`SIGMA_OPT_QUANTILES` mid-quantiles (an empty sample: σ_opt = 0)."""
    s_opt = np.asarray(sigma_opt_arcsec, dtype=np.float64)
    s_opt = s_opt[np.isfinite(s_opt)]
    q = np.quantile(s_opt, (np.arange(SIGMA_OPT_QUANTILES) + 0.5) / SIGMA_OPT_QUANTILES) if s_opt.size else np.zeros(1)
    base2 = np.asarray(sigma_radio_arcsec, dtype=np.float64) ** 2 + params.sigma_sys_arcsec**2
    radius = match_radius_arcsec(np.sqrt(base2[:, None] + q[None, :] ** 2), params)
    return np.mean(radius * radius, axis=1)


@dataclass
class DensityCells:
    """A count map around a partition (see :mod:`density`): cell centres, rows per cell, the ramp
    half-width, and the rows homed in the partition's own pixel (for the sparse-catalogue pooling).
    Every cell with a centre within r_out + h of a radio row of the partition must be present."""

    xyz: np.ndarray
    counts: np.ndarray
    half_width_arcsec: float
    home_rows: int


@dataclass
class PartitionResult:
    pairs: pd.DataFrame
    radio: pd.DataFrame


def crossmatch_partition(
    radio: pd.DataFrame,
    optical: pd.DataFrame | PreparedOptical,
    params: CrossmatchParams,
    *,
    partition_pixel: int | None = None,
    catalogue: str = "optical",
    density_seed: int = 0,
    density_cells: DensityCells | None = None,
) -> PartitionResult:
    """Match one partition and score the pairs (see module docstring).

    ``match_radius_arcsec`` in the radio summary uses σ² = σ_radio² + σ_sys² + σ̃_opt², σ̃_opt being
    the median optical error at the median radio epoch of the partition (the typical R); ``expected_chance``
    is π ρ ⟨R²⟩ over the partition's optical σ_opt (:func:`mean_square_radius_arcsec2`).

    ``optical`` may be a :class:`PreparedOptical` (prepared once for an epoch range covering these
    radio rows) so that the real and the shifted-control radio rows of one partition share the
    optical tracks and KD-tree.
    """
    if not isinstance(params, CrossmatchParams):
        raise ValueError(f"params: expected CrossmatchParams, got {type(params).__name__}")
    validate_radio_frame(radio)
    home = radio["healpix"].to_numpy(np.int64) if "healpix" in radio.columns else radio_home_pixels(radio, params)
    sel = np.arange(len(radio)) if partition_pixel is None else np.flatnonzero(home == partition_pixel)
    r = radio.iloc[sel].assign(healpix=home[sel])
    if isinstance(optical, PreparedOptical):
        opt = optical
    elif len(r):
        opt = prepare_optical(optical, float(r["epoch_yr"].min()), float(r["epoch_yr"].max()), catalogue)
    else:
        opt = None
    if opt is None or opt.optical_id.size == 0:
        empty = (
            optical
            if isinstance(optical, pd.DataFrame)
            else pd.DataFrame(
                {c: [] for c in ("optical_id", "ra_deg", "dec_deg", "ref_epoch_yr", "ra_error_mas", "dec_error_mas")}
            )
        )
        pairs = match_partition(r, empty, params, partition_pixel=partition_pixel, catalogue=catalogue)
        n = np.zeros(len(r), np.int64)
        rho = np.zeros(len(r))
        frac = 1.0
        s_opt_all = np.zeros(0)
    else:
        pairs = match_partition(r, opt, params, partition_pixel=partition_pixel, catalogue=catalogue)
        if density_cells is None:
            xyz = radec_to_xyz(r["ra_deg"].to_numpy(float), r["dec_deg"].to_numpy(float)).reshape(-1, 3)
            n, rho, frac = local_density(
                xyz,
                opt.centre_xyz,
                params.density_inner_arcsec,
                params.density_outer_arcsec,
                target_count=params.density_target_count,
                seed=density_seed,
                tree=opt.tree,
                keys=opt.optical_id,  # stable per-star subsample: same ρ whatever the row order / margins
            )
            if partition_pixel is not None and np.any(n < DENSITY_MIN_COUNT):
                # sparse catalogue: pool the annulus with the partition's own pixel (its home rows)
                n_home = int(
                    np.count_nonzero(home_pixel(opt.ra_deg, opt.dec_deg, params.healpix_order) == partition_pixel)
                )
                rho = pooled_density(
                    n,
                    frac,
                    annulus_area_arcsec2(params.density_inner_arcsec, params.density_outer_arcsec),
                    n_home,
                    pixel_area_arcsec2(params.healpix_order),
                )
        if len(r):
            dt = float(np.median(r["epoch_yr"])) - opt.ref_epoch
            s_opt_all = _sigma_opt_arcsec(opt, np.arange(opt.optical_id.size), dt, params.missing_pm_sigma_mas_yr)
        else:  # no radio row homed here (a prepared optical shared across calls)
            s_opt_all = np.zeros(0)
    if density_cells is not None:
        n, rho, frac = _density_from_cells(r, density_cells, params, partition_pixel is not None)
    s_radio = r["sigma_radio_arcsec"].to_numpy(float)
    s_opt_med = float(np.median(s_opt_all)) if s_opt_all.size else 0.0
    # the typical radius (reported), and the chance expectation over every optical row's own radius
    radius = match_radius_arcsec(np.sqrt(s_radio**2 + params.sigma_sys_arcsec**2 + s_opt_med**2), params)
    mu = expected_chance_count(np.sqrt(mean_square_radius_arcsec2(s_radio, s_opt_all, params)), rho)
    per_radio = pd.DataFrame(
        {
            "radio_id": r["radio_id"].to_numpy(),
            "healpix": r["healpix"].to_numpy(np.int64),
            "n_candidates": np.zeros(len(r), np.int32),
            "n_annulus": n,
            "density_fraction": np.full(len(r), frac),
            "rho_arcsec2": rho,
            "match_radius_arcsec": radius,
            "expected_chance": mu,
            "p_any_chance": -np.expm1(-mu),
        }
    )
    per_radio["radio_id"] = per_radio["radio_id"].astype(radio["radio_id"].dtype)
    if len(pairs):
        idx = pd.Index(per_radio["radio_id"]).get_indexer(pairs["radio_id"])
        counts = pairs.groupby("radio_id", sort=False)["n_candidates"].first()
        per_radio["n_candidates"] = per_radio["radio_id"].map(counts).fillna(0).astype(np.int32)
        pairs["n_annulus"] = n[idx]
        pairs["rho_arcsec2"] = rho[idx]
        pairs["p_chance"] = p_chance(pairs["sep_arcsec"].to_numpy(), rho[idx])
        lnb = ln_bayes_factor(pairs["sep_arcsec"].to_numpy(), pairs["sigma_arcsec"].to_numpy())
        prior = prior_from_density(rho[idx], params.prior_completeness)
        pairs["ln_bayes_factor"] = lnb
        pairs["prior"] = prior
        pairs["p_single"] = posterior_single(lnb, prior)
        p_any, p_i = nway_probabilities(pairs["radio_id"].to_numpy(), lnb, prior)
        pairs["p_any"] = p_any
        pairs["p_i"] = p_i
    else:
        for c, t in ENRICHED_PAIR_SCHEMA.items():
            pairs[c] = pd.Series(dtype=t)
    per_radio["n_candidates"] = per_radio["n_candidates"].astype(np.int32)
    return PartitionResult(pairs=pairs, radio=per_radio)


def _density_from_cells(
    r: pd.DataFrame, cells: DensityCells, params: CrossmatchParams, pool: bool
) -> tuple[np.ndarray, np.ndarray, float]:
    """(n_annulus rounded, ρ, f = 1) per radio row from the count map; sparse annuli (n̂ < DENSITY_MIN_COUNT)
    pooled with the partition's home rows as in the row path."""
    xyz = radec_to_xyz(r["ra_deg"].to_numpy(float), r["dec_deg"].to_numpy(float)).reshape(-1, 3)
    n_hat, rho = cell_density(
        xyz, cells.xyz, cells.counts, params.density_inner_arcsec, params.density_outer_arcsec, cells.half_width_arcsec
    )
    if pool and np.any(n_hat < DENSITY_MIN_COUNT):
        rho = pooled_density(
            n_hat,
            1.0,
            annulus_area_arcsec2(params.density_inner_arcsec, params.density_outer_arcsec),
            int(cells.home_rows),
            pixel_area_arcsec2(params.healpix_order),
        )
    return np.rint(n_hat).astype(np.int64), rho, 1.0


FULL_PAIR_SCHEMA: dict[str, str] = {**PAIR_SCHEMA, **ENRICHED_PAIR_SCHEMA}
