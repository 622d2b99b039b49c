"""Pure metric functions of the science evaluation (numpy/pandas in, numbers/frames out).

Every function here is tested on hand-made truth tables with known answers
(tests/unit/test_evaluate_metrics.py). Conventions: a `Rate` is k successes out of n with a 68 %
Wilson interval; Poisson errors are √k / n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

ArrayLike = npt.ArrayLike

# Reliability classes on the best candidate's p_chance. Kept in this one function/table so they can
# be aligned with the warehouse's `reliability_class` (dbt vars class_*_p_chance) later.
CLASS_THRESHOLDS: tuple[tuple[str, float], ...] = (("A", 0.001), ("B", 0.01))
CLASS_OTHERWISE = "C"
CLASSES = tuple(c for c, _ in CLASS_THRESHOLDS) + (CLASS_OTHERWISE,)

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

def reliability_class(p_chance: ArrayLike) -> np.ndarray:
    """'A' p_chance < 0.001, 'B' < 0.01, else 'C' (NaN → 'C')."""
    p = np.asarray(p_chance, dtype=float)
    out = np.full(p.shape, CLASS_OTHERWISE, dtype=object)
    for name, limit in reversed(CLASS_THRESHOLDS):  # loosest first, tighter ones overwrite
        out[p < limit] = name
    return out


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
        rows.append({"bin_lo": float(e[b]), "bin_hi": float(e[b + 1]), "n": r.n, "k": r.k,
                     "value": r.value, "lo": lo, "hi": hi})
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

def far_calibration(metrics: dict, n_radio: int, n_false_pairs: int, n_false_best: int,
                    tolerance: float = 0.2) -> dict:
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
        return {"ratio": _num(ratio), "pull_sigma": _num(pull),
                "within_tolerance": bool(math.isfinite(ratio) and abs(ratio - 1) <= tolerance)}

    return {
        "n_radio": int(n_radio), "tolerance": tolerance,
        "analytic": {"value": _num(a), "err": _num(a_err)},
        "control": {"value": _num(c), "err": _num(c_err), "pairs": (metrics.get("control") or {}).get("pairs")},
        "truth_pairs": {"value": _num(t), "err": _num(t_err), "count": int(n_false_pairs)},
        "truth_best": {"value": _num(tb), "err": _num(tb_err), "count": int(n_false_best)},
        "p_chance_sum_per_source": _num(float(metrics.get("p_chance_sum", math.nan)) / n_radio if n_radio else math.nan),
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


def expected_chance_sep_sigma(sigma_arcsec: ArrayLike, radius_arcsec: ArrayLike, rho_arcsec2: ArrayLike,
                              edges: ArrayLike) -> np.ndarray:
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
    return np.searchsorted(q, np.asarray(p, float), side="right") / n_sources if n_sources else np.full(np.shape(p), np.nan)


# ---- selection by a score ----------------------------------------------------------------------------

def _selected(score: np.ndarray, threshold: float, keep: str) -> np.ndarray:
    if keep == "ge":
        return np.isfinite(score) & (score >= threshold)
    if keep == "le":
        return np.isfinite(score) & (score <= threshold)
    raise ValueError(f"keep: 'ge' or 'le', got {keep!r}")


def selection_curve(score: ArrayLike, is_true: ArrayLike, n_injected: int, thresholds: ArrayLike,
                    keep: str) -> pd.DataFrame:
    """Completeness (true selected / n_injected) and reliability (true / selected) of the best candidates
    kept by `score >= t` (keep='ge', e.g. p_any) or `score <= t` (keep='le', e.g. p_chance)."""
    s = np.asarray(score, float)
    f = np.asarray(is_true, bool)
    rows = []
    for t in np.asarray(thresholds, float):
        sel = _selected(s, t, keep)
        n_sel, n_true = int(sel.sum()), int((sel & f).sum())
        rows.append({"threshold": float(t), "n_selected": n_sel, "n_true": n_true,
                     "completeness": n_true / n_injected if n_injected else math.nan,
                     "reliability": n_true / n_sel if n_sel else math.nan})
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
            return {"threshold": float(t), "n_selected": n_sel, "n_true": n_true,
                    "completeness": n_true / n_injected if n_injected else math.nan,
                    "reliability": n_true / n_sel if n_sel else math.nan}
    return {"threshold": None, "n_selected": 0, "n_true": 0, "completeness": math.nan, "reliability": math.nan}


def calibration_curve(predicted: ArrayLike, observed: ArrayLike, edges: ArrayLike) -> pd.DataFrame:
    """Per bin of predicted probability: n, mean predicted, observed fraction true (+ Wilson interval)."""
    p = np.asarray(predicted, float)
    table = binned_rate(p, observed, edges)
    idx = np.clip(np.searchsorted(np.asarray(edges, float), p, side="right") - 1, 0, len(edges) - 2)
    means = [float(np.mean(p[np.isfinite(p) & (idx == b)])) if n else math.nan
             for b, n in enumerate(table["n"])]
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


def distance_pc(parallax_mas: ArrayLike, parallax_error_mas: ArrayLike,
                min_snr: float = DISTANCE_MIN_PARALLAX_SNR) -> np.ndarray:
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
