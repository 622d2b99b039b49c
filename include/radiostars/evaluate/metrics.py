"""Pure metric functions of the science evaluation (numpy/pandas in, numbers/frames out).

Every function here is tested on hand-made truth tables with known answers
(tests/unit/test_evaluate_metrics.py). Conventions: a `Rate` is k successes out of n with a 68 %
Wilson interval; Poisson errors are √k / n.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from radiostars.config import PROJECT_ROOT

ArrayLike = npt.ArrayLike

# Reliability classes: the warehouse's rule (dbt_project/macros/reliability_class.sql) with the
# thresholds read from the dbt vars in dbt_project/dbt_project.yml — the one place they are set.
CLASSES = ("A", "B", "C")
DBT_PROJECT_FILE = PROJECT_ROOT / "dbt_project" / "dbt_project.yml"

PARSEC_CM = 3.0856775814913673e18
MJY_CGS = 1e-26  # 1 mJy in erg s⁻¹ cm⁻² Hz⁻¹
DISTANCE_MIN_PARALLAX_SNR = 5.0


@dataclass(frozen=True)
class Rate:
    """k of n, with a 68 % (z = 1) Wilson score interval."""

    k: int
    n: int

    @property
    def value(self) -> float:
        return self.k / self.n if self.n else math.nan

    def interval(self, z: float = 1.0) -> tuple[float, float]:
        if not self.n:
            return (math.nan, math.nan)
        p, n = self.k / self.n, self.n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        lo = 0.0 if self.k == 0 else max(0.0, centre - half)  # exact at the ends (no rounding residue)
        hi = 1.0 if self.k == self.n else min(1.0, centre + half)
        return (lo, hi)

    def to_dict(self) -> dict:
        lo, hi = self.interval()
        return {"k": int(self.k), "n": int(self.n), "value": _num(self.value), "lo": _num(lo), "hi": _num(hi)}


def _num(x: float) -> float | None:
    """JSON-safe float (NaN → None)."""
    return None if x is None or not math.isfinite(float(x)) else float(x)


def rate(flags: ArrayLike) -> Rate:
    """Fraction of True in a boolean array."""
    f = np.asarray(flags, dtype=bool)
    return Rate(int(f.sum()), int(f.size))


def poisson_rate(count: float, n: int) -> tuple[float, float]:
    """(count / n, √count / n); (nan, nan) for n = 0."""
    if n <= 0:
        return (math.nan, math.nan)
    return (count / n, math.sqrt(max(count, 0.0)) / n)


# ---- classes, bins ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassRule:
    """Thresholds of the reliability class (dbt vars of the same names) and of the known-object flag."""

    class_a_p_any: float
    class_a_p_i: float
    class_b_p_i: float
    p_any_cut_uncalibrated: float
    class_a_p_chance: float
    class_b_p_chance: float
    near_known_arcsec: float
    nonstellar_types: tuple[str, ...]

    @classmethod
    def from_dbt_vars(cls, dbt_vars: dict) -> ClassRule:
        try:
            return cls(
                **{
                    f: (tuple(dbt_vars[f]) if f == "nonstellar_types" else float(dbt_vars[f]))
                    for f in cls.__dataclass_fields__
                }
            )
        except KeyError as exc:
            raise ValueError(f"dbt var {exc.args[0]} is missing from {DBT_PROJECT_FILE}") from None

    def definitions(self) -> dict[str, str]:
        """One line per class, as docs/warehouse.md states the rule."""
        return {
            "A": f"with p_any, p_i: p_any >= max(run's p_any cut, {self.class_a_p_any:g}), p_i >= {self.class_a_p_i:g}, "
            f'no known non-stellar object within {self.near_known_arcsec:g}" (flag false, not unknown); '
            f"without: p_chance < {self.class_a_p_chance:g}, one candidate, same flag",
            "B": f"otherwise, with p_any, p_i: p_any >= run's p_any cut (uncalibrated run: "
            f"{self.p_any_cut_uncalibrated:g}), p_i >= {self.class_b_p_i:g}, not near a known non-stellar "
            f"object; without: p_chance < {self.class_b_p_chance:g}, not near one",
            "C": "everything else",
        }


@functools.lru_cache(maxsize=4)
def dbt_vars(path: Path = DBT_PROJECT_FILE) -> dict:
    """The ``vars`` of the dbt project (dbt_project.yml): the one place the warehouse's thresholds are set."""
    import yaml

    return yaml.safe_load(Path(path).read_text())["vars"]


@functools.lru_cache(maxsize=4)
def class_rule(path: Path = DBT_PROJECT_FILE) -> ClassRule:
    """The warehouse's class thresholds, read from the dbt project's vars."""
    return ClassRule.from_dbt_vars(dbt_vars(path))


def _nullable_bool(values, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(is True, is False) per element of a nullable boolean input (None/NaN/NA = unknown);
    ``values`` None = all unknown."""
    if values is None:
        return np.zeros(n, bool), np.zeros(n, bool)
    v = pd.array(pd.Series(values, dtype=object).where(lambda x: x.notna(), None), dtype="boolean")
    if len(v) != n:
        raise ValueError(f"near_known_nonstellar: {len(v)} values for {n} candidates")
    return v.fillna(False).to_numpy(bool), (~v).fillna(False).to_numpy(bool)


def _nullable_float(values, n: int, name: str) -> np.ndarray:
    """A float array of length n (None/NA → NaN); a scalar is repeated, None = all NaN."""
    if values is None or (np.ndim(values) == 0 and pd.isna(values)):
        return np.full(n, np.nan)
    if np.ndim(values) == 0:
        return np.full(n, float(values))
    a = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype("Float64")
    if len(a) != n:
        raise ValueError(f"{name}: {len(a)} values for {n} candidates")
    return a.to_numpy(dtype=float, na_value=np.nan)


def reliability_class(
    p_chance: ArrayLike,
    p_any: ArrayLike | None = None,
    p_i: ArrayLike | None = None,
    *,
    n_candidates: ArrayLike | None = None,
    near_known_nonstellar: ArrayLike | None = None,
    p_any_cut: ArrayLike | float | None = None,
    rule: ClassRule | None = None,
) -> np.ndarray:
    """The reliability class of best candidates — the rule of ``marts.radio_star_candidates``
    (dbt_project/macros/reliability_class.sql), thresholds from the dbt vars (:func:`class_rule`).

    With p_any and p_i (both finite):
      A  p_any ≥ max(cut, class_a_p_any) and p_i ≥ class_a_p_i and near_known_nonstellar is False
      B  p_any ≥ cut and p_i ≥ class_b_p_i and near_known_nonstellar is not True
    Without them:
      A  p_chance < class_a_p_chance and n_candidates == 1 and near_known_nonstellar is False
      B  p_chance < class_b_p_chance and near_known_nonstellar is not True
    C  otherwise (NaN p_chance included).

    ``p_any_cut``: the run's calibrated cut (metrics.json ``calibration.p_any_cut``), a scalar or one per
    row; None/NaN → ``p_any_cut_uncalibrated``. ``near_known_nonstellar``: True/False/None per row; None
    (the whole argument) = unknown for every row, as in the warehouse for a run without known objects —
    then no candidate is A. ``n_candidates`` None = unknown (no p_chance-path A).
    """
    rule = rule or class_rule()
    n = int(np.size(p_chance))
    pc = _nullable_float(p_chance, n, "p_chance")
    pa_ = _nullable_float(p_any, n, "p_any")
    pi_ = _nullable_float(p_i, n, "p_i")
    nc = _nullable_float(n_candidates, n, "n_candidates")
    cut = _nullable_float(p_any_cut, n, "p_any_cut")
    cut = np.where(np.isfinite(cut), cut, rule.p_any_cut_uncalibrated)
    near_true, near_false = _nullable_bool(near_known_nonstellar, n)
    bayes = np.isfinite(pa_) & np.isfinite(pi_)
    with np.errstate(invalid="ignore"):
        a_bayes = (pa_ >= np.maximum(cut, rule.class_a_p_any)) & (pi_ >= rule.class_a_p_i) & near_false
        b_bayes = (pa_ >= cut) & (pi_ >= rule.class_b_p_i) & ~near_true
        a_pc = (pc < rule.class_a_p_chance) & (nc == 1) & near_false
        b_pc = (pc < rule.class_b_p_chance) & ~near_true
    a = np.where(bayes, a_bayes, a_pc)
    b = np.where(bayes, b_bayes, b_pc)
    return np.where(a, "A", np.where(b, "B", "C")).astype(object)


def near_known_nonstellar(
    ra_deg: ArrayLike, dec_deg: ArrayLike, known: pd.DataFrame | None, rule: ClassRule | None = None
) -> np.ndarray | None:
    """The warehouse's ``near_known_nonstellar`` flag: a known object whose ``object_type`` is one of the
    non-stellar types lies within ``near_known_arcsec`` of the position. ``known`` None (no snapshot)
    → None (unknown), as the warehouse's NULL."""
    if known is None:
        return None
    from scipy.spatial import cKDTree

    rule = rule or class_rule()
    ns = known[known["object_type"].isin(rule.nonstellar_types)]
    ra = np.asarray(ra_deg, float)
    if ra.size == 0 or ns.empty:
        return np.zeros(ra.size, bool)

    def xyz(r, d):
        r, d = np.radians(np.asarray(r, float)), np.radians(np.asarray(d, float))
        return np.column_stack([np.cos(d) * np.cos(r), np.cos(d) * np.sin(r), np.sin(d)])

    chord = 2 * math.sin(math.radians(rule.near_known_arcsec / 3600.0) / 2)
    tree = cKDTree(xyz(ns["ra_deg"], ns["dec_deg"]))
    hits = tree.query_ball_point(xyz(ra, dec_deg), chord)
    return np.array([len(h) > 0 for h in hits], bool)


def binned_rate(x: ArrayLike, flags: ArrayLike, edges: ArrayLike) -> pd.DataFrame:
    """Per bin [lo, hi) of x (last bin closed): n, k, value, lo/hi interval. Values outside/NaN are dropped."""
    x = np.asarray(x, dtype=float)
    f = np.asarray(flags, dtype=bool)
    e = np.asarray(edges, dtype=float)
    if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0):
        raise ValueError("edges: need at least 2 strictly increasing values")
    idx = np.searchsorted(e, x, side="right") - 1
    idx[x == e[-1]] = e.size - 2
    ok = np.isfinite(x) & (idx >= 0) & (idx < e.size - 1)
    rows = []
    for b in range(e.size - 1):
        sel = ok & (idx == b)
        r = Rate(int(f[sel].sum()), int(sel.sum()))
        lo, hi = r.interval()
        rows.append(
            {"bin_lo": float(e[b]), "bin_hi": float(e[b + 1]), "n": r.n, "k": r.k, "value": r.value, "lo": lo, "hi": hi}
        )
    return pd.DataFrame(rows)


def rate_by_group(groups: ArrayLike, flags: ArrayLike, order: tuple[str, ...] | None = None) -> dict[str, Rate]:
    """Rate of `flags` within each group label (all labels of `order` appear, possibly with n = 0)."""
    g = pd.Series(np.asarray(groups, dtype=object))
    f = np.asarray(flags, dtype=bool)
    labels = list(order) if order is not None else sorted(set(g))
    return {str(lab): Rate(int(f[(g == lab).to_numpy()].sum()), int((g == lab).sum())) for lab in labels}


# ---- completeness / reliability ---------------------------------------------------------------------


def completeness(recovered: ArrayLike) -> Rate:
    """Fraction of injected stars whose best match is the right catalogue + id."""
    return rate(recovered)


def reliability(is_true: ArrayLike) -> Rate:
    """Fraction of reported best candidates that are the true star."""
    return rate(is_true)


# ---- FAR calibration ----------------------------------------------------------------------------------


def far_calibration(metrics: dict, n_radio: int, n_false_pairs: int, n_false_best: int, tolerance: float = 0.2) -> dict:
    """Analytic vs control vs truth false-match rates, all in chance pairs per radio source.

    analytic: metrics `far_analytic` (Σ π R² ρ / N), error √(far·N)/N (Poisson scatter of the expected count);
    control: metrics `far_control` ± `far_control_err`; truth: pairs that are not the injected star / N (Poisson).
    `truth_best`: radio sources whose *best* candidate is false / N.
    """
    a = float(metrics.get("far_analytic", math.nan))
    a_err = math.sqrt(max(a, 0.0) * n_radio) / n_radio if n_radio else math.nan
    c = float(metrics.get("far_control", math.nan))
    c_err = float(metrics.get("far_control_err", math.nan))
    t, t_err = poisson_rate(n_false_pairs, n_radio)
    tb, tb_err = poisson_rate(n_false_best, n_radio)

    def compare(x: float, ex: float, y: float, ey: float) -> dict:
        ratio = x / y if y else math.nan
        pull = (x - y) / math.sqrt(ex * ex + ey * ey) if (ex > 0 or ey > 0) else math.nan
        return {
            "ratio": _num(ratio),
            "pull_sigma": _num(pull),
            "within_tolerance": bool(math.isfinite(ratio) and abs(ratio - 1) <= tolerance),
        }

    return {
        "n_radio": int(n_radio),
        "tolerance": tolerance,
        "analytic": {"value": _num(a), "err": _num(a_err)},
        "control": {"value": _num(c), "err": _num(c_err), "pairs": (metrics.get("control") or {}).get("pairs")},
        "truth_pairs": {"value": _num(t), "err": _num(t_err), "count": int(n_false_pairs)},
        "truth_best": {"value": _num(tb), "err": _num(tb_err), "count": int(n_false_best)},
        "p_chance_sum_per_source": _num(
            float(metrics.get("p_chance_sum", math.nan)) / n_radio if n_radio else math.nan
        ),
        "analytic_vs_control": compare(a, a_err, c, c_err),
        "analytic_vs_truth": compare(a, a_err, t, t_err),
        "control_vs_truth": compare(c, c_err, t, t_err),
    }


# ---- chance expectation per radio source ------------------------------------------------------------


def source_density(radio_names: pd.Series, radio_pixels: ArrayLike, pairs: pd.DataFrame) -> np.ndarray:
    """ρ [arcsec⁻²] per radio source: its own value where it has candidates, else the median of its
    HEALPix pixel's sources with candidates, else the run's median (the run stores ρ only on pairs)."""
    own = pairs.groupby("radio_source_name")["local_density_per_arcsec2"].first()
    rho = pd.Series(radio_names.astype(str).to_numpy()).map(own).to_numpy(dtype=float)
    pix = np.asarray(radio_pixels, dtype=np.int64)
    per_pixel = pairs.groupby("healpix")["local_density_per_arcsec2"].median()
    fill = pd.Series(pix).map(per_pixel).to_numpy(dtype=float)
    rho = np.where(np.isfinite(rho), rho, fill)
    overall = float(np.nanmedian(pairs["local_density_per_arcsec2"])) if len(pairs) else 0.0
    return np.where(np.isfinite(rho), rho, overall)


def expected_chance_sep_sigma(
    sigma_arcsec: ArrayLike, radius_arcsec: ArrayLike, rho_arcsec2: ArrayLike, edges: ArrayLike
) -> np.ndarray:
    """Expected number of chance pairs per sep/σ bin, summed over radio sources: a uniform field of
    density ρ gives π ρ σ² (x₂² − x₁²) pairs in [x₁, x₂), cut at x = R/σ."""
    s = np.asarray(sigma_arcsec, float)[:, None]
    xmax = (np.asarray(radius_arcsec, float) / np.asarray(sigma_arcsec, float))[:, None]
    rho = np.asarray(rho_arcsec2, float)[:, None]
    e = np.asarray(edges, float)[None, :]
    cum = np.pi * rho * s * s * np.minimum(e, xmax) ** 2
    return np.nansum(np.diff(cum, axis=1), axis=0)


def expected_chance_cdf(p: ArrayLike, radius_arcsec: ArrayLike, rho_arcsec2: ArrayLike) -> np.ndarray:
    """Expected fraction of radio sources whose nearest unrelated candidate has p_chance ≤ p:
    mean over sources of min(p, 1 − exp(−π R² ρ)) (no candidate can lie beyond R)."""
    pmax = 1.0 - np.exp(-np.pi * np.asarray(radius_arcsec, float) ** 2 * np.asarray(rho_arcsec2, float))
    return np.minimum(np.asarray(p, float)[:, None], pmax[None, :]).mean(axis=1)


def observed_chance_cdf(p: ArrayLike, nearest_false_p: ArrayLike, n_sources: int) -> np.ndarray:
    """Observed fraction of the n_sources radio sources whose nearest false candidate has p_chance ≤ p
    (`nearest_false_p`: one value per source that has a false candidate)."""
    q = np.sort(np.asarray(nearest_false_p, float)[np.isfinite(np.asarray(nearest_false_p, float))])
    return (
        np.searchsorted(q, np.asarray(p, float), side="right") / n_sources
        if n_sources
        else np.full(np.shape(p), np.nan)
    )


# ---- selection by a score ----------------------------------------------------------------------------


def _selected(score: np.ndarray, threshold: float, keep: str) -> np.ndarray:
    if keep == "ge":
        return np.isfinite(score) & (score >= threshold)
    if keep == "le":
        return np.isfinite(score) & (score <= threshold)
    raise ValueError(f"keep: 'ge' or 'le', got {keep!r}")


def selection_curve(
    score: ArrayLike, is_true: ArrayLike, n_injected: int, thresholds: ArrayLike, keep: str
) -> pd.DataFrame:
    """Completeness (true selected / n_injected) and reliability (true / selected) of the best candidates
    kept by `score >= t` (keep='ge', e.g. p_any) or `score <= t` (keep='le', e.g. p_chance)."""
    s = np.asarray(score, float)
    f = np.asarray(is_true, bool)
    rows = []
    for t in np.asarray(thresholds, float):
        sel = _selected(s, t, keep)
        n_sel, n_true = int(sel.sum()), int((sel & f).sum())
        rows.append(
            {
                "threshold": float(t),
                "n_selected": n_sel,
                "n_true": n_true,
                "completeness": n_true / n_injected if n_injected else math.nan,
                "reliability": n_true / n_sel if n_sel else math.nan,
            }
        )
    return pd.DataFrame(rows)


def cut_at_completeness(score: ArrayLike, is_true: ArrayLike, n_injected: int, target: float, keep: str) -> dict:
    """The strictest cut on `score` whose completeness reaches `target`, with its reliability.
    Returns threshold None when no cut reaches it."""
    s = np.asarray(score, float)
    f = np.asarray(is_true, bool)
    ok = np.isfinite(s)
    values = np.unique(s[ok])
    if keep == "ge":
        values = values[::-1]  # strictest (highest) first
    elif keep != "le":
        raise ValueError(f"keep: 'ge' or 'le', got {keep!r}")
    need = math.ceil(target * n_injected - 1e-9)
    if need <= 0:  # nothing to reach: the cut that selects nothing
        return {"threshold": None, "n_selected": 0, "n_true": 0, "completeness": 0.0, "reliability": math.nan}
    for t in values:
        sel = _selected(s, t, keep)
        n_true = int((sel & f).sum())
        if n_true >= need:
            n_sel = int(sel.sum())
            return {
                "threshold": float(t),
                "n_selected": n_sel,
                "n_true": n_true,
                "completeness": n_true / n_injected if n_injected else math.nan,
                "reliability": n_true / n_sel if n_sel else math.nan,
            }
    return {"threshold": None, "n_selected": 0, "n_true": 0, "completeness": math.nan, "reliability": math.nan}


def compare_at_equal_completeness(
    p_any: ArrayLike,
    p_chance: ArrayLike,
    is_true: ArrayLike,
    n_injected: int,
    levels: ArrayLike,
    tolerance: float = 1e-12,
) -> pd.DataFrame:
    """Which selection of the best candidates is purer at equal completeness: for each completeness
    level, the strictest cut p_any ≥ t and the strictest cut p_chance ≤ t reaching it
    (:func:`cut_at_completeness`) with their reliabilities. ``purer`` is 'p_any', 'p_chance', 'equal'
    (within ``tolerance``) or None when either cut cannot reach the level."""
    rows = []
    for level in np.asarray(levels, float):
        a = cut_at_completeness(p_any, is_true, n_injected, level, "ge")
        c = cut_at_completeness(p_chance, is_true, n_injected, level, "le")
        ra, rc = a["reliability"], c["reliability"]
        if a["threshold"] is None or c["threshold"] is None or not (math.isfinite(ra) and math.isfinite(rc)):
            purer = None
        elif abs(ra - rc) <= tolerance:
            purer = "equal"
        else:
            purer = "p_any" if ra > rc else "p_chance"
        rows.append(
            {
                "completeness_level": float(level),
                "p_any_threshold": a["threshold"],
                "p_any_completeness": a["completeness"],
                "p_any_n_selected": a["n_selected"],
                "p_any_reliability": ra,
                "p_chance_threshold": c["threshold"],
                "p_chance_completeness": c["completeness"],
                "p_chance_n_selected": c["n_selected"],
                "p_chance_reliability": rc,
                "reliability_gain": (ra - rc) if purer is not None else math.nan,
                "purer": purer,
            }
        )
    return pd.DataFrame(rows)


def false_selection_rate(score: ArrayLike, threshold: float, n_without_counterpart: int, keep: str = "ge") -> Rate:
    """Radio sources *without* a true counterpart that a cut selects, over all such sources — the truth's
    version of the false-selection rate the job calibrates its p_any cut on with the shifted control.
    ``score``: the best candidate's score of each such source that has one (a source without a candidate
    is never selected, but counts in ``n_without_counterpart``)."""
    s = np.asarray(score, float)
    k = int(_selected(s, threshold, keep).sum())
    if k > n_without_counterpart:
        raise ValueError(f"{k} selected among {n_without_counterpart} sources")
    return Rate(k, int(n_without_counterpart))


def calibration_curve(predicted: ArrayLike, observed: ArrayLike, edges: ArrayLike) -> pd.DataFrame:
    """Per bin of predicted probability: n, mean predicted, observed fraction true (+ Wilson interval)."""
    p = np.asarray(predicted, float)
    table = binned_rate(p, observed, edges)
    idx = np.clip(np.searchsorted(np.asarray(edges, float), p, side="right") - 1, 0, len(edges) - 2)
    means = [float(np.mean(p[np.isfinite(p) & (idx == b)])) if n else math.nan for b, n in enumerate(table["n"])]
    table.insert(3, "mean_predicted", means)
    return table


# ---- physics -------------------------------------------------------------------------------------------


def signal_to_noise(flux_mjy: ArrayLike, rms_mjy: ArrayLike) -> np.ndarray:
    """flux / rms (NaN where rms ≤ 0 or missing)."""
    f = np.asarray(flux_mjy, float)
    r = np.asarray(rms_mjy, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r > 0, f / r, np.nan)


def total_proper_motion(pmra_mas_yr: ArrayLike, pmdec_mas_yr: ArrayLike) -> np.ndarray:
    """√(μ_α*² + μ_δ²) [mas/yr], NaN where either is missing."""
    return np.hypot(np.asarray(pmra_mas_yr, float), np.asarray(pmdec_mas_yr, float))


def distance_pc(
    parallax_mas: ArrayLike, parallax_error_mas: ArrayLike, min_snr: float = DISTANCE_MIN_PARALLAX_SNR
) -> np.ndarray:
    """1000/ϖ [pc] where ϖ/σ_ϖ > min_snr, else NaN (no distance from a poor or missing parallax)."""
    plx = np.asarray(parallax_mas, float)
    err = np.asarray(parallax_error_mas, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        good = (plx > 0) & (err > 0) & (plx / err > min_snr)
        return np.where(good, 1000.0 / plx, np.nan)


def spectral_luminosity(flux_mjy: ArrayLike, dist_pc: ArrayLike) -> np.ndarray:
    """L_ν = 4π d² S_ν [erg s⁻¹ Hz⁻¹], S in mJy, d in pc."""
    d_cm = np.asarray(dist_pc, float) * PARSEC_CM
    return 4.0 * np.pi * d_cm * d_cm * np.asarray(flux_mjy, float) * MJY_CGS


def galactic_lb(ra_deg: ArrayLike, dec_deg: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """ICRS → Galactic (l in [0, 360), b) in degrees (astropy)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    ra = np.asarray(ra_deg, float)
    if ra.size == 0:
        return np.zeros(0), np.zeros(0)
    g = SkyCoord(ra=ra * u.deg, dec=np.asarray(dec_deg, float) * u.deg, frame="icrs").galactic
    return g.l.wrap_at(360 * u.deg).deg, g.b.deg
