"""The run's posterior: one joint hypothesis set per radio source over Gaia and Hipparcos, the prior fraction c
and the property priors fitted from the data, and the p_any cut chosen for a target reliability.

Pure numpy/pandas, called once per run on the driver after the per-pixel match (:func:`score_run`), on every
candidate pair of the real **and** the shifted-control radio sources (input contract :data:`PAIRS_INPUT`).

Hypotheses (one set per radio source, real or control)
-------------------------------------------------------
"No counterpart" and one hypothesis per *star* among the candidates of every catalogue. A Gaia and a Hipparcos
entry linked by the same-star rule (:mod:`.samestar`) are one star, one hypothesis: counting both would add
two weights for one event and inflate p_any. Each hypothesis belongs to a class k, the catalogue whose density
and property distributions describe it: an unlinked entry its own catalogue; a linked star ``hipparcos2`` (the
class "bright enough for Hipparcos", whose field density is Hipparcos's — a star in both catalogues is as rare
as a Hipparcos star; its prior, local density ρ and properties are those of its Hipparcos entry), with the
positional evidence of the more precise of its two positions (smaller σ_opt at the radio epoch; that entry is
the star's primary row).

Likelihood (Sutherland & Saunders 1992; Budavári & Szalay 2008, BS08; Salvato et al. 2018, NWAY)
-------------------------------------------------------------------------------------------------
For hypothesis i of radio source j (class k, local density ν_i per sr of catalogue k around the source),

    r_i = B_i · L_k(x_i) / (4π ν_i),

B_i the BS08 positional Bayes factor (:func:`.bayes.ln_bayes_factor`, per sr against the uniform 1/(4π)), and
L_k(x) = Π_f f_cp,k,f(x_f)/f_field,k,f(x_f) the property likelihood ratio (:mod:`.properties`; features
assumed independent, as NWAY does). r_i is the likelihood ratio "candidate i is the counterpart" vs "it is a
field star" (the Gaussian offset density and counterpart property distribution over the field's density ν·f_field
at that place). With a fraction c_k of radio sources whose counterpart is of class k (C = Σ_k c_k), the
likelihood of source j against "every candidate is a field star" is

    ℓ_j(c) = (1 − C) + Σ_k c_k S_jk,     S_jk = Σ_{i ∈ j, class k} r_i

(a source without candidates: 1 − C), so the posterior weights against "no counterpart" are

    w_i = c_k r_i / (1 − C),   p_any_j = Σ_i w_i / (1 + Σ_i w_i),   p_i = w_i / Σ_i w_i,

Sutherland & Saunders' reliability with w_none = 1 − C. NWAY's form (w_none = 1, prior P = c_N/(4πν)) is
the same with c_N = C/(1 − C): with one class, ours at c equals NWAY's at prior completeness c/(1 − c)
(tests/unit/test_nway_reference.py checks it). The p_i of the two entries of a merged star are the star's.

Fitting c and the property priors (EM; Dempster, Laird & Rubin 1977)
--------------------------------------------------------------------
Over the N_r real sources (matched or not) the log-likelihood is Σ_j ln ℓ_j(c). Given L, it is concave in c;
c is maximised exactly by coordinate ascent over the classes (a 1-D root of ∂/∂c_k, bracketed). At the
maximum, for every class with c_k > 0,

    c_k = (1/N_r) Σ_j Σ_{i ∈ j, class k} p_any_j p_i,   hence  C = mean over the N_r sources of p_any

(the EM fixed point: c is the mean posterior of having a counterpart). The counterpart histograms f_cp are then
re-estimated from the real candidates weighted by p_any·p_i (the E-step's expected counterparts — pooled over a
catalogue's density bands, below — shrunk toward the field with ``property_prior_pseudo_count`` pseudo-counts: a
MAP M-step; pooled, each band's histogram is fitted to every band's counterparts, which is not the M-step of the
likelihood evaluated, so the ascent below is no longer guaranteed — convergence is still required), the field
histograms being fixed from the control's candidates; the two steps alternate until L and c stop changing (ECM;
unpooled, each step does not decrease the penalised likelihood). The first E-step uses the start value of c (solving c on positions alone
first can land on the trivial fixed point c = 0, where no posterior mass is left to learn from); two starts
(:data:`EM_STARTS`), the higher penalised likelihood wins. σ(c) is the observed-information error at the maximum
with L held fixed.
Positions only: the same fit with no features (L = 1). Per catalogue: the same on each catalogue alone.
A table of known radio stars may supply f_cp instead (:mod:`.properties`); then only c is fitted.

Counterparts shared by the density bands (``share_counterpart_priors_across_bands``, default on): the field
changes with the local density (:data:`DENSITY_BAND_EDGES_DEG2`), the radio stars much less — a flux-limited
sample of radio stars is nearby and spread over the whole sky (the Sydney Radio Star Catalogue, Driessen et al.
2024, PASA 41, 84), to first order one population whatever the faint, distant field behind it. So the
M-step pools the expected counterparts of a catalogue's bands into one count n_b and gives each band
f_cp,k = (n_b + a f_field,k)/(Σn + a): its own field, its own c_k, one counterpart shape. Measured on the 50 deg²
evaluation profile (docs/evaluation.md): with one histogram per band, the crowded band (≥ 10⁵ deg⁻²) has too
few secure counterparts to learn from, its ratio stays ≈ 1, c fits 0 there and its stars sit at p_any ≈ 0
(calibration pull +64); pooled, reliability at the cut 89.3 → 90.5 %, worst pull −11 — the crowded band's c now
over-estimated (613 counterparts for 65 true: the pooled population is brighter than the plane's radio stars).

Beside the fit, for the record, c from association counts on real vs shifted positions (no model of B):

* blanks (Fleuren et al. 2012's Q₀): with f_r, f_c the fractions of real and control sources that have at
  least one candidate, f_r = c + (1 − c) f_c, so c = (f_r − f_c)/(1 − f_c) (binomial errors of both);
* excess of associations (the counts NWAY's fake-catalogue runs give, Salvato et al. 2018): each counterpart
  adds one hypothesis to its source, so c = n_hyp,r/N_r − n_hyp,c/N_c (Poisson errors).
Both assume every counterpart lies within its source's match radius (R ≥ 4σ: 1 − e⁻⁸; where R = r_max < 4σ
they undercount).

Fallbacks (never an exception for a small or empty run; the reason is recorded in the metrics)
-------------------------------------------------------------------------------------------
* fewer shifted-control sources than ``prior_fit_min_control_sources``: every fit takes the defaults
  c_k = ``prior_completeness`` per class and L = 1 (positions only), and the cut the default p_any ≥
  ``target_reliability`` (:func:`.calibration.fallback_reliability_cut`);
* a fit that does not converge in :data:`MAX_ITERATIONS`: the same defaults for that fit;
* a class × feature whose control sample has too few candidates: that feature neutral (L = 1) for that class.
A run without counterparts fits c ≈ 0 and selects nothing.

Cross-fitting (Chernozhukov et al. 2018): a model fitted on a source's own candidates scores its chance
alignments higher than the control's (measured with c the only fitted parameter: +8 % real false selections at
p_any ≥ 0.1 over the control's prediction, 4.9σ over 60 synthetic seeds; more with learned property priors),
which biases the reliability estimate. Sources are split into
:data:`CROSS_FIT_FOLDS` folds by a stable hash of ``radio_id`` (:func:`cross_fit_fold`); each fold's real and
control sources are scored by the models fitted on the other folds. The published p_any/p_i are these; the
reported c and histograms are the fit on every source.

Selection: :func:`.calibration.choose_reliability_cut` on the joint physics p_any (and, for the record, on
the positions-only one) with c = the joint fit's C.

Local density: ν is the pair's ``rho_arcsec2`` (the annulus of :mod:`.density`); a pair with ρ = 0 (an empty
annulus never pooled) takes the smallest positive ρ of its catalogue in the run (counted in the metrics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import brentq

from .bayes import SR_PER_ARCSEC2, probabilities_from_log_weights
from .calibration import ReliabilityCut, choose_reliability_cut, fallback_reliability_cut
from .params import CrossmatchParams
from .properties import (
    FEATURE_COLUMNS,
    FEATURES,
    OPTICAL_PROPERTY_COLUMNS,
    PropertyHistogram,
    bin_slots,
    feature_values,
    field_histogram,
    neutral_histogram,
    with_counterparts,
)
from .samestar import CANDIDATE_COLUMNS, GAIA, HIPPARCOS, same_star_links

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

CROSS_FIT_FOLDS = 2  # sources scored by the model fitted on the other fold(s)
EM_STARTS = (0.0, 0.1)  # start values of c per class (raised to prior_completeness); the best objective wins
MAX_ITERATIONS = 300  # EM iterations (c and histograms) before the fit is declared not converged
TOL_LN_RATIO = 1e-6  # convergence: largest change of ln L over all bins
TOL_C_REL = 1e-6  # convergence: relative change of every c_k
LN_R_MAX = 700.0  # exp overflow guard on ln r
# Field environments: a class is a catalogue within one band of its local density ν (stars deg⁻²). The field's
# properties change with ν — the Galactic plane's field (≳ 10⁵ deg⁻² at |b| < 1.5°) is faint and distant, a
# high-latitude field (≲ 10⁴ deg⁻²; the Gaia DR3 all-sky mean is 1.81·10⁹ / 41,253 deg² ≈ 4.4·10⁴ deg⁻²,
# Gaia Collaboration, Vallenari et al. 2023, A&A 674, A1) holds brighter, nearer stars — so one field
# histogram for both would make every high-latitude star look like a counterpart (measured: the 50 deg²
# evaluation profile, 539 of 765 sources at p_any ≥ 0.9 wrong). Each band has its own field, counterpart
# histograms and c (NWAY's field sample is likewise local: Salvato et al. 2018 §2.3).
DENSITY_BAND_EDGES_DEG2 = (1.0e4, 1.0e5)
DENSITY_BAND_NAMES = ("sparse", "mid", "crowded")  # ν < 10⁴, 10⁴–10⁵, ≥ 10⁵ deg⁻²

#: The input contract — column → (dtype, meaning). One row per candidate pair of a real or shifted-control radio
#: source; every column is required; "nullable" columns may hold NaN/None.
PAIRS_INPUT: dict[str, tuple[str, str]] = {
    "radio_id": ("object (str) or int64", "radio source id; with control_offset it names one source"),
    "control_offset": ("int", "-1 for a real source, k >= 0 for its k-th shifted-control copy"),
    "catalogue": ("object (str)", "optical catalogue: 'gaia_dr3' | 'hipparcos2' (others allowed, never merged)"),
    "optical_id": ("int64", "Gaia source_id / HIP number (exact: never through float)"),
    "sep_arcsec": ("float64", "separation at the radio epoch, >= 0"),
    "sigma_arcsec": ("float64", "σ = √(σ_radio² + σ_opt(t)² + σ_sys²), > 0"),
    "ln_bayes_factor": ("float64", "BS08 ln B of the pair (bayes.ln_bayes_factor(sep_arcsec, sigma_arcsec))"),
    "rho_arcsec2": ("float64", "local density of this catalogue around the radio source [arcsec⁻²], >= 0"),
    "match_radius_arcsec": ("float64", "the pair's match radius R (> 0): weights the field histogram by 1/R²"),
    "ra_opt_deg": ("float64", "optical position propagated to the radio epoch (same-star rule)"),
    "dec_opt_deg": ("float64", "optical position propagated to the radio epoch"),
    "sigma_opt_arcsec": ("float64, nullable", "optical position error at the radio epoch"),
    "dt_yr": ("float64, nullable", "radio epoch − optical reference epoch [yr]"),
    "mag": ("float64, nullable", "G (Gaia) or Hp (Hipparcos)"),
    "colour": ("float64, nullable", "BP−RP (Gaia) or B−V (Hipparcos)"),
    "parallax_mas": ("float64, nullable", "parallax"),
    "parallax_error_mas": ("float64, nullable", "its error"),
    "pmra_mas_yr": ("float64, nullable", "μ_α* = μ_α cos δ"),
    "pmdec_mas_yr": ("float64, nullable", "μ_δ"),
    "pmra_error_mas_yr": ("float64, nullable", "its error"),
    "pmdec_error_mas_yr": ("float64, nullable", "its error"),
}

#: Columns :func:`score_run` adds to every pair (real and control).
SCORED_COLUMNS: dict[str, tuple[str, str]] = {
    "p_any": ("float64", "joint posterior (physics): the radio source has its counterpart among its candidates"),
    "p_i": (
        "float64",
        "joint: this pair's star is the counterpart, given there is one (both entries of a "
        "merged star carry the star's value)",
    ),
    "p_any_position_only": ("float64", "the same without property priors (c fitted on positions only)"),
    "p_i_position_only": ("float64", "the same without property priors"),
    "p_any_in_catalogue": ("float64", "this pair's catalogue alone (its own fitted c and priors)"),
    "p_i_in_catalogue": ("float64", "this pair's catalogue alone"),
    "ln_property_ratio": ("float64", "ln L of the pair's star hypothesis (0 = positions only)"),
    "prior": ("float64", "joint prior odds of the star hypothesis c_k/((1 − C)·4πν) (NWAY's P)"),
    "p_single": ("float64", "[1 + (1 − P)/(B L P)]⁻¹ of the star hypothesis (P clipped to <= 1)"),
    "star_rank": ("int32", "rank of this pair's star among the source's stars by joint p_i (1 = best)"),
    "n_stars": ("int32", "distinct stars among the source's candidates"),
    "is_star_primary": ("bool", "this entry carries its star's position evidence (best row: star_rank 1 & this)"),
    "fold": ("int8", "cross-fitting fold of the radio source: scored by the models fitted without it"),
    "same_star_catalogue": ("object", "catalogue of the linked entry of the same star (null: none)"),
    "same_star_id": ("Int64", "its id"),
    "same_star_offset_arcsec": ("float64", "offset between the two entries at the radio epoch"),
    "same_star_tolerance_arcsec": ("float64", "the rule's tolerance for them"),
}

NUMERIC_FINITE = (
    "sep_arcsec",
    "sigma_arcsec",
    "ln_bayes_factor",
    "rho_arcsec2",
    "match_radius_arcsec",
    "ra_opt_deg",
    "dec_opt_deg",
)
NULLABLE = ("sigma_opt_arcsec", "dt_yr", *OPTICAL_PROPERTY_COLUMNS)
ONE_STAR_PER_SKY_ARCSEC2 = SR_PER_ARCSEC2 / (4.0 * math.pi)  # ρ floor when a catalogue has no positive ρ


# ---------------------------------------------------------------------------------------------------- input
def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name}: must be an int >= 0 (radio sources, matched or not), got {value!r}")
    return int(value)


def validate_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """Checked, normalised copy of the input (:data:`PAIRS_INPUT`): ValueError naming missing columns, bad dtypes
    or values; numeric columns as float64 (nulls → NaN), ids as int64, catalogue as str."""
    if not isinstance(pairs, pd.DataFrame):
        raise ValueError(f"pairs: expected a pandas DataFrame, got {type(pairs).__name__}")
    missing = [c for c in PAIRS_INPUT if c not in pairs.columns]
    if missing:
        raise ValueError(f"pairs: missing column(s) {missing} (contract: radiostars.crossmatch.posterior.PAIRS_INPUT)")
    out = pairs.reset_index(drop=True).copy()
    if out["radio_id"].isna().any():
        raise ValueError(f"pairs.radio_id: {int(out['radio_id'].isna().sum())} null id(s)")
    for col in ("control_offset", "optical_id"):  # integer dtypes only: ids must never go through float
        v = out[col]
        if not pd.api.types.is_integer_dtype(v) or v.isna().any():
            raise ValueError(f"pairs.{col}: must be an integer column without nulls (got dtype {v.dtype})")
        out[col] = v.astype(np.int64)
    if (out["control_offset"] < -1).any():
        raise ValueError("pairs.control_offset: must be -1 (real) or >= 0 (control copy k)")
    cat = out["catalogue"]
    if cat.isna().any() or not all(isinstance(x, str) and x for x in cat.unique()):
        raise ValueError("pairs.catalogue: must be non-empty strings")
    for col in (*NUMERIC_FINITE, *NULLABLE):
        try:
            v = out[col].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"pairs.{col}: not numeric ({exc})") from exc
        if col in NUMERIC_FINITE and not np.all(np.isfinite(v)):
            raise ValueError(f"pairs.{col}: {int((~np.isfinite(v)).sum())} NaN/inf value(s)")
        if col in NULLABLE and np.isinf(v).any():
            raise ValueError(f"pairs.{col}: {int(np.isinf(v).sum())} infinite value(s) (use null for unknown)")
        out[col] = v
    for col, strict in (
        ("sep_arcsec", False),
        ("sigma_arcsec", True),
        ("rho_arcsec2", False),
        ("match_radius_arcsec", True),
    ):
        v = out[col].to_numpy()
        bad = (v <= 0) if strict else (v < 0)
        if bad.any():
            raise ValueError(f"pairs.{col}: {int(bad.sum())} value(s) {'<= 0' if strict else '< 0'}")
    if (out["dec_opt_deg"].abs() > 90).any():
        raise ValueError("pairs.dec_opt_deg: values outside [-90, 90]")
    dup = out.duplicated(["radio_id", "control_offset", "catalogue", "optical_id"])
    if dup.any():
        raise ValueError(f"pairs: {int(dup.sum())} duplicate (radio_id, control_offset, catalogue, optical_id) row(s)")
    return out


# ---------------------------------------------------------------------------------------------- hypotheses
@dataclass
class Hypotheses:
    """One row per hypothesis (a star of a radio source), arrays aligned; sources numbered densely."""

    src: IntArray  # source index 0..n_src-1 of each hypothesis
    src_control: BoolArray  # per source: a shifted-control source
    src_fold: IntArray  # per source: cross-fitting fold
    cls: IntArray  # class code into ``classes``
    classes: tuple[str, ...]
    ln_b: FloatArray
    ln_4pi_nu: FloatArray  # ln(4π ν), ν in sr⁻¹
    field_weight: FloatArray  # 1/R² of the class row
    slots: dict[str, IntArray]  # per feature: bin slot of the class row
    primary_row: IntArray  # input row carrying the position evidence
    sep_sigma: FloatArray  # of the primary row (ties in star ranks)

    @property
    def n(self) -> int:
        return int(self.src.size)

    @property
    def n_src(self) -> int:
        return int(self.src_control.size)

    @property
    def control(self) -> BoolArray:
        return self.src_control[self.src]

    def subset(self, src_mask: BoolArray) -> Hypotheses:
        """The hypotheses of the sources where ``src_mask`` (per source) is true, sources renumbered; the class
        list is kept (a class may then have no rows)."""
        keep = src_mask[self.src]
        new_index = np.cumsum(src_mask) - 1
        return Hypotheses(
            src=new_index[self.src[keep]],
            src_control=self.src_control[src_mask],
            src_fold=self.src_fold[src_mask],
            cls=self.cls[keep],
            classes=self.classes,
            ln_b=self.ln_b[keep],
            ln_4pi_nu=self.ln_4pi_nu[keep],
            field_weight=self.field_weight[keep],
            slots={f: v[keep] for f, v in self.slots.items()},
            primary_row=self.primary_row[keep],
            sep_sigma=self.sep_sigma[keep],
        )


@dataclass
class _Prepared:
    frame: pd.DataFrame
    src: IntArray  # source index per row (dense over real and control sources with candidates)
    src_control: BoolArray  # per source
    src_fold: IntArray  # per source
    values: dict[str, FloatArray]  # feature values per row
    ln_4pi_nu: FloatArray  # per row, after the ρ floor
    n_zero_density: int
    links: pd.DataFrame  # per row: same_star_* columns
    row_hyp: IntArray  # per row: the row number of its joint hypothesis's class row


def _ln_4pi_nu(frame: pd.DataFrame) -> tuple[FloatArray, int]:
    rho = frame["rho_arcsec2"].to_numpy(float).copy()
    zero = rho <= 0
    if zero.any():
        cat = frame["catalogue"].to_numpy()
        for c in np.unique(cat[zero]):
            pos = rho[(cat == c) & ~zero]
            rho[(cat == c) & zero] = pos.min() if pos.size else ONE_STAR_PER_SKY_ARCSEC2
    return np.log(4.0 * math.pi * rho / SR_PER_ARCSEC2), int(zero.sum())


def cross_fit_fold(radio_id: npt.ArrayLike, n_folds: int = CROSS_FIT_FOLDS) -> IntArray:
    """Fold of each radio source: a stable hash of its id (as text) modulo ``n_folds`` (pandas' SipHash with its
    fixed key: the same id gets the same fold in every run and process)."""
    ids = pd.Series(np.asarray(radio_id, dtype=object)).astype(str).to_numpy(dtype=object)
    return (pd.util.hash_array(ids) % np.uint64(n_folds)).astype(np.int64)


def _same_star(frame: pd.DataFrame, src: IntArray, params: CrossmatchParams) -> pd.DataFrame:
    """Link columns per row (same_star_catalogue/id/offset/tolerance), from the rule run on the sources that
    have both Gaia and Hipparcos candidates."""
    n = len(frame)
    out = pd.DataFrame(
        {
            "same_star_catalogue": pd.Series([None] * n, dtype=object),
            "same_star_id": pd.array([pd.NA] * n, dtype="Int64"),
            "same_star_offset_arcsec": np.full(n, np.nan),
            "same_star_tolerance_arcsec": np.full(n, np.nan),
        }
    )
    if n == 0:
        return out
    cat = frame["catalogue"].to_numpy()
    has_g = np.zeros(int(src.max()) + 1, bool)
    has_h = has_g.copy()
    has_g[src[cat == GAIA]] = True
    has_h[src[cat == HIPPARCOS]] = True
    rows = np.flatnonzero((has_g & has_h)[src] & np.isin(cat, (GAIA, HIPPARCOS)))
    if rows.size == 0:
        return out
    f = frame.iloc[rows]
    cand = pd.DataFrame(
        {
            "radio_source_name": src[rows],
            "optical_catalogue": f["catalogue"].to_numpy(),
            "optical_id": f["optical_id"].to_numpy(np.int64),
            "candidate_rank": np.arange(1, rows.size + 1),  # not used by the links themselves
            "ra_deg": f["ra_opt_deg"].to_numpy(),
            "dec_deg": f["dec_opt_deg"].to_numpy(),
            "sigma_opt_arcsec": f["sigma_opt_arcsec"].to_numpy(),
            "mag": f["mag"].to_numpy(),
            "pmra_mas_yr": f["pmra_mas_yr"].to_numpy(),
            "pmdec_mas_yr": f["pmdec_mas_yr"].to_numpy(),
            "dt_yr": f["dt_yr"].to_numpy(),
        }
    )
    links = same_star_links(cand[list(CANDIDATE_COLUMNS)], params.same_star_rule(), keys=["radio_source_name"])
    # same_star_links returns one row per input candidate, in the input order (a left merge on unique keys)
    linked = links["counterpart_id"].notna().to_numpy()
    r = rows[linked]
    out.loc[r, "same_star_catalogue"] = links.loc[linked, "counterpart_catalogue"].to_numpy()
    out.loc[r, "same_star_id"] = links.loc[linked, "counterpart_id"].to_numpy()
    out.loc[r, "same_star_offset_arcsec"] = links.loc[linked, "same_star_offset_arcsec"].to_numpy(float)
    out.loc[r, "same_star_tolerance_arcsec"] = links.loc[linked, "same_star_tolerance_arcsec"].to_numpy(float)
    return out


def _prepare(pairs: pd.DataFrame, params: CrossmatchParams) -> _Prepared:
    frame = validate_pairs(pairs)
    n = len(frame)
    if n:  # source = (radio_id, control_offset), numbered densely in order of appearance
        radio_code, radio_ids = pd.factorize(frame["radio_id"].to_numpy())
        width = int(frame["control_offset"].max()) + 2
        src, keys = pd.factorize(radio_code.astype(np.int64) * width + frame["control_offset"].to_numpy() + 1)
        src = np.asarray(src, np.int64)
        keys = np.asarray(keys, np.int64)
        src_control = keys % width != 0
        src_fold = cross_fit_fold(np.asarray(radio_ids, dtype=object))[keys // width]
    else:
        src, src_control, src_fold = np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.int64)
    values = {f: feature_values(frame, f) for f in FEATURES}
    ln_nu, n_zero = _ln_4pi_nu(frame)
    links = _same_star(frame, src, params)
    # joint hypothesis per row: a linked Gaia row joins its Hipparcos partner's hypothesis
    row_hyp = np.arange(n, dtype=np.int64)
    linked_g = np.flatnonzero(links["same_star_id"].notna().to_numpy() & (frame["catalogue"].to_numpy() == GAIA))
    if linked_g.size:
        key = pd.MultiIndex.from_arrays([src, frame["catalogue"].to_numpy(), frame["optical_id"].to_numpy()])
        partner = pd.MultiIndex.from_arrays(
            [
                src[linked_g],
                np.full(linked_g.size, HIPPARCOS),
                links["same_star_id"].to_numpy()[linked_g].astype(np.int64),
            ]
        )
        h_rows = key.get_indexer(partner)
        if (h_rows < 0).any():  # cannot happen: links are between candidates of one source
            raise RuntimeError("same-star partner row not found")
        row_hyp[linked_g] = h_rows
    return _Prepared(frame, src, src_control, src_fold, values, ln_nu, n_zero, links, row_hyp)


def density_band(ln_4pi_nu: npt.ArrayLike) -> IntArray:
    """Band of :data:`DENSITY_BAND_EDGES_DEG2` of each local density (given as ln 4πν, ν in sr⁻¹)."""
    per_deg2 = np.exp(np.asarray(ln_4pi_nu, dtype=np.float64)) / (4.0 * math.pi) * (SR_PER_ARCSEC2 * 3600.0**2)
    return np.searchsorted(np.asarray(DENSITY_BAND_EDGES_DEG2), per_deg2, side="right").astype(np.int64)


def _density_classes(catalogue: npt.ArrayLike, ln_4pi_nu: FloatArray) -> tuple[np.ndarray, IntArray]:
    """(class names, class code per hypothesis): the catalogue, suffixed ``@sparse`` / ``@mid`` / ``@crowded``
    by its density band (:data:`DENSITY_BAND_NAMES`) when the catalogue's hypotheses fall in more than one
    band; a catalogue whose hypotheses are all in one band keeps its plain name."""
    cats, cat = np.unique(np.asarray(catalogue).astype(str), return_inverse=True)
    band = density_band(ln_4pi_nu)
    n_bands = len(DENSITY_BAND_NAMES)
    used, code = np.unique(cat * n_bands + band, return_inverse=True)
    bands_of = np.bincount(used // n_bands, minlength=cats.size)  # bands present per catalogue
    names = [
        str(cats[u // n_bands]) + (f"@{DENSITY_BAND_NAMES[u % n_bands]}" if bands_of[u // n_bands] > 1 else "")
        for u in used
    ]
    # class codes in sorted name order (np.unique's convention, as before the bands)
    order = np.argsort(names, kind="stable")
    rank = np.empty(order.size, np.int64)
    rank[order] = np.arange(order.size)
    return np.array(names, dtype=object)[order].astype(str), rank[code.reshape(-1)]


def class_catalogue(name: str) -> str:
    """The catalogue of a class name (``gaia_dr3@crowded`` → ``gaia_dr3``)."""
    return name.split("@", 1)[0]


def _hypotheses(prep: _Prepared, rows: IntArray, row_hyp: IntArray, features: tuple[str, ...]) -> Hypotheses:
    """Hypothesis table over ``rows`` (input row numbers), grouped by ``row_hyp`` (one entry per input row: the
    row number of its group's class row; identity = every row its own hypothesis). Sources: those of ``rows``."""
    f = prep.frame
    hyp_ids, inverse = np.unique(row_hyp[rows], return_inverse=True)
    class_row = hyp_ids  # the id of a group is its class row (the Hipparcos row of a merged star)
    # primary row: the smallest σ_opt (NaN = ∞) in the group; ties → Gaia first, then the class row
    s_opt = f["sigma_opt_arcsec"].to_numpy()[rows]
    s_opt = np.where(np.isfinite(s_opt), s_opt, np.inf)
    cat_rows = f["catalogue"].to_numpy()[rows]
    order = np.lexsort((rows, cat_rows != GAIA, s_opt, inverse))
    first = np.r_[True, inverse[order][1:] != inverse[order][:-1]] if order.size else np.zeros(0, bool)
    primary = np.empty(hyp_ids.size, np.int64)
    primary[inverse[order][first]] = rows[order][first]
    classes, cls = _density_classes(f["catalogue"].to_numpy()[class_row], prep.ln_4pi_nu[class_row])
    sep_sigma = (f["sep_arcsec"].to_numpy() / f["sigma_arcsec"].to_numpy())[primary]
    src_used, src = np.unique(prep.src[class_row], return_inverse=True)
    return Hypotheses(
        src=src.astype(np.int64),
        src_control=prep.src_control[src_used],
        src_fold=prep.src_fold[src_used],
        cls=cls.astype(np.int64),
        classes=tuple(str(c) for c in classes),
        ln_b=f["ln_bayes_factor"].to_numpy()[primary],
        ln_4pi_nu=prep.ln_4pi_nu[class_row],
        field_weight=1.0 / f["match_radius_arcsec"].to_numpy()[class_row] ** 2,
        slots={name: bin_slots(FEATURES[name], prep.values[name][class_row]) for name in features},
        primary_row=primary,
        sep_sigma=sep_sigma,
    )


# --------------------------------------------------------------------------------------------------- fitting
@dataclass
class PriorFit:
    """c per class and the property histograms of one model (joint, positions-only, one catalogue)."""

    name: str
    status: str  # "fitted" | "table" | "fallback"
    reason: str | None
    classes: tuple[str, ...]
    c: FloatArray  # per class
    c_err: FloatArray  # per class (NaN when unknown)
    c_total_err: float
    histograms: dict[str, dict[str, PropertyHistogram]]  # class → feature → histogram
    n_real: int = 0
    iterations: int = 0
    log_likelihood: float | None = None
    mean_p_any: float | None = None

    @property
    def c_total(self) -> float:
        return float(self.c.sum())

    def c_for(self, classes: tuple[str, ...]) -> FloatArray:
        """c per class of another table's class list (a class this fit has never seen: 0)."""
        mine = dict(zip(self.classes, self.c))
        return np.array([mine.get(k, 0.0) for k in classes], dtype=np.float64)

    def ln_ratio(self, hyp: Hypotheses) -> FloatArray:
        """Σ_f ln L per hypothesis (one table lookup per feature: entry (class, slot + 1), slot −1 → 0)."""
        out = np.zeros(hyp.n)
        feats = {f for v in self.histograms.values() for f in v}
        for feat in feats:
            width = FEATURES[feat].n_slots + 1
            table = np.zeros(len(hyp.classes) * width)
            for k, name in enumerate(hyp.classes):
                h = self.histograms.get(name, {}).get(feat)
                if h is not None:
                    table[k * width + 1 : (k + 1) * width] = h.ln_ratio_per_slot
            out += table[hyp.cls * width + hyp.slots[feat] + 1]
        return out

    def score(self, hyp: Hypotheses) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """(p_any, p_i, ln prior odds, ln L) per hypothesis of ``hyp`` under this model."""
        ln_l = self.ln_ratio(hyp)
        p_any, p_i, ln_prior = _posteriors(hyp, self.c_for(hyp.classes), ln_l)
        return p_any, p_i, ln_prior, ln_l

    def summary(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "n_real_sources": int(self.n_real),
            "c": self.c_total,
            "c_err": _num(self.c_total_err),
            "c_by_class": {k: float(v) for k, v in zip(self.classes, self.c)},
            "c_err_by_class": {k: _num(v) for k, v in zip(self.classes, self.c_err)},
            "iterations": int(self.iterations),
            "log_likelihood": _num(self.log_likelihood),
            "mean_p_any": _num(self.mean_p_any),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "property_priors": {k: {f: h.to_dict() for f, h in v.items()} for k, v in self.histograms.items()},
        }


def _num(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def _ln_r(hyp: Hypotheses, ln_l: FloatArray) -> FloatArray:
    return np.minimum(hyp.ln_b + ln_l - hyp.ln_4pi_nu, LN_R_MAX)


def _source_sums(hyp: Hypotheses, ln_r: FloatArray) -> FloatArray:
    """S_jk over the real sources of ``hyp`` × classes."""
    real_src = ~hyp.src_control
    index = np.cumsum(real_src) - 1  # dense index among the real sources
    real = real_src[hyp.src]
    k = len(hyp.classes)
    n_with = int(real_src.sum())
    s = np.bincount(index[hyp.src[real]] * k + hyp.cls[real], weights=np.exp(ln_r[real]), minlength=n_with * k)
    return s.reshape(n_with, k)


def _log_likelihood(s: FloatArray, n0: int, c: FloatArray) -> float:
    d = 1.0 - c.sum() + s @ c
    return float(np.sum(np.log(d)) + (n0 * math.log1p(-c.sum()) if n0 else 0.0))


def _solve_c(s: FloatArray, n0: int, c0: FloatArray) -> FloatArray:
    """argmax_c Σ_j ln(1 − C + Σ_k c_k S_jk) + n0 ln(1 − C), c_k >= 0, C < 1: cyclic exact coordinate ascent
    (each coordinate a 1-D concave problem, its derivative bracketed and solved by Brent's method)."""
    k = s.shape[1]
    c = np.clip(np.asarray(c0, float).copy(), 0.0, None)
    if c.sum() >= 1.0:
        c *= 0.5 / c.sum()
    for _sweep in range(200):
        prev = c.copy()
        for kk in range(k):
            others = c.sum() - c[kk]
            a = 1.0 - others + s @ c - c[kk] * s[:, kk]  # D_j = a_j + c_kk (S_jk − 1)
            a0 = 1.0 - others  # a source without candidates: D = a0 − c_kk
            slope = s[:, kk] - 1.0

            def g(x: float) -> float:
                v = float(np.sum(slope / (a + x * slope)))  # noqa: B023
                return v - (n0 / (a0 - x) if n0 else 0.0)  # noqa: B023

            neg = slope < 0
            hi = a0
            if neg.any():
                hi = min(hi, float(np.min(a[neg] / -slope[neg])))
            hi_eps = hi * (1.0 - 1e-12)
            if g(0.0) <= 0.0:
                c[kk] = 0.0
            elif g(hi_eps) >= 0.0:
                c[kk] = hi_eps
            else:
                c[kk] = brentq(g, 0.0, hi_eps, xtol=1e-15, rtol=1e-13, maxiter=500)
        if np.all(np.abs(c - prev) <= 1e-13 + 1e-10 * c):
            break
    return c


def _c_errors(s: FloatArray, n0: int, c: FloatArray) -> tuple[FloatArray, float]:
    """Observed-information errors of c (per class, and of C) at the maximum, L fixed; a class at the boundary
    (c_k = 0) gets 1/√I_kk."""
    d = 1.0 - c.sum() + s @ c
    g = (s - 1.0) / d[:, None]
    info = g.T @ g
    if n0:
        info = info + n0 / (1.0 - c.sum()) ** 2
    err = np.full(c.size, np.nan)
    free = c > 0
    total = float("nan")
    diag = np.diag(info)
    with np.errstate(divide="ignore", invalid="ignore"):
        err[~free] = np.where(diag[~free] > 0, 1.0 / np.sqrt(diag[~free]), np.nan)
    try:
        if free.any():
            cov = np.linalg.inv(info[np.ix_(free, free)])
            err[free] = np.sqrt(np.clip(np.diag(cov), 0, None))
            total = float(math.sqrt(max(float(cov.sum()), 0.0)))
        elif np.isfinite(err).any():
            total = float(np.nanmax(err))
    except np.linalg.LinAlgError:
        pass
    return err, total


def _posteriors(hyp: Hypotheses, c: FloatArray, ln_l: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(p_any, p_i, ln prior odds) per hypothesis: ln P = ln c_k − ln(1 − C) − ln(4πν)."""
    ln_c = np.log(np.maximum(c, 1e-300))
    ln_prior = ln_c[hyp.cls] - math.log1p(-min(float(c.sum()), 1.0 - 1e-15)) - hyp.ln_4pi_nu
    if hyp.n == 0:
        return np.zeros(0), np.zeros(0), ln_prior
    p_any, p_i = probabilities_from_log_weights(hyp.src, hyp.ln_b + ln_l + ln_prior)
    return p_any, p_i, ln_prior


def _field_histograms(hyp: Hypotheses, features: tuple[str, ...]) -> dict[str, dict[str, PropertyHistogram]]:
    out: dict[str, dict[str, PropertyHistogram]] = {}
    control = hyp.control
    for k, name in enumerate(hyp.classes):
        sel = control & (hyp.cls == k)
        out[name] = {f: field_histogram(f, hyp.slots[f][sel], hyp.field_weight[sel]) for f in features}
    return out


def _fallback_fit(
    name: str, classes: tuple[str, ...], features: tuple[str, ...], default_c: float, reason: str, n_real: int = 0
) -> PriorFit:
    hists = {k: {f: neutral_histogram(f, reason) for f in features} for k in classes}
    return PriorFit(
        name,
        "fallback",
        reason,
        classes,
        np.full(len(classes), default_c),
        np.full(len(classes), np.nan),
        float("nan"),
        hists,
        n_real=n_real,
    )


def counterpart_pools(classes: tuple[str, ...], shared: bool) -> IntArray:
    """Pool index per class: the classes whose expected counterparts together learn one counterpart
    distribution — the density bands of one catalogue when ``shared``, else every class alone."""
    keys = [class_catalogue(k) if shared else k for k in classes]
    return np.unique(np.array(keys, dtype=object).astype(str), return_inverse=True)[1].astype(np.int64).reshape(-1)


def _em(
    hyp: Hypotheses,
    n0: int,
    field: dict[str, dict[str, PropertyHistogram]],
    pseudo_count: float,
    c0: FloatArray,
    max_iterations: int,
    shared: bool = True,
) -> tuple[FloatArray, dict, int, bool]:
    """EM from the start c0 with L = 1: E-step with the current (c, L) first — solving c on positions alone
    before any histogram is learned can land on the trivial fixed point c = 0, where posteriors vanish and the
    histograms never move — then the counterpart histograms (MAP M-step; ``shared``: one counterpart count per
    catalogue over its density bands, each band shrunk toward its own field), then c exactly for the new L.
    Returns (c, histograms, iterations, converged)."""
    classes = hyp.classes
    real = ~hyp.control
    hists, c = field, c0.copy()
    ln_l = np.zeros(hyp.n)
    tmp = PriorFit("em", "fitted", None, classes, c, c, 0.0, hists)
    pool_of_cls = counterpart_pools(classes, shared)
    pool_of_hyp = pool_of_cls[hyp.cls] if hyp.n else np.zeros(0, np.int64)
    for it in range(1, max_iterations + 1):
        p_any, p_i, _ = _posteriors(hyp, c, ln_l)
        post = p_any * p_i
        new = {}
        for ki, k in enumerate(classes):
            sel = real & (pool_of_hyp == pool_of_cls[ki])
            new[k] = {f: with_counterparts(h, hyp.slots[f][sel], post[sel], pseudo_count) for f, h in field[k].items()}
        delta = max(
            (
                float(np.max(np.abs(new[k][f].ln_ratio_per_slot - hists[k][f].ln_ratio_per_slot)))
                for k in classes
                for f in hists[k]
            ),
            default=0.0,
        )
        hists = tmp.histograms = new
        ln_l = tmp.ln_ratio(hyp)
        c_new = _solve_c(_source_sums(hyp, _ln_r(hyp, ln_l)), n0, c)
        dc_ok = bool(np.all(np.abs(c_new - c) <= 1e-12 + TOL_C_REL * c_new))
        c = c_new
        if delta < TOL_LN_RATIO and dc_ok:
            return c, hists, it, True
    return c, hists, max_iterations, False


def _penalised_log_likelihood(hyp: Hypotheses, n0: int, fit: PriorFit) -> float:
    """ln L(c, f_cp) + Σ a·f_field,b·ln f_cp,b over the learned histograms (the Dirichlet prior of the M-step):
    the objective the EM climbs, comparable between starts."""
    ll = _log_likelihood(_source_sums(hyp, _ln_r(hyp, fit.ln_ratio(hyp))), n0, fit.c)
    for v in fit.histograms.values():
        for h in v.values():
            if h.status == "learned":
                ll += float(np.sum(h.pseudo_count * h.field * np.log(h.counterpart)))
    return ll


def fit_priors(
    hyp: Hypotheses,
    n_real: int,
    features: tuple[str, ...],
    pseudo_count: float,
    default_c: float,
    *,
    name: str = "joint",
    known: dict[str, dict[str, IntArray]] | None = None,
    max_iterations: int = MAX_ITERATIONS,
    shared: bool = True,
) -> PriorFit:
    """Fit c per class (and, with ``features``, the counterpart histograms) on the real hypotheses of ``hyp``,
    ``n_real`` being every real source the table stands for (matched or not); the field histograms come from its
    control hypotheses. Without histograms to learn (positions only, or ``known``: class → feature → slots of
    known radio stars, which fix the counterpart histograms) c is the exact maximum. With them, EM from each
    start in :data:`EM_STARTS` (c per class = max(the start, ``default_c``)), keeping the highest penalised
    likelihood. See the module docstring."""
    classes = hyp.classes
    if n_real < 1:
        return _fallback_fit(name, classes, features, default_c, "no real radio sources")
    hists = _field_histograms(hyp, features)
    status = "fitted"
    if known is not None and features:
        status = "table"
        for k in classes:
            for f in features:
                if hists[k][f].status == "neutral":
                    continue
                slots = known.get(k, {}).get(f)
                if slots is None:
                    hists[k][f] = neutral_histogram(f, f"the known-star table has no {k} rows")
                else:
                    hists[k][f] = with_counterparts(hists[k][f], slots, np.ones(slots.size), pseudo_count, "table")
    learn = known is None and any(h.status != "neutral" for v in hists.values() for h in v.values())
    n_with = int((~hyp.src_control).sum())
    n0 = n_real - n_with
    n_cls = max(len(classes), 1)
    fit = PriorFit(
        name,
        status,
        None,
        classes,
        np.zeros(len(classes)),
        np.full(len(classes), np.nan),
        float("nan"),
        hists,
        n_real=n_real,
    )
    if not classes or n_with == 0:  # no real candidates: c = 0, nothing to learn
        fit.c_err, fit.c_total_err = _c_errors(np.zeros((0, len(classes))), n0, fit.c)
        fit.mean_p_any = 0.0
        fit.log_likelihood = 0.0
        return fit
    if not learn:
        fit.c = _solve_c(
            _source_sums(hyp, _ln_r(hyp, fit.ln_ratio(hyp))), n0, np.full(len(classes), min(default_c, 0.5 / n_cls))
        )
        fit.iterations = 1
    else:
        best, objective, failures = None, -np.inf, []
        for start in EM_STARTS:
            c0 = np.full(len(classes), min(max(start, default_c), 0.5 / n_cls))
            c, h, it, ok = _em(hyp, n0, hists, pseudo_count, c0, max_iterations, shared)
            if not ok:
                failures.append(start)
                continue
            trial = PriorFit(
                name, status, None, classes, c, fit.c_err, fit.c_total_err, h, n_real=n_real, iterations=it
            )
            value = _penalised_log_likelihood(hyp, n0, trial)
            if value > objective:
                best, objective = trial, value
        if best is None:
            return _fallback_fit(
                name,
                classes,
                features,
                default_c,
                f"the prior fit did not converge in {max_iterations} iterations",
                n_real,
            )
        fit = best
    ln_l = fit.ln_ratio(hyp)
    s = _source_sums(hyp, _ln_r(hyp, ln_l))
    fit.c_err, fit.c_total_err = _c_errors(s, n0, fit.c)
    fit.log_likelihood = _log_likelihood(s, n0, fit.c)
    p_any, _, _ = _posteriors(hyp, fit.c, ln_l)
    per_src = np.zeros(hyp.n_src)
    per_src[hyp.src] = p_any
    fit.mean_p_any = float(per_src[~hyp.src_control].sum() / n_real)
    return fit


def _known_slots(
    known: pd.DataFrame, classes: tuple[str, ...], features: tuple[str, ...]
) -> dict[str, dict[str, IntArray]]:
    if not isinstance(known, pd.DataFrame):
        raise ValueError(f"known_counterparts: expected a pandas DataFrame, got {type(known).__name__}")
    need = sorted({c for f in features for c in FEATURE_COLUMNS[f]})
    missing = [c for c in need if c not in known.columns]
    if missing:
        raise ValueError(f"known_counterparts: missing column(s) {missing} for features {list(features)}")
    if len(known) == 0:
        raise ValueError("known_counterparts: the table is empty")
    out: dict[str, dict[str, IntArray]] = {}
    for k in classes:
        rows = (
            known if "catalogue" not in known.columns else known[known["catalogue"].astype(str) == class_catalogue(k)]
        )
        if len(rows):
            out[k] = {f: bin_slots(FEATURES[f], feature_values(rows, f)) for f in features}
    return out


# ------------------------------------------------------------------------------------- association counts
def association_count_estimate(
    n_real: int, n_control: int, real_src_with: int, control_src_with: int, real_hyp: int, control_hyp: int
) -> dict[str, Any]:
    """c from real vs shifted-control association counts (module docstring): blanks (Fleuren et al. 2012) and
    excess of associations, each with its 1σ error."""
    out: dict[str, Any] = {
        "n_real_sources": n_real,
        "n_control_sources": n_control,
        "n_real_with_candidates": real_src_with,
        "n_control_with_candidates": control_src_with,
        "n_real_hypotheses": real_hyp,
        "n_control_hypotheses": control_hyp,
        "from_blanks": None,
        "from_excess": None,
    }
    if n_real < 1 or n_control < 1:
        return out
    fr, fc = real_src_with / n_real, control_src_with / n_control
    if fc < 1.0:
        c = (fr - fc) / (1.0 - fc)
        var_r, var_c = fr * (1 - fr) / n_real, fc * (1 - fc) / n_control
        err = math.sqrt(var_r / (1 - fc) ** 2 + ((1 - fr) / (1 - fc) ** 2) ** 2 * var_c)
        out["from_blanks"] = {"c": c, "c_err": err, "f_real": fr, "f_control": fc}
    ex = real_hyp / n_real - control_hyp / n_control
    out["from_excess"] = {
        "c": ex,
        "c_err": math.sqrt(real_hyp / n_real**2 + control_hyp / n_control**2),
        "per_real_source": real_hyp / n_real,
        "per_control_source": control_hyp / n_control,
    }
    return out


# ------------------------------------------------------------------------------------------------ the run
@dataclass
class RunPosterior:
    """Scored pairs (input columns + :data:`SCORED_COLUMNS`) of the real and the control sources, the JSON-ready
    metrics (keys in docs/crossmatch.md §6) and the fitted models (``fits``: ``joint``, ``position_only`` and one
    per catalogue, each fitted on every source; ``<name>_fold<f>``: fitted without fold f, which it scores)."""

    real_pairs: pd.DataFrame
    control_pairs: pd.DataFrame
    metrics: dict[str, Any]
    fits: dict[str, PriorFit]


@dataclass
class _Model:
    full: PriorFit
    folds: list[PriorFit]
    fold_notes: list[str]
    p_any: FloatArray  # per hypothesis, cross-fitted
    p_i: FloatArray
    ln_prior: FloatArray
    ln_l: FloatArray

    def to_dict(self, hyp: Hypotheses) -> dict[str, Any]:
        per_src = np.zeros(hyp.n_src)
        per_src[hyp.src] = self.p_any
        n = self.full.n_real
        return {
            **self.full.to_dict(),
            "folds": [f.summary() for f in self.folds],
            "fold_notes": self.fold_notes,
            "mean_p_any_cross_fitted": float(per_src[~hyp.src_control].sum() / n) if n else None,
        }


def _cross_fitted(hyp: Hypotheses, n_real: int, fit_fn, name: str) -> _Model:
    """The model fitted on every source (reported) and, for each fold, fitted on the other folds and used to
    score the fold: no source's posterior comes from a fit that saw its own candidates (or, for a control source,
    its own field stars). The real-source count of a training set is n_real × its share of the real sources with
    candidates (the unmatched sources' folds are unknown)."""
    full = fit_fn(hyp, n_real, name)
    p_any, p_i, ln_prior, ln_l = (np.zeros(hyp.n) for _ in range(4))
    n_with = int((~hyp.src_control).sum())
    folds, notes = [], []
    for f in range(CROSS_FIT_FOLDS):
        train = hyp.subset(hyp.src_fold != f)
        n_with_train = int((~train.src_control).sum())
        scored = np.flatnonzero(hyp.src_fold[hyp.src] == f)
        if n_with_train == 0:
            model = full
            notes.append(f"fold {f}: no real source with candidates outside it; scored by the fit on all sources")
        else:
            n_train = max(n_with_train, int(round(n_real * n_with_train / n_with))) if n_with else n_with_train
            model = fit_fn(train, n_train, f"{name}_fold{f}")
            if model.status != "fallback" and full.status != "fallback":
                # a fold holding few (or no) real counterparts of a class fits c_k on EM's boundary 0, which makes
                # that class impossible for every source of the scored fold (seen: 2 of 9 sample stars at
                # p_any ~ 1e-299): there, and only there, the fit on all sources gives c_k. Elsewhere c stays
                # cross-fitted (fitting c on the scored sources adds ~8 % false selections, below).
                full_c = full.c_for(model.classes)
                for ki, k in enumerate(model.classes):
                    if model.c[ki] <= 0.0 < full_c[ki]:
                        model.c[ki] = full_c[ki]
                        notes.append(
                            f"fold {f}: c_{k} fitted 0 without it; scored with c_{k} of the fit on all sources"
                        )
        folds.append(model)
        if scored.size:
            a, b, c, d = model.score(hyp.subset(hyp.src_fold == f))
            p_any[scored], p_i[scored], ln_prior[scored], ln_l[scored] = a, b, c, d
    return _Model(full, folds, notes, p_any, p_i, ln_prior, ln_l)


def _per_source_p_any(hyp: Hypotheses, p_any: FloatArray, control: bool) -> FloatArray:
    per_src = np.zeros(hyp.n_src)
    per_src[hyp.src] = p_any
    return per_src[hyp.src_control == control]


def _cut(
    hyp: Hypotheses,
    p_any: FloatArray,
    n_real: int,
    n_control: int,
    c_hat: float,
    params: CrossmatchParams,
    fallback_reason: str | None,
) -> ReliabilityCut:
    real = _per_source_p_any(hyp, p_any, False)
    c = min(max(c_hat, 0.0), 1.0)
    if fallback_reason is not None or n_real < 1 or n_control < 1:
        return fallback_reliability_cut(
            real, max(n_real, 1), n_control, c, params.target_reliability, fallback_reason or "no real radio sources"
        )
    return choose_reliability_cut(
        real, n_real, _per_source_p_any(hyp, p_any, True), n_control, c, params.target_reliability
    )


def score_run(
    pairs: pd.DataFrame,
    n_real: int,
    n_control: int,
    params: CrossmatchParams,
    *,
    known_counterparts: pd.DataFrame | None = None,
) -> RunPosterior:
    """Joint posterior, fitted priors and the reliability cut of one run (module docstring).

    ``pairs``: every candidate pair of the real (control_offset −1) and shifted-control (k ≥ 0) radio sources,
    columns :data:`PAIRS_INPUT`; ``n_real``/``n_control``: the numbers of real and shifted-control radio sources,
    matched or not; ``params``: the run's :class:`CrossmatchParams` (``prior_completeness`` = the fallback c,
    ``property_features``, ``property_prior_pseudo_count``, ``target_reliability``,
    ``prior_fit_min_control_sources``, ``same_star_*``); ``known_counterparts``: optional table of known radio
    stars (the feature columns of :data:`PAIRS_INPUT`, optional ``catalogue``) supplying the counterpart
    distributions instead of learning them. ValueError for bad input, naming the column or argument.
    """
    if not isinstance(params, CrossmatchParams):
        raise ValueError(f"params: expected CrossmatchParams, got {type(params).__name__}")
    n_real = _count("n_real", n_real)
    n_control = _count("n_control", n_control)
    prep = _prepare(pairs, params)
    frame = prep.frame
    is_ctrl_row = frame["control_offset"].to_numpy() >= 0
    n_real_src = int((~prep.src_control).sum())
    n_ctrl_src = int(prep.src_control.sum())
    if n_real_src > n_real:
        raise ValueError(f"n_real: {n_real} but the pairs name {n_real_src} real radio sources")
    if n_ctrl_src > n_control:
        raise ValueError(f"n_control: {n_control} but the pairs name {n_ctrl_src} shifted-control sources")
    features = tuple(params.property_features)
    fallback = None
    if n_real < 1:
        fallback = "no real radio sources"
    elif n_control < params.prior_fit_min_control_sources:
        fallback = (
            f"control too small: {n_control} shifted-control sources < prior_fit_min_control_sources "
            f"{params.prior_fit_min_control_sources}"
        )
    default_c = params.prior_completeness
    all_rows = np.arange(len(frame), dtype=np.int64)
    joint = _hypotheses(prep, all_rows, prep.row_hyp, features)
    known = _known_slots(known_counterparts, joint.classes, features) if known_counterparts is not None else None

    def fitter(feats: tuple[str, ...]):
        def fit(h: Hypotheses, n: int, name: str) -> PriorFit:
            if fallback is not None:
                return _fallback_fit(name, h.classes, feats, default_c, fallback, n)
            return fit_priors(
                h,
                n,
                feats,
                params.property_prior_pseudo_count,
                default_c,
                name=name,
                known=known if feats else None,
                shared=params.share_counterpart_priors_across_bands,
            )

        return fit

    m_joint = _cross_fitted(joint, n_real, fitter(features), "joint")
    m_pos = _cross_fitted(joint, n_real, fitter(()), "position_only")
    fits = {
        "joint": m_joint.full,
        "position_only": m_pos.full,
        **{f"joint_fold{i}": f for i, f in enumerate(m_joint.folds)},
        **{f"position_only_fold{i}": f for i, f in enumerate(m_pos.folds)},
    }

    # each catalogue alone (every row its own hypothesis)
    cat = frame["catalogue"].to_numpy()
    p_any_cat = np.full(len(frame), np.nan)
    p_i_cat = np.full(len(frame), np.nan)
    per_cat: dict[str, Any] = {}
    per_cat_counts: dict[str, Any] = {}
    for name in sorted(set(cat)):
        h = _hypotheses(prep, np.flatnonzero(cat == name), all_rows, features)
        m = _cross_fitted(h, n_real, fitter(features), name)
        p_any_cat[h.primary_row], p_i_cat[h.primary_row] = m.p_any, m.p_i
        per_cat[name] = m.to_dict(h)
        fits[name] = m.full
        fits.update({f"{name}_fold{i}": f for i, f in enumerate(m.folds)})
        per_cat_counts[name] = association_count_estimate(
            n_real,
            n_control,
            int((~h.src_control).sum()),
            int(h.src_control.sum()),
            int((~h.control).sum()),
            int(h.control.sum()),
        )

    # back to rows: every row takes its star's values
    _, hyp_of_row = np.unique(prep.row_hyp, return_inverse=True)
    prior = np.exp(m_joint.ln_prior)
    p_clip = np.minimum(prior, 1.0)
    with np.errstate(over="ignore", divide="ignore"):
        x = np.log1p(-np.minimum(p_clip, 1.0 - 1e-16)) - (joint.ln_b + m_joint.ln_l) - np.log(p_clip)
        p_single = np.where(p_clip >= 1.0, 1.0, 1.0 / (1.0 + np.exp(np.minimum(x, 700.0))))
    # star ranks by joint p_i (ties: the star's sep/σ, catalogue, id)
    if joint.n:
        order = np.lexsort(
            (
                frame["optical_id"].to_numpy()[joint.primary_row],
                cat[joint.primary_row],
                joint.sep_sigma,
                -m_joint.p_i,
                joint.src,
            )
        )
        srt = joint.src[order]
        start = np.r_[0, np.flatnonzero(srt[1:] != srt[:-1]) + 1]
        star_rank = np.empty(joint.n, np.int64)
        star_rank[order] = np.arange(joint.n) - np.repeat(start, np.diff(np.r_[start, joint.n])) + 1
        n_stars = np.bincount(joint.src, minlength=joint.n_src)[joint.src]
    else:
        star_rank = n_stars = np.zeros(0, np.int64)
    is_primary = np.zeros(len(frame), bool)
    is_primary[joint.primary_row] = True
    scored = {
        "p_any": m_joint.p_any[hyp_of_row],
        "p_i": m_joint.p_i[hyp_of_row],
        "p_any_position_only": m_pos.p_any[hyp_of_row],
        "p_i_position_only": m_pos.p_i[hyp_of_row],
        "p_any_in_catalogue": p_any_cat,
        "p_i_in_catalogue": p_i_cat,
        "ln_property_ratio": m_joint.ln_l[hyp_of_row],
        "prior": prior[hyp_of_row],
        "p_single": p_single[hyp_of_row],
        "star_rank": star_rank[hyp_of_row].astype(np.int32),
        "n_stars": n_stars[hyp_of_row].astype(np.int32),
        "is_star_primary": is_primary,
        "fold": prep.src_fold[prep.src].astype(np.int8),
        **{col: prep.links[col].array for col in prep.links.columns},
    }

    def rows_of(mask: BoolArray) -> pd.DataFrame:  # one copy per output, no intermediate frame of all rows
        idx = np.flatnonzero(mask)
        new = pd.DataFrame({k: v[idx] for k, v in scored.items()})
        return pd.concat([frame.iloc[idx].reset_index(drop=True), new], axis=1)

    cut = _cut(joint, m_joint.p_any, n_real, n_control, m_joint.full.c_total, params, fallback)
    cut_pos = _cut(joint, m_pos.p_any, n_real, n_control, m_pos.full.c_total, params, fallback)
    reasons = {f.reason for f in fits.values() if f.status == "fallback" and f.reason}
    if cut.status == "fallback" and cut.reason:
        reasons.add(cut.reason)
    linked = prep.links["same_star_id"].notna().to_numpy()
    rule = params.same_star_rule()
    metrics: dict[str, Any] = {
        "n_real_sources": n_real,
        "n_control_sources": n_control,
        "n_real_pairs": int((~is_ctrl_row).sum()),
        "n_control_pairs": int(is_ctrl_row.sum()),
        "n_real_sources_with_candidates": n_real_src,
        "n_control_sources_with_candidates": n_ctrl_src,
        "n_pairs_zero_density": prep.n_zero_density,
        "catalogues": sorted(set(cat)),
        "features": list(features),
        "feature_independence": "the product of per-feature ratios assumes the features independent given the "
        "hypothesis (as NWAY); correlated features (brightness, parallax and motion of "
        "near stars) make p_any over-confident; the reliability cut is estimated on the "
        "control with the same posterior",
        "property_prior_source": "none" if not features else ("table" if known is not None else "learned"),
        "cross_fit_folds": CROSS_FIT_FOLDS,
        "same_star": {
            "rule": rule.to_dict(),
            "definition": rule.definition(),
            "n_links": int(linked.sum()) // 2,
            "n_links_real": int((linked & ~is_ctrl_row).sum()) // 2,
            "n_links_control": int((linked & is_ctrl_row).sum()) // 2,
        },
        "prior_fit": {"joint": m_joint.to_dict(joint), "position_only": m_pos.to_dict(joint), "per_catalogue": per_cat},
        "association_count": {
            "joint": association_count_estimate(
                n_real, n_control, n_real_src, n_ctrl_src, int((~joint.control).sum()), int(joint.control.sum())
            ),
            "per_catalogue": per_cat_counts,
        },
        "calibration": cut.to_dict(),
        "calibration_position_only": cut_pos.to_dict(),
        "fallbacks": sorted(reasons),
    }
    return RunPosterior(
        real_pairs=rows_of(~is_ctrl_row), control_pairs=rows_of(is_ctrl_row), metrics=metrics, fits=fits
    )
