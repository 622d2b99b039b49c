"""The evaluation of one committed run against the sample truth: the numbers (no I/O). The headline is
:mod:`.headline`'s, the targets and findings :mod:`.findings`', the report and plots :mod:`.render`'s (re-exported
here: ``evaluate_run`` → ``write_outputs``)."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from radiostars.crossmatch.match import match_radius_arcsec

from . import headline as H
from . import metrics as M
from .epoch_effect import epoch_effect, params_from_metrics
from .findings import COMPLETENESS_LEVELS, RELIABILITY_P_CHANCE, findings, targets
from .lakeio import RunData
from .samestar import run_candidates, same_star_links, same_star_rule
from .truth import false_flags, float64_rounded, injected_stars, label_pairs, label_same_star, recovery_table

TARGET_FAR_TOLERANCE = 0.2  # the ratio band reported beside the pull (far.*.within_tolerance)

SN_EDGES = np.array([0, 5, 7, 10, 15, 20, 30, 50, 100, 1e9])
PM_EDGES = np.array([0, 10, 100, 1000, 3000, 1e6])
P_CHANCE_EDGES = np.array([0, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 1.0])
SEP_SIGMA_EDGES = np.linspace(0, 8, 33)
P_ANY_THRESHOLDS = np.linspace(0, 1, 101)
P_CHANCE_THRESHOLDS = np.logspace(-7, 0, 71)
P_ANY_CUTS = (0.5, 0.8, 0.9, 0.99)
CALIBRATION_EDGES = np.linspace(0, 1, 11)


@dataclass
class Evaluation:
    summary: dict
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    arrays: dict[str, object] = field(default_factory=dict)


def _records(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.to_json(orient="records"))


def _rates(d: dict[str, M.Rate]) -> dict[str, dict]:
    return {k: v.to_dict() for k, v in d.items()}


def _per_source(radio: pd.DataFrame, column: str, names: pd.Series) -> np.ndarray:
    return names.astype(str).map(radio.set_index(radio["source_name"].astype(str))[column]).to_numpy(float)


def evaluate_run(
    run: RunData, truth: pd.DataFrame, faint_density: tuple[float | None, str] | None = None
) -> Evaluation:
    """All numbers of the evaluation (no I/O). ``faint_density``: (value, where from) of the sample's faint
    density in the plane (:func:`.headline.faint_density_plane`; the CLI reads it from the truth folder)."""
    params = params_from_metrics(run.metrics)
    radio = run.radio.drop_duplicates("source_name")
    injected = injected_stars(truth)
    # star-level truth (docs/evaluation.md): a pair is true when it is the injected star or that star's entry
    # in the other catalogue (the warehouse's Gaia <-> Hipparcos same-star rule); `is_true_strict` is id-exact
    same_rule = same_star_rule()
    links = same_star_links(run_candidates(run.pairs, run.optical), same_rule)
    pairs = label_same_star(label_pairs(run.pairs, injected), links, injected)
    best = label_same_star(label_pairs(run.best, injected), links, injected)
    best["match_kind"] = false_flags(best)
    rule = M.class_rule()
    calibration = _calibration(run.metrics)
    p_any_cut = calibration["p_any_cut"] if calibration else None
    near = M.near_known_nonstellar(best["radio_ra_deg"], best["radio_dec_deg"], run.known_objects, rule)
    best["near_known_nonstellar"] = pd.array(near if near is not None else [None] * len(best), dtype="boolean")
    best["class"] = M.reliability_class(
        best["p_chance"],
        best["p_any"],
        best["p_i"],
        n_candidates=best["n_candidates"],
        near_known_nonstellar=near,
        p_any_cut=p_any_cut,
        rule=rule,
    )
    n_radio = int((run.metrics.get("radio") or {}).get("usable", len(radio)))

    # --- per injected star: recovery, S/N, proper motion ---------------------------------------------
    rec = recovery_table(injected, radio["source_name"], pairs)
    rec["sn"] = M.signal_to_noise(
        _per_source(radio, "peak_flux_mjy", rec["source_name"]), _per_source(radio, "rms_mjy", rec["source_name"])
    )
    opt = run.optical.assign(pm_total=M.total_proper_motion(run.optical["pmra_mas_yr"], run.optical["pmdec_mas_yr"]))
    pm = opt.set_index(["catalogue", "optical_id"])["pm_total"]
    pm = pm[~pm.index.duplicated()]
    rec["pm_total"] = [pm.get((c, i), np.nan) for c, i in zip(rec["optical_catalogue"], rec["star_id"])]
    best_by_source = best.set_index("radio_source_name")
    rec["best_catalogue"] = rec["source_name"].map(best_by_source["optical_catalogue"])
    rec["best_id"] = rec["source_name"].map(best_by_source["optical_id"].astype("Int64"))  # no float round trip
    rec["best_sep_sigma"] = rec["source_name"].map(best_by_source["sep_sigma"])
    rec["best_id_float64_rounded"] = (
        float64_rounded(rec["star_id"], rec["best_id"])
        & (rec["best_catalogue"].astype(str) == rec["optical_catalogue"].astype(str)).to_numpy()
    )
    rec["best_is_same_star"] = rec["recovered_best"] & ~rec["recovered_best_strict"]
    in_run = rec[rec["in_run"]]
    pm_known = in_run["pm_total"].notna()
    completeness = {
        "best": M.completeness(in_run["recovered_best"]).to_dict(),
        "best_strict": M.completeness(in_run["recovered_best_strict"]).to_dict(),
        "n_best_is_same_star": int(in_run["best_is_same_star"].sum()),
        "any_rank": M.completeness(in_run["recovered_any"]).to_dict(),
        "n_injected_truth": int(len(rec)),
        "n_injected_not_in_run": int((~rec["in_run"]).sum()),
        "by_truth_catalogue": _rates(M.rate_by_group(in_run["truth_catalogue"], in_run["recovered_best"])),
        "by_truth_catalogue_strict": _rates(
            M.rate_by_group(in_run["truth_catalogue"], in_run["recovered_best_strict"])
        ),
        "by_sn": _records(M.binned_rate(in_run["sn"], in_run["recovered_best"], SN_EDGES)),
        "by_pm": _records(M.binned_rate(in_run["pm_total"], in_run["recovered_best"], PM_EDGES)),
        "pm_unknown": M.completeness(in_run.loc[~pm_known, "recovered_best"]).to_dict(),
        "sn_definition": "peak_flux_mjy / rms_mjy of the run's radio/ snapshot",
        "best_id_float64_rounded": int(in_run["best_id_float64_rounded"].sum()),
    }
    # every star that is not the best match by id, with whether the best match is its same-star entry
    missed = in_run[~in_run["recovered_best_strict"]][
        [
            "source_name",
            "truth_catalogue",
            "star_id",
            "sn",
            "pm_total",
            "true_rank",
            "best_catalogue",
            "best_id",
            "best_sep_sigma",
            "best_is_same_star",
        ]
    ]
    n_links = int(links["counterpart_id"].notna().sum()) // 2
    same_star = {
        "rule": same_rule.definition(),
        "vars": {k: getattr(same_rule, k) for k in same_rule.__dataclass_fields__},
        "n_links": n_links,
        "n_radio_sources_with_link": int(links.loc[links["counterpart_id"].notna(), "radio_source_name"].nunique()),
        "n_radio_sources_with_both_catalogues": int(
            links.groupby("radio_source_name")["optical_catalogue"].nunique().eq(2).sum()
        )
        if len(links)
        else 0,
        "n_pairs_same_star_as_injected": int(pairs["is_same_star"].sum()),
        "definition": "star level: the best candidate is the injected optical source or its same-star entry in the "
        "other catalogue (is_true); strict: the injected source's own (catalogue, id) (is_true_strict)",
    }

    # --- reliability -----------------------------------------------------------------------------------
    p_best = best["p_chance"].to_numpy(float)
    reliable = p_best < RELIABILITY_P_CHANCE
    reliability = {
        "overall": M.reliability(best["is_true"]).to_dict(),
        "overall_strict": M.reliability(best["is_true_strict"]).to_dict(),
        f"p_chance_lt_{RELIABILITY_P_CHANCE:g}": M.reliability(best.loc[reliable, "is_true"]).to_dict(),
        f"p_chance_lt_{RELIABILITY_P_CHANCE:g}_strict": M.reliability(best.loc[reliable, "is_true_strict"]).to_dict(),
        "by_p_chance_bin": _records(M.binned_rate(p_best, best["is_true"], P_CHANCE_EDGES)),
        "by_class": _rates(M.rate_by_group(best["class"], best["is_true"], M.CLASSES)),
        "by_class_strict": _rates(M.rate_by_group(best["class"], best["is_true_strict"], M.CLASSES)),
        "class_definition": rule.definitions(),
        "class_inputs": {
            "p_any_cut": p_any_cut if p_any_cut is not None else rule.p_any_cut_uncalibrated,
            "p_any_cut_source": "metrics.json calibration"
            if p_any_cut is not None
            else "dbt var p_any_cut_uncalibrated (the run records no calibration)",
            "known_objects": None if run.known_objects is None else int(len(run.known_objects)),
            "n_near_known_nonstellar": None if near is None else int(np.sum(near)),
            "rule": "the warehouse's (dbt_project/macros/reliability_class.sql, thresholds = dbt vars)",
        },
        "best_match_kinds": {k: int(v) for k, v in best["match_kind"].value_counts().items()},
        "false_with_p_chance_lt_0.01": {
            k: int(v) for k, v in best.loc[reliable & ~best["is_true"], "match_kind"].value_counts().items()
        },
    }

    # --- FAR calibration + chance expectation ---------------------------------------------------------------
    far = M.far_calibration(
        run.metrics, n_radio, int((~pairs["is_true"]).sum()), int((~best["is_true"]).sum()), TARGET_FAR_TOLERANCE
    )
    sigma = np.sqrt(radio["sigma_radio_arcsec"].to_numpy(float) ** 2 + params.sigma_sys_arcsec**2)
    radius = match_radius_arcsec(sigma, params)
    rho = M.source_density(radio["source_name"], radio["healpix"], run.pairs)
    far["analytic_recomputed"] = M._num(float(np.sum(np.pi * radius**2 * rho)) / len(radio)) if len(radio) else None
    expected_sep = M.expected_chance_sep_sigma(sigma, radius, rho, SEP_SIGMA_EDGES)
    nearest_false = pairs[~pairs["is_true"]].groupby("radio_source_name")["p_chance"].min()
    p_grid = np.logspace(-6, 0, 49)
    cdf_obs = M.observed_chance_cdf(p_grid, nearest_false.to_numpy(), len(radio))
    cdf_exp = M.expected_chance_cdf(p_grid, radius, rho)
    p_chance_cal = {
        "p": p_grid.tolist(),
        "observed": cdf_obs.tolist(),
        "expected": cdf_exp.tolist(),
        "max_abs_log_ratio_p_le_1e-3": M._num(_max_log_ratio(p_grid, cdf_obs, cdf_exp, 1e-3)),
    }

    # --- epoch effect ---------------------------------------------------------------------------------------
    epoch_summary, epoch_stars = epoch_effect(rec, radio, run.optical, params)

    # --- Bayesian selection ---------------------------------------------------------------------------------
    n_inj = int(in_run.shape[0])
    p_any = best["p_any"].to_numpy(float)
    curve_any = M.selection_curve(p_any, best["is_true"], n_inj, P_ANY_THRESHOLDS, "ge")
    curve_pc = M.selection_curve(p_best, best["is_true"], n_inj, P_CHANCE_THRESHOLDS, "le")
    comparisons = []
    cuts = sorted(set(P_ANY_CUTS) | ({p_any_cut} if p_any_cut is not None else set()))
    for cut in cuts:
        a = M.selection_curve(p_any, best["is_true"], n_inj, [cut], "ge").iloc[0].to_dict()
        c = (
            M.cut_at_completeness(p_best, best["is_true"], n_inj, a["completeness"], "le")
            if math.isfinite(a["completeness"])
            else {}
        )
        comparisons.append(
            {
                "p_any_cut": cut,
                "calibrated": cut == p_any_cut,
                "p_any": {k: M._num(v) for k, v in a.items()},
                "p_chance_at_equal_completeness": {k: (M._num(v) if v is not None else None) for k, v in c.items()},
            }
        )
    equal = M.compare_at_equal_completeness(p_any, p_best, best["is_true"], n_inj, COMPLETENESS_LEVELS)
    verdict = {k: int((equal["purer"] == k).sum()) for k in ("p_any", "p_chance", "equal")}
    verdict["unreachable"] = int(equal["purer"].isna().sum())
    n_starless = int(len(radio)) - n_inj  # radio sources of the run without an injected star
    at_cut = None
    if calibration is not None and p_any_cut is not None:
        sel = M.selection_curve(p_any, best["is_true"], n_inj, [p_any_cut], "ge").iloc[0].to_dict()
        background = best["match_kind"] == "background"
        fsr = M.false_selection_rate(best.loc[background, "p_any"], p_any_cut, max(n_starless, 0))
        at_cut = {
            "p_any_cut": p_any_cut,
            "target_false_rate": calibration["target_false_rate"],
            "control_false_rate": calibration["false_rate_at_cut"],
            "n_control_sources": calibration["n_control_sources"],
            "selection": {k: M._num(v) for k, v in sel.items()},
            "truth_false_rate": fsr.to_dict(),
            "truth_vs_control": _binomial_compare(
                fsr, calibration["false_rate_at_cut"], calibration["n_control_sources"]
            ),
            "definition": "truth_false_rate = radio sources without an injected star whose best candidate "
            "has p_any >= the cut / all radio sources without an injected star (the quantity "
            "the job calibrates on the shifted control, where no source has a counterpart)",
        }
    has_pi = pairs["p_i"].notna() & pairs["p_any"].notna()
    calib_joint = M.calibration_curve(
        (pairs["p_any"] * pairs["p_i"])[has_pi], pairs["is_true"][has_pi], CALIBRATION_EDGES
    )
    star_is_candidate = pairs["radio_source_name"].isin(set(rec.loc[rec["recovered_any"], "source_name"]))
    calib_cond = M.calibration_curve(
        pairs["p_i"][has_pi & star_is_candidate], pairs["is_true"][has_pi & star_is_candidate], CALIBRATION_EDGES
    )
    bayes = {
        "n_best_with_p_any": int(np.isfinite(p_any).sum()),
        "comparisons": comparisons,
        "calibration": {k: v for k, v in calibration.items() if k != "curve"} if calibration else None,
        "at_calibrated_cut": at_cut,
        "equal_completeness": _records(equal),
        "purer_at_equal_completeness": verdict,
        "curves": {"p_any": _records(curve_any), "p_chance": _records(curve_pc)},
        "p_i_calibration_joint": _records(calib_joint),
        "p_i_calibration_conditional": _records(calib_cond),
    }

    # --- luminosity -------------------------------------------------------------------------------------------
    optical_idx = run.optical.drop_duplicates(["catalogue", "optical_id"]).set_index(["catalogue", "optical_id"])
    key = pd.MultiIndex.from_arrays([best["optical_catalogue"], best["optical_id"]])
    plx = optical_idx["parallax_mas"].reindex(key).to_numpy(float)
    plx_err = optical_idx["parallax_error_mas"].reindex(key).to_numpy(float)
    best["distance_pc"] = M.distance_pc(plx, plx_err)
    best["int_flux_mjy"] = _per_source(radio, "int_flux_mjy", best["radio_source_name"])
    best["l_nu"] = M.spectral_luminosity(best["int_flux_mjy"], best["distance_pc"])
    has_d = np.isfinite(best["distance_pc"])
    luminosity = {
        "n_best": int(len(best)),
        "n_with_distance": int(has_d.sum()),
        "n_with_distance_by_class": {c: int((has_d & (best["class"] == c)).sum()) for c in M.CLASSES},
        "median_l_nu_true_by_class": {
            c: M._num(float(np.nanmedian(best.loc[has_d & best["is_true"] & (best["class"] == c), "l_nu"])))
            if (has_d & best["is_true"] & (best["class"] == c)).any()
            else None
            for c in M.CLASSES
        },
        "definition": "d = 1000/parallax_mas where parallax/error > 5; L_nu = 4 pi d^2 S_int (mJy x 1e-26) erg/s/Hz",
    }

    # --- the headline: joint posterior at the run's reliability cut, with and without property priors -------
    density, density_source = faint_density if faint_density is not None else (None, "not given")
    head, head_detail = H.compute_headline(
        pairs, H.posterior_metrics(run.metrics), n_inj, len(radio), far["analytic_vs_control"]["pull_sigma"], density
    )
    head_detail["faint_density_source"] = density_source
    post_metrics = H.posterior_metrics(run.metrics)
    curves_rc, est_rows = {}, {}
    for post in (H.PHYSICS, H.POSITION_ONLY):
        if head_detail[post.name] is None:
            continue
        src = H.source_table(pairs, post)
        curves_rc[post.name] = M.selection_curve(src["p_any"], src["best_is_true"], n_inj, H.RC_THRESHOLDS, "ge")
        est_rows[post.name] = H.estimated_vs_measured(pairs, post_metrics, post, n_inj)
    head_detail["estimated_vs_measured"] = est_rows
    head_detail["reliability_completeness"] = {k: _records(v) for k, v in curves_rc.items()}
    prior_fit = (post_metrics.get("prior_fit") or {}).get("joint") or {}
    head_detail["property_priors"] = {
        "status": prior_fit.get("status"),
        "reason": prior_fit.get("reason"),
        "c": prior_fit.get("c"),
        "c_err": prior_fit.get("c_err"),
        "source": post_metrics.get("property_prior_source"),
        "fallbacks": post_metrics.get("fallbacks"),
        "histograms": prior_fit.get("property_priors") or {},
        "c_by_class": prior_fit.get("c_by_class"),
        "fold_c_by_class": [f.get("c_by_class") for f in prior_fit.get("folds") or []],
        "fold_c_err_by_class": [f.get("c_err_by_class") for f in prior_fit.get("folds") or []],
    }

    summary = {
        "headline": head,
        "run_id": run.run_id,
        "lake_prefix": run.lake_prefix,
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "params": run.metrics.get("params"),
        "catalogues": run.metrics.get("catalogues"),
        "counts": {
            "radio": int(len(radio)),
            "radio_usable_metrics": n_radio,
            "pairs": int(len(pairs)),
            "best": int(len(best)),
            "injected_in_run": n_inj,
            "true_pairs": int(pairs["is_true"].sum()),
        },
        "completeness": completeness,
        "reliability": reliability,
        "same_star": same_star,
        "far": far,
        "p_chance_calibration": p_chance_cal,
        "epoch_effect": epoch_summary,
        "bayes": bayes,
        "luminosity": luminosity,
        "headline_detail": head_detail,
    }
    summary["targets"] = targets(summary)
    summary["findings"] = findings(summary, missed, best)
    frames = {
        "recovery": rec,
        "missed": missed,
        "best": best,
        "epoch_stars": epoch_stars,
        "same_star_links": links,
        "curve_p_any": curve_any,
        "curve_p_chance": curve_pc,
        "equal_completeness": equal,
        "calib_joint": calib_joint,
        "calib_conditional": calib_cond,
        "pairs": pairs,
        "radio": radio,
        **{f"rc_{k}": v for k, v in curves_rc.items()},
    }
    arrays = {"expected_sep": expected_sep, "p_grid": p_grid, "cdf_obs": cdf_obs, "cdf_exp": cdf_exp}
    return Evaluation(summary, frames, arrays)


def _calibration(metrics: dict) -> dict | None:
    """metrics.json ``calibration`` (the warehouse loader's reader, so both see the same numbers), or None
    when the run has none or no usable cut (runs written before the job calibrated its p_any cut)."""
    from radiostars.lake.runs import run_calibration

    cal = run_calibration(H.posterior_metrics(metrics))
    return cal if cal is not None and cal["p_any_cut"] is not None else None


def _binomial_compare(truth: M.Rate, control_rate: float | None, n_control: int | None) -> dict:
    """Truth vs control false-selection rate: ratio and pull with binomial errors √(p(1 − p)/n)."""
    if control_rate is None or not n_control or not truth.n:
        return {"ratio": None, "pull_sigma": None}
    t = truth.value
    err = math.sqrt(t * (1 - t) / truth.n + control_rate * (1 - control_rate) / n_control)
    return {
        "ratio": M._num(t / control_rate) if control_rate else None,
        "pull_sigma": M._num((t - control_rate) / err) if err > 0 else None,
    }


def _max_log_ratio(p: np.ndarray, obs: np.ndarray, exp: np.ndarray, p_max: float) -> float:
    sel = (p <= p_max) & (obs > 0) & (exp > 0)
    return float(np.max(np.abs(np.log10(obs[sel] / exp[sel])))) if sel.any() else math.nan


# re-exported: the rendering lives in render.py (imported last: it reads this module's constants lazily)
from .render import PLOT_FILES, headline, render_markdown, write_outputs, write_plots  # noqa: E402,F401
