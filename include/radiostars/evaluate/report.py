"""Build the evaluation of one committed run against the sample truth: numbers, plots, report.md."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from radiostars.crossmatch.match import match_radius_arcsec

from . import metrics as M
from . import plots
from .epoch_effect import epoch_effect, params_from_metrics
from .lakeio import RunData
from .samestar import run_candidates, same_star_links, same_star_rule
from .truth import false_flags, float64_rounded, injected_stars, label_pairs, label_same_star, recovery_table

TARGET_COMPLETENESS = 0.99
TARGET_RELIABILITY = 0.99  # for best candidates with p_chance < RELIABILITY_P_CHANCE
RELIABILITY_P_CHANCE = 0.01
TARGET_FAR_TOLERANCE = 0.2

SN_EDGES = np.array([0, 5, 7, 10, 15, 20, 30, 50, 100, 1e9])
PM_EDGES = np.array([0, 10, 100, 1000, 3000, 1e6])
P_CHANCE_EDGES = np.array([0, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 1.0])
SEP_SIGMA_EDGES = np.linspace(0, 8, 33)
P_ANY_THRESHOLDS = np.linspace(0, 1, 101)
P_CHANCE_THRESHOLDS = np.logspace(-7, 0, 71)
P_ANY_CUTS = (0.5, 0.8, 0.9, 0.99)
COMPLETENESS_LEVELS = (0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
CALIBRATION_EDGES = np.linspace(0, 1, 11)

PLOT_FILES = {"sky_map": "sky_map.png", "sep_sigma": "sep_sigma_hist.png",
              "p_chance_calibration": "p_chance_calibration.png", "luminosity": "luminosity_distance.png",
              "completeness": "completeness_sn_pm.png", "bayes": "bayes_selection.png",
              "selection_cuts": "selection_cuts.png", "p_i_calibration": "p_i_calibration.png"}


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


def evaluate_run(run: RunData, truth: pd.DataFrame) -> Evaluation:
    """All numbers of the evaluation (no I/O)."""
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
    best["class"] = M.reliability_class(best["p_chance"], best["p_any"], best["p_i"],
                                        n_candidates=best["n_candidates"], near_known_nonstellar=near,
                                        p_any_cut=p_any_cut, rule=rule)
    n_radio = int((run.metrics.get("radio") or {}).get("usable", len(radio)))

    # --- per injected star: recovery, S/N, proper motion ---------------------------------------------
    rec = recovery_table(injected, radio["source_name"], pairs)
    rec["sn"] = M.signal_to_noise(_per_source(radio, "peak_flux_mjy", rec["source_name"]),
                                  _per_source(radio, "rms_mjy", rec["source_name"]))
    opt = run.optical.assign(pm_total=M.total_proper_motion(run.optical["pmra_mas_yr"], run.optical["pmdec_mas_yr"]))
    pm = opt.set_index(["catalogue", "optical_id"])["pm_total"]
    pm = pm[~pm.index.duplicated()]
    rec["pm_total"] = [pm.get((c, i), np.nan) for c, i in zip(rec["optical_catalogue"], rec["star_id"])]
    best_by_source = best.set_index("radio_source_name")
    rec["best_catalogue"] = rec["source_name"].map(best_by_source["optical_catalogue"])
    rec["best_id"] = rec["source_name"].map(best_by_source["optical_id"].astype("Int64"))  # no float round trip
    rec["best_sep_sigma"] = rec["source_name"].map(best_by_source["sep_sigma"])
    rec["best_id_float64_rounded"] = float64_rounded(rec["star_id"], rec["best_id"]) & \
        (rec["best_catalogue"].astype(str) == rec["optical_catalogue"].astype(str)).to_numpy()
    rec["best_is_same_star"] = rec["recovered_best"] & ~rec["recovered_best_strict"]
    in_run = rec[rec["in_run"]]
    pm_known = in_run["pm_total"].notna()
    completeness = {
        "best": M.completeness(in_run["recovered_best"]).to_dict(),
        "best_strict": M.completeness(in_run["recovered_best_strict"]).to_dict(),
        "n_best_is_same_star": int(in_run["best_is_same_star"].sum()),
        "any_rank": M.completeness(in_run["recovered_any"]).to_dict(),
        "n_injected_truth": int(len(rec)), "n_injected_not_in_run": int((~rec["in_run"]).sum()),
        "by_truth_catalogue": _rates(M.rate_by_group(in_run["truth_catalogue"], in_run["recovered_best"])),
        "by_truth_catalogue_strict": _rates(M.rate_by_group(in_run["truth_catalogue"],
                                                            in_run["recovered_best_strict"])),
        "by_sn": _records(M.binned_rate(in_run["sn"], in_run["recovered_best"], SN_EDGES)),
        "by_pm": _records(M.binned_rate(in_run["pm_total"], in_run["recovered_best"], PM_EDGES)),
        "pm_unknown": M.completeness(in_run.loc[~pm_known, "recovered_best"]).to_dict(),
        "sn_definition": "peak_flux_mjy / rms_mjy of the run's radio/ snapshot",
        "best_id_float64_rounded": int(in_run["best_id_float64_rounded"].sum()),
    }
    # every star that is not the best match by id, with whether the best match is its same-star entry
    missed = in_run[~in_run["recovered_best_strict"]][["source_name", "truth_catalogue", "star_id", "sn", "pm_total",
                                                       "true_rank", "best_catalogue", "best_id", "best_sep_sigma",
                                                       "best_is_same_star"]]
    n_links = int(links["counterpart_id"].notna().sum()) // 2
    same_star = {
        "rule": same_rule.definition(),
        "vars": {k: getattr(same_rule, k) for k in same_rule.__dataclass_fields__},
        "n_links": n_links,
        "n_radio_sources_with_link": int(links.loc[links["counterpart_id"].notna(), "radio_source_name"].nunique()),
        "n_radio_sources_with_both_catalogues": int(
            links.groupby("radio_source_name")["optical_catalogue"].nunique().eq(2).sum()) if len(links) else 0,
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
            "p_any_cut_source": "metrics.json calibration" if p_any_cut is not None
            else "dbt var p_any_cut_uncalibrated (the run records no calibration)",
            "known_objects": None if run.known_objects is None else int(len(run.known_objects)),
            "n_near_known_nonstellar": None if near is None else int(np.sum(near)),
            "rule": "the warehouse's (dbt_project/macros/reliability_class.sql, thresholds = dbt vars)",
        },
        "best_match_kinds": {k: int(v) for k, v in best["match_kind"].value_counts().items()},
        "false_with_p_chance_lt_0.01": {k: int(v) for k, v in
                                         best.loc[reliable & ~best["is_true"], "match_kind"].value_counts().items()},
    }

    # --- FAR calibration + chance expectation ---------------------------------------------------------------
    far = M.far_calibration(run.metrics, n_radio, int((~pairs["is_true"]).sum()), int((~best["is_true"]).sum()),
                            TARGET_FAR_TOLERANCE)
    sigma = np.sqrt(radio["sigma_radio_arcsec"].to_numpy(float) ** 2 + params.sigma_sys_arcsec ** 2)
    radius = match_radius_arcsec(sigma, params)
    rho = M.source_density(radio["source_name"], radio["healpix"], run.pairs)
    far["analytic_recomputed"] = M._num(float(np.sum(np.pi * radius ** 2 * rho)) / len(radio)) if len(radio) else None
    expected_sep = M.expected_chance_sep_sigma(sigma, radius, rho, SEP_SIGMA_EDGES)
    nearest_false = pairs[~pairs["is_true"]].groupby("radio_source_name")["p_chance"].min()
    p_grid = np.logspace(-6, 0, 49)
    cdf_obs = M.observed_chance_cdf(p_grid, nearest_false.to_numpy(), len(radio))
    cdf_exp = M.expected_chance_cdf(p_grid, radius, rho)
    p_chance_cal = {"p": p_grid.tolist(), "observed": cdf_obs.tolist(), "expected": cdf_exp.tolist(),
                    "max_abs_log_ratio_p_le_1e-3": M._num(_max_log_ratio(p_grid, cdf_obs, cdf_exp, 1e-3))}

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
        c = M.cut_at_completeness(p_best, best["is_true"], n_inj, a["completeness"], "le") \
            if math.isfinite(a["completeness"]) else {}
        comparisons.append({"p_any_cut": cut, "calibrated": cut == p_any_cut,
                            "p_any": {k: M._num(v) for k, v in a.items()},
                            "p_chance_at_equal_completeness": {k: (M._num(v) if v is not None else None)
                                                               for k, v in c.items()}})
    equal = M.compare_at_equal_completeness(p_any, p_best, best["is_true"], n_inj, COMPLETENESS_LEVELS)
    verdict = {k: int((equal["purer"] == k).sum()) for k in ("p_any", "p_chance", "equal")}
    verdict["unreachable"] = int(equal["purer"].isna().sum())
    n_starless = int(len(radio)) - n_inj  # radio sources of the run without an injected star
    at_cut = None
    if calibration is not None and p_any_cut is not None:
        sel = M.selection_curve(p_any, best["is_true"], n_inj, [p_any_cut], "ge").iloc[0].to_dict()
        background = best["match_kind"] == "background"
        fsr = M.false_selection_rate(best.loc[background, "p_any"], p_any_cut, max(n_starless, 0))
        at_cut = {"p_any_cut": p_any_cut, "target_false_rate": calibration["target_false_rate"],
                  "control_false_rate": calibration["false_rate_at_cut"],
                  "n_control_sources": calibration["n_control_sources"],
                  "selection": {k: M._num(v) for k, v in sel.items()},
                  "truth_false_rate": fsr.to_dict(),
                  "truth_vs_control": _binomial_compare(fsr, calibration["false_rate_at_cut"],
                                                        calibration["n_control_sources"]),
                  "definition": "truth_false_rate = radio sources without an injected star whose best candidate "
                                "has p_any >= the cut / all radio sources without an injected star (the quantity "
                                "the job calibrates on the shifted control, where no source has a counterpart)"}
    has_pi = pairs["p_i"].notna() & pairs["p_any"].notna()
    calib_joint = M.calibration_curve((pairs["p_any"] * pairs["p_i"])[has_pi], pairs["is_true"][has_pi],
                                      CALIBRATION_EDGES)
    star_is_candidate = pairs["radio_source_name"].isin(set(rec.loc[rec["recovered_any"], "source_name"]))
    calib_cond = M.calibration_curve(pairs["p_i"][has_pi & star_is_candidate],
                                     pairs["is_true"][has_pi & star_is_candidate], CALIBRATION_EDGES)
    bayes = {"n_best_with_p_any": int(np.isfinite(p_any).sum()), "comparisons": comparisons,
             "calibration": {k: v for k, v in calibration.items() if k != "curve"} if calibration else None,
             "at_calibrated_cut": at_cut,
             "equal_completeness": _records(equal), "purer_at_equal_completeness": verdict,
             "curves": {"p_any": _records(curve_any), "p_chance": _records(curve_pc)},
             "p_i_calibration_joint": _records(calib_joint), "p_i_calibration_conditional": _records(calib_cond)}

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
        "n_best": int(len(best)), "n_with_distance": int(has_d.sum()),
        "n_with_distance_by_class": {c: int((has_d & (best["class"] == c)).sum()) for c in M.CLASSES},
        "median_l_nu_true_by_class": {c: M._num(float(np.nanmedian(best.loc[has_d & best["is_true"] & (best["class"] == c), "l_nu"])))
                                      if (has_d & best["is_true"] & (best["class"] == c)).any() else None
                                      for c in M.CLASSES},
        "definition": "d = 1000/parallax_mas where parallax/error > 5; L_nu = 4 pi d^2 S_int (mJy x 1e-26) erg/s/Hz",
    }

    summary = {
        "run_id": run.run_id, "lake_prefix": run.lake_prefix,
        "generated_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "params": run.metrics.get("params"), "catalogues": run.metrics.get("catalogues"),
        "counts": {"radio": int(len(radio)), "radio_usable_metrics": n_radio, "pairs": int(len(pairs)),
                   "best": int(len(best)), "injected_in_run": n_inj, "true_pairs": int(pairs["is_true"].sum())},
        "completeness": completeness, "reliability": reliability, "same_star": same_star, "far": far,
        "p_chance_calibration": p_chance_cal, "epoch_effect": epoch_summary, "bayes": bayes,
        "luminosity": luminosity,
    }
    summary["targets"] = targets(summary)
    summary["findings"] = findings(summary, missed, best)
    frames = {"recovery": rec, "missed": missed, "best": best, "epoch_stars": epoch_stars, "same_star_links": links,
              "curve_p_any": curve_any, "curve_p_chance": curve_pc, "equal_completeness": equal,
              "calib_joint": calib_joint,
              "calib_conditional": calib_cond, "pairs": pairs, "radio": radio}
    arrays = {"expected_sep": expected_sep, "p_grid": p_grid, "cdf_obs": cdf_obs, "cdf_exp": cdf_exp}
    return Evaluation(summary, frames, arrays)


def _calibration(metrics: dict) -> dict | None:
    """metrics.json ``calibration`` (the warehouse loader's reader, so both see the same numbers), or None
    when the run has none or no usable cut (runs written before the job calibrated its p_any cut)."""
    from radiostars.warehouse.lakeio import run_calibration

    cal = run_calibration(metrics)
    return cal if cal is not None and cal["p_any_cut"] is not None else None


def _binomial_compare(truth: M.Rate, control_rate: float | None, n_control: int | None) -> dict:
    """Truth vs control false-selection rate: ratio and pull with binomial errors √(p(1 − p)/n)."""
    if control_rate is None or not n_control or not truth.n:
        return {"ratio": None, "pull_sigma": None}
    t = truth.value
    err = math.sqrt(t * (1 - t) / truth.n + control_rate * (1 - control_rate) / n_control)
    return {"ratio": M._num(t / control_rate) if control_rate else None,
            "pull_sigma": M._num((t - control_rate) / err) if err > 0 else None}


def _max_log_ratio(p: np.ndarray, obs: np.ndarray, exp: np.ndarray, p_max: float) -> float:
    sel = (p <= p_max) & (obs > 0) & (exp > 0)
    return float(np.max(np.abs(np.log10(obs[sel] / exp[sel])))) if sel.any() else math.nan


def targets(summary: dict) -> dict:
    """The issue's targets on the default sample, each with its value and whether it is met. Completeness
    and reliability are judged at star level (`value`, `met`: the best candidate is the injected star or its
    entry in the other catalogue); `value_strict` / `met_strict` give the id-exact figure beside it."""
    c, r = summary["completeness"], summary["reliability"]
    comp, comp_strict = c["best"]["value"], c["best_strict"]["value"]
    key = f"p_chance_lt_{RELIABILITY_P_CHANCE:g}"
    rel, rel_strict = r[key]["value"], r[f"{key}_strict"]["value"]
    ratio = summary["far"]["analytic_vs_control"]["ratio"]
    reached = lambda x, goal: x is not None and x >= goal  # noqa: E731
    return {
        "completeness": {"target": f">= {TARGET_COMPLETENESS:.0%}", "value": comp,
                         "met": reached(comp, TARGET_COMPLETENESS), "value_strict": comp_strict,
                         "met_strict": reached(comp_strict, TARGET_COMPLETENESS)},
        "reliability_p_chance_lt_1pct": {"target": f">= {TARGET_RELIABILITY:.0%}", "value": rel,
                                         "met": reached(rel, TARGET_RELIABILITY), "value_strict": rel_strict,
                                         "met_strict": reached(rel_strict, TARGET_RELIABILITY)},
        "far_analytic_vs_control": {"target": f"ratio within 1 ± {TARGET_FAR_TOLERANCE:g}", "value": ratio,
                                    "met": bool(summary["far"]["analytic_vs_control"]["within_tolerance"])},
    }


def findings(summary: dict, missed: pd.DataFrame, best: pd.DataFrame) -> list[str]:
    """Plain-language explanations of missed targets (and notable effects), derived from the numbers."""
    out: list[str] = []
    t = summary["targets"]
    comp = summary["completeness"]
    n_same = comp.get("n_best_is_same_star", 0)
    if n_same:
        ss = summary["same_star"]
        out.append(f"{n_same} injected stars' best candidate is the same physical star's entry in the other catalogue "
                   f"(Gaia DR3 <-> Hipparcos 2; {ss['n_links']} same-star links in {ss['n_radio_sources_with_link']} radio "
                   f"sources): recovered at star level, missed id-exact — completeness {_pct(comp['best']['value'])} "
                   f"({comp['best']['k']}/{comp['best']['n']}) at star level, {_pct(comp['best_strict']['value'])} "
                   f"({comp['best_strict']['k']}/{comp['best_strict']['n']}) id-exact.")
    if not t["completeness"]["met"]:
        lost = missed[~missed["best_is_same_star"].astype(bool)] if "best_is_same_star" in missed else missed
        ranked_lower = lost[lost["true_rank"].notna()]
        absent = lost[lost["true_rank"].isna()]
        other_cat = ranked_lower[ranked_lower["best_catalogue"].astype(str) != ranked_lower["truth_catalogue"]
                                 .map({"gaia_dr3_synthetic": "gaia_dr3"}).fillna(ranked_lower["truth_catalogue"])]
        out.append(f"Completeness {_pct(comp['best']['value'])} < {TARGET_COMPLETENESS:.0%} (star level): "
                   f"{len(lost)} of {comp['best']['n']} injected stars are not the best match — "
                   f"{len(ranked_lower)} are candidates at rank > 1 ({len(other_cat)} of them beaten by a source of "
                   f"the other catalogue that is not the same star), {len(absent)} have no pair "
                   f"carrying their id (outside the match radius, or a corrupted id: see the table and below).")
    if comp.get("best_id_float64_rounded"):
        out.append(f"{comp['best_id_float64_rounded']} missed stars have a best match whose optical_id equals the true "
                   "star id rounded to float64 (ids > 2⁵³ lose their last digits): the run found the right star but "
                   "wrote a corrupted id — an upstream defect in the run's outputs, not a matching failure; these "
                   "pairs also count as false in the truth FAR and reliability.")
    if comp["n_injected_not_in_run"]:
        out.append(f"{comp['n_injected_not_in_run']} injected stars' radio sources are not in the run's radio "
                   "snapshot (deleted or quarantined upstream); they are excluded from the denominators.")
    if not t["reliability_p_chance_lt_1pct"]["met"]:
        r = summary["reliability"]
        out.append(f"Reliability at p_chance < 1 % is {_pct(t['reliability_p_chance_lt_1pct']['value'])}: false best "
                   f"matches among them by kind {r['false_with_p_chance_lt_0.01']} (background = a radio source with "
                   "no star; wrong_star = an injected star matched to another star).")
        n_bg = summary["counts"]["radio"] - summary["counts"]["injected_in_run"]
        cal = summary["p_chance_calibration"]
        expected_false = n_bg * float(np.interp(RELIABILITY_P_CHANCE, cal["p"], cal["expected"]))
        n_star = summary["counts"]["injected_in_run"]
        out.append(f"p_chance is a per-source chance probability: among {n_bg} radio sources without a star, "
                   f"≈ {expected_false:.0f} are expected to get a chance candidate below 1 % "
                   f"(see p_chance_calibration.png), against at most {n_star} true stars, so reliability at this cut is "
                   f"bounded near {n_star / (n_star + expected_false):.0%} by the star/background ratio; a stricter "
                   "cut or p_any (Bayesian selection) is needed for 99 %.")
    b = summary["bayes"]
    v = b["purer_at_equal_completeness"]
    if b["n_best_with_p_any"]:
        levels = ", ".join(f"{100 * x:g} %" for x in COMPLETENESS_LEVELS)
        out.append(f"Selection at equal completeness ({levels}): the p_any cut is purer at {v['p_any']} level(s), "
                   f"the p_chance cut at {v['p_chance']}, equal at {v['equal']}, {v['unreachable']} not reachable by "
                   "both (see selection_cuts.png and the table under 'Bayesian selection').")
    at = b["at_calibrated_cut"]
    if at:
        tf, sel = at["truth_false_rate"], at["selection"]
        out.append(f"The run's calibrated cut p_any ≥ {at['p_any_cut']:.3g} (target {_pct(at['target_false_rate'])} "
                   f"false selections, {_pct(at['control_false_rate'])} on the shifted control) selects "
                   f"{tf['k']}/{tf['n']} = {_pct(tf['value'])} of the radio sources without a star in the truth "
                   f"(pull vs control {_fmt(at['truth_vs_control']['pull_sigma'], '.1f')} σ); its completeness is "
                   f"{_pct(sel['completeness'])} and its reliability {_pct(sel['reliability'])}.")
    elif b["n_best_with_p_any"]:
        out.append("The run's metrics.json records no p_any calibration (written before the job calibrated its cut): "
                   "classes use the uncalibrated cut (dbt var p_any_cut_uncalibrated).")
    far = summary["far"]
    if not t["far_analytic_vs_control"]["met"]:
        out.append(f"Analytic FAR {far['analytic']['value']:.4g} vs control {far['control']['value']:.4g} per source "
                   f"(ratio {far['analytic_vs_control']['ratio']}): outside ±{TARGET_FAR_TOLERANCE:.0%}.")
    ep = summary["epoch_effect"]
    if ep["n_stars"]:
        out.append(f"Epoch propagation: {ep['with_propagation']['k']}/{ep['n_stars']} stars with pm > 1″/yr are "
                   f"recovered with it, {ep['without_propagation']['k']}/{ep['n_stars']} without.")
    if ep["n_truth_hpm_field"] and ep["n_truth_hpm_field"] > ep["n_stars"]:
        out.append(f"{ep['n_truth_hpm_field'] - ep['n_stars']} injected stars of the HPM field are not in the epoch "
                   "comparison (their star has pm ≤ 1″/yr or never appears as a candidate, so its pm is not in "
                   "the run's optical/ subset).")
    return out


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "n/a" if x is None else format(x, spec)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f} %"


# ---- outputs ---------------------------------------------------------------------------------------------

def write_plots(ev: Evaluation, out_dir: Path) -> list[str]:
    f, a = ev.frames, ev.arrays
    rule = M.class_rule()
    radio, best, rec, pairs = f["radio"], f["best"], f["recovery"], f["pairs"]
    radio_lb = M.galactic_lb(radio["ra_deg"], radio["dec_deg"])
    best_lb = M.galactic_lb(best["radio_ra_deg"], best["radio_dec_deg"])
    inj = radio[radio["source_name"].astype(str).isin(set(rec["source_name"]))]
    true_lb = M.galactic_lb(inj["ra_deg"], inj["dec_deg"])
    in_run = rec[rec["in_run"]]
    field = radio["field"].astype(str) if "field" in radio.columns else None
    field_by_name = dict(zip(radio["source_name"].astype(str), field)) if field is not None else {}
    written = [
        plots.sky_map(out_dir / PLOT_FILES["sky_map"], radio_lb, best_lb, best["class"].to_numpy(), true_lb,
                      radio_field=field.to_numpy() if field is not None else None,
                      best_field=best["radio_source_name"].map(field_by_name).to_numpy() if field is not None else None,
                      true_field=inj["field"].to_numpy() if field is not None else None),
        plots.sep_sigma_histogram(out_dir / PLOT_FILES["sep_sigma"], pairs.loc[pairs["is_true"], "sep_sigma"].to_numpy(),
                                  pairs.loc[~pairs["is_true"], "sep_sigma"].to_numpy(), SEP_SIGMA_EDGES,
                                  a["expected_sep"]),
        plots.p_chance_calibration(out_dir / PLOT_FILES["p_chance_calibration"], a["p_grid"], a["cdf_obs"],
                                   a["cdf_exp"], M.binned_rate(best["p_chance"], best["is_true"], P_CHANCE_EDGES)),
        plots.luminosity_distance(out_dir / PLOT_FILES["luminosity"], best["distance_pc"].to_numpy(float),
                                  best["l_nu"].to_numpy(float), best["class"].to_numpy(), best["is_true"].to_numpy(bool)),
        plots.completeness_panels(out_dir / PLOT_FILES["completeness"],
                                  M.binned_rate(in_run["sn"], in_run["recovered_best"], SN_EDGES),
                                  M.binned_rate(in_run["pm_total"], in_run["recovered_best"], PM_EDGES)),
        plots.bayes_selection(out_dir / PLOT_FILES["bayes"], f["curve_p_any"], f["curve_p_chance"],
                              f["calib_joint"], f["calib_conditional"]),
        plots.selection_cuts(out_dir / PLOT_FILES["selection_cuts"], f["curve_p_any"], f["curve_p_chance"],
                             (ev.summary["bayes"]["at_calibrated_cut"] or {}).get("p_any_cut"),
                             (ev.summary["bayes"]["at_calibrated_cut"] or {}).get("target_false_rate"),
                             f["equal_completeness"],
                             {k: getattr(rule, k) for k in ("class_a_p_any", "class_a_p_chance", "class_b_p_chance")}),
        plots.p_i_calibration(out_dir / PLOT_FILES["p_i_calibration"], f["calib_joint"], f["calib_conditional"]),
    ]
    return [p.name for p in written]


def _rate_cell(r: dict) -> str:
    if not r.get("n"):
        return "— (n = 0)"
    return f"{100 * r['value']:.2f} % ({r['k']}/{r['n']}; 68 %: {100 * r['lo']:.1f}–{100 * r['hi']:.1f})"


def _bin_table(rows: list[dict], label: str, fmt: str = "{:g}") -> str:
    lines = [f"| {label} | n | k | fraction |", "|---|---|---|---|"]
    for r in rows:
        if r["n"]:
            lines.append(f"| {fmt.format(r['bin_lo'])} – {fmt.format(r['bin_hi'])} | {r['n']} | {r['k']} | "
                         f"{100 * r['value']:.1f} % |")
    return "\n".join(lines)


def render_markdown(summary: dict, missed: pd.DataFrame, plot_files: list[str]) -> str:
    s = summary
    t, c, r, far, ep, b = s["targets"], s["completeness"], s["reliability"], s["far"], s["epoch_effect"], s["bayes"]
    yes = lambda ok: "met" if ok else "**missed**"  # noqa: E731
    md = [f"# Science evaluation of cross-match run `{s['run_id']}`", "",
          f"Generated {s['generated_at']} by `radiostars evaluate` (see docs/evaluation.md for the definitions). "
          f"Lake prefix `{s['lake_prefix'] or '(none)'}`; catalogues {', '.join(s['catalogues'] or [])}; "
          f"{s['counts']['radio']} radio sources, {s['counts']['pairs']} pairs, {s['counts']['best']} best candidates, "
          f"{s['counts']['injected_in_run']} injected stars in the run.", "",
          "## Targets", "", "Star level: the best candidate is the injected star or the same star's entry in the other "
          "catalogue (Gaia DR3 <-> Hipparcos 2, the warehouse's same-star rule); id-exact: its own catalogue and id.", "",
          "| target | value | goal | |", "|---|---|---|---|",
          f"| completeness (best match = injected star), star level | {_pct(t['completeness']['value'])} | "
          f"{t['completeness']['target']} | {yes(t['completeness']['met'])} |",
          f"| completeness, id-exact | {_pct(t['completeness']['value_strict'])} | "
          f"{t['completeness']['target']} | {yes(t['completeness']['met_strict'])} |",
          f"| reliability of best candidates with p_chance < 1 %, star level | "
          f"{_pct(t['reliability_p_chance_lt_1pct']['value'])} | "
          f"{t['reliability_p_chance_lt_1pct']['target']} | {yes(t['reliability_p_chance_lt_1pct']['met'])} |",
          f"| reliability with p_chance < 1 %, id-exact | {_pct(t['reliability_p_chance_lt_1pct']['value_strict'])} | "
          f"{t['reliability_p_chance_lt_1pct']['target']} | {yes(t['reliability_p_chance_lt_1pct']['met_strict'])} |",
          f"| FAR analytic / control | {_fmt(t['far_analytic_vs_control']['value'])} | "
          f"{t['far_analytic_vs_control']['target']} | {yes(t['far_analytic_vs_control']['met'])} |", "",
          "## Findings", ""] + [f"- {x}" for x in s["findings"]] + ["",
          "## Completeness", "",
          f"- best match, star level: {_rate_cell(c['best'])}",
          f"- best match, id-exact: {_rate_cell(c['best_strict'])} ({c['n_best_is_same_star']} best matches are the "
          "star's entry in the other catalogue)",
          f"- true star among the candidates (any rank): {_rate_cell(c['any_rank'])}",
          f"- stars with unknown pm (real Gaia bright stars, or never a candidate): {_rate_cell(c['pm_unknown'])}",
          "", f"Same-star rule: {s['same_star']['rule']}; {s['same_star']['n_links']} links in "
          f"{s['same_star']['n_radio_sources_with_link']} of the {s['same_star']['n_radio_sources_with_both_catalogues']} "
          "radio sources with candidates from both catalogues.",
          "", "| truth catalogue | completeness, star level | id-exact |", "|---|---|---|"] + \
        [f"| {k} | {_rate_cell(v)} | {_rate_cell(c['by_truth_catalogue_strict'][k])} |"
         for k, v in c["by_truth_catalogue"].items()] + \
        ["", f"S/N = {c['sn_definition']}.", "", _bin_table(c["by_sn"], "S/N"), "",
         _bin_table(c["by_pm"], "pm [mas/yr]"), "", f"![completeness]({PLOT_FILES['completeness']})", ""]
    if len(missed):
        md += ["Injected stars whose own id is not the best match (same star = the best match is that star's entry "
               "in the other catalogue: recovered at star level):", "",
               "| radio source | truth catalogue | star id | S/N | pm [mas/yr] | true rank | best match | best sep/σ | "
               "same star |",
               "|---|---|---|---|---|---|---|---|---|"]
        for row in missed.head(50).itertuples():
            md.append(f"| {row.source_name} | {row.truth_catalogue} | {row.star_id} | {row.sn:.1f} | "
                      f"{row.pm_total:.0f} | {'' if pd.isna(row.true_rank) else int(row.true_rank)} | "
                      f"{'' if pd.isna(row.best_id) else f'{row.best_catalogue} {int(row.best_id)}'} | "
                      f"{'' if pd.isna(row.best_sep_sigma) else f'{row.best_sep_sigma:.2f}'} | "
                      f"{'yes' if getattr(row, 'best_is_same_star', False) else 'no'} |")
        md.append("")
    md += ["## Reliability", "",
           f"- all best candidates: {_rate_cell(r['overall'])} star level; {_rate_cell(r['overall_strict'])} id-exact",
           f"- best candidates with p_chance < 1 %: {_rate_cell(r['p_chance_lt_0.01'])} star level; "
           f"{_rate_cell(r['p_chance_lt_0.01_strict'])} id-exact",
           f"- kinds of best match: {r['best_match_kinds']} (same_star = the injected star's entry in the other "
           "catalogue)", "",
           "| class | definition | reliability, star level | id-exact |", "|---|---|---|---|"] + \
          [f"| {k} | {r['class_definition'][k]} | {_rate_cell(v)} | {_rate_cell(r['by_class_strict'][k])} |"
           for k, v in r["by_class"].items()] + \
          ["", _bin_table(r["by_p_chance_bin"], "p_chance"), "",
           f"![p_chance calibration]({PLOT_FILES['p_chance_calibration']})", "",
           "## False-match rate (chance pairs per radio source)", "",
           "| estimate | value | error |", "|---|---|---|",
           f"| analytic Σ π R² ρ / N (metrics.json far_analytic) | {far['analytic']['value']:.5g} | {far['analytic']['err']:.2g} |",
           f"| analytic, recomputed here from the pairs' ρ | {far['analytic_recomputed']:.5g} | |",
           f"| shifted control (metrics.json far_control) | {far['control']['value']:.5g} | {far['control']['err']:.2g} |",
           f"| truth: pairs that are not the injected star / N | {far['truth_pairs']['value']:.5g} | {far['truth_pairs']['err']:.2g} |",
           f"| truth: radio sources whose best candidate is false / N | {far['truth_best']['value']:.5g} | {far['truth_best']['err']:.2g} |",
           f"| Σ p_chance / N (metrics.json p_chance_sum) | {far['p_chance_sum_per_source']:.5g} | |", "",
           f"Analytic / control = {far['analytic_vs_control']['ratio']:.3f} (pull {far['analytic_vs_control']['pull_sigma']:.1f} σ); "
           f"analytic / truth = {far['analytic_vs_truth']['ratio']:.3f} (pull {far['analytic_vs_truth']['pull_sigma']:.1f} σ); "
           f"control / truth = {far['control_vs_truth']['ratio']:.3f} (pull {far['control_vs_truth']['pull_sigma']:.1f} σ). "
           "Errors are Poisson (√count / N).", "",
           f"![sep/sigma]({PLOT_FILES['sep_sigma']})", "",
           "## Epoch effect (stars with pm > 1″/yr)", "",
           f"- with propagation (the run): {_rate_cell(ep['with_propagation'])}",
           f"- without propagation: {_rate_cell(ep['without_propagation'])}",
           f"- with propagation, recomputed in-process (consistency check): {_rate_cell(ep['with_propagation_inprocess'])}",
           "", "How: " + ep["method"] + ". optical/ holds only the optical sources that are a candidate somewhere in "
           "the run, so a field star that would be a candidate only without propagation is missing from the "
           "'without' input; such a star could only take the best rank from the true star, never add a hit, so the "
           "'without' recovery is an upper bound (exact when it is 0).", "",
           "## Bayesian selection (p_any / p_i)", "",
           "| cut | completeness | reliability | p_chance cut at the same completeness | its reliability |",
           "|---|---|---|---|---|"]
    for comp in b["comparisons"]:
        a, pc = comp["p_any"], comp["p_chance_at_equal_completeness"]
        pc_cut = "—" if not pc or pc.get("threshold") is None else f"p_chance ≤ {pc['threshold']:.3g}"
        md.append(f"| p_any ≥ {comp['p_any_cut']:g}{' (calibrated)' if comp.get('calibrated') else ''} | "
                  f"{_pct(a['completeness'])} | {_pct(a['reliability'])} | "
                  f"{pc_cut} | {_pct(pc.get('reliability')) if pc else '—'} |")
    at = b["at_calibrated_cut"]
    if at:
        tf = at["truth_false_rate"]
        md += ["", f"**Calibrated cut** (metrics.json `calibration`): p_any ≥ {at['p_any_cut']:.3g} for a target of "
               f"{_pct(at['target_false_rate'])} false selections; on the shifted control "
               f"{_pct(at['control_false_rate'])} of {at['n_control_sources']} sources pass it; in the truth "
               f"{_rate_cell(tf)} of the radio sources without a star do (ratio "
               f"{_fmt(at['truth_vs_control']['ratio'])}, pull {_fmt(at['truth_vs_control']['pull_sigma'], '.1f')} σ)."]
    else:
        md += ["", "No calibrated p_any cut in metrics.json (a run written before the calibration)."]
    md += ["", "Reliability at equal completeness (the strictest cut of each score that reaches the level):", "",
           "| completeness | p_any cut | reliability | p_chance cut | reliability | purer |", "|---|---|---|---|---|---|"]
    for row in b["equal_completeness"]:
        cut_a = "—" if row["p_any_threshold"] is None else f"≥ {row['p_any_threshold']:.3g}"
        cut_c = "—" if row["p_chance_threshold"] is None else f"≤ {row['p_chance_threshold']:.3g}"
        md.append(f"| {100 * row['completeness_level']:g} % | {cut_a} | {_pct(row['p_any_reliability'])} | {cut_c} | "
                  f"{_pct(row['p_chance_reliability'])} | {row['purer'] or 'unreachable'} |")
    md += ["", f"![selection by cut]({PLOT_FILES['selection_cuts']})", "",
           f"![p_i calibration]({PLOT_FILES['p_i_calibration']})", "",
           f"![bayes]({PLOT_FILES['bayes']})", "",
           "## Luminosity", "",
           f"{s['luminosity']['n_with_distance']} of {s['luminosity']['n_best']} best candidates have a distance "
           f"({s['luminosity']['definition']}); by class {s['luminosity']['n_with_distance_by_class']}. Real Gaia "
           "bright stars of the sample carry no parallax, so they have no distance.", "",
           f"![luminosity]({PLOT_FILES['luminosity']})", "", "## Sky", "", f"![sky]({PLOT_FILES['sky_map']})", ""]
    return "\n".join(md)


def write_outputs(ev: Evaluation, out_dir: Path) -> Path:
    """Write summary.json, report.md and the PNGs into out_dir; returns out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = write_plots(ev, out_dir)
    ev.summary["plots"] = files
    (out_dir / "summary.json").write_text(json.dumps(ev.summary, indent=2, default=_json_default))
    (out_dir / "report.md").write_text(render_markdown(ev.summary, ev.frames["missed"], files))
    return out_dir


def _json_default(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return M._num(float(x))
    if isinstance(x, np.bool_):
        return bool(x)
    return str(x)


def headline(summary: dict) -> str:
    t, far, ep = summary["targets"], summary["far"], summary["epoch_effect"]
    mark = lambda ok: "ok" if ok else "MISSED"  # noqa: E731
    return "\n".join([
        f"run {summary['run_id']}: {summary['counts']['radio']} radio, {summary['counts']['best']} best candidates, "
        f"{summary['counts']['injected_in_run']} injected stars",
        f"  completeness            {_pct(t['completeness']['value'])} star level ({_count(summary['completeness']['best'])}), "
        f"{_pct(t['completeness']['value_strict'])} id-exact ({_count(summary['completeness']['best_strict'])})  "
        f"({t['completeness']['target']}: {mark(t['completeness']['met'])})",
        f"  reliability p_chance<1% {_pct(t['reliability_p_chance_lt_1pct']['value'])} star level, "
        f"{_pct(t['reliability_p_chance_lt_1pct']['value_strict'])} id-exact  "
        f"({t['reliability_p_chance_lt_1pct']['target']}: {mark(t['reliability_p_chance_lt_1pct']['met'])})",
        f"  FAR analytic/control    {far['analytic']['value']:.4g} / {far['control']['value']:.4g} = "
        f"{far['analytic_vs_control']['ratio']:.3f}  ({t['far_analytic_vs_control']['target']}: "
        f"{mark(t['far_analytic_vs_control']['met'])}); truth {far['truth_pairs']['value']:.4g}",
        f"  epoch effect (pm>1\"/yr) with {ep['with_propagation']['k']}/{ep['n_stars']}, "
        f"without {ep['without_propagation']['k']}/{ep['n_stars']}",
        *_bayes_headline(summary["bayes"]),
    ])


def _count(rate: dict) -> str:
    return f"{rate['k']}/{rate['n']}"


def _bayes_headline(b: dict) -> list[str]:
    v, at = b["purer_at_equal_completeness"], b["at_calibrated_cut"]
    lines = [f"  purer at equal completeness: p_any at {v['p_any']}, p_chance at {v['p_chance']}, equal at "
             f"{v['equal']} of {sum(v.values())} levels"] if b["n_best_with_p_any"] else []
    if at:
        lines.append(f"  calibrated cut p_any>={at['p_any_cut']:.3g}: star-less sources selected "
                     f"{_pct(at['truth_false_rate']['value'])} (control {_pct(at['control_false_rate'])}, target "
                     f"{_pct(at['target_false_rate'])}); completeness {_pct(at['selection']['completeness'])}, "
                     f"reliability {_pct(at['selection']['reliability'])}")
    return lines
