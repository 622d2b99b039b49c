"""Pure-numpy positional cross-match of radio sources with optical catalogues.

Designed to run per HEALPix partition (e.g. inside a Spark ``applyInPandas``): every public
function takes numpy arrays or pandas DataFrames of one partition. See docs/crossmatch.md.

The names below are imported lazily (PEP 562): ``import radiostars.crossmatch.params`` — what the DAG
file needs at parse time — loads neither numpy nor astropy.
"""

from __future__ import annotations

from importlib import import_module

# public name -> the submodule that defines it
_EXPORTS: dict[str, str] = {
    "DEFAULT_CUT_GRID": "calibration",
    "PAnyCalibration": "calibration",
    "calibrate_p_any_cut": "calibration",
    "ReliabilityCut": "calibration",
    "choose_reliability_cut": "calibration",
    "reliability_at_cuts": "calibration",
    "PAIRS_INPUT": "posterior",
    "SCORED_COLUMNS": "posterior",
    "RunPosterior": "posterior",
    "score_run": "posterior",
    "SameStarRule": "samestar",
    "same_star_links": "samestar",
    "control_p_any_per_source": "calibration",
    "false_selection_curve": "calibration",
    "false_selection_rate": "calibration",
    "ENRICHED_PAIR_SCHEMA": "per_partition",
    "FULL_PAIR_SCHEMA": "per_partition",
    "FalseMatchSummary": "control",
    "PartitionResult": "per_partition",
    "RADIO_SUMMARY_SCHEMA": "per_partition",
    "annulus_area_arcsec2": "density",
    "control_radio_frame": "control",
    "crossmatch_partition": "per_partition",
    "expected_chance_count": "density",
    "false_match_rate": "control",
    "ln_bayes_factor": "bayes",
    "local_density": "density",
    "nway_probabilities": "bayes",
    "offset_radec": "control",
    "p_chance": "density",
    "posterior_single": "bayes",
    "prior_from_density": "bayes",
    "CrossmatchParams": "params",
    "OPTICAL_REQUIRED": "match",
    "PAIR_SCHEMA": "match",
    "RADIO_REQUIRED": "match",
    "check_order_for_margin": "partition",
    "circular_sigma": "epoch",
    "home_pixel": "partition",
    "jyear_to_mjd": "epoch",
    "margin_pixels": "partition",
    "match_partition": "match",
    "max_order_for_margin": "partition",
    "mjd_to_jyear": "epoch",
    "optical_margin_arcsec": "match",
    "optical_partition_membership": "match",
    "pixel_resolution_arcsec": "partition",
    "prepare_optical": "match",
    "propagate_radec": "epoch",
    "propagate_sigma_mas": "epoch",
    "radio_home_pixels": "match",
    "separation_arcsec": "separation",
    "track_bounds": "epoch",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
