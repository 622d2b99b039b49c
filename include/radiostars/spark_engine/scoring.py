"""The run's published posterior, on the driver: every real and shifted-control pair of the per-pixel match,
scored once by :func:`radiostars.crossmatch.posterior.score_run` (docs/crossmatch.md §6.2), then shaped into the
run's ``pairs/``, ``best/`` and ``control/`` outputs and the metrics (docs/lake.md).

Pure pandas/pyarrow (no Spark): the job collects the ``pair`` and ``control_pair`` records (only pairs within the
match radius, so small: ~1 kB per pair, docs/crossmatch.md §6.2 "Cost") and calls :func:`score_pairs`.

* ``pairs/``: the real pairs with the posterior's input columns and :data:`~radiostars.crossmatch.posterior.
  SCORED_COLUMNS` in the lake's names (:data:`LAKE_NAMES`); ``p_any``/``p_i``/``prior``/``p_single`` are the
  run's joint, fitted, cross-fitted values (the per-partition constant-c posterior is not published any more);
  ``rank``/``n_candidates`` stay the positional order over all catalogues (sep/σ, sep, catalogue, id).
* ``best/``: one row per real radio source with candidates — its best star (``star_rank == 1``) on that star's
  primary entry (``is_star_primary``).
* metrics: ``calibration`` is the reliability cut (the one cut marts, classes and evaluation use),
  ``posterior`` the full :attr:`RunPosterior.metrics` (fitted c, histograms, association counts, cut curves),
  ``scoring`` a flat summary for the warehouse and the demo, ``false_rate_calibration`` the old false-selection
  cut (:func:`~radiostars.crossmatch.calibration.calibrate_p_any_cut`) on the joint control p_any, for the record.

A control too small for the fits never fails the run: :func:`score_run` falls back to the documented defaults
(c = ``prior_completeness``, positions only, cut p_any ≥ ``target_reliability``) and says so in
``scoring.fallbacks`` / ``calibration.status``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from radiostars.crossmatch.params import CrossmatchParams
from radiostars.crossmatch.posterior import SCORED_COLUMNS, RunPosterior, score_run
from radiostars.crossmatch.properties import OPTICAL_PROPERTY_COLUMNS

#: optical properties the posterior needs, carried on ``pair``/``control_pair`` records as ``opt_<name>``
PROPERTY_COLUMNS = OPTICAL_PROPERTY_COLUMNS

#: record columns the driver collects (pair and control_pair records), before the opt_ prefix is dropped
RECORD_COLUMNS = (
    "record",
    "radio_id",
    "control_offset",
    "catalogue",
    "optical_id",
    "healpix",
    "sep_arcsec",
    "sep_sigma",
    "sigma_arcsec",
    "sigma_radio_arcsec",
    "sigma_opt_arcsec",
    "match_radius_arcsec",
    "ra_opt_deg",
    "dec_opt_deg",
    "radio_epoch_yr",
    "dt_yr",
    "pm_missing",
    "rank",
    "n_candidates",
    "n_annulus",
    "rho_arcsec2",
    "p_chance",
    "ln_bayes_factor",
    "radio_ra_deg",
    "radio_dec_deg",
    *(f"opt_{c}" for c in PROPERTY_COLUMNS),
)

#: posterior/record name -> name in the lake's pairs/ (docs/lake.md; the names readers already use)
LAKE_NAMES = {
    "radio_id": "radio_source_name",
    "catalogue": "optical_catalogue",
    "ra_opt_deg": "optical_ra_deg",
    "dec_opt_deg": "optical_dec_deg",
    "rho_arcsec2": "local_density_per_arcsec2",
}

#: pairs/ and best/ columns in order (after run_id)
PAIR_OUTPUT_COLUMNS = (
    "radio_source_name",
    "optical_catalogue",
    "optical_id",
    "radio_ra_deg",
    "radio_dec_deg",
    "radio_epoch_yr",
    "optical_ra_deg",
    "optical_dec_deg",
    "sep_arcsec",
    "sigma_arcsec",
    "sep_sigma",
    "match_radius_arcsec",
    "rank",
    "n_candidates",
    "rank_in_catalogue",
    "n_candidates_in_catalogue",
    "local_density_per_arcsec2",
    "p_chance",
    "ln_bayes_factor",
    "prior",
    "p_any",
    "p_i",
    "p_single",
    "healpix",
    "sigma_radio_arcsec",
    "sigma_opt_arcsec",
    "dt_yr",
    "pm_missing",
    "n_annulus",
    *PROPERTY_COLUMNS,
    *(c for c in SCORED_COLUMNS if c not in ("prior", "p_any", "p_i", "p_single")),
)

_ARROW = {
    "radio_source_name": pa.string(),
    "optical_catalogue": pa.string(),
    "same_star_catalogue": pa.string(),
    "run_id": pa.string(),
    "optical_id": pa.int64(),
    "same_star_id": pa.int64(),
    "healpix": pa.int64(),
    "n_annulus": pa.int64(),
    "rank": pa.int32(),
    "n_candidates": pa.int32(),
    "rank_in_catalogue": pa.int32(),
    "n_candidates_in_catalogue": pa.int32(),
    "star_rank": pa.int32(),
    "n_stars": pa.int32(),
    "fold": pa.int8(),
    "pm_missing": pa.bool_(),
    "is_star_primary": pa.bool_(),
}


@dataclass
class ScoredRun:
    """The run's outputs from the scored pairs: ``pairs``/``best`` in the lake layout (without run_id),
    the per-offset control counts, and the metrics blocks to merge into metrics.json."""

    pairs: pd.DataFrame
    best: pd.DataFrame
    control_matches_per_offset: dict[int, int]
    metrics: dict[str, Any]
    posterior: RunPosterior


def posterior_input(records: pd.DataFrame) -> pd.DataFrame:
    """The collected ``pair``/``control_pair`` records as :data:`PAIRS_INPUT` rows (plus the record's other
    columns): ``opt_`` prefix dropped; a control row's ``radio_id`` ``"<id>#c<k>"`` back to its parent's id, so
    that a source and its shifted copies share one cross-fitting fold (docs/crossmatch.md §6.2)."""
    missing = [c for c in RECORD_COLUMNS if c not in records.columns]
    if missing:
        raise ValueError(f"records: missing column(s) {missing}")
    out = records.rename(columns={f"opt_{c}": c for c in PROPERTY_COLUMNS}).reset_index(drop=True)
    out["control_offset"] = out["control_offset"].astype(np.int64)
    out["optical_id"] = out["optical_id"].astype(np.int64)
    out["radio_id"] = out["radio_id"].astype(str)
    ctrl = out["control_offset"].to_numpy() >= 0
    if ctrl.any():
        ids = out.loc[ctrl, "radio_id"]
        suffix = "#c" + out.loc[ctrl, "control_offset"].astype(str)
        ok = np.array([i.endswith(s) for i, s in zip(ids, suffix)], dtype=bool)
        if not ok.all():
            raise ValueError(f"records: {int((~ok).sum())} control pair(s) whose radio_id does not end in '#c<k>'")
        out.loc[ctrl, "radio_id"] = [i[: len(i) - len(s)] for i, s in zip(ids, suffix)]
    return out


def _positional_rank(pairs: pd.DataFrame) -> pd.DataFrame:
    """``rank``/``n_candidates`` over all catalogues by (sep/σ, sep, catalogue, id) per radio source — the
    order the per-catalogue ranks (kept as ``*_in_catalogue``) use within one catalogue."""
    out = pairs.rename(columns={"rank": "rank_in_catalogue", "n_candidates": "n_candidates_in_catalogue"})
    if not len(out):
        return out.assign(rank=pd.Series(dtype=np.int32), n_candidates=pd.Series(dtype=np.int32))
    out = out.sort_values(["radio_id", "sep_sigma", "sep_arcsec", "catalogue", "optical_id"], kind="mergesort")
    out = out.reset_index(drop=True)
    out["rank"] = (out.groupby("radio_id", sort=False).cumcount() + 1).astype(np.int32)
    out["n_candidates"] = out.groupby("radio_id", sort=False)["radio_id"].transform("size").astype(np.int32)
    return out


def _lake_frame(scored: pd.DataFrame) -> pd.DataFrame:
    ranked = _positional_rank(scored).rename(columns=LAKE_NAMES)
    return ranked[list(PAIR_OUTPUT_COLUMNS)]


def best_rows(pairs: pd.DataFrame) -> pd.DataFrame:
    """One row per radio source: its best star (``star_rank == 1``) on the star's primary entry."""
    best = pairs[(pairs["star_rank"] == 1) & pairs["is_star_primary"].astype(bool)]
    dup = best["radio_source_name"].duplicated()
    if dup.any():  # score_run guarantees one; a violation is a bug, not bad input
        raise AssertionError(f"best: {int(dup.sum())} radio source(s) with more than one best row")
    return best.reset_index(drop=True)


def _scoring_summary(post: RunPosterior) -> dict[str, Any]:
    """The flat figures the warehouse (``marts.crossmatch_runs``) and the demo read."""
    m = post.metrics
    cal = m["calibration"]
    joint, pos = m["prior_fit"]["joint"], m["prior_fit"]["position_only"]
    return {
        "method": "posterior.score_run (docs/crossmatch.md §6.2)",
        "target_reliability": cal["target_reliability"],
        "p_any_cut": cal["p_any_cut"],
        "reached": cal["reached"],
        "cut_status": cal["status"],
        "cut_reason": cal["reason"],
        "reliability_estimated": cal["reliability_at_cut"],
        "reliability_err": cal["reliability_err"],
        "completeness_proxy": cal["completeness_proxy_at_cut"],
        "n_candidates": cal["n_real_selected"],
        "c": joint["c"],
        "c_err": joint["c_err"],
        "c_by_class": joint["c_by_class"],
        "c_err_by_class": joint["c_err_by_class"],
        "prior_status": joint["status"],
        "prior_reason": joint["reason"],
        "property_prior_source": m["property_prior_source"],
        "features": m["features"],
        "c_per_catalogue": {
            k: {"c": v["c"], "c_err": v["c_err"], "status": v["status"]}
            for k, v in m["prior_fit"]["per_catalogue"].items()
        },
        "position_only": {
            "c": pos["c"],
            "c_err": pos["c_err"],
            "status": pos["status"],
            "p_any_cut": m["calibration_position_only"]["p_any_cut"],
            "reached": m["calibration_position_only"]["reached"],
            "reliability_estimated": m["calibration_position_only"]["reliability_at_cut"],
            "n_candidates": m["calibration_position_only"]["n_real_selected"],
        },
        "fallbacks": m["fallbacks"],
    }


def _false_rate_record(control: pd.DataFrame, n_control: int, params: CrossmatchParams) -> dict[str, Any] | None:
    """The superseded false-selection cut on the joint control p_any (one value per shifted source)."""
    from radiostars.crossmatch.calibration import calibrate_p_any_cut

    if n_control < 1:
        return None
    per_source = control.groupby(["radio_id", "control_offset"])["p_any"].max().to_numpy(float)
    out = calibrate_p_any_cut(per_source, n_control, params.target_false_rate).to_dict()
    out["note"] = "recorded only: the selection rule is the reliability cut (metrics.calibration)"
    return out


def score_pairs(records: pd.DataFrame, n_real: int, n_control: int, params: CrossmatchParams) -> ScoredRun:
    """Score the run's collected records (:data:`RECORD_COLUMNS`) once and shape the outputs (module doc)."""
    frame = posterior_input(records)
    post = score_run(frame, n_real, n_control, params)
    pairs = _lake_frame(post.real_pairs)
    control = post.control_pairs
    per_offset = {int(k): int(v) for k, v in control.groupby("control_offset").size().items()} if len(control) else {}
    metrics = {
        "calibration": post.metrics["calibration"],
        "scoring": _scoring_summary(post),
        "posterior": post.metrics,
        "false_rate_calibration": _false_rate_record(control, n_control, params),
    }
    return ScoredRun(pairs, best_rows(pairs), per_offset, metrics, post)


def arrow_table(frame: pd.DataFrame, run_id: str) -> pa.Table:
    """``frame`` with run_id first, in explicit Arrow types (an all-null string column stays a string; ids
    stay int64 — never through float)."""
    arrays, fields = (
        [pa.array(np.full(len(frame), run_id, dtype=object), pa.string())],
        [pa.field("run_id", pa.string())],
    )
    for col in frame.columns:
        t = _ARROW.get(col, pa.float64())
        v = frame[col]
        if pa.types.is_floating(t):
            arr = pa.array(v.to_numpy(dtype=np.float64, na_value=np.nan), t, from_pandas=True)  # NaN -> null
        elif pa.types.is_string(t):
            arr = pa.array(
                [None if (x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA) else str(x) for x in v],
                t,
            )
        else:
            arr = pa.array(v, t, from_pandas=True)
        arrays.append(arr)
        fields.append(pa.field(col, t))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def write_table(lake, prefix: str, table: pa.Table, rows_per_file: int = 1 << 20) -> None:
    """``table`` as ``<prefix>part-NNNNN.parquet`` (at least one file, also when empty)."""
    import io

    import pyarrow.parquet as pq

    from radiostars.lake.store import PartWriter, parquet_options

    if table.num_rows == 0:
        buf = io.BytesIO()
        pq.write_table(table, buf, **parquet_options(table.schema))
        lake.put_bytes(f"{prefix}part-00000.parquet", buf.getvalue())
        return
    writer = PartWriter(lake, prefix, table.schema, row_group_rows=1 << 16, rows_per_file=rows_per_file)
    try:
        writer.write(table)
        writer.close()
    except BaseException:
        writer.abort()
        raise
