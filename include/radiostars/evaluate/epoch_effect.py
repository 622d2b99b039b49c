"""Epoch effect: does propagating optical positions to the radio epoch matter for fast stars?

"With" is the committed run. "Without" is recomputed here, in-process, with the numpy library
(`radiostars.crossmatch.match_partition`) and the run's own parameters (metrics.json `params`) on the
run's radio snapshot (the selected stars' radio sources) and optical subset (`optical/`: every optical
source that appears in any pair of the run) with the proper motions set to NaN — the library then keeps
each star at its catalogue position and epoch, with the missing-pm error term, exactly as it treats a
star without proper motion. The same in-process match with the proper motions kept ("with, in-process")
checks that the library reproduces the run on this subset.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from radiostars.crossmatch import CrossmatchParams, match_partition

from .metrics import Rate, total_proper_motion

HIGH_PM_MAS_YR = 1000.0
OPTICAL_MATCH_COLUMNS = (
    "optical_id",
    "catalogue",
    "ra_deg",
    "dec_deg",
    "ref_epoch_yr",
    "ra_error_mas",
    "dec_error_mas",
    "pmra_mas_yr",
    "pmdec_mas_yr",
    "parallax_mas",
    "pmra_error_mas_yr",
    "pmdec_error_mas_yr",
)


def params_from_metrics(metrics: dict) -> CrossmatchParams:
    """The run's CrossmatchParams from metrics.json `params` (lists → tuples, unknown keys ignored)."""
    raw: dict[str, Any] = dict(metrics.get("params") or {})
    names = {f.name for f in dataclasses.fields(CrossmatchParams)}
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in raw.items() if k in names}
    return CrossmatchParams(**kwargs)


def radio_frame(radio: pd.DataFrame) -> pd.DataFrame:
    """The run's radio/ snapshot in the library's column names."""
    return pd.DataFrame(
        {
            "radio_id": radio["source_name"].astype(str).to_numpy(),
            "ra_deg": radio["ra_deg"].to_numpy(float),
            "dec_deg": radio["dec_deg"].to_numpy(float),
            "sigma_radio_arcsec": radio["sigma_radio_arcsec"].to_numpy(float),
            "epoch_yr": radio["epoch_yr"].to_numpy(float),
        }
    )


def optical_frame(optical: pd.DataFrame, *, drop_proper_motion: bool) -> pd.DataFrame:
    """The run's optical/ subset in the library's column names; optionally with pm (and its errors) = NaN."""
    out = optical[[c for c in OPTICAL_MATCH_COLUMNS if c in optical.columns]].copy()
    out["optical_id"] = out["optical_id"].astype("int64")
    if drop_proper_motion:
        for col in ("pmra_mas_yr", "pmdec_mas_yr", "pmra_error_mas_yr", "pmdec_error_mas_yr"):
            if col in out.columns:
                out[col] = np.nan
    return out


def best_in_process(radio: pd.DataFrame, optical: pd.DataFrame, params: CrossmatchParams) -> pd.DataFrame:
    """Rank-1 pair per radio source from one library call (ranked across catalogues like the run)."""
    if len(radio) == 0 or len(optical) == 0:
        return pd.DataFrame(columns=["radio_id", "catalogue", "optical_id", "sep_arcsec", "sep_sigma"])
    pairs = match_partition(radio, optical, params)
    return pairs[pairs["rank"] == 1][["radio_id", "catalogue", "optical_id", "sep_arcsec", "sep_sigma"]]


def high_pm_stars(recovery: pd.DataFrame, optical: pd.DataFrame, min_pm_mas_yr: float = HIGH_PM_MAS_YR) -> pd.DataFrame:
    """Injected stars (rows of `recovery`, in the run) whose star is in optical/ with |μ| > min_pm."""
    opt = optical.assign(pm_total=total_proper_motion(optical["pmra_mas_yr"], optical["pmdec_mas_yr"]))
    opt = opt[["catalogue", "optical_id", "pm_total"]].rename(
        columns={"catalogue": "optical_catalogue", "optical_id": "star_id"}
    )
    merged = (
        recovery[recovery["in_run"]]
        .drop(columns=["pm_total"], errors="ignore")
        .merge(opt, on=["optical_catalogue", "star_id"], how="inner")
    )
    return merged[merged["pm_total"] > min_pm_mas_yr].reset_index(drop=True)


HPM_FIELD_KINDS = ("hpm", "easy_hpm")  # truth field_kind of the pointings on fast stars (docs/data.md §4)


def n_high_pm_pointing_stars(recovery: pd.DataFrame) -> int | None:
    """Injected stars of the run placed in a pointing on a fast star: truth ``field_kind`` hpm/easy_hpm, or (a
    truth without field_kind) a field named ``HPM`` (easy sample) or ``HPM<hip>`` (realistic pointings)."""
    rec = recovery[recovery["in_run"]] if "in_run" in recovery.columns else recovery
    if "field_kind" in rec.columns:
        return int(rec["field_kind"].astype(str).isin(HPM_FIELD_KINDS).sum())
    if "field" in rec.columns:
        return int(rec["field"].astype(str).str.fullmatch(r"HPM\d*").sum())
    return None


def epoch_effect(
    recovery: pd.DataFrame,
    radio: pd.DataFrame,
    optical: pd.DataFrame,
    params: CrossmatchParams,
    min_pm_mas_yr: float = HIGH_PM_MAS_YR,
) -> tuple[dict, pd.DataFrame]:
    """Completeness of high-pm injected stars with (the run) and without epoch propagation.

    Returns (summary, per-star frame with `recovered_with`, `recovered_without`, `recovered_with_inprocess`).
    """
    stars = high_pm_stars(recovery, optical, min_pm_mas_yr)
    r = radio_frame(radio[radio["source_name"].astype(str).isin(set(stars["source_name"]))])
    # id-exact on both sides: "without" is matched by id below, so "with" is too (not the star-level label)
    with_col = "recovered_best_strict" if "recovered_best_strict" in stars.columns else "recovered_best"
    per_star = stars[["source_name", "optical_catalogue", "star_id", "pm_total", with_col]].rename(
        columns={with_col: "recovered_with"}
    )

    def recovered(best: pd.DataFrame) -> np.ndarray:
        key = best.rename(
            columns={"radio_id": "source_name", "catalogue": "optical_catalogue", "optical_id": "star_id"}
        )
        hit = per_star.merge(
            key[["source_name", "optical_catalogue", "star_id"]].assign(_hit=True),
            on=["source_name", "optical_catalogue", "star_id"],
            how="left",
        )["_hit"]
        return hit.notna().to_numpy()

    per_star["recovered_without"] = recovered(
        best_in_process(r, optical_frame(optical, drop_proper_motion=True), params)
    )
    per_star["recovered_with_inprocess"] = recovered(
        best_in_process(r, optical_frame(optical, drop_proper_motion=False), params)
    )
    n_hpm_truth = n_high_pm_pointing_stars(recovery)
    summary = {
        "min_pm_mas_yr": min_pm_mas_yr,
        "n_stars": int(len(per_star)),
        "n_truth_hpm_field": n_hpm_truth,
        "with_propagation": Rate(int(per_star["recovered_with"].sum()), len(per_star)).to_dict(),
        "without_propagation": Rate(int(per_star["recovered_without"].sum()), len(per_star)).to_dict(),
        "with_propagation_inprocess": Rate(int(per_star["recovered_with_inprocess"].sum()), len(per_star)).to_dict(),
        "method": "run (with) vs radiostars.crossmatch.match_partition on the run's radio/ rows of these stars and "
        "its optical/ subset with pmra/pmdec = NaN (without), same params as metrics.json",
    }
    return summary, per_star
