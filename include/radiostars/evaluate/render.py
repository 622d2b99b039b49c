"""The evaluation's outputs: summary.json, report.md (markdown) and the PNGs of one :class:`.report.Evaluation`,
and the headline text ``make evaluate`` prints. Rendering only: every number comes from the summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import metrics as M
from . import plots
from .findings import MAX_PULL, TARGET_COMPLETENESS, TARGET_RELIABILITY, _fmt, _pct

if TYPE_CHECKING:
    from .report import Evaluation

PLOT_FILES = {
    "p_any_reliability": "p_any_reliability.png",
    "reliability_completeness": "reliability_completeness.png",
    "estimated_vs_measured": "reliability_estimated_vs_measured.png",
    "property_priors": "property_priors.png",
    "sky_map": "sky_map.png",
    "sep_sigma": "sep_sigma_hist.png",
    "p_chance_calibration": "p_chance_calibration.png",
    "luminosity": "luminosity_distance.png",
    "completeness": "completeness_sn_pm.png",
    "bayes": "bayes_selection.png",
    "selection_cuts": "selection_cuts.png",
    "p_i_calibration": "p_i_calibration.png",
}


def write_plots(ev: Evaluation, out_dir: Path) -> list[str]:
    from .report import P_CHANCE_EDGES, PM_EDGES, SEP_SIGMA_EDGES, SN_EDGES

    f, a = ev.frames, ev.arrays
    d = ev.summary["headline_detail"]
    posts = [k for k in ("physics", "position_only") if d[k] is not None]
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
        plots.p_any_reliability_diagram(
            out_dir / PLOT_FILES["p_any_reliability"],
            {k: pd.DataFrame(v) for k, v in d["p_any_calibration"].items()},
            d["min_bin_sources"],
        ),
        plots.reliability_completeness(
            out_dir / PLOT_FILES["reliability_completeness"],
            {k: f[f"rc_{k}"] for k in posts if f"rc_{k}" in f},
            {k: d[k] for k in posts},
            TARGET_RELIABILITY,
            TARGET_COMPLETENESS,
        ),
        plots.estimated_vs_measured(
            out_dir / PLOT_FILES["estimated_vs_measured"], d["estimated_vs_measured"], {k: d[k]["cut"] for k in posts}
        ),
        plots.property_histograms(out_dir / PLOT_FILES["property_priors"], d["property_priors"]["histograms"] or {}),
        plots.sky_map(
            out_dir / PLOT_FILES["sky_map"],
            radio_lb,
            best_lb,
            best["class"].to_numpy(),
            true_lb,
            radio_field=field.to_numpy() if field is not None else None,
            best_field=best["radio_source_name"].map(field_by_name).to_numpy() if field is not None else None,
            true_field=inj["field"].to_numpy() if field is not None else None,
        ),
        plots.sep_sigma_histogram(
            out_dir / PLOT_FILES["sep_sigma"],
            pairs.loc[pairs["is_true"], "sep_sigma"].to_numpy(),
            pairs.loc[~pairs["is_true"], "sep_sigma"].to_numpy(),
            SEP_SIGMA_EDGES,
            a["expected_sep"],
        ),
        plots.p_chance_calibration(
            out_dir / PLOT_FILES["p_chance_calibration"],
            a["p_grid"],
            a["cdf_obs"],
            a["cdf_exp"],
            M.binned_rate(best["p_chance"], best["is_true"], P_CHANCE_EDGES),
        ),
        plots.luminosity_distance(
            out_dir / PLOT_FILES["luminosity"],
            best["distance_pc"].to_numpy(float),
            best["l_nu"].to_numpy(float),
            best["class"].to_numpy(),
            best["is_true"].to_numpy(bool),
        ),
        plots.completeness_panels(
            out_dir / PLOT_FILES["completeness"],
            M.binned_rate(in_run["sn"], in_run["recovered_best"], SN_EDGES),
            M.binned_rate(in_run["pm_total"], in_run["recovered_best"], PM_EDGES),
        ),
        plots.bayes_selection(
            out_dir / PLOT_FILES["bayes"],
            f["curve_p_any"],
            f["curve_p_chance"],
            f["calib_joint"],
            f["calib_conditional"],
        ),
        plots.selection_cuts(
            out_dir / PLOT_FILES["selection_cuts"],
            f["curve_p_any"],
            f["curve_p_chance"],
            (ev.summary["bayes"]["at_calibrated_cut"] or {}).get("p_any_cut"),
            (ev.summary["bayes"]["at_calibrated_cut"] or {}).get("target_false_rate"),
            f["equal_completeness"],
            {k: getattr(rule, k) for k in ("class_a_p_any", "class_a_p_chance", "class_b_p_chance")},
        ),
        plots.p_i_calibration(out_dir / PLOT_FILES["p_i_calibration"], f["calib_joint"], f["calib_conditional"]),
    ]
    return [p.name for p in written]


_HEADLINE_ROWS = (
    ("faint_density_deg2_plane", "faint stars per deg² in the plane (|b| < 1.5°, median of fields)", "{:.3g}"),
    ("star_fraction", "radio stars / radio sources", "{:.4f}"),
    ("default_cut", "default cut (the run's, for the target reliability)", "p_any ≥ {:.4g}"),
    ("reliability_at_default_cut", "reliability at the cut (truth)", "pct"),
    ("completeness_at_default_cut", "completeness at the cut (truth)", "pct"),
    ("reliability_estimated_at_default_cut", "reliability estimated from the control", "pct"),
    ("reliability_estimate_pull", "pull estimate vs truth", "{:+.2f} σ"),
    ("p_any_calibration_max_pull", "p_any calibration: largest |pull| (bins ≥ 20)", "{:.2f} σ"),
    ("far_pull", "FAR analytic vs control pull", "{:+.2f} σ"),
    ("reliability_at_default_cut_position_only", "positions only: reliability at its cut", "pct"),
    ("completeness_at_default_cut_position_only", "positions only: completeness at its cut", "pct"),
)


def _cell(text: str) -> str:
    """Text for a markdown table cell (a literal | would split the cell)."""
    return text.replace("|", "\\|")


def _value(x, fmt: str) -> str:
    if x is None:
        return "n/a"
    return _pct(x) if fmt == "pct" else fmt.format(x)


def _headline_md(s: dict) -> str:
    """The headline table (summary.json ``headline``), the targets and both posteriors at their cuts."""
    h, t, d = s["headline"], s["targets"], s["headline_detail"]
    yes = lambda ok: "met" if ok else "**missed**"  # noqa: E731
    lines = [
        "Joint posterior over Gaia DR3 and Hipparcos 2 (same-star entries merged) at the run's reliability "
        f"cut; truth at star level (docs/evaluation.md). Posterior read: `{d['posterior']}`.",
        "",
        "| headline key | meaning | value |",
        "|---|---|---|",
    ]
    lines += [f"| `{k}` | {_cell(m)} | {_value(h[k], f)} |" for k, m, f in _HEADLINE_ROWS]
    lines += ["", "| target | value | goal | |", "|---|---|---|---|"]
    for k, v in t.items():
        val = (
            v["value"]
            if isinstance(v["value"], str)
            else _value(v["value"], "pct" if "default_cut" in k and "pull" not in k else "{:+.2f}")
        )
        lines.append(f"| {k} | {val} | {_cell(v['target'])} | {yes(v['met'])} |")
    lines += [
        "",
        "| posterior | cut | reliability (truth) | completeness (truth) | estimated (control) | pull | "
        "best is another star |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("physics", "position_only"):
        p = d[name]
        if p is None:
            lines.append(f"| {name} | — | — | — | — | — | — |")
            continue
        est = (
            "n/a"
            if p["reliability_estimated"] is None
            else f"{_pct(p['reliability_estimated'])} ± {_pct(p['reliability_estimated_err'])}"
        )
        lines.append(
            f"| {name} | p_any ≥ {p['cut']:.4g} ({p['calibration_status']}) | {_rate_cell(p['reliability'])} "
            f"| {_rate_cell(p['completeness'])} | {est} | {_fmt(p['reliability_estimate_pull'], '+.2f')} | "
            f"{p['breakdown']['selected_best_is_other_star']} |"
        )
    pp = d["property_priors"]
    lines += [
        "",
        f"Faint density: {d.get('faint_density_source')}. Property priors: {pp['source']} "
        f"(fit {pp['status']}{'; ' + pp['reason'] if pp.get('reason') else ''}; c = {_fmt(pp['c'], '.4g')} ± "
        f"{_fmt(pp['c_err'], '.2g')}); fallbacks: {pp['fallbacks'] or 'none'}.",
        "",
        f"![p_any reliability diagram]({PLOT_FILES['p_any_reliability']})",
        "",
        "Per radio source with candidates, per 0.1 bin of p_any: the fraction whose star is among the "
        "candidates (68 % Wilson bars) against the mean p_any; pull = (k − Σp)/√Σp(1 − p), judged in bins of "
        f">= {d['min_bin_sources']} sources (|pull| <= {MAX_PULL:g}).",
        "",
    ]
    lines += [
        "| posterior | bin | n | mean p_any | observed | expected k | k | pull |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in d["p_any_calibration"].items():
        for r in rows:
            if r["n"]:
                lines.append(
                    f"| {name} | {r['bin_lo']:.1f}–{r['bin_hi']:.1f} | {r['n']} | {r['mean_predicted']:.3f} | "
                    f"{_pct(r['value'])} | {r['expected']:.1f} | {r['k']} | "
                    f"{_fmt(r['pull'], '+.2f')}{'' if r['judged'] else ' (n < ' + str(d['min_bin_sources']) + ')'} |"
                )
    lines += [
        "",
        f"![reliability-completeness]({PLOT_FILES['reliability_completeness']})",
        "",
        f"![estimated vs measured]({PLOT_FILES['estimated_vs_measured']})",
        "",
        f"![property priors]({PLOT_FILES['property_priors']})",
        "",
        "The learned property priors (metrics.json `prior_fit.joint.property_priors`): counterpart vs field "
        "distribution per class and feature; their ratio multiplies the Bayes factor.",
    ]
    return "\n".join(lines)


def _rate_cell(r: dict) -> str:
    if not r.get("n"):
        return "— (n = 0)"
    return f"{100 * r['value']:.2f} % ({r['k']}/{r['n']}; 68 %: {100 * r['lo']:.1f}–{100 * r['hi']:.1f})"


def _bin_table(rows: list[dict], label: str, fmt: str = "{:g}") -> str:
    lines = [f"| {label} | n | k | fraction |", "|---|---|---|---|"]
    for r in rows:
        if r["n"]:
            lines.append(
                f"| {fmt.format(r['bin_lo'])} – {fmt.format(r['bin_hi'])} | {r['n']} | {r['k']} | "
                f"{100 * r['value']:.1f} % |"
            )
    return "\n".join(lines)


def render_markdown(summary: dict, missed: pd.DataFrame, plot_files: list[str]) -> str:
    s = summary
    c, r, far, ep, b = s["completeness"], s["reliability"], s["far"], s["epoch_effect"], s["bayes"]
    md = (
        [
            f"# Science evaluation of cross-match run `{s['run_id']}`",
            "",
            f"Generated {s['generated_at']} by `radiostars evaluate` (see docs/evaluation.md for the definitions). "
            f"Lake prefix `{s['lake_prefix'] or '(none)'}`; catalogues {', '.join(s['catalogues'] or [])}; "
            f"{s['counts']['radio']} radio sources, {s['counts']['pairs']} pairs, {s['counts']['best']} best candidates, "
            f"{s['counts']['injected_in_run']} injected stars in the run.",
            "",
            "## Headline",
            "",
            _headline_md(s),
            "",
            "## Findings",
            "",
        ]
        + [f"- {x}" for x in s["findings"]]
        + [
            "",
            "## Completeness of the best candidate (any p_any)",
            "",
            f"- best match, star level: {_rate_cell(c['best'])}",
            f"- best match, id-exact: {_rate_cell(c['best_strict'])} ({c['n_best_is_same_star']} best matches are the "
            "star's entry in the other catalogue)",
            f"- true star among the candidates (any rank): {_rate_cell(c['any_rank'])}",
            f"- stars with unknown pm (real Gaia bright stars, or never a candidate): {_rate_cell(c['pm_unknown'])}",
            "",
            f"Same-star rule: {s['same_star']['rule']}; {s['same_star']['n_links']} links in "
            f"{s['same_star']['n_radio_sources_with_link']} of the {s['same_star']['n_radio_sources_with_both_catalogues']} "
            "radio sources with candidates from both catalogues.",
            "",
            "| truth catalogue | completeness, star level | id-exact |",
            "|---|---|---|",
        ]
        + [
            f"| {k} | {_rate_cell(v)} | {_rate_cell(c['by_truth_catalogue_strict'][k])} |"
            for k, v in c["by_truth_catalogue"].items()
        ]
        + [
            "",
            f"S/N = {c['sn_definition']}.",
            "",
            _bin_table(c["by_sn"], "S/N"),
            "",
            _bin_table(c["by_pm"], "pm [mas/yr]"),
            "",
            f"![completeness]({PLOT_FILES['completeness']})",
            "",
        ]
    )
    if len(missed):
        md += [
            "Injected stars whose own id is not the best match (same star = the best match is that star's entry "
            "in the other catalogue: recovered at star level):",
            "",
            "| radio source | truth catalogue | star id | S/N | pm [mas/yr] | true rank | best match | best sep/σ | "
            "same star |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row in missed.head(50).itertuples():
            md.append(
                f"| {row.source_name} | {row.truth_catalogue} | {row.star_id} | {row.sn:.1f} | "
                f"{row.pm_total:.0f} | {'' if pd.isna(row.true_rank) else int(row.true_rank)} | "
                f"{'' if pd.isna(row.best_id) else f'{row.best_catalogue} {int(row.best_id)}'} | "
                f"{'' if pd.isna(row.best_sep_sigma) else f'{row.best_sep_sigma:.2f}'} | "
                f"{'yes' if getattr(row, 'best_is_same_star', False) else 'no'} |"
            )
        md.append("")
    md += (
        [
            "## Reliability",
            "",
            f"- all best candidates: {_rate_cell(r['overall'])} star level; {_rate_cell(r['overall_strict'])} id-exact",
            f"- best candidates with p_chance < 1 %: {_rate_cell(r['p_chance_lt_0.01'])} star level; "
            f"{_rate_cell(r['p_chance_lt_0.01_strict'])} id-exact",
            f"- kinds of best match: {r['best_match_kinds']} (same_star = the injected star's entry in the other "
            "catalogue)",
            "",
            "| class | definition | reliability, star level | id-exact |",
            "|---|---|---|---|",
        ]
        + [
            f"| {k} | {r['class_definition'][k]} | {_rate_cell(v)} | {_rate_cell(r['by_class_strict'][k])} |"
            for k, v in r["by_class"].items()
        ]
        + [
            "",
            _bin_table(r["by_p_chance_bin"], "p_chance"),
            "",
            f"![p_chance calibration]({PLOT_FILES['p_chance_calibration']})",
            "",
            "## False-match rate (chance pairs per radio source)",
            "",
            "| estimate | value | error |",
            "|---|---|---|",
            f"| analytic Σ π R² ρ / N (metrics.json far_analytic) | {far['analytic']['value']:.5g} | {far['analytic']['err']:.2g} |",
            f"| analytic, recomputed here from the pairs' ρ | {far['analytic_recomputed']:.5g} | |",
            f"| shifted control (metrics.json far_control) | {far['control']['value']:.5g} | {far['control']['err']:.2g} |",
            f"| truth: pairs that are not the injected star / N | {far['truth_pairs']['value']:.5g} | {far['truth_pairs']['err']:.2g} |",
            f"| truth: radio sources whose best candidate is false / N | {far['truth_best']['value']:.5g} | {far['truth_best']['err']:.2g} |",
            f"| Σ p_chance / N (metrics.json p_chance_sum) | {far['p_chance_sum_per_source']:.5g} | |",
            "",
            f"Analytic / control = {far['analytic_vs_control']['ratio']:.3f} (pull {far['analytic_vs_control']['pull_sigma']:.1f} σ); "
            f"analytic / truth = {far['analytic_vs_truth']['ratio']:.3f} (pull {far['analytic_vs_truth']['pull_sigma']:.1f} σ); "
            f"control / truth = {far['control_vs_truth']['ratio']:.3f} (pull {far['control_vs_truth']['pull_sigma']:.1f} σ). "
            "Errors are Poisson (√count / N).",
            "",
            f"![sep/sigma]({PLOT_FILES['sep_sigma']})",
            "",
            "## Epoch effect (stars with pm > 1″/yr)",
            "",
            f"- with propagation (the run): {_rate_cell(ep['with_propagation'])}",
            f"- without propagation: {_rate_cell(ep['without_propagation'])}",
            f"- with propagation, recomputed in-process (consistency check): {_rate_cell(ep['with_propagation_inprocess'])}",
            "",
            "How: " + ep["method"] + ". optical/ holds only the optical sources that are a candidate somewhere in "
            "the run, so a field star that would be a candidate only without propagation is missing from the "
            "'without' input; such a star could only take the best rank from the true star, never add a hit, so the "
            "'without' recovery is an upper bound (exact when it is 0).",
            "",
            "## Bayesian selection (p_any / p_i)",
            "",
            "| cut | completeness | reliability | p_chance cut at the same completeness | its reliability |",
            "|---|---|---|---|---|",
        ]
    )
    for comp in b["comparisons"]:
        a, pc = comp["p_any"], comp["p_chance_at_equal_completeness"]
        pc_cut = "—" if not pc or pc.get("threshold") is None else f"p_chance ≤ {pc['threshold']:.3g}"
        md.append(
            f"| p_any ≥ {comp['p_any_cut']:g}{' (calibrated)' if comp.get('calibrated') else ''} | "
            f"{_pct(a['completeness'])} | {_pct(a['reliability'])} | "
            f"{pc_cut} | {_pct(pc.get('reliability')) if pc else '—'} |"
        )
    at = b["at_calibrated_cut"]
    if at:
        tf = at["truth_false_rate"]
        goal = (
            f"for a target of {_pct(at['target_false_rate'])} false selections"
            if at["target_false_rate"] is not None
            else "(the reliability cut of the headline)"
        )
        md += [
            "",
            f"**Calibrated cut** (metrics.json `calibration`): p_any ≥ {at['p_any_cut']:.3g} {goal}; "
            "star-less sources selected: on the shifted control "
            f"{_pct(at['control_false_rate'])} of {at['n_control_sources']} sources pass it; in the truth "
            f"{_rate_cell(tf)} of the radio sources without a star do (ratio "
            f"{_fmt(at['truth_vs_control']['ratio'])}, pull {_fmt(at['truth_vs_control']['pull_sigma'], '.1f')} σ).",
        ]
    else:
        md += ["", "No calibrated p_any cut in metrics.json (a run written before the calibration)."]
    md += [
        "",
        "Reliability at equal completeness (the strictest cut of each score that reaches the level):",
        "",
        "| completeness | p_any cut | reliability | p_chance cut | reliability | purer |",
        "|---|---|---|---|---|---|",
    ]
    for row in b["equal_completeness"]:
        cut_a = "—" if row["p_any_threshold"] is None else f"≥ {row['p_any_threshold']:.3g}"
        cut_c = "—" if row["p_chance_threshold"] is None else f"≤ {row['p_chance_threshold']:.3g}"
        md.append(
            f"| {100 * row['completeness_level']:g} % | {cut_a} | {_pct(row['p_any_reliability'])} | {cut_c} | "
            f"{_pct(row['p_chance_reliability'])} | {row['purer'] or 'unreachable'} |"
        )
    md += [
        "",
        f"![selection by cut]({PLOT_FILES['selection_cuts']})",
        "",
        f"![p_i calibration]({PLOT_FILES['p_i_calibration']})",
        "",
        f"![bayes]({PLOT_FILES['bayes']})",
        "",
        "## Luminosity",
        "",
        f"{s['luminosity']['n_with_distance']} of {s['luminosity']['n_best']} best candidates have a distance "
        f"({s['luminosity']['definition']}); by class {s['luminosity']['n_with_distance_by_class']}. Real Gaia "
        "bright stars of the sample carry no parallax, so they have no distance.",
        "",
        f"![luminosity]({PLOT_FILES['luminosity']})",
        "",
        "## Sky",
        "",
        f"![sky]({PLOT_FILES['sky_map']})",
        "",
    ]
    return "\n".join(md)


def write_outputs(ev: Evaluation, out_dir: Path) -> Path:
    """Write summary.json, report.md and the PNGs into out_dir; returns out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = write_plots(ev, out_dir)
    ev.summary["plots"] = files
    (out_dir / "summary.json").write_text(json.dumps(ev.summary, indent=2, default=_json_default))
    (out_dir / "report.md").write_text(render_markdown(ev.summary, ev.frames["missed"], files))
    return out_dir


def _json_default(x):  # numpy scalars in the summary
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return M._num(float(x))
    if isinstance(x, np.bool_):
        return bool(x)
    return str(x)


def headline(summary: dict) -> str:
    """What ``make evaluate`` prints: the headline keys, with and without the property priors, and the targets."""
    h, t, d, ep = summary["headline"], summary["targets"], summary["headline_detail"], summary["epoch_effect"]
    mark = lambda ok: "ok" if ok else "MISSED"  # noqa: E731
    lines = [
        f"run {summary['run_id']}: {summary['counts']['radio']} radio, {summary['counts']['injected_in_run']} "
        f"injected stars; posterior {d['posterior']}"
    ]
    lines += [f"  {k:<42} {_value(h[k], f)}" for k, _, f in _HEADLINE_ROWS]
    for name in ("physics", "position_only"):
        p = d[name]
        if p is not None:
            lines.append(
                f"  {name + ':':<15} p_any >= {p['cut']:.4g}: reliability {_pct(p['reliability']['value'])} "
                f"({_count(p['reliability'])}), completeness {_pct(p['completeness']['value'])} "
                f"({_count(p['completeness'])}), estimated {_pct(p['reliability_estimated'])}"
            )
    lines.append(
        f'  epoch effect (pm>1"/yr) with {ep["with_propagation"]["k"]}/{ep["n_stars"]}, '
        f"without {ep['without_propagation']['k']}/{ep['n_stars']}"
    )
    lines.append("  targets: " + ", ".join(f"{k} {mark(v['met'])}" for k, v in t.items()))
    return "\n".join(lines)


def _count(rate: dict) -> str:
    return f"{rate['k']}/{rate['n']}"
