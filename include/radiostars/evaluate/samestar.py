"""Gaia DR3 ↔ Hipparcos 2 "same star" for the evaluation: the rule itself lives in
:mod:`radiostars.crossmatch.samestar` (one home; re-exported here so existing callers keep working); this module
adds what only the evaluation needs — the thresholds as the warehouse applies them today (the dbt vars
``same_star_*`` of ``dbt_project/dbt_project.yml``, which must equal the rule's defaults) and the rule's input
read from a committed run's lake layout.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from radiostars.crossmatch.samestar import (
    CANDIDATE_COLUMNS,
    GAIA,
    HIPPARCOS,
    LINK_COLUMNS,
    MAS_TO_RAD,
    SameStarRule,
    offsets_arcsec,
)
from radiostars.crossmatch.samestar import same_star_links as _same_star_links

from .metrics import DBT_PROJECT_FILE, dbt_vars

__all__ = [
    "CANDIDATE_COLUMNS",
    "GAIA",
    "HIPPARCOS",
    "LINK_COLUMNS",
    "MAS_TO_RAD",
    "SameStarRule",
    "offsets_arcsec",
    "run_candidates",
    "same_star_links",
    "same_star_rule",
]


@functools.lru_cache(maxsize=4)
def same_star_rule(path: Path = DBT_PROJECT_FILE) -> SameStarRule:
    """The warehouse's same-star thresholds, read from the dbt project's vars (equal to
    ``SameStarRule()``'s defaults; a unit test checks it)."""
    return SameStarRule.from_mapping(dbt_vars(path), source=str(path))


def same_star_links(
    candidates: pd.DataFrame, rule: SameStarRule | None = None, keys: Sequence[str] | None = None
) -> pd.DataFrame:
    """:func:`radiostars.crossmatch.samestar.same_star_links` with the warehouse's thresholds by default."""
    return _same_star_links(candidates, rule if rule is not None else same_star_rule(), keys)


def run_candidates(pairs: pd.DataFrame, optical: pd.DataFrame) -> pd.DataFrame:
    """The rule's input (:data:`CANDIDATE_COLUMNS`) from a committed run's ``pairs/`` and ``optical/`` (the
    lake layout — optical ``catalogue`` and generic ``mag`` as the Spark job writes them, or
    ``optical_catalogue`` with ``phot_g_mean_mag`` / ``hp_mag``): positions at the radio epoch, σ_opt
    (NaN when the run has none), G or Hp, proper motion, Δt = radio epoch − reference epoch — the same
    input the warehouse gives the macro."""
    opt = optical.rename(columns={"catalogue": "optical_catalogue"}) if "catalogue" in optical.columns else optical
    opt = opt.drop_duplicates(["optical_catalogue", "optical_id"]).copy()
    if "mag" not in opt.columns:
        g = opt["phot_g_mean_mag"] if "phot_g_mean_mag" in opt.columns else np.nan
        hp = opt["hp_mag"] if "hp_mag" in opt.columns else np.nan
        opt["mag"] = np.where(
            opt["optical_catalogue"] == GAIA, g, np.where(opt["optical_catalogue"] == HIPPARCOS, hp, np.nan)
        )
    cols = ["optical_catalogue", "optical_id", "mag", "pmra_mas_yr", "pmdec_mas_yr", "ref_epoch_yr"]
    opt = opt[[c for c in cols if c in opt.columns]].assign(
        optical_catalogue=lambda d: d["optical_catalogue"].astype(str),
        optical_id=lambda d: d["optical_id"].astype("int64"),
    )
    p = pairs.assign(
        optical_catalogue=pairs["optical_catalogue"].astype(str), optical_id=pairs["optical_id"].astype("int64")
    )
    j = p.merge(opt, on=["optical_catalogue", "optical_id"], how="left", validate="many_to_one")
    out = pd.DataFrame(
        {
            "radio_source_name": j["radio_source_name"].astype(str).to_numpy(),
            "optical_catalogue": j["optical_catalogue"].to_numpy(),
            "optical_id": j["optical_id"].to_numpy(np.int64),
            "candidate_rank": j["rank"].to_numpy(np.int64),
            "ra_deg": j["optical_ra_deg"].to_numpy(float),
            "dec_deg": j["optical_dec_deg"].to_numpy(float),
            "sigma_opt_arcsec": j["sigma_opt_arcsec"].to_numpy(float) if "sigma_opt_arcsec" in j else np.nan,
            "mag": j["mag"].to_numpy(float) if "mag" in j else np.nan,
            "pmra_mas_yr": j["pmra_mas_yr"].to_numpy(float) if "pmra_mas_yr" in j else np.nan,
            "pmdec_mas_yr": j["pmdec_mas_yr"].to_numpy(float) if "pmdec_mas_yr" in j else np.nan,
            "dt_yr": (j["radio_epoch_yr"] - j["ref_epoch_yr"]).to_numpy(float) if "ref_epoch_yr" in j else np.nan,
        }
    )
    return out
