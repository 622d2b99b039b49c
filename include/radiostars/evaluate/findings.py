"""Targets and findings of the evaluation: which of the issue's targets a run meets, and plain sentences that say
by how much a missed one is missed and why, from the numbers (no computation on frames beyond counting)."""

from __future__ import annotations

import numpy as np
import pandas as pd

TARGET_RELIABILITY = 0.9  # at the run's default cut, star level, measured on the truth
TARGET_COMPLETENESS = 0.8
MAX_PULL = 3.0  # the estimate vs the measurement, every p_any bin with >= 20 sources, analytic vs control FAR
RELIABILITY_P_CHANCE = 0.01  # the p_chance selection reported beside (the older rule)
COMPLETENESS_LEVELS = (0.25, 0.5, 0.75, 0.9, 0.95, 0.99)


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "n/a" if x is None else format(x, spec)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f} %"


def _at_least(x: float | None, goal: float) -> bool:
    return x is not None and x >= goal


def _pull_ok(x: float | None) -> bool:
    return x is not None and abs(x) <= MAX_PULL


def targets(summary: dict) -> dict:
    """The issue's targets (star level, the joint posterior at the run's cut), each with value, goal and ``met``;
    a value that cannot be computed (null) is not met."""
    h, ep = summary["headline"], summary["epoch_effect"]
    n_ep, k_with, k_without = ep["n_stars"], ep["with_propagation"]["k"], ep["without_propagation"]["k"]
    return {
        "reliability_at_default_cut": {
            "target": f">= {TARGET_RELIABILITY:.0%}",
            "value": h["reliability_at_default_cut"],
            "met": _at_least(h["reliability_at_default_cut"], TARGET_RELIABILITY),
        },
        "completeness_at_default_cut": {
            "target": f">= {TARGET_COMPLETENESS:.0%}",
            "value": h["completeness_at_default_cut"],
            "met": _at_least(h["completeness_at_default_cut"], TARGET_COMPLETENESS),
        },
        "reliability_estimate_pull": {
            "target": f"|pull| <= {MAX_PULL:g}",
            "value": h["reliability_estimate_pull"],
            "met": _pull_ok(h["reliability_estimate_pull"]),
        },
        "p_any_calibration_max_pull": {
            "target": f"|pull| <= {MAX_PULL:g} in every 0.1 bin with >= 20 sources",
            "value": h["p_any_calibration_max_pull"],
            "met": _pull_ok(h["p_any_calibration_max_pull"]),
        },
        "far_pull": {
            "target": f"|pull| <= {MAX_PULL:g} (analytic vs control)",
            "value": h["far_pull"],
            "met": _pull_ok(h["far_pull"]),
        },
        "epoch_effect": {
            "target": 'every star with pm > 1"/yr recovered with propagation, fewer without',
            "value": f"{k_with}/{n_ep} with, {k_without}/{n_ep} without",
            "met": bool(n_ep and k_with == n_ep and k_without < k_with),
        },
    }


def _headline_findings(summary: dict) -> list[str]:
    """One sentence per missed headline target: by how much and why."""
    out: list[str] = []
    t, h, d = summary["targets"], summary["headline"], summary["headline_detail"]
    phys, pos = d["physics"], d["position_only"]
    bd = phys["breakdown"]
    cut = h["default_cut"]
    for note in d["notes"]:
        out.append(f"Note: {note}.")
    rel = phys["reliability"]
    if not t["reliability_at_default_cut"]["met"]:
        if not rel["n"]:
            out.append(
                f"Reliability at the default cut p_any >= {_fmt(cut, '.3g')}: nothing is selected (the run "
                "found no cut whose estimated reliability reaches the target), so there is no reliability to "
                "measure and completeness is 0."
            )
        else:
            out.append(
                f"Reliability at the default cut p_any >= {_fmt(cut, '.3g')} is {_pct(rel['value'])} "
                f"({rel['k']}/{rel['n']}; 68 %: {_pct(rel['lo'])}–{_pct(rel['hi'])}), "
                f"{100 * (TARGET_RELIABILITY - rel['value']):.1f} points under {TARGET_RELIABILITY:.0%}: of "
                f"the {rel['n'] - rel['k']} false selections {bd['false_background']} are radio sources "
                f"without a star and {bd['false_wrong_star']} star sources whose best candidate is another "
                "star."
            )
    com = phys["completeness"]
    if not t["completeness_at_default_cut"]["met"]:
        out.append(
            f"Completeness at the default cut is {_pct(com['value'])} ({com['k']}/{com['n']}), "
            f"{100 * (TARGET_COMPLETENESS - (com['value'] or 0)):.1f} points under {TARGET_COMPLETENESS:.0%}: "
            f"of the {com['n'] - com['k']} stars missed, {bd['star_not_a_candidate']} are not a candidate of "
            f"their radio source at all, {bd['below_cut']} are candidates of a source whose p_any is below "
            f"the cut, {bd['selected_best_is_other_star']} are selected but another star ranks first."
        )
    pull = h["reliability_estimate_pull"]
    if not t["reliability_estimate_pull"]["met"]:
        if pull is None:
            out.append(
                "No reliability estimate to compare with the truth at the default cut "
                f"(calibration status {phys['calibration_status']}; see the notes)."
            )
        else:
            out.append(
                f"The control's reliability estimate {_pct(phys['reliability_estimated'])} ± "
                f"{_pct(phys['reliability_estimated_err'])} is {pull:+.1f} σ from the measured "
                f"{_pct(rel['value'])}; counting a selected source whose best candidate is another star as "
                "reliable (the estimate's own definition) the measurement is "
                f"{_pct(phys['reliability_any_candidate']['value'])} (pull "
                f"{_fmt(phys['reliability_estimate_pull_any_candidate'], '+.1f')} σ)."
            )
    if not t["p_any_calibration_max_pull"]["met"]:
        rows = [r for r in d["p_any_calibration"]["physics"] if r["judged"]]
        if not rows:
            out.append("p_any calibration: no 0.1 bin holds 20 sources — nothing to judge.")
        else:
            worst = max(rows, key=lambda r: abs(r["pull"]) if r["pull"] is not None else np.inf)
            kind = "under-confident" if worst["value"] > worst["mean_predicted"] else "over-confident"
            out.append(
                f"p_any calibration: the worst bin [{worst['bin_lo']:.1f}, {worst['bin_hi']:.1f}) holds "
                f"{worst['n']} sources with mean p_any {worst['mean_predicted']:.3f} but {worst['k']} "
                f"({_pct(worst['value'])}) have their star among the candidates (expected "
                f"{worst['expected']:.1f}; pull {_fmt(worst['pull'], '+.1f')} σ): p_any is {kind} there."
            )
    if not t["far_pull"]["met"]:
        far = summary["far"]
        out.append(
            f"FAR: analytic {far['analytic']['value']:.4g} vs control {far['control']['value']:.4g} chance "
            f"pairs per source, pull {_fmt(h['far_pull'], '+.1f')} σ (> {MAX_PULL:g})."
        )
    ep = summary["epoch_effect"]
    if not t["epoch_effect"]["met"]:
        out.append(
            f"Epoch effect: {ep['with_propagation']['k']}/{ep['n_stars']} stars with pm > 1″/yr recovered "
            f"with propagation, {ep['without_propagation']['k']}/{ep['n_stars']} without"
            + (" (no such star is a candidate in this run)." if not ep["n_stars"] else ".")
        )
    out += _fold_findings(d["property_priors"])
    if pos is not None:
        pr, pc = pos["reliability"], pos["completeness"]
        out.append(
            f"Positions only (no property prior), at its own cut p_any >= {_fmt(pos['cut'], '.3g')}: "
            f"reliability {_pct(pr['value'])} ({pr['k']}/{pr['n']}), completeness {_pct(pc['value'])} "
            f"({pc['k']}/{pc['n']}) — against {_pct(rel['value'])} and {_pct(com['value'])} with the priors."
        )
    return out


def _fold_findings(pp: dict) -> list[str]:
    """A cross-fitting fold scored by a model whose c of a class is exactly 0 while the fit on all sources has
    c > 0: every hypothesis of that class in the fold gets prior 0, so p_any = 0 there, whatever its evidence."""
    out = []
    full = pp.get("c_by_class") or {}
    errs = pp.get("fold_c_err_by_class") or []
    for fold, cs in enumerate(pp.get("fold_c_by_class") or []):
        for cls, c in (cs or {}).items():
            if c == 0 and (full.get(cls) or 0) > 0:
                err = (errs[fold] or {}).get(cls) if fold < len(errs) else None
                out.append(
                    f"Cross-fitting: the model that scores fold {fold} (fitted without it) has c_{cls} = 0 "
                    f"(± {_fmt(err, '.2g')}; all sources: {full[cls]:.3g}), so every {cls} hypothesis of fold "
                    f"{fold} has prior 0 and p_any ≈ 0 however close its star: too few {cls} counterparts "
                    "outside the fold to fit c (the posterior's fit, docs/crossmatch.md §6.2)."
                )
    return out


def findings(summary: dict, missed: pd.DataFrame, best: pd.DataFrame) -> list[str]:
    """Plain-language explanations of missed targets (and notable effects), derived from the numbers."""
    out = _headline_findings(summary)
    comp = summary["completeness"]
    n_same = comp.get("n_best_is_same_star", 0)
    if n_same:
        ss = summary["same_star"]
        out.append(
            f"{n_same} injected stars' best candidate is the same physical star's entry in the other catalogue "
            f"(Gaia DR3 <-> Hipparcos 2; {ss['n_links']} same-star links in {ss['n_radio_sources_with_link']} radio "
            f"sources): recovered at star level, missed id-exact — completeness {_pct(comp['best']['value'])} "
            f"({comp['best']['k']}/{comp['best']['n']}) at star level, {_pct(comp['best_strict']['value'])} "
            f"({comp['best_strict']['k']}/{comp['best_strict']['n']}) id-exact."
        )
    lost = missed[~missed["best_is_same_star"].astype(bool)] if "best_is_same_star" in missed else missed
    if len(lost):
        ranked_lower = lost[lost["true_rank"].notna()]
        absent = lost[lost["true_rank"].isna()]
        out.append(
            f"Best candidate (any p_any): {len(lost)} of {comp['best']['n']} injected stars are not the best "
            f"candidate of their radio source — {len(ranked_lower)} are candidates at rank > 1, {len(absent)} "
            "have no pair carrying their id (outside the match radius, or a corrupted id: see the table)."
        )
    if comp.get("best_id_float64_rounded"):
        out.append(
            f"{comp['best_id_float64_rounded']} missed stars have a best match whose optical_id equals the true "
            "star id rounded to float64 (ids > 2⁵³ lose their last digits): the run found the right star but "
            "wrote a corrupted id — an upstream defect in the run's outputs, not a matching failure."
        )
    if comp["n_injected_not_in_run"]:
        out.append(
            f"{comp['n_injected_not_in_run']} injected stars' radio sources are not in the run's radio "
            "snapshot (deleted or quarantined upstream); they are excluded from the denominators."
        )
    r = summary["reliability"]
    key = f"p_chance_lt_{RELIABILITY_P_CHANCE:g}"
    if r[key]["value"] is not None and r[key]["value"] < TARGET_RELIABILITY:
        n_bg = summary["counts"]["radio"] - summary["counts"]["injected_in_run"]
        cal = summary["p_chance_calibration"]
        expected_false = n_bg * float(np.interp(RELIABILITY_P_CHANCE, cal["p"], cal["expected"]))
        n_star = summary["counts"]["injected_in_run"]
        out.append(
            f"For comparison, the older rule p_chance < 1 % is {_pct(r[key]['value'])} reliable: among {n_bg} "
            f"radio sources without a star ≈ {expected_false:.0f} get a chance candidate below 1 % against at "
            f"most {n_star} true stars, which bounds it near {n_star / (n_star + expected_false):.0%}."
        )
    b = summary["bayes"]
    v = b["purer_at_equal_completeness"]
    if b["n_best_with_p_any"]:
        levels = ", ".join(f"{100 * x:g} %" for x in COMPLETENESS_LEVELS)
        out.append(
            f"Selection at equal completeness ({levels}): the p_any cut is purer at {v['p_any']} level(s), "
            f"the p_chance cut at {v['p_chance']}, equal at {v['equal']}, {v['unreachable']} not reachable by "
            "both (see selection_cuts.png)."
        )
    ep = summary["epoch_effect"]
    if ep["n_truth_hpm_field"] and ep["n_truth_hpm_field"] > ep["n_stars"]:
        out.append(
            f"{ep['n_truth_hpm_field'] - ep['n_stars']} injected stars of the high-proper-motion pointings are "
            "not in the epoch comparison (their star has pm ≤ 1″/yr or never appears as a candidate, so its "
            "pm is not in the run's optical/ subset)."
        )
    return out
