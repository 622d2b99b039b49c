"""Property priors: how much more often a counterpart has an optical property than a field star does.

For a feature x of an optical candidate (G magnitude, parallax significance, total proper motion, …) the
likelihood ratio that multiplies the positional Bayes factor is

    L(x) = f_cp(x) / f_field(x),

f_cp the distribution of x among the radio sources' counterparts and f_field that among unrelated (field)
stars at the same places (Salvato et al. 2018 §2.3 and eq. 6 — NWAY's "magnitude priors", ``--mag``;
Budavári & Szalay 2008 §2.5 call such a factor a "photometric" Bayes factor). Several features are
assumed independent given the hypothesis (the product of their ratios is used), as NWAY assumes for its
several ``--mag`` columns. That is not exactly true for stars — near stars are bright, have significant
parallaxes *and* move fast — so the product over-states the evidence when features are correlated; the
reliability cut (:mod:`.calibration`) is estimated on the shifted control with the same posterior and
absorbs that over-confidence in the cut it chooses, but p_any itself is then over-confident (the
evaluation's reliability diagram shows by how much).

Histograms, per class (catalogue; :mod:`.posterior`) and feature, on fixed bin edges (:data:`FEATURES`):
values below the first / above the last edge fall in the first / last bin; a missing value (NaN, e.g. a
two-parameter Gaia solution without parallax and proper motion) either has its own **missing bin**
(``missing="bin"``: having no astrometric solution is itself informative) or is **neutral**, L = 1
(``missing="neutral"``: NWAY's convention for undefined magnitudes).

* **field**: the candidates of the shifted-control radio positions (every one is a chance match,
  :mod:`.control`), each weighted by 1/R² (R = its match radius: the candidates are a field sample per unit
  *area*, and a row whose σ, hence R, is larger is over-represented among candidates by R²), plus
  ``FIELD_PSEUDO_COUNT`` = ½ per bin (Jeffreys), so no bin has f_field = 0:
      f_field,b = (m_b + ½) / (Σm + ½ n_bins),   m_b = Σ_{control, in b} w_i,  w scaled to Σw = n_control;
* **counterparts**: the candidates of the real radio sources weighted by their posterior probability of
  being the counterpart, p_any·p_i (EM, :mod:`.posterior`; NWAY ``--mag auto`` uses the secure matches
  p > 0.9 instead), shrunk toward the field with ``a`` pseudo-counts distributed as the field:
      f_cp,b = (n_b + a f_field,b) / (Σn + a),   n_b = Σ_{real, in b} p_any·p_i.
  With few counterparts (Σn ≪ a) f_cp → f_field and L → 1 smoothly: positions only. With Σn ≫ a the data
  dominate. The largest ratio a sparsely populated field bin can take is bounded by its ½ pseudo-count. A bin
  where neither sample has a value carries no information: there f_cp := f_field (L = 1; the other bins are
  rescaled so f_cp still sums to 1) instead of the shrinkage's a/(Σn + a).
* **from a table of known radio stars** (alternative): n_b counts the table's values (each star weight 1;
  rows of the class's catalogue when the table has a ``catalogue`` column, else every row), the same
  shrinkage; the field still comes from the control.

A class × feature whose control sample has fewer than ``MIN_FIELD_COUNT`` candidates with a value is
**neutral** (L = 1, status ``neutral`` with the reason): its field distribution is unknown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

# the optical properties each candidate pair carries for the property priors (NaN = not measured); the Spark
# job copies them onto pairs (spark_engine/partitioned_match.py), the posterior reads them
OPTICAL_PROPERTY_COLUMNS = (
    "mag",
    "colour",
    "parallax_mas",
    "parallax_error_mas",
    "pmra_mas_yr",
    "pmdec_mas_yr",
    "pmra_error_mas_yr",
    "pmdec_error_mas_yr",
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

FIELD_PSEUDO_COUNT = 0.5  # per bin of the field histogram (Jeffreys)
MIN_FIELD_COUNT = 30  # control candidates with a value, per class and feature, to learn a ratio
NEUTRAL_SLOT = -1  # bin index of a missing value of a neutral feature (L = 1)


@dataclass(frozen=True)
class FeatureSpec:
    """One optical property used as a prior: its bin edges and how a missing value counts."""

    name: str
    edges: tuple[float, ...]
    missing: str  # "bin" (own bin) | "neutral" (L = 1)
    unit: str
    description: str

    @property
    def n_bins(self) -> int:
        return len(self.edges) - 1

    @property
    def n_slots(self) -> int:
        """Bins plus the missing bin when there is one."""
        return self.n_bins + (1 if self.missing == "bin" else 0)


FEATURES: dict[str, FeatureSpec] = {
    "mag": FeatureSpec(
        "mag",
        (-5.0, *map(float, range(2, 22)), 30.0),
        "neutral",
        "mag",
        "G (Gaia DR3) or Hp (Hipparcos); 1-mag bins 2–21, open ends",
    ),
    "parallax_snr": FeatureSpec(
        "parallax_snr",
        (-1e9, 0.0, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 50.0, 100.0, 1e9),
        "bin",
        "",
        "parallax significance ϖ/σ_ϖ; missing = no parallax (2-parameter solution)",
    ),
    "pm_total": FeatureSpec(
        "pm_total",
        (0.0, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0, 100.0, 200.0, 500.0, 1e9),
        "bin",
        "mas/yr",
        "total proper motion √(μ_α*² + μ_δ²); missing = no proper motion",
    ),
    "colour": FeatureSpec(
        "colour",
        (-1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 6.0),
        "neutral",
        "mag",
        "colour (Gaia BP−RP, Hipparcos B−V)",
    ),
}

#: input columns each feature reads (all nullable)
FEATURE_COLUMNS: dict[str, tuple[str, ...]] = {
    "mag": ("mag",),
    "parallax_snr": ("parallax_mas", "parallax_error_mas"),
    "pm_total": ("pmra_mas_yr", "pmdec_mas_yr"),
    "colour": ("colour",),
}


def check_features(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Validated tuple of feature names (known, unique)."""
    if isinstance(names, str) or not isinstance(names, (tuple, list)):
        raise ValueError(f"property_features: expected a tuple of names, got {names!r}")
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"property_features: unknown feature(s) {unknown}; known: {sorted(FEATURES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"property_features: duplicates in {list(names)}")
    return tuple(names)


def _column(frame: pd.DataFrame, name: str) -> FloatArray:
    try:
        return frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not numeric ({exc})") from exc


def feature_values(frame: pd.DataFrame, name: str) -> FloatArray:
    """The feature's value per row of ``frame`` (NaN = missing)."""
    spec = FEATURES.get(name)
    if spec is None:
        raise ValueError(f"feature {name!r}: unknown; known: {sorted(FEATURES)}")
    missing = [c for c in FEATURE_COLUMNS[name] if c not in frame.columns]
    if missing:
        raise ValueError(f"feature {name!r} needs column(s) {missing}")
    with np.errstate(invalid="ignore", divide="ignore"):
        if name == "parallax_snr":
            plx, err = _column(frame, "parallax_mas"), _column(frame, "parallax_error_mas")
            return np.where(np.isfinite(plx) & np.isfinite(err) & (err > 0), plx / err, np.nan)
        if name == "pm_total":
            return np.hypot(_column(frame, "pmra_mas_yr"), _column(frame, "pmdec_mas_yr"))  # NaN if either is
        v = _column(frame, FEATURE_COLUMNS[name][0])
        return np.where(np.isfinite(v), v, np.nan)


def bin_slots(spec: FeatureSpec, values: npt.ArrayLike) -> IntArray:
    """Bin index per value: bin b holds [edge_b, edge_b+1) (the last bin also its upper edge); values outside
    the edges fall in the end bins; missing → ``n_bins`` (missing bin) or :data:`NEUTRAL_SLOT`."""
    v = np.asarray(values, dtype=np.float64)
    edges = np.asarray(spec.edges)
    idx = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, spec.n_bins - 1).astype(np.int64)
    return np.where(np.isfinite(v), idx, spec.n_bins if spec.missing == "bin" else NEUTRAL_SLOT)


@dataclass
class PropertyHistogram:
    """f_cp and f_field of one feature for one class, as fractions per slot (bins, then the missing bin)."""

    feature: str
    status: str  # "learned" | "table" | "neutral"
    counterpart: FloatArray
    field: FloatArray
    n_counterpart: float = 0.0  # Σ of the counterpart weights (posterior-expected counterparts; table rows)
    n_field: int = 0  # control candidates with a slot (value or missing bin)
    n_eff_field: float = 0.0  # Kish effective size of the 1/R²-weighted field sample
    pseudo_count: float = 0.0
    reason: str | None = None
    field_counts: FloatArray | None = None  # m_b before the pseudo-count (bins empty on both sides: L = 1)

    @property
    def spec(self) -> FeatureSpec:
        return FEATURES[self.feature]

    @property
    def ln_ratio_per_slot(self) -> FloatArray:
        if self.status == "neutral":
            return np.zeros(self.spec.n_slots)
        return np.log(self.counterpart) - np.log(self.field)

    def ln_ratio(self, slots: npt.ArrayLike) -> FloatArray:
        """ln L per row from its slot (0 for a neutral missing value or a neutral histogram)."""
        s = np.asarray(slots, dtype=np.int64)
        lr = self.ln_ratio_per_slot
        return np.where(s >= 0, lr[np.maximum(s, 0)], 0.0)

    def to_dict(self) -> dict[str, Any]:
        spec = self.spec
        lr = self.ln_ratio_per_slot
        return {
            "feature": self.feature,
            "status": self.status,
            "reason": self.reason,
            "unit": spec.unit,
            "description": spec.description,
            "edges": [float(e) for e in spec.edges],
            "missing": spec.missing,
            "has_missing_bin": spec.missing == "bin",
            "counterpart_fraction": [float(x) for x in self.counterpart],
            "field_fraction": [float(x) for x in self.field],
            "ratio": [float(math.exp(x)) for x in lr],
            "n_counterpart": float(self.n_counterpart),
            "n_field": int(self.n_field),
            "n_eff_field": float(self.n_eff_field),
            "pseudo_count": float(self.pseudo_count),
        }


def neutral_histogram(feature: str, reason: str, n_field: int = 0) -> PropertyHistogram:
    spec = FEATURES[feature]
    flat = np.full(spec.n_slots, 1.0 / spec.n_slots)
    return PropertyHistogram(feature, "neutral", flat.copy(), flat.copy(), n_field=n_field, reason=reason)


def field_histogram(feature: str, slots: npt.ArrayLike, weights: npt.ArrayLike) -> PropertyHistogram:
    """Field distribution from control candidates (slots, weights ∝ 1/R²); the counterpart distribution starts
    equal to it (L = 1). Neutral with a reason when fewer than :data:`MIN_FIELD_COUNT` candidates have a slot."""
    spec = FEATURES[feature]
    s = np.asarray(slots, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    keep = s >= 0
    s, w = s[keep], w[keep]
    n = int(s.size)
    if n < MIN_FIELD_COUNT:
        return neutral_histogram(
            feature, f"field too small: {n} control candidates with a value (< {MIN_FIELD_COUNT})", n_field=n
        )
    if not np.all(np.isfinite(w) & (w > 0)):
        raise ValueError("field weights: must be finite and > 0")
    n_eff = float(w.sum() ** 2 / np.sum(w * w))
    m = np.bincount(s, weights=w * (n / w.sum()), minlength=spec.n_slots)
    f = (m + FIELD_PSEUDO_COUNT) / (m.sum() + FIELD_PSEUDO_COUNT * spec.n_slots)
    return PropertyHistogram(feature, "learned", f.copy(), f, n_field=n, n_eff_field=n_eff, field_counts=m)


def with_counterparts(
    field: PropertyHistogram, slots: npt.ArrayLike, weights: npt.ArrayLike, pseudo_count: float, status: str = "learned"
) -> PropertyHistogram:
    """The histogram with f_cp = (n + a f_field)/(Σn + a) from counterpart slots and weights (posterior
    probabilities, or 1 per known star); a neutral field stays neutral."""
    if field.status == "neutral":
        return field
    if not (math.isfinite(pseudo_count) and pseudo_count > 0):
        raise ValueError(f"pseudo_count: must be > 0, got {pseudo_count!r}")
    spec = field.spec
    s = np.asarray(slots, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    keep = (s >= 0) & (w > 0)
    n = np.bincount(s[keep], weights=w[keep], minlength=spec.n_slots)
    cp = (n + pseudo_count * field.field) / (n.sum() + pseudo_count)
    if field.field_counts is not None:  # no value on either side: no information, L = 1 there
        empty = (n == 0) & (field.field_counts == 0)
        if empty.any() and not empty.all():
            cp[~empty] *= (1.0 - field.field[empty].sum()) / cp[~empty].sum()
            cp[empty] = field.field[empty]
    return PropertyHistogram(
        field.feature,
        status,
        cp,
        field.field,
        n_counterpart=float(n.sum()),
        n_field=field.n_field,
        n_eff_field=field.n_eff_field,
        pseudo_count=pseudo_count,
        reason=field.reason,
        field_counts=field.field_counts,
    )
