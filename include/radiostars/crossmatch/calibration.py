"""Calibration of the p_any cut on the shifted-position control.

Two rules, one control. The run's selection rule is the cut for a **target reliability**
(:func:`choose_reliability_cut`, at the end of this module; docs/crossmatch.md §6.2). The older rule below —
the cut for a target *false-selection rate* (:func:`calibrate_p_any_cut`) — controls the fraction of star-less
sources selected, not the reliability of what is selected (with ~1 % of radio sources being stars those differ
by an order of magnitude); it is kept while the engine and the evaluation still record it, and its F(t) is the
``false_rate`` column of the reliability curve.

Every match of a shifted radio source is a chance match (``control.py``), so the fraction of
shifted sources that a rule "p_any ≥ t" selects is the false-selection rate of that rule per radio
source: with N shifted sources in all (matched or not) and p_1 … p_m the p_any of the m of them
that have ≥ 1 candidate (p_any is per radio source, the same on all its pairs),

    F(t) = k(t) / N,        k(t) = #{j : p_j ≥ t},        σ_F(t) = sqrt(k(t)) / N  (Poisson).

Sources without candidates have no posterior and are never selected, but they count in N: the
rate is per radio source, like the science run's selection. F is a non-increasing step function.

The calibrated cut for a target rate α is the smallest t ∈ [0, 1] with F(t) ≤ α. With
k* = max{k : k/N ≤ α} (the most selections the target allows) and v_1 ≥ v_2 ≥ … ≥ v_m the sorted
values:

* m ≤ k* — every candidate-bearing control source may be selected: t = 0 (no cut needed; this
  includes an empty control, whose false rate is 0 at any cut);
* otherwise F(t) ≤ α ⇔ k(t) ≤ k* ⇔ t > v_{k*+1}: the set of admissible cuts is the open interval
  (v_{k*+1}, ∞), so the smallest admissible float is t = nextafter(v_{k*+1}, +∞). Ties at
  v_{k*+1} are all excluded, so k(t) may be < k* when several control sources share that value.
  If v_{k*+1} = 1.0, t exceeds 1 and the rule selects nothing (p_any = 1.0 in float64 needs
  Σ B·P > 10¹⁶, never seen for arcsecond errors).

The cut is exact (it comes from the sorted values, not from the grid). The curve F(t) on a fixed
grid of cuts plus the chosen one is recorded next to it (metrics.json ``calibration``). The
statistical error of the calibration itself is that of k*: σ_F ≈ sqrt(α/N).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

#: p_any cuts at which the false-selection curve is recorded (the calibrated cut is added to these).
DEFAULT_CUT_GRID: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(20)) + (0.99, 0.999)


def _check_n(n_control_sources: int) -> int:
    if isinstance(n_control_sources, bool) or not isinstance(n_control_sources, (int, np.integer)):
        raise ValueError(f"n_control_sources: must be an int, got {n_control_sources!r}")
    if n_control_sources < 1:
        raise ValueError(
            f"n_control_sources: must be >= 1 (shifted radio sources, matched or not), got {n_control_sources}"
        )
    return int(n_control_sources)


def _check_rate(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not math.isfinite(value):
        raise ValueError(f"{name}: must be a finite number, got {value!r}")
    if not (0.0 < value < 1.0):
        raise ValueError(f"{name}: must satisfy 0 < x < 1, got {value!r}")
    return float(value)


def _sorted_control(control_p_any: npt.ArrayLike, n_control_sources: int) -> tuple[FloatArray, int]:
    """Validated, ascending-sorted copy of the control p_any values and N."""
    n = _check_n(n_control_sources)
    return _p_any_per_source("control_p_any", control_p_any, n, "n_control_sources"), n


def _n_selected(sorted_p: FloatArray, cut: float) -> int:
    """k(t) = #{p ≥ t} on ascending-sorted values."""
    return int(sorted_p.size - np.searchsorted(sorted_p, cut, side="left"))


def max_selected(n_control_sources: int, target_false_rate: float) -> int:
    """k* = max{k ≥ 0 : k/N ≤ α}, evaluated with the same float division as the rate itself."""
    n = _check_n(n_control_sources)
    a = _check_rate("target_false_rate", target_false_rate)
    k = min(n, int(math.floor(a * n)))
    while k + 1 <= n and (k + 1) / n <= a:
        k += 1
    while k > 0 and k / n > a:
        k -= 1
    return k


def false_selection_rate(control_p_any: npt.ArrayLike, n_control_sources: int, cut: float) -> tuple[float, float]:
    """(F, σ_F) = (k/N, sqrt(k)/N) with k = #{control p_any ≥ cut}.

    ``control_p_any``: one value per shifted radio source with ≥ 1 candidate; ``n_control_sources``:
    all shifted sources. σ_F is the Poisson error of k (0 when k = 0; the 1σ upper limit is then
    ≈ 1.84/N, Gehrels 1986).
    """
    p, n = _sorted_control(control_p_any, n_control_sources)
    if isinstance(cut, bool) or not isinstance(cut, (int, float, np.floating)) or math.isnan(cut):
        raise ValueError(f"cut: must be a number, got {cut!r}")
    k = _n_selected(p, float(cut))
    return k / n, math.sqrt(k) / n


@dataclass(frozen=True)
class PAnyCalibration:
    """The p_any cut calibrated on the shifted control, with the false-selection curve.

    ``curve`` holds one dict per cut (ascending): ``p_any_cut``, ``false_rate`` (= n_selected/N) and
    ``n_selected``, on :data:`DEFAULT_CUT_GRID` plus the calibrated cut.
    """

    target_false_rate: float
    p_any_cut: float
    false_rate_at_cut: float
    n_selected_at_cut: int
    n_control_sources: int
    curve: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (plain floats/ints, ``curve`` as a list) for metrics.json ``calibration``."""
        return {
            "target_false_rate": float(self.target_false_rate),
            "p_any_cut": float(self.p_any_cut),
            "false_rate_at_cut": float(self.false_rate_at_cut),
            "n_selected_at_cut": int(self.n_selected_at_cut),
            "n_control_sources": int(self.n_control_sources),
            "curve": [
                {
                    "p_any_cut": float(c["p_any_cut"]),
                    "false_rate": float(c["false_rate"]),
                    "n_selected": int(c["n_selected"]),
                }
                for c in self.curve
            ],
        }


def false_selection_curve(
    control_p_any: npt.ArrayLike, n_control_sources: int, cuts: npt.ArrayLike = DEFAULT_CUT_GRID
) -> list[dict[str, Any]]:
    """F(t) at each cut (sorted, duplicates dropped): [{"p_any_cut", "false_rate", "n_selected"}, …]."""
    p, n = _sorted_control(control_p_any, n_control_sources)
    t = np.unique(np.asarray(cuts, dtype=np.float64))
    if t.size and np.isnan(t).any():
        raise ValueError("cuts: must not contain NaN")
    k = p.size - np.searchsorted(p, t, side="left")
    return [{"p_any_cut": float(ti), "false_rate": int(ki) / n, "n_selected": int(ki)} for ti, ki in zip(t, k)]


def calibrate_p_any_cut(
    control_p_any: npt.ArrayLike, n_control_sources: int, target_false_rate: float
) -> PAnyCalibration:
    """Smallest cut t with F(t) = #{control p_any ≥ t}/N ≤ α (see the module docstring).

    ``control_p_any``: p_any of each shifted radio source that has ≥ 1 candidate (one value per
    source; :func:`control_p_any_per_source` makes it from control pairs); ``n_control_sources``:
    every shifted source, matched or not (≥ 1); ``target_false_rate``: α, 0 < α < 1.
    Raises ``ValueError`` for NaN or out-of-range p_any, N < 1 or fewer than len(control_p_any).
    """
    alpha = _check_rate("target_false_rate", target_false_rate)
    p, n = _sorted_control(control_p_any, n_control_sources)
    k_star = max_selected(n, alpha)
    if p.size <= k_star:
        cut = 0.0
    else:
        v = float(p[p.size - 1 - k_star])  # v_{k*+1}: the (k*+1)-th largest value
        cut = float(np.nextafter(v, np.inf))
    k = _n_selected(p, cut)  # <= k*, so k/N <= α, by construction
    curve = false_selection_curve(p, n, np.r_[np.asarray(DEFAULT_CUT_GRID), cut])
    return PAnyCalibration(
        target_false_rate=alpha,
        p_any_cut=cut,
        false_rate_at_cut=k / n,
        n_selected_at_cut=k,
        n_control_sources=n,
        curve=tuple(curve),
    )


def control_p_any_per_source(pairs: pd.DataFrame, id_column: str = "radio_id") -> FloatArray:
    """One p_any per control radio source from its pairs (max over the pairs; p_any is per source,
    so the max equals every pair's value). Order: first appearance of each source."""
    if not isinstance(pairs, pd.DataFrame) or not {id_column, "p_any"} <= set(pairs.columns):
        raise ValueError(f"pairs: expected a DataFrame with columns {id_column!r} and 'p_any'")
    if len(pairs) == 0:
        return np.zeros(0)
    return pairs.groupby(id_column, sort=False)["p_any"].max().to_numpy(np.float64)


# ------------------------------------------------------------------------------------------------------------
# The cut chosen for a target reliability (the run's selection rule; the false-rate cut above is the older rule)

GEHRELS_ONE_SIGMA_UPPER_0 = 1.841  # 1σ (84 %) upper limit of a Poisson count of 0 (Gehrels 1986, Table 1)


def _check_fraction(name: str, value: float, *, closed: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not math.isfinite(value):
        raise ValueError(f"{name}: must be a finite number, got {value!r}")
    ok = (0.0 <= value <= 1.0) if closed else (0.0 < value < 1.0)
    if not ok:
        raise ValueError(f"{name}: must satisfy {'0 <= x <= 1' if closed else '0 < x < 1'}, got {value!r}")
    return float(value)


def _check_n_real(n_real: int) -> int:
    if isinstance(n_real, bool) or not isinstance(n_real, (int, np.integer)) or n_real < 1:
        raise ValueError(f"n_real: must be an int >= 1 (real radio sources, matched or not), got {n_real!r}")
    return int(n_real)


def _p_any_per_source(name: str, values: npt.ArrayLike, n_sources: int, n_name: str) -> FloatArray:
    """Validated, ascending-sorted p_any values, one per radio source with candidates (at most ``n_sources``)."""
    p = np.asarray(values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"{name}: must be 1-D (one p_any per radio source with candidates), got shape {p.shape}")
    bad = ~np.isfinite(p) | (p < 0.0) | (p > 1.0)
    if np.any(bad):
        raise ValueError(f"{name}: {int(bad.sum())} value(s) are NaN/inf or outside [0, 1], e.g. {p[bad][0]!r}")
    if p.size > n_sources:
        raise ValueError(
            f"{name}: {p.size} values but {n_name} = {n_sources}; give one value per radio source "
            f"(the max over its pairs), and {n_name} counting every source, matched or not"
        )
    return np.sort(p)


def reliability_at_cuts(
    real_p_any: npt.ArrayLike,
    n_real: int,
    control_p_any: npt.ArrayLike,
    n_control: int,
    c_hat: float,
    cuts: npt.ArrayLike,
) -> dict[str, FloatArray]:
    """R̂, its error, Ĉ, S, E_false and the control's selections at each cut (see :func:`choose_reliability_cut`).

    Returns arrays keyed ``p_any_cut``, ``n_real_selected`` (S), ``n_control_selected`` (k),
    ``false_rate`` (F = k/N_c), ``e_false``, ``e_false_err``, ``reliability``, ``reliability_err``,
    ``completeness_proxy`` (NaN where S = 0, or ĉ = 0 for Ĉ)."""
    n_real = _check_n_real(n_real)
    n_c = _check_n(n_control)
    c = _check_fraction("c_hat", c_hat, closed=True)
    real = _p_any_per_source("real_p_any", real_p_any, n_real, "n_real")
    ctrl = _p_any_per_source("control_p_any", control_p_any, n_c, "n_control")
    t = np.asarray(cuts, dtype=np.float64)
    if np.isnan(t).any():
        raise ValueError("cuts: must not contain NaN")
    s = (real.size - np.searchsorted(real, t, side="left")).astype(np.float64)
    k = (ctrl.size - np.searchsorted(ctrl, t, side="left")).astype(np.float64)
    scale = n_real * (1.0 - c) / n_c  # expected false real selections per control selection
    e_false = k * scale
    e_false_err = np.where(k > 0, np.sqrt(k), GEHRELS_ONE_SIGMA_UPPER_0) * scale
    f = k / n_c
    var_realised = n_real * (1.0 - c) * f * (1.0 - f)  # binomial: false selections among the counterpart-less
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(s > 0, 1.0 - e_false / s, np.nan)
        rel_err = np.where(s > 0, np.sqrt(e_false_err**2 + var_realised) / s, np.nan)
        comp = np.where(c > 0, (s - e_false) / (c * n_real), np.nan)
    return {
        "p_any_cut": t,
        "n_real_selected": s,
        "n_control_selected": k,
        "false_rate": k / n_c,
        "e_false": e_false,
        "e_false_err": e_false_err,
        "reliability": rel,
        "reliability_err": rel_err,
        "completeness_proxy": comp,
    }


def _finite_or_none(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


@dataclass(frozen=True)
class ReliabilityCut:
    """The p_any cut chosen for a target reliability on the shifted control, with its curve.

    ``to_dict()`` is metrics.json ``calibration`` (its keys ``p_any_cut``, ``false_rate_at_cut``,
    ``n_selected_at_cut`` (control selections), ``n_control_sources`` and ``curve`` keep their meanings from the
    false-rate calibration; ``target_false_rate`` is null: the false rate is a result, not the target)."""

    status: str  # "estimated" | "fallback"
    reason: str | None
    target_reliability: float
    reached: bool
    p_any_cut: float
    reliability_at_cut: float | None
    reliability_err: float | None
    completeness_proxy_at_cut: float | None
    n_real_selected: int
    e_false: float | None
    e_false_err: float | None
    n_control_selected: int | None
    false_rate_at_cut: float | None
    n_real_sources: int
    n_control_sources: int
    c_hat: float
    best_reliability: float | None
    best_reliability_cut: float | None
    curve: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "target_reliability",
            "status": self.status,
            "reason": self.reason,
            "target_reliability": self.target_reliability,
            "reached": self.reached,
            "p_any_cut": float(self.p_any_cut),
            "reliability_at_cut": self.reliability_at_cut,
            "reliability_err": self.reliability_err,
            "completeness_proxy_at_cut": self.completeness_proxy_at_cut,
            "n_real_selected": int(self.n_real_selected),
            "e_false": self.e_false,
            "e_false_err": self.e_false_err,
            "n_selected_at_cut": self.n_control_selected,
            "false_rate_at_cut": self.false_rate_at_cut,
            "n_real_sources": int(self.n_real_sources),
            "n_control_sources": int(self.n_control_sources),
            "c_hat": float(self.c_hat),
            "best_reliability": self.best_reliability,
            "best_reliability_cut": self.best_reliability_cut,
            "target_false_rate": None,
            "curve": [dict(c) for c in self.curve],
        }


def _curve_rows(arrays: dict[str, FloatArray]) -> tuple[dict[str, Any], ...]:
    rows = []
    for i in range(arrays["p_any_cut"].size):
        rows.append(
            {
                "p_any_cut": float(arrays["p_any_cut"][i]),
                "n_real_selected": int(arrays["n_real_selected"][i]),
                "n_selected": int(arrays["n_control_selected"][i]),
                "false_rate": float(arrays["false_rate"][i]),
                "e_false": float(arrays["e_false"][i]),
                "reliability": _finite_or_none(arrays["reliability"][i]),
                "reliability_err": _finite_or_none(arrays["reliability_err"][i]),
                "completeness_proxy": _finite_or_none(arrays["completeness_proxy"][i]),
            }
        )
    return tuple(rows)


def choose_reliability_cut(
    real_p_any: npt.ArrayLike,
    n_real: int,
    control_p_any: npt.ArrayLike,
    n_control: int,
    c_hat: float,
    target_reliability: float,
    cuts: npt.ArrayLike = DEFAULT_CUT_GRID,
) -> ReliabilityCut:
    """The loosest p_any cut whose reliability, estimated from the data alone, reaches the target.

    Every shifted-control source is a radio source without a counterpart, so at a cut t the control's selected
    fraction F(t) = k(t)/N_c (k = #{control sources with p_any ≥ t}) estimates the fraction of the real sources
    *without* a counterpart — (1 − ĉ)·N_r of them — that the cut selects:

        E_false(t) = F(t)·N_r·(1 − ĉ),   S(t) = #{real sources with p_any ≥ t},
        R̂(t) = 1 − E_false(t)/S(t),      Ĉ(t) = (S(t) − E_false(t))/(ĉ·N_r)   (completeness proxy),
        σ_R̂² = [σ_E² + N_r(1 − ĉ)·F(1 − F)] / S²,   σ_E = √k·N_r(1 − ĉ)/N_c  (Poisson; k = 0 → Gehrels' 1.841),

    the binomial term being the scatter of the realised number of false selections among the N_r(1 − ĉ)
    counterpart-less real sources around its expectation (what a comparison with a truth table sees). R̂
    estimates the fraction of selected sources that *have* a counterpart among their candidates; a source whose
    best candidate is not its counterpart (another star in the beam won) is not counted false by it. R̂ < 0 is
    possible (the control predicts more false selections than there are selections) and is reported as is.

    Measured on synthetic crowded fields (tests/unit/test_crossmatch_posterior.py's sky, 12,000 sources, c = 1 %,
    60 seeds): at fixed cuts (truth − R̂)/σ has mean ≈ 0 and spread 1.1–1.2; at the chosen cut the mean is −0.27:
    a looser cut is chosen where the real sample happens to hold more false selections (S larger makes R̂
    larger while the truth is lower), a selection effect of the data-driven choice.

    Choice, exact from the sorted values: between two consecutive distinct real values S is constant and k only
    falls as t rises, so the candidate cuts are the distinct real p_any values v (t = v selects every real
    source with p_any ≥ v). The cut is the one with the largest S among those with R̂(v) ≥ target. If none
    reaches the target the cut selects nothing (t just above the largest real p_any; ``reached`` false) and
    the best achievable R̂ and its cut are recorded. The curve on ``cuts`` plus the chosen cut is recorded.

    ``real_p_any``/``control_p_any``: one p_any per source *with candidates*; ``n_real``/``n_control``: every
    source, matched or not; ``c_hat``: the fitted fraction of real sources with a counterpart.
    """
    target = _check_fraction("target_reliability", target_reliability)
    real = _p_any_per_source("real_p_any", real_p_any, _check_n_real(n_real), "n_real")
    values = np.unique(real)
    at_values = reliability_at_cuts(real, n_real, control_p_any, n_control, c_hat, values)
    rel = at_values["reliability"]
    ok = np.flatnonzero(np.isfinite(rel) & (rel >= target))
    best_rel = best_cut = None
    if np.isfinite(rel).any():
        i_best = int(np.nanargmax(rel))
        best_rel, best_cut = float(rel[i_best]), float(values[i_best])
    if ok.size:
        i = int(ok[np.argmax(at_values["n_real_selected"][ok])])  # largest S; among equal S the smallest v
        cut, reached, reason = float(values[i]), True, None
    else:
        cut = float(np.nextafter(values[-1] if values.size else 1.0, np.inf))
        reached = False
        reason = (
            f"no cut reaches the target reliability {target:g}: best estimated "
            f"{'n/a' if best_rel is None else f'{best_rel:.4g}'}; the cut selects nothing"
        )
    at = reliability_at_cuts(real, n_real, control_p_any, n_control, c_hat, [cut])
    grid = reliability_at_cuts(
        real, n_real, control_p_any, n_control, c_hat, np.unique(np.r_[np.asarray(cuts, dtype=np.float64), cut])
    )
    return ReliabilityCut(
        status="estimated",
        reason=reason,
        target_reliability=target,
        reached=reached,
        p_any_cut=cut,
        reliability_at_cut=_finite_or_none(at["reliability"][0]),
        reliability_err=_finite_or_none(at["reliability_err"][0]),
        completeness_proxy_at_cut=_finite_or_none(at["completeness_proxy"][0]),
        n_real_selected=int(at["n_real_selected"][0]),
        e_false=float(at["e_false"][0]),
        e_false_err=float(at["e_false_err"][0]),
        n_control_selected=int(at["n_control_selected"][0]),
        false_rate_at_cut=float(at["false_rate"][0]),
        n_real_sources=int(n_real),
        n_control_sources=int(n_control),
        c_hat=float(c_hat),
        best_reliability=best_rel,
        best_reliability_cut=best_cut,
        curve=_curve_rows(grid),
    )


def fallback_reliability_cut(
    real_p_any: npt.ArrayLike, n_real: int, n_control: int, c_hat: float, target_reliability: float, reason: str
) -> ReliabilityCut:
    """The documented default when the control cannot estimate reliability (too few shifted sources): the cut
    p_any ≥ target, i.e. every selected source's own posterior says it has a counterpart with probability ≥ the
    target — the model's reliability, not one checked on the data."""
    target = _check_fraction("target_reliability", target_reliability)
    real = np.asarray(real_p_any, dtype=np.float64)
    s = int(np.count_nonzero(real >= target))
    grid = np.unique(np.r_[np.asarray(DEFAULT_CUT_GRID), target])
    curve = tuple(
        {
            "p_any_cut": float(t),
            "n_real_selected": int(np.count_nonzero(real >= t)),
            "n_selected": None,
            "false_rate": None,
            "e_false": None,
            "reliability": None,
            "reliability_err": None,
            "completeness_proxy": None,
        }
        for t in grid
    )
    return ReliabilityCut(
        status="fallback",
        reason=reason,
        target_reliability=target,
        reached=False,
        p_any_cut=target,
        reliability_at_cut=None,
        reliability_err=None,
        completeness_proxy_at_cut=None,
        n_real_selected=s,
        e_false=None,
        e_false_err=None,
        n_control_selected=None,
        false_rate_at_cut=None,
        n_real_sources=int(n_real),
        n_control_sources=int(n_control),
        c_hat=float(c_hat),
        best_reliability=None,
        best_reliability_cut=None,
        curve=curve,
    )
