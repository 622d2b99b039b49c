"""The evaluation's figures (matplotlib, Agg backend). Each function writes one PNG and returns its path."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .metrics import CLASSES  # noqa: E402

CLASS_COLOURS = {"A": "tab:green", "B": "tab:orange", "C": "tab:red"}
DPI = 110


def _yerr(y, lo, hi) -> np.ndarray:
    """Asymmetric error bars (2 × n, ≥ 0) from a value and its interval."""
    y, lo, hi = (np.asarray(v, dtype=float) for v in (y, lo, hi))
    return np.vstack([np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)])


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _aitoff_xy(l_deg: np.ndarray, b_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Galactic l, b → Aitoff axes coordinates with l = 0 in the centre, increasing to the left."""
    lw = np.where(np.asarray(l_deg) > 180, np.asarray(l_deg) - 360, np.asarray(l_deg))
    return -np.radians(lw), np.radians(b_deg)


def sky_map(
    path: Path,
    radio_lb: tuple[np.ndarray, np.ndarray],
    best_lb: tuple[np.ndarray, np.ndarray],
    best_class: np.ndarray,
    true_lb: tuple[np.ndarray, np.ndarray],
    radio_field: np.ndarray | None = None,
    best_field: np.ndarray | None = None,
    true_field: np.ndarray | None = None,
    max_fields: int = 5,
) -> Path:
    """Top: all radio sources (grey), best candidates by class, injected stars (rings), whole sky (Aitoff).
    Bottom: one l–b panel per radio `field` (the most populous `max_fields`), where the points are resolved."""
    fields: list[str] = []
    if radio_field is not None and len(radio_field):
        counts = pd.Series(radio_field).value_counts()
        fields = [str(f) for f in counts.index[:max_fields] if counts[f] >= 10]
    fig = plt.figure(figsize=(12, 8.5 if fields else 5.6))
    ax = fig.add_subplot(2 if fields else 1, 1, 1, projection="aitoff")

    def layer(axis, xy, sel_best, sel_true, transform) -> None:
        (rl, rb), (bl, bb), (tl, tb) = xy
        axis.scatter(
            *transform(rl, rb), s=0.3, c="0.6", alpha=0.5, lw=0, rasterized=True, label=f"radio sources ({rl.size})"
        )
        for cls in CLASSES:
            sel = sel_best & (best_class == cls)
            if sel.any():
                axis.scatter(
                    *transform(bl[sel], bb[sel]),
                    s=6,
                    c=CLASS_COLOURS[cls],
                    lw=0,
                    label=f"best candidate, class {cls} ({int(sel.sum())})",
                )
        if sel_true.any():
            axis.scatter(
                *transform(tl[sel_true], tb[sel_true]),
                s=30,
                facecolors="none",
                edgecolors="k",
                lw=0.6,
                label=f"injected stars ({int(sel_true.sum())})",
            )

    all_best = np.ones(best_lb[0].size, bool)
    all_true = np.ones(true_lb[0].size, bool)
    layer(ax, (radio_lb, best_lb, true_lb), all_best, all_true, _aitoff_xy)
    ticks = np.array([150, 120, 90, 60, 30, 0, -30, -60, -90, -120, -150])
    ax.set_xticks(np.radians(ticks))
    ax.set_xticklabels([f"{t % 360}°" for t in -ticks], fontsize=7)
    ax.grid(True, lw=0.3)
    ax.set_title("Radio sources and candidates (Galactic, Aitoff; l increases to the left)", fontsize=10, pad=18)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, markerscale=2)
    for k, name in enumerate(fields):
        sub = fig.add_subplot(2, len(fields), len(fields) + k + 1)
        rsel = np.asarray(radio_field).astype(str) == name
        bsel = np.asarray(best_field).astype(str) == name if best_field is not None else all_best
        tsel = np.asarray(true_field).astype(str) == name if true_field is not None else all_true
        wrap = lambda l_deg, b_deg: (np.where(l_deg > 180, l_deg - 360, l_deg), b_deg)  # noqa: E731
        layer(sub, ((radio_lb[0][rsel], radio_lb[1][rsel]), best_lb, true_lb), bsel, tsel, wrap)
        sub.invert_xaxis()
        sub.set_title(f"field {name}", fontsize=9)
        sub.set_xlabel("l [deg]", fontsize=8)
        if k == 0:
            sub.set_ylabel("b [deg]", fontsize=8)
        sub.tick_params(labelsize=7)
    return _save(fig, path)


def sep_sigma_histogram(
    path: Path, sep_sigma_true: np.ndarray, sep_sigma_false: np.ndarray, edges: np.ndarray, expected_chance: np.ndarray
) -> Path:
    """sep/σ of true and false pairs; the step line is the expected number of chance pairs per bin."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.hist(
        sep_sigma_false,
        bins=edges,
        histtype="stepfilled",
        alpha=0.45,
        color="tab:red",
        label=f"false pairs ({sep_sigma_false.size})",
    )
    ax.hist(
        sep_sigma_true,
        bins=edges,
        histtype="stepfilled",
        alpha=0.55,
        color="tab:blue",
        label=f"true pairs ({sep_sigma_true.size})",
    )
    ax.stairs(expected_chance, edges, color="k", lw=1.4, label="expected chance pairs (π ρ σ² Δ(x²), x ≤ R/σ)")
    centres = 0.5 * (edges[1:] + edges[:-1])
    width = np.diff(edges)
    n_true = sep_sigma_true.size
    ax.plot(
        centres,
        n_true * width * centres * np.exp(-(centres**2) / 2),
        "b--",
        lw=1,
        label="Rayleigh × N_true (ideal errors)",
    )
    ax.set_xlabel("separation / σ")
    ax.set_ylabel("pairs per bin")
    ax.set_yscale("symlog", linthresh=1)
    ax.legend(fontsize=8)
    ax.set_title("Separation in units of the combined error", fontsize=10)
    return _save(fig, path)


def p_chance_calibration(
    path: Path, p_grid: np.ndarray, observed: np.ndarray, expected: np.ndarray, by_bin: pd.DataFrame
) -> Path:
    """Left: fraction of radio sources whose nearest false candidate has p_chance ≤ p, observed vs expected.
    Right: reliability (fraction true) of best candidates per p_chance bin."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    a1.loglog(p_grid, expected, "k-", label="expected: mean min(p, 1 − e^(−πR²ρ))")
    a1.loglog(p_grid, np.where(observed > 0, observed, np.nan), "o", ms=3, color="tab:red", label="observed (truth)")
    a1.loglog(p_grid, p_grid, ":", color="0.5", lw=0.8, label="y = p")
    a1.set_xlabel("p_chance threshold p")
    a1.set_ylabel("fraction of sources with a false candidate ≤ p")
    a1.legend(fontsize=8)
    a1.set_title("p_chance calibration", fontsize=10)
    ok = by_bin["n"] > 0
    x = np.sqrt(np.maximum(by_bin["bin_lo"], 1e-7) * by_bin["bin_hi"])[ok].to_numpy(float)
    y = by_bin["value"][ok].to_numpy(float)
    a2.errorbar(x, y, yerr=_yerr(y, by_bin["lo"][ok], by_bin["hi"][ok]), fmt="o")
    for xi, yi, n in zip(x, y, by_bin["n"][ok].to_numpy()):
        a2.annotate(f"n={n}", (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=7)
    a2.set_xscale("log")
    a2.set_ylim(-0.05, 1.05)
    a2.axhline(0.99, color="0.5", ls=":", lw=0.8)
    a2.set_xlabel("p_chance of the best candidate (bin)")
    a2.set_ylabel("reliability (fraction true)")
    a2.set_title("Reliability per p_chance bin", fontsize=10)
    return _save(fig, path)


def luminosity_distance(
    path: Path, dist_pc: np.ndarray, l_nu: np.ndarray, classes: np.ndarray, is_true: np.ndarray
) -> Path:
    """L_ν vs distance for best candidates with a distance (ϖ/σ_ϖ > 5), by class; x = false matches."""
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for cls in CLASSES:
        sel = (classes == cls) & np.isfinite(dist_pc) & np.isfinite(l_nu) & (l_nu > 0)
        if sel.any():
            ax.scatter(
                dist_pc[sel & is_true],
                l_nu[sel & is_true],
                s=12,
                c=CLASS_COLOURS[cls],
                label=f"class {cls} true ({int((sel & is_true).sum())})",
            )
            if (sel & ~is_true).any():
                ax.scatter(
                    dist_pc[sel & ~is_true],
                    l_nu[sel & ~is_true],
                    s=18,
                    marker="x",
                    c=CLASS_COLOURS[cls],
                    label=f"class {cls} false ({int((sel & ~is_true).sum())})",
                )
    d = np.logspace(0, 4.5, 50)
    for s_mjy in (0.05, 1.0):
        ax.plot(d, 4 * np.pi * (d * 3.0857e18) ** 2 * s_mjy * 1e-26, ":", color="0.5", lw=0.8)
        ax.annotate(
            f"S = {s_mjy:g} mJy",
            (d[-1], 4 * np.pi * (d[-1] * 3.0857e18) ** 2 * s_mjy * 1e-26),
            fontsize=7,
            ha="right",
            va="bottom",
            color="0.4",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("distance [pc] (1/ϖ, ϖ/σ_ϖ > 5)")
    ax.set_ylabel("L_ν = 4π d² S_ν [erg s⁻¹ Hz⁻¹]")
    ax.legend(fontsize=7)
    ax.set_title("Radio spectral luminosity vs distance (best candidates)", fontsize=10)
    return _save(fig, path)


def _rate_panel(ax, table: pd.DataFrame, xlabel: str, log: bool = True) -> None:
    ok = table["n"] > 0
    lo, hi = table["bin_lo"][ok].to_numpy(float), table["bin_hi"][ok].to_numpy(float)
    x = np.sqrt(np.maximum(lo, 1e-3) * hi) if log else 0.5 * (lo + hi)
    y = table["value"][ok].to_numpy(float)
    ax.errorbar(
        x,
        y,
        xerr=np.vstack([x - np.maximum(lo, 1e-3 if log else lo), hi - x]),
        yerr=_yerr(y, table["lo"][ok], table["hi"][ok]),
        fmt="o",
        capsize=2,
    )
    for xi, yi, n in zip(x, y, table["n"][ok].to_numpy()):
        ax.annotate(f"{n}", (xi, yi), textcoords="offset points", xytext=(3, -10), fontsize=7)
    if log:
        ax.set_xscale("log")
    ax.set_ylim(-0.05, 1.05)
    ax.axhline(0.99, color="0.5", ls=":", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("completeness")


def completeness_panels(path: Path, by_sn: pd.DataFrame, by_pm: pd.DataFrame) -> Path:
    """Completeness (best match = the injected star) vs S/N and vs proper motion; numbers = stars per bin."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    _rate_panel(a1, by_sn, "S/N = peak / rms")
    a1.set_title("Completeness vs S/N", fontsize=10)
    _rate_panel(a2, by_pm, "total proper motion [mas/yr] (stars with a known pm)")
    a2.set_title("Completeness vs proper motion", fontsize=10)
    return _save(fig, path)


def bayes_selection(
    path: Path,
    p_any_curve: pd.DataFrame,
    p_chance_curve: pd.DataFrame,
    calib_joint: pd.DataFrame,
    calib_conditional: pd.DataFrame,
) -> Path:
    """Left: reliability vs completeness for cuts on p_any and on p_chance. Right: p_i calibration."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.6))
    a1.plot(p_any_curve["completeness"], p_any_curve["reliability"], "-", label="cut p_any ≥ t")
    a1.plot(p_chance_curve["completeness"], p_chance_curve["reliability"], "--", label="cut p_chance ≤ t")
    for t in (0.5, 0.9):
        row = p_any_curve.iloc[(p_any_curve["threshold"] - t).abs().argmin()]
        a1.plot(row["completeness"], row["reliability"], "o", ms=4, color="tab:blue")
        a1.annotate(
            f"p_any ≥ {t:g}",
            (row["completeness"], row["reliability"]),
            fontsize=7,
            textcoords="offset points",
            xytext=(-50, -12),
        )
    for t in (0.001, 0.01):
        row = p_chance_curve.iloc[(np.log10(p_chance_curve["threshold"]) - np.log10(t)).abs().argmin()]
        a1.plot(row["completeness"], row["reliability"], "s", ms=4, color="tab:orange")
        a1.annotate(
            f"p_chance ≤ {t:g}",
            (row["completeness"], row["reliability"]),
            fontsize=7,
            textcoords="offset points",
            xytext=(4, 4),
        )
    a1.set_xlabel("completeness")
    a1.set_ylabel("reliability")
    a1.set_title("Selection: Bayesian p_any vs p_chance", fontsize=10)
    a1.legend(fontsize=8)
    for table, fmt, label in (
        (calib_joint, "o-", "p_any · p_i, all pairs"),
        (calib_conditional, "s--", "p_i, sources whose star is a candidate"),
    ):
        ok = table["n"] > 0
        y = table["value"][ok].to_numpy(float)
        a2.errorbar(
            table["mean_predicted"][ok].to_numpy(float),
            y,
            yerr=_yerr(y, table["lo"][ok], table["hi"][ok]),
            fmt=fmt,
            ms=4,
            label=label,
        )
    a2.plot([0, 1], [0, 1], ":", color="0.5")
    a2.set_xlabel("predicted probability that the pair is the counterpart")
    a2.set_ylabel("observed fraction true")
    a2.set_title("p_i calibration", fontsize=10)
    a2.legend(fontsize=8)
    return _save(fig, path)


def selection_cuts(
    path: Path,
    p_any_curve: pd.DataFrame,
    p_chance_curve: pd.DataFrame,
    p_any_cut: float | None,
    target_false_rate: float | None,
    equal: pd.DataFrame,
    class_marks: dict[str, float],
) -> Path:
    """Completeness and reliability of the best candidates as a function of the cut: p_any ≥ t (left,
    with the run's calibrated cut) and p_chance ≤ t (middle); right: the reliability of each selection
    at equal completeness (the strictest cut of each reaching it)."""
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4.4))
    for ax, curve, name in ((a1, p_any_curve, "p_any ≥ t"), (a2, p_chance_curve, "p_chance ≤ t")):
        ax.plot(curve["threshold"], curve["completeness"], "-", color="tab:blue", label="completeness")
        ax.plot(curve["threshold"], curve["reliability"], "--", color="tab:red", label="reliability")
        ax.set_ylim(-0.05, 1.05)
        ax.axhline(0.99, color="0.5", ls=":", lw=0.8)
        ax.set_xlabel(f"cut t ({name})")
        ax.set_title(f"Best candidates selected by {name}", fontsize=10)
    if p_any_cut is not None:
        label = f"calibrated cut {p_any_cut:.3g}" + (
            f" ({target_false_rate:.2%} control false rate)" if target_false_rate is not None else ""
        )
        a1.axvline(p_any_cut, color="k", lw=1, label=label)
    if "class_a_p_any" in class_marks:
        a1.axvline(
            class_marks["class_a_p_any"],
            color="tab:green",
            ls=":",
            lw=1,
            label=f"class A floor {class_marks['class_a_p_any']:g}",
        )
    for key, colour in (("class_a_p_chance", "tab:green"), ("class_b_p_chance", "tab:orange")):
        if key in class_marks:
            a2.axvline(
                class_marks[key],
                color=colour,
                ls=":",
                lw=1,
                label=f"class {key[6].upper()} (no p_any) {class_marks[key]:g}",
            )
    a2.set_xscale("log")
    a1.legend(fontsize=7, loc="lower left")
    a2.legend(fontsize=7, loc="lower left")
    ok = equal["purer"].notna()
    if ok.any():
        x = equal.loc[ok, "completeness_level"].to_numpy(float)
        a3.plot(x, equal.loc[ok, "p_any_reliability"].to_numpy(float), "o-", label="cut on p_any")
        a3.plot(x, equal.loc[ok, "p_chance_reliability"].to_numpy(float), "s--", label="cut on p_chance")
        a3.legend(fontsize=8)
    else:
        a3.text(
            0.5,
            0.5,
            "no completeness level reachable by both cuts\n(p_any missing?)",
            ha="center",
            va="center",
            transform=a3.transAxes,
            fontsize=9,
        )
    a3.set_ylim(-0.05, 1.05)
    a3.set_xlabel("completeness reached")
    a3.set_ylabel("reliability")
    a3.set_title("Which selection is purer at equal completeness", fontsize=10)
    return _save(fig, path)


def p_i_calibration(path: Path, calib_joint: pd.DataFrame, calib_conditional: pd.DataFrame) -> Path:
    """Reliability diagram of the Bayesian posteriors: per bin of predicted probability, the observed
    fraction of true pairs (68 % Wilson bars) — p_any·p_i on all pairs and p_i on the sources whose star
    is among the candidates — and below, the pairs per bin."""
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(6.5, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for table, fmt, label, colour in (
        (calib_joint, "o-", "p_any · p_i (all pairs)", "tab:blue"),
        (calib_conditional, "s--", "p_i (sources whose star is a candidate)", "tab:orange"),
    ):
        ok = table["n"] > 0
        if ok.any():
            y = table["value"][ok].to_numpy(float)
            a1.errorbar(
                table["mean_predicted"][ok].to_numpy(float),
                y,
                yerr=_yerr(y, table["lo"][ok], table["hi"][ok]),
                fmt=fmt,
                ms=4,
                color=colour,
                label=label,
            )
        centres = 0.5 * (table["bin_lo"] + table["bin_hi"]).to_numpy(float)
        width = (table["bin_hi"] - table["bin_lo"]).to_numpy(float)
        a2.bar(
            centres,
            table["n"].to_numpy(float),
            width=width * 0.45,
            align="edge" if colour == "tab:blue" else "center",
            color=colour,
            alpha=0.7,
        )
    a1.plot([0, 1], [0, 1], ":", color="0.5", label="calibrated")
    a1.set_xlim(-0.02, 1.02)
    a1.set_ylim(-0.05, 1.05)
    a1.set_ylabel("observed fraction true")
    a1.set_title("Calibration of p_i (predicted vs observed, binned)", fontsize=10)
    a1.legend(fontsize=8, loc="upper left")
    a2.set_yscale("symlog", linthresh=1)
    a2.set_xlabel("predicted probability that the pair is the counterpart (bin)")
    a2.set_ylabel("pairs")
    return _save(fig, path)


def p_any_reliability_diagram(path: Path, tables: dict[str, pd.DataFrame], min_n: int) -> Path:
    """Per-source reliability diagram of p_any: per 0.1 bin the fraction of radio sources whose star is among
    their candidates (68 % Wilson bars) against the mean p_any, with and without the property priors; below, the
    pull (k − Σp)/√Σp(1 − p) of each bin with ≥ min_n sources (±3 dotted) and the sources per bin."""
    fig, (a1, a2, a3) = plt.subplots(3, 1, figsize=(6.5, 8.5), sharex=True, gridspec_kw={"height_ratios": [3, 1.2, 1]})
    styles = {
        "physics": ("o-", "tab:blue", "with property priors"),
        "position_only": ("s--", "tab:orange", "positions only"),
    }
    for name, table in tables.items():
        fmt, colour, label = styles.get(name, ("^-", "tab:green", name))
        ok = (table["n"] > 0).to_numpy()
        x = table["mean_predicted"].to_numpy(float)
        if ok.any():
            y = table["value"].to_numpy(float)
            a1.errorbar(
                x[ok],
                y[ok],
                yerr=_yerr(y[ok], table["lo"].to_numpy(float)[ok], table["hi"].to_numpy(float)[ok]),
                fmt=fmt,
                ms=4,
                color=colour,
                label=label,
            )
        judged = table["judged"].to_numpy(bool) & np.isfinite(table["pull"].to_numpy(float))
        a2.plot(x[judged], table["pull"].to_numpy(float)[judged], fmt, ms=4, color=colour)
        centres = 0.5 * (table["bin_lo"] + table["bin_hi"]).to_numpy(float)
        a3.bar(
            centres,
            table["n"].to_numpy(float),
            width=0.045,
            align="edge" if name == "physics" else "center",
            color=colour,
            alpha=0.7,
        )
    a1.plot([0, 1], [0, 1], ":", color="0.5", label="calibrated")
    a1.set_ylim(-0.05, 1.05)
    a1.set_ylabel("observed: star among the candidates")
    a1.set_title("p_any per radio source: predicted vs observed", fontsize=10)
    a1.legend(fontsize=8, loc="upper left")
    for y in (-3, 3):
        a2.axhline(y, ls=":", color="0.4")
    a2.axhline(0, color="0.7", lw=0.8)
    a2.set_ylabel(f"pull (n ≥ {min_n})")
    a3.set_yscale("symlog", linthresh=1)
    a3.set_xlim(-0.02, 1.02)
    a3.set_xlabel("p_any (bin)")
    a3.set_ylabel("sources")
    return _save(fig, path)


def reliability_completeness(
    path: Path,
    curves: dict[str, pd.DataFrame],
    cuts: dict[str, dict],
    target_reliability: float,
    target_completeness: float,
) -> Path:
    """Reliability vs completeness of the selection p_any ≥ t (best candidate per source, truth at star level),
    with and without the property priors; each run cut marked with its measured point (68 % bars)."""
    fig, ax = plt.subplots(figsize=(6.5, 5))
    styles = {
        "physics": ("-", "tab:blue", "with property priors"),
        "position_only": ("--", "tab:orange", "positions only"),
    }
    for name, curve in curves.items():
        ls, colour, label = styles.get(name, ("-.", "tab:green", name))
        ok = curve["n_selected"] > 0
        ax.plot(curve["completeness"][ok], curve["reliability"][ok], ls, color=colour, label=label)
        at = cuts.get(name)
        if at and at["reliability"]["n"]:
            r, c = at["reliability"], at["completeness"]
            ax.errorbar(
                [c["value"]],
                [r["value"]],
                xerr=_yerr([c["value"]], [c["lo"]], [c["hi"]]),
                yerr=_yerr([r["value"]], [r["lo"]], [r["hi"]]),
                fmt="o",
                color=colour,
                ms=7,
                label=f"{label}: run cut p_any ≥ {at['cut']:.3g}",
            )
            if at.get("reliability_estimated") is not None:
                ax.errorbar(
                    [c["value"]],
                    [at["reliability_estimated"]],
                    yerr=[at["reliability_estimated_err"] or 0],
                    fmt="x",
                    color=colour,
                    ms=8,
                    label=f"{label}: estimated from the control",
                )
    ax.axhline(target_reliability, ls=":", color="0.4")
    ax.axvline(target_completeness, ls=":", color="0.4")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("completeness (injected stars selected with their star ranked first)")
    ax.set_ylabel("reliability (selected sources whose best candidate is the star)")
    ax.set_title("Reliability–completeness of p_any ≥ t; dotted: the targets", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    return _save(fig, path)


def estimated_vs_measured(path: Path, rows: dict[str, list[dict]], cuts: dict[str, float]) -> Path:
    """The control's reliability estimate R̂ ± σ against the reliability measured on the truth (68 % Wilson), at
    every cut of the run's reliability curve; the run's cuts dotted."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    styles = {"physics": ("tab:blue", "with property priors"), "position_only": ("tab:orange", "positions only")}
    for name, rr in rows.items():
        colour, label = styles.get(name, ("tab:green", name))
        rr = [r for r in rr if r["measured"]["n"]]
        if not rr:
            continue
        x = np.array([r["p_any_cut"] for r in rr])
        m = np.array([r["measured"]["value"] for r in rr], float)
        ax.errorbar(
            x,
            m,
            yerr=_yerr(m, [r["measured"]["lo"] for r in rr], [r["measured"]["hi"] for r in rr]),
            fmt="o",
            ms=4,
            color=colour,
            label=f"{label}: measured (truth)",
        )
        est = np.array([np.nan if r["estimated"] is None else r["estimated"] for r in rr], float)
        err = np.array([np.nan if r["estimated_err"] is None else r["estimated_err"] for r in rr], float)
        ax.errorbar(
            x + 0.004,
            est,
            yerr=np.nan_to_num(err),
            fmt="x--",
            ms=5,
            color=colour,
            alpha=0.8,
            label=f"{label}: estimated (control)",
        )
        if cuts.get(name) is not None:
            ax.axvline(cuts[name], ls=":", color=colour)
    ax.set_xlabel("p_any cut")
    ax.set_ylabel("reliability")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("Reliability estimated from the control vs measured on the truth", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def property_histograms(path: Path, priors: dict[str, dict[str, dict]]) -> Path:
    """The learned property priors (metrics.json ``prior_fit.joint.property_priors``): per class × feature the
    counterpart and field distributions per bin (the missing-value slot as the last bar, 'n/a')."""
    cells = [(k, f, h) for k, feats in sorted(priors.items()) for f, h in feats.items()]
    n = max(1, len(cells))
    ncol = min(3, n)
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), squeeze=False)
    for ax in axes.ravel()[len(cells) :]:
        ax.axis("off")
    if not cells:
        axes[0, 0].text(0.5, 0.5, "no property priors in metrics.json", ha="center", va="center")
    for ax, (cls, feat, h) in zip(axes.ravel(), cells):
        edges = np.asarray(h["edges"], float)
        nb = edges.size - 1
        cp = np.asarray(h["counterpart_fraction"], float)
        fd = np.asarray(h["field_fraction"], float)
        x = np.arange(cp.size)
        ax.step(x, fd, where="mid", color="0.4", label=f"field (control, n={h['n_field']})")
        ax.step(x, cp, where="mid", color="tab:red", label=f"counterparts (n≈{h['n_counterpart']:.0f})")
        ticks = list(range(0, nb, max(1, nb // 5)))
        ax.set_xticks(ticks + ([cp.size - 1] if h.get("has_missing_bin") else []))
        ax.set_xticklabels(
            [f"{edges[i]:.3g}" for i in ticks] + (["n/a"] if h.get("has_missing_bin") else []), fontsize=7
        )
        ax.set_yscale("log")
        ax.set_title(f"{cls}: {feat} [{h.get('unit') or ''}] ({h.get('status')})", fontsize=9)
        ax.legend(fontsize=6)
    return _save(fig, path)
