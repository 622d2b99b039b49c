"""The headline of the evaluation (issue #15): the run's **joint** posterior at the run's **reliability cut**, measured
on the truth at star level, with and without the property priors. Pure functions (frames in, numbers out).

Per radio source with ≥ 1 candidate (the sources the posterior scores):

* ``p_any`` — the joint posterior that the source has its counterpart among its candidates (the same on every row
  of the source; :data:`radiostars.crossmatch.posterior.SCORED_COLUMNS`);
* the **best** candidate — joint: the row ``star_rank == 1 & is_star_primary`` (the star with the highest joint p_i,
  its more precise entry); positions only: the primary row with the highest ``p_i_position_only`` (ties: smaller
  sep/σ);
* ``best_is_true`` — that row is the injected star at star level (its own entry or its same-star entry in the
  other catalogue, :func:`radiostars.evaluate.truth.label_same_star`);
* ``star_among_candidates`` — some row of the source is the injected star (what p_any predicts).

At a cut t the selection is {p_any ≥ t}. **Reliability** R = selected sources whose best candidate is true /
selected; **completeness** C = the same count / injected stars in the run (a star without a candidate is missed).
The run's estimate R̂ (metrics.json ``calibration.reliability_at_cut`` ± ``reliability_err``, from the shifted
control: docs/crossmatch.md §6.2) is compared with R by the pull (R̂ − R)/√(σ_R̂² + R(1 − R)/S) (binomial error of
the measurement over the S selected sources). R̂ counts a selected source whose best candidate is another star as
reliable (its counterpart is among its candidates); ``reliability_any_candidate`` measures exactly that quantity.

**p_any calibration** (a reliability diagram per source): in each 0.1 bin of p_any with ≥ :data:`MIN_BIN_SOURCES`
sources, k sources have their star among the candidates while Σp are expected; if p_any is calibrated k follows a
Poisson-binomial law of variance Σp(1 − p), so pull = (k − Σp)/√Σp(1 − p) (Wilson 68 % interval of k/n drawn).

**Fallbacks** (never an exception; each says why in ``notes``): a run without the joint columns (written before
the run posterior) uses the per-partition ``p_any``/``p_i`` and its rank-1 pair, and has no position-only figures;
a run whose calibration is missing or is a fallback (control too small: docs/crossmatch.md §6.2 "Fallbacks")
takes its recorded cut, or p_any ≥ ``target_reliability`` when it records none, and has no estimate to pull.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .metrics import Rate, _num, calibration_curve

#: The issue's `headline` keys, in order (summary.json; fractions in 0–1, numbers or null).
HEADLINE_KEYS = (
    "faint_density_deg2_plane",
    "star_fraction",
    "default_cut",
    "reliability_at_default_cut",
    "completeness_at_default_cut",
    "reliability_estimated_at_default_cut",
    "reliability_estimate_pull",
    "p_any_calibration_max_pull",
    "far_pull",
    "reliability_at_default_cut_position_only",
    "completeness_at_default_cut_position_only",
)
MIN_BIN_SOURCES = 20  # a calibration bin is judged when it holds at least this many sources
CALIBRATION_EDGES = np.linspace(0.0, 1.0, 11)
PLANE_ABS_B_DEG = 1.5  # the plane fields of the density headline: |b| < 1.5° (SMGPS)
JOINT_COLUMNS = ("p_any", "p_i", "star_rank", "is_star_primary")
POSITION_ONLY_COLUMNS = ("p_any_position_only", "p_i_position_only")
RC_THRESHOLDS = np.r_[np.linspace(0.0, 0.99, 100), 0.995, 0.999, 0.9999]  # the reliability–completeness curve


@dataclass(frozen=True)
class Posterior:
    """Which columns and which metrics.json calibration block form one posterior."""

    name: str
    p_any: str
    p_i: str
    calibration_key: str


PHYSICS = Posterior("physics", "p_any", "p_i", "calibration")
POSITION_ONLY = Posterior("position_only", "p_any_position_only", "p_i_position_only", "calibration_position_only")


def posterior_metrics(metrics: dict) -> dict:
    """The run posterior's metrics (docs/crossmatch.md §6.2 keys): metrics.json itself, or its ``posterior``
    block when the run nests them there; ``params`` kept from the top level."""
    nested = metrics.get("posterior") if isinstance(metrics, dict) else None
    if isinstance(nested, dict) and ("calibration" in nested or "prior_fit" in nested):
        return {"params": metrics.get("params"), **nested}
    return metrics


def has_joint_posterior(pairs: pd.DataFrame) -> bool:
    """The run's pairs carry the joint posterior's columns (a run written with ``posterior.score_run``)."""
    return all(c in pairs.columns for c in JOINT_COLUMNS)


def has_position_only(pairs: pd.DataFrame) -> bool:
    return all(c in pairs.columns for c in POSITION_ONLY_COLUMNS)


def best_rows(pairs: pd.DataFrame, post: Posterior) -> pd.DataFrame:
    """One row per radio source: its best candidate under ``post`` (module docstring). A run without the joint
    columns: the pair of ``rank == 1`` (the per-partition ranking)."""
    if not has_joint_posterior(pairs):
        return pairs[pairs["rank"] == 1].drop_duplicates("radio_source_name")
    primary = pairs[pairs["is_star_primary"].astype(bool)]
    if post is PHYSICS:
        return primary[primary["star_rank"] == 1].drop_duplicates("radio_source_name")
    if "sep_sigma" in primary.columns:
        tie = primary["sep_sigma"].to_numpy(float)
    elif {"sep_arcsec", "sigma_arcsec"} <= set(primary.columns):
        tie = primary["sep_arcsec"].to_numpy(float) / primary["sigma_arcsec"].to_numpy(float)
    else:
        tie = np.zeros(len(primary))
    order = primary.assign(_p=-primary[post.p_i].to_numpy(float), _s=tie).sort_values(
        ["radio_source_name", "_p", "_s"], kind="stable"
    )
    return order.drop_duplicates("radio_source_name").drop(columns=["_p", "_s"])


def source_table(pairs: pd.DataFrame, post: Posterior) -> pd.DataFrame:
    """Per radio source with candidates: ``p_any``, ``best_is_true``, ``star_among_candidates``,
    ``is_injected_source``. ``pairs`` are labelled at star level (``is_true``, ``is_injected_source``)."""
    if len(pairs) == 0:
        return pd.DataFrame(
            {
                "radio_source_name": pd.Series(dtype=str),
                "p_any": pd.Series(dtype=float),
                "best_is_true": pd.Series(dtype=bool),
                "star_among_candidates": pd.Series(dtype=bool),
                "is_injected_source": pd.Series(dtype=bool),
            }
        )
    g = pairs.groupby("radio_source_name", sort=True)
    out = pd.DataFrame(
        {
            "p_any": g[post.p_any].max().astype(float),
            "star_among_candidates": g["is_true"].any().astype(bool),
            "is_injected_source": g["is_injected_source"].any().astype(bool),
        }
    )
    best = best_rows(pairs, post).set_index("radio_source_name")["is_true"]
    out["best_is_true"] = best.reindex(out.index).fillna(False).astype(bool)
    return out.reset_index()


def selection_at_cut(sources: pd.DataFrame, cut: float, n_injected: int) -> dict[str, Rate]:
    """Reliability, completeness and the reliability R̂ estimates (counterpart among the candidates) of
    {p_any ≥ cut} over :func:`source_table`'s sources."""
    sel = np.isfinite(sources["p_any"].to_numpy(float)) & (sources["p_any"].to_numpy(float) >= cut)
    hit = int((sel & sources["best_is_true"].to_numpy(bool)).sum())
    any_hit = int((sel & sources["star_among_candidates"].to_numpy(bool)).sum())
    n_sel = int(sel.sum())
    if hit > n_injected:
        raise ValueError(f"{hit} true selections but {n_injected} injected stars")
    return {
        "reliability": Rate(hit, n_sel),
        "completeness": Rate(hit, int(n_injected)),
        "reliability_any_candidate": Rate(any_hit, n_sel),
    }


def miss_breakdown(sources: pd.DataFrame, cut: float, n_injected: int) -> dict[str, int]:
    """Why stars are missed and selections false at a cut: injected stars whose star is not a candidate at all,
    a candidate of a source below the cut, selected but beaten by another star; false selections of star-less
    sources (``background``) and of star sources whose best candidate is another star (``wrong_star``)."""
    p = sources["p_any"].to_numpy(float)
    sel = np.isfinite(p) & (p >= cut)
    among = sources["star_among_candidates"].to_numpy(bool)
    best = sources["best_is_true"].to_numpy(bool)
    inj = sources["is_injected_source"].to_numpy(bool)
    return {
        "n_injected": int(n_injected),
        "star_not_a_candidate": int(n_injected - among.sum()),
        "below_cut": int((among & ~sel).sum()),
        "selected_best_is_other_star": int((among & sel & ~best).sum()),
        "selected_true": int((sel & best).sum()),
        "false_background": int((sel & ~inj).sum()),
        "false_wrong_star": int((sel & inj & ~best).sum()),
    }


def reliability_pull(estimated: float | None, estimated_err: float | None, measured: Rate) -> float | None:
    """(R̂ − R)/√(σ_R̂² + R(1 − R)/S); None without an estimate, a selection, or any error."""
    if estimated is None or not measured.n or not math.isfinite(estimated):
        return None
    r = measured.value
    var = (estimated_err or 0.0) ** 2 + r * (1.0 - r) / measured.n
    return _num((estimated - r) / math.sqrt(var)) if var > 0 else (0.0 if estimated == r else None)


def calibration_pulls(
    p_any: npt.ArrayLike,
    observed: npt.ArrayLike,
    edges: npt.ArrayLike = CALIBRATION_EDGES,
    min_n: int = MIN_BIN_SOURCES,
) -> pd.DataFrame:
    """:func:`radiostars.evaluate.metrics.calibration_curve` of p_any per source plus ``expected`` = Σp,
    ``pull`` = (k − Σp)/√max(Σp(1 − p), 1) and ``judged`` (n ≥ min_n). A bin of p exactly 0 or 1 has no spread: its pull
    is 0 when k equals Σp, else ±inf stored as None (the bin is then reported, not hidden)."""
    p = np.asarray(p_any, float)
    table = calibration_curve(p, observed, edges)
    idx = np.clip(np.searchsorted(np.asarray(edges, float), p, side="right") - 1, 0, len(edges) - 2)
    ok = np.isfinite(p)
    expected, pulls = [], []
    for b, (_n, k) in enumerate(zip(table["n"], table["k"])):
        pb = p[ok & (idx == b)]
        e, var = float(pb.sum()), float((pb * (1 - pb)).sum())
        expected.append(e)
        # variance floored at one count: a bin expecting ≪ 1 hit (p_any ~ 1e-300) with k hits has pull ≈ k, not
        # 1e149 — it is as wrong, and readable (seen on the 50 deg² evaluation profile)
        pulls.append(
            (k - e) / math.sqrt(max(var, 1.0)) if var > 0 else (0.0 if abs(k - e) < 1e-9 else math.inf * np.sign(k - e))
        )
    table["expected"] = expected
    table["pull"] = pulls
    table["judged"] = table["n"] >= min_n
    return table


def max_abs_pull(table: pd.DataFrame) -> float | None:
    """The largest |pull| over the judged bins (None when no bin holds enough sources); an infinite pull → None
    and the bin shows in the table."""
    judged = table[table["judged"]]
    if judged.empty:
        return None
    return _num(float(np.max(np.abs(judged["pull"].to_numpy(float)))))


def faint_density_plane(truth_dir: Path) -> tuple[float | None, str]:
    """Median over the sample's plane fields at |b| < 1.5° of the model faint density [deg⁻²]
    (``fields_truth.parquet``, docs/data.md §4), else ``seed_manifest.json``'s plane median; (None, why) when
    neither exists (a sample seeded before the realistic sky)."""
    path = Path(truth_dir) / "fields_truth.parquet"
    if path.exists():
        f = pd.read_parquet(path)
        need = {"kind", "b_min_deg", "b_max_deg", "faint_density_per_deg2"}
        if need <= set(f.columns):
            centre_b = 0.5 * (f["b_min_deg"].astype(float) + f["b_max_deg"].astype(float))
            plane = f[
                (f["kind"] == "plane")
                & (centre_b.abs() < PLANE_ABS_B_DEG)
                & np.isfinite(f["faint_density_per_deg2"].astype(float))
            ]
            if len(plane):
                return (
                    float(plane["faint_density_per_deg2"].median()),
                    f"median of {len(plane)} plane fields at |b| < {PLANE_ABS_B_DEG}° ({path.name})",
                )
    manifest = Path(truth_dir) / "seed_manifest.json"
    if manifest.exists():
        m = json.loads(manifest.read_text())
        v = _find_key(m, "faint_density_per_deg2_plane_median")
        if v is not None:
            return float(v), f"{manifest.name} faint_density_per_deg2_plane_median"
    return None, f"no plane fields in {path} nor a density in {manifest} (a sample seeded before the realistic sky)"


def _find_key(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            found = _find_key(v, key)
            if found is not None:
                return found
    return None


def default_target_reliability() -> float:
    """``CrossmatchParams.target_reliability``'s default (for a run whose metrics record no parameters)."""
    from radiostars.crossmatch.params import CrossmatchParams

    return float(CrossmatchParams().target_reliability)


def run_cut(metrics: dict, post: Posterior) -> tuple[float, dict | None, list[str]]:
    """The run's cut for ``post`` (metrics.json ``calibration`` / ``calibration_position_only``), the block, and
    notes. Missing block → p_any ≥ ``params.target_reliability`` (the documented fallback cut); a legacy
    false-rate calibration (``method`` absent) → its cut, no reliability estimate."""
    notes: list[str] = []
    cal = metrics.get(post.calibration_key)
    target = float((metrics.get("params") or {}).get("target_reliability") or default_target_reliability())
    if not isinstance(cal, dict) or cal.get("p_any_cut") is None:
        notes.append(
            f"{post.name}: metrics.json has no {post.calibration_key}; cut = the documented fallback "
            f"p_any >= target_reliability {target:g}, no reliability estimate"
        )
        return target, None, notes
    if cal.get("method") != "target_reliability":
        notes.append(
            f"{post.name}: {post.calibration_key} is the older false-rate calibration (target "
            f"{cal.get('target_false_rate')}): its cut, no reliability estimate"
        )
    if cal.get("status") == "fallback":
        notes.append(f"{post.name}: the run's cut is a fallback ({cal.get('reason')})")
    elif cal.get("reached") is False:
        notes.append(
            f"{post.name}: no cut reaches the target reliability {cal.get('target_reliability')} "
            f"(best estimated {cal.get('best_reliability')} at p_any >= {cal.get('best_reliability_cut')}): "
            "the cut selects nothing"
        )
    return float(cal["p_any_cut"]), cal, notes


def posterior_at_cut(pairs: pd.DataFrame, metrics: dict, post: Posterior, n_injected: int) -> dict:
    """Everything the report says about one posterior at its cut (JSON-ready)."""
    cut, cal, notes = run_cut(metrics, post)
    sources = source_table(pairs, post)
    sel = selection_at_cut(sources, cut, n_injected)
    breakdown = miss_breakdown(sources, cut, n_injected)
    est = _num(cal.get("reliability_at_cut")) if cal and cal.get("method") == "target_reliability" else None
    est_err = _num(cal.get("reliability_err")) if est is not None else None
    if est is None and cal and cal.get("method") == "target_reliability":
        notes.append(f"{post.name}: the control estimates no reliability at the cut (nothing selected)")
    return {
        "cut": cut,
        "calibration_status": (cal or {}).get("status", "missing" if cal is None else "legacy"),
        "reliability": sel["reliability"].to_dict(),
        "completeness": sel["completeness"].to_dict(),
        "reliability_any_candidate": sel["reliability_any_candidate"].to_dict(),
        "reliability_estimated": est,
        "reliability_estimated_err": est_err,
        "completeness_proxy": _num(cal.get("completeness_proxy_at_cut"))
        if cal and cal.get("completeness_proxy_at_cut") is not None
        else None,
        "reliability_estimate_pull": reliability_pull(est, est_err, sel["reliability"]),
        "reliability_estimate_pull_any_candidate": reliability_pull(est, est_err, sel["reliability_any_candidate"]),
        "breakdown": breakdown,
        "notes": notes,
    }


def estimated_vs_measured(pairs: pd.DataFrame, metrics: dict, post: Posterior, n_injected: int) -> list[dict]:
    """At every cut of the run's reliability curve (metrics.json ``calibration.curve``): R̂ ± σ from the control
    and R measured on the truth (for the plot of the estimate against the measurement)."""
    cal = metrics.get(post.calibration_key)
    if not isinstance(cal, dict) or cal.get("method") != "target_reliability":
        return []
    sources = source_table(pairs, post)
    rows = []
    for c in cal.get("curve") or []:
        sel = selection_at_cut(sources, float(c["p_any_cut"]), n_injected)
        rows.append(
            {
                "p_any_cut": float(c["p_any_cut"]),
                "estimated": _num(c.get("reliability")),
                "estimated_err": _num(c.get("reliability_err")),
                "measured": sel["reliability"].to_dict(),
                "measured_any_candidate": sel["reliability_any_candidate"].to_dict(),
            }
        )
    return rows


def compute_headline(
    pairs: pd.DataFrame,
    metrics: dict,
    n_injected: int,
    n_radio: int,
    far_pull: float | None,
    faint_density: float | None,
) -> tuple[dict, dict]:
    """(headline with exactly :data:`HEADLINE_KEYS`, detail: both posteriors at their cuts, the calibration
    tables, notes). ``pairs``: the run's real pairs labelled at star level."""
    notes: list[str] = []
    joint = has_joint_posterior(pairs)
    if not joint:
        notes.append(
            "the run's pairs carry no joint posterior (star_rank, is_star_primary: written before the run "
            "posterior); the per-partition p_any/p_i and the rank-1 pair are used, no position-only figures"
        )
    phys = posterior_at_cut(pairs, metrics, PHYSICS, n_injected)
    pos = posterior_at_cut(pairs, metrics, POSITION_ONLY, n_injected) if joint and has_position_only(pairs) else None
    tables = {}
    for post in (PHYSICS, POSITION_ONLY) if pos is not None else (PHYSICS,):
        src = source_table(pairs, post)
        tables[post.name] = calibration_pulls(src["p_any"], src["star_among_candidates"])
    notes += phys["notes"] + (pos["notes"] if pos else [])
    headline = {
        "faint_density_deg2_plane": _num(faint_density) if faint_density is not None else None,
        "star_fraction": _num(n_injected / n_radio) if n_radio else None,
        "default_cut": _num(phys["cut"]),
        "reliability_at_default_cut": phys["reliability"]["value"],
        "completeness_at_default_cut": phys["completeness"]["value"],
        "reliability_estimated_at_default_cut": phys["reliability_estimated"],
        "reliability_estimate_pull": phys["reliability_estimate_pull"],
        "p_any_calibration_max_pull": max_abs_pull(tables[PHYSICS.name]),
        "far_pull": _num(far_pull) if far_pull is not None else None,
        "reliability_at_default_cut_position_only": pos["reliability"]["value"] if pos else None,
        "completeness_at_default_cut_position_only": pos["completeness"]["value"] if pos else None,
    }
    assert tuple(headline) == HEADLINE_KEYS
    detail = {
        "posterior": "joint" if joint else "per_partition",
        "physics": phys,
        "position_only": pos,
        "p_any_calibration": {k: json.loads(v.to_json(orient="records")) for k, v in tables.items()},
        "p_any_calibration_max_pull_position_only": max_abs_pull(tables[POSITION_ONLY.name])
        if POSITION_ONLY.name in tables
        else None,
        "min_bin_sources": MIN_BIN_SOURCES,
        "notes": notes,
    }
    return headline, detail
