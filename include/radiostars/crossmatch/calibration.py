"""Calibration of the p_any cut on the shifted-position control.

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
        raise ValueError(f"n_control_sources: must be >= 1 (shifted radio sources, matched or not), got {n_control_sources}")
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
    p = np.asarray(control_p_any, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"control_p_any: must be 1-D (one value per control radio source), got shape {p.shape}")
    bad = ~np.isfinite(p) | (p < 0.0) | (p > 1.0)
    if np.any(bad):
        raise ValueError(f"control_p_any: {int(bad.sum())} value(s) are NaN/inf or outside [0, 1], e.g. {p[bad][0]!r}")
    if p.size > n:
        raise ValueError(
            f"control_p_any: {p.size} values but n_control_sources = {n}; give one value per control radio "
            "source (the max over its pairs), and N counting every shifted source"
        )
    return np.sort(p), n


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
                {"p_any_cut": float(c["p_any_cut"]), "false_rate": float(c["false_rate"]), "n_selected": int(c["n_selected"])}
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


def calibrate_p_any_cut(control_p_any: npt.ArrayLike, n_control_sources: int, target_false_rate: float) -> PAnyCalibration:
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
