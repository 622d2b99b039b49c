"""Per-partition positional cross-match of radio sources against an optical catalogue.

Algorithm (one HEALPix partition; cost ~ linear in rows, no cartesian product):

1. Radio rows → unit vectors, one ``cKDTree``. Their epochs span [t_lo, t_hi].
2. Optical rows → the sky track over [t_lo, t_hi] (:func:`epoch.track_bounds`): centre c_i and
   half-arc h_i; every position the source takes at a radio epoch is within h_i of c_i.
3. Coarse search: a pair (j, i) can match only if ψ(radio_j, c_i) ≤ r_max + h_i. The bulk of the
   rows (h_i ≤ 0.1 r_max) is searched in one dual-tree pass (``cKDTree.sparse_distance_matrix``)
   at chord(1.1 r_max); faster movers go to tiers of doubling radius, each with its own small
   tree, so one Barnard's star does not inflate everyone's search radius.
4. Cheap pre-cut ψ_coarse − h_i ≤ R_ij, then for the survivors the rigorous propagation of the
   optical position to the radio epoch t_j, the exact (Vincenty) separation ψ_ij, and
   σ_ij² = σ_radio,j² + σ_opt,i(t_j)² + σ_sys²; keep ψ_ij ≤ R_ij = min(r_max, max(r_min, n_σ σ_ij)).
5. Pairs are emitted only for radio rows whose home pixel is the partition's pixel; with optical
   rows copied into margins (:mod:`partition`) every pair is therefore found exactly once.
6. Rank per radio source by (sep_sigma, sep_arcsec); optional greedy one-to-one.

Why a KD-tree per partition: a partition holds ~10³–10⁶ rows, a tree builds in O(n log n) and
answers radius queries in O(log n + k) without choosing a cell size, works on unit vectors (no
seam or pole singularity), and is what astropy's ``search_around_sky`` uses — so the reference
and this code share the geometry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from .epoch import (
    circular_sigma,
    pm_missing_mask,
    propagate_radec,
    propagate_sigma_mas,
    reach_bound_arcsec,
    track_bounds,
)
from .params import CrossmatchParams
from .partition import home_pixel, margin_pixels
from .separation import arcsec_from_chord, chord_from_arcsec, radec_to_xyz, separation_arcsec

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

RADIO_REQUIRED: tuple[str, ...] = ("radio_id", "ra_deg", "dec_deg", "sigma_radio_arcsec", "epoch_yr")
RADIO_OPTIONAL: tuple[str, ...] = ("healpix",)
OPTICAL_REQUIRED: tuple[str, ...] = ("optical_id", "ra_deg", "dec_deg", "ref_epoch_yr", "ra_error_mas", "dec_error_mas")
OPTICAL_OPTIONAL: tuple[str, ...] = (
    "pmra_mas_yr",
    "pmdec_mas_yr",
    "parallax_mas",
    "pmra_error_mas_yr",
    "pmdec_error_mas_yr",
    "rv_km_s",
    "catalogue",
)

#: Output schema of :func:`match_partition` (column → numpy/pandas dtype). ``radio_id`` keeps the
#: dtype of the input column (a string for SMGPS source names).
PAIR_SCHEMA: dict[str, str] = {
    "radio_id": "object",
    "optical_id": "int64",
    "catalogue": "object",
    "healpix": "int64",
    "sep_arcsec": "float64",
    "sep_sigma": "float64",
    "sigma_arcsec": "float64",
    "sigma_radio_arcsec": "float64",
    "sigma_opt_arcsec": "float64",
    "match_radius_arcsec": "float64",
    "ra_opt_deg": "float64",
    "dec_opt_deg": "float64",
    "radio_epoch_yr": "float64",
    "dt_yr": "float64",
    "pm_missing": "bool",
    "rank": "int32",
    "n_candidates": "int32",
}

APPROX_TRACK_MAX_ARCSEC = 0.1  # rows moving less than this use their catalogue place as track centre
BULK_PAD_FRACTION = 0.1  # rows with half-arc <= 0.1 r_max share the bulk search
COARSE_SAFETY_ARCSEC = 1e-3  # 1 mas slack on coarse radii (rounding of chords / arcs)


# --------------------------------------------------------------------------- validation
def _check_columns(df: pd.DataFrame, name: str, required: tuple[str, ...]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {missing}")


def _finite(
    df: pd.DataFrame,
    name: str,
    col: str,
    *,
    allow_nan: bool = False,
    min_value: float | None = None,
    strict: bool = False,
) -> None:
    try:
        v = df[col].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}.{col}: not numeric ({exc})") from exc
    bad = np.isinf(v) if allow_nan else ~np.isfinite(v)
    if bad.any():
        raise ValueError(f"{name}.{col}: {int(bad.sum())} {'infinite' if allow_nan else 'non-finite'} value(s)")
    if min_value is not None:
        below = (v <= min_value) if strict else (v < min_value)
        below &= np.isfinite(v)
        if below.any():
            raise ValueError(f"{name}.{col}: {int(below.sum())} value(s) {'<=' if strict else '<'} {min_value}")


def validate_radio_frame(radio: pd.DataFrame) -> None:
    """Check a radio partition frame: columns ``RADIO_REQUIRED``; finite positions with
    |dec| ≤ 90; σ > 0; epochs as Julian years in [1000, 3000]; unique ``radio_id``."""
    _check_columns(radio, "radio", RADIO_REQUIRED)
    for col in ("ra_deg", "dec_deg", "epoch_yr"):
        _finite(radio, "radio", col)
    _finite(radio, "radio", "sigma_radio_arcsec", min_value=0.0, strict=True)
    if (radio["dec_deg"].abs() > 90).any():
        raise ValueError("radio.dec_deg: values outside [-90, 90]")
    ep = radio["epoch_yr"].to_numpy(float)
    if ((ep < 1000) | (ep > 3000)).any():
        raise ValueError("radio.epoch_yr: must be Julian years (convert MJD with epoch.mjd_to_jyear)")
    if radio["radio_id"].isna().any():
        raise ValueError("radio.radio_id: null id(s)")
    if radio["radio_id"].duplicated().any():
        raise ValueError(f"radio.radio_id: {int(radio['radio_id'].duplicated().sum())} duplicated id(s)")


def validate_optical_frame(optical: pd.DataFrame) -> None:
    """Check an optical partition frame: columns ``OPTICAL_REQUIRED``; finite positions, epochs
    and position errors (≥ 0); pm / parallax / rv may be NaN (missing) but not infinite; pm
    errors must be ≥ 0 where given; ``optical_id`` integer-valued and not null."""
    _check_columns(optical, "optical", OPTICAL_REQUIRED)
    for col in ("ra_deg", "dec_deg", "ref_epoch_yr"):
        _finite(optical, "optical", col)
    for col in ("ra_error_mas", "dec_error_mas"):
        _finite(optical, "optical", col, min_value=0.0)
    for col in ("pmra_mas_yr", "pmdec_mas_yr", "parallax_mas", "rv_km_s"):
        if col in optical.columns:
            _finite(optical, "optical", col, allow_nan=True)
    for col in ("pmra_error_mas_yr", "pmdec_error_mas_yr"):
        if col in optical.columns:
            _finite(optical, "optical", col, allow_nan=True, min_value=0.0)
    if (optical["dec_deg"].abs() > 90).any():
        raise ValueError("optical.dec_deg: values outside [-90, 90]")
    ep = optical["ref_epoch_yr"].to_numpy(float)
    if ((ep < 1000) | (ep > 3000)).any():
        raise ValueError("optical.ref_epoch_yr: must be Julian years")
    if optical["optical_id"].isna().any():
        raise ValueError("optical.optical_id: null id(s)")
    if not pd.api.types.is_integer_dtype(optical["optical_id"]):
        raise ValueError(f"optical.optical_id: must be integer, got {optical['optical_id'].dtype}")


def _col(df: pd.DataFrame, col: str, default: float = np.nan) -> FloatArray:
    if col in df.columns:
        return df[col].to_numpy(dtype=np.float64, na_value=np.nan)
    return np.full(len(df), default, dtype=np.float64)


# --------------------------------------------------------------------------- prepared inputs
@dataclass
class PreparedOptical:
    """Optical rows with their sky tracks over a radio epoch range (internal, reusable)."""

    ra_deg: FloatArray
    dec_deg: FloatArray
    pmra: FloatArray
    pmdec: FloatArray
    parallax: FloatArray
    rv: FloatArray
    ref_epoch: FloatArray
    sig_ra: FloatArray
    sig_dec: FloatArray
    sig_pmra: FloatArray
    sig_pmdec: FloatArray
    pm_missing: npt.NDArray[np.bool_]
    centre_xyz: FloatArray
    half_arc_arcsec: FloatArray
    optical_id: IntArray
    catalogue: np.ndarray
    _tree: cKDTree | None = None

    @property
    def tree(self) -> cKDTree:
        """KD-tree over all track centres (built once; shared by matching and density)."""
        if self._tree is None:
            self._tree = cKDTree(self.centre_xyz, balanced_tree=False, compact_nodes=False)
        return self._tree


def prepare_optical(
    optical: pd.DataFrame, epoch_lo_yr: float, epoch_hi_yr: float, catalogue: str = "optical"
) -> PreparedOptical:
    """Validate ``optical`` and compute its sky tracks over [epoch_lo_yr, epoch_hi_yr]."""
    validate_optical_frame(optical)
    ra = _col(optical, "ra_deg")
    dec = _col(optical, "dec_deg")
    pmra, pmdec = _col(optical, "pmra_mas_yr"), _col(optical, "pmdec_mas_yr")
    plx, rv = _col(optical, "parallax_mas"), _col(optical, "rv_km_s")
    t_ref = _col(optical, "ref_epoch_yr")
    # slow movers (most rows) need no propagation here: every position they take lies within the
    # reach bound μ·Δt of the catalogue place, a valid (slightly looser) centre/half-arc for the
    # coarse search; the exact track is computed for the rest and for rows with a radial velocity
    half_arc = reach_bound_arcsec(pmra, pmdec, t_ref, epoch_lo_yr, epoch_hi_yr)
    cra, cdec = ra.copy(), dec.copy()
    exact = np.flatnonzero((half_arc > APPROX_TRACK_MAX_ARCSEC) | (np.isfinite(rv) & (rv != 0.0)))
    if exact.size:
        cra[exact], cdec[exact], half_arc[exact], _ = track_bounds(
            ra[exact],
            dec[exact],
            pmra[exact],
            pmdec[exact],
            plx[exact],
            t_ref[exact],
            epoch_lo_yr,
            epoch_hi_yr,
            rv[exact],
        )
    cat = (
        optical["catalogue"].astype(str).to_numpy(object)
        if "catalogue" in optical.columns
        else np.full(len(optical), catalogue, dtype=object)
    )
    return PreparedOptical(
        ra_deg=ra,
        dec_deg=dec,
        pmra=pmra,
        pmdec=pmdec,
        parallax=plx,
        rv=rv,
        ref_epoch=t_ref,
        sig_ra=_col(optical, "ra_error_mas"),
        sig_dec=_col(optical, "dec_error_mas"),
        sig_pmra=_col(optical, "pmra_error_mas_yr"),
        sig_pmdec=_col(optical, "pmdec_error_mas_yr"),
        pm_missing=pm_missing_mask(pmra, pmdec),
        centre_xyz=radec_to_xyz(cra, cdec).reshape(-1, 3),
        half_arc_arcsec=np.asarray(half_arc, dtype=np.float64),
        optical_id=optical["optical_id"].to_numpy(np.int64),
        catalogue=cat,
    )


# --------------------------------------------------------------------------- partitioning helpers
def radio_home_pixels(radio: pd.DataFrame, params: CrossmatchParams) -> IntArray:
    """Home pixel (nested, ``params.healpix_order``) of each radio row."""
    validate_radio_frame(radio)
    return home_pixel(radio["ra_deg"].to_numpy(float), radio["dec_deg"].to_numpy(float), params.healpix_order)


def optical_margin_arcsec(
    optical: pd.DataFrame,
    params: CrossmatchParams,
    epoch_lo_yr: float,
    epoch_hi_yr: float,
    base_margin_arcsec: float | None = None,
) -> FloatArray:
    """Per-row margin m_i = m + reach_i + 1 mas (m = ``base_margin_arcsec``, default
    params.margin_arcsec; the Spark engine, whose density comes from a count map, needs only the
    match radius), where reach_i bounds how far
    the source moves from its catalogue place at any epoch in [epoch_lo_yr, epoch_hi_yr] (the
    radio epoch range of the whole run): :func:`epoch.reach_bound_arcsec` (μ·Δt, no propagation)
    for rows without a radial velocity, the exact :func:`epoch.track_bounds` reach for the others."""
    validate_optical_frame(optical)
    if len(optical) == 0:
        return np.zeros(0)
    pmra, pmdec, t_ref = _col(optical, "pmra_mas_yr"), _col(optical, "pmdec_mas_yr"), _col(optical, "ref_epoch_yr")
    reach = reach_bound_arcsec(pmra, pmdec, t_ref, epoch_lo_yr, epoch_hi_yr)
    rv = _col(optical, "rv_km_s")
    radial = np.flatnonzero(np.isfinite(rv) & (rv != 0.0))
    if radial.size:
        _, _, _, reach[radial] = track_bounds(
            _col(optical, "ra_deg")[radial],
            _col(optical, "dec_deg")[radial],
            pmra[radial],
            pmdec[radial],
            _col(optical, "parallax_mas")[radial],
            t_ref[radial],
            epoch_lo_yr,
            epoch_hi_yr,
            rv[radial],
        )
    base = params.margin_arcsec if base_margin_arcsec is None else float(base_margin_arcsec)
    if not (np.isfinite(base) and base >= 0):
        raise ValueError(f"base_margin_arcsec: must be finite and >= 0, got {base_margin_arcsec!r}")
    return base + reach + COARSE_SAFETY_ARCSEC


def optical_partition_membership(
    optical: pd.DataFrame,
    params: CrossmatchParams,
    epoch_lo_yr: float,
    epoch_hi_yr: float,
    base_margin_arcsec: float | None = None,
) -> tuple[IntArray, IntArray]:
    """(row_index, pixel) pairs: home pixel + margin copies of each optical row (for Spark's explode)."""
    margin = optical_margin_arcsec(optical, params, epoch_lo_yr, epoch_hi_yr, base_margin_arcsec)
    return margin_pixels(
        optical["ra_deg"].to_numpy(float), optical["dec_deg"].to_numpy(float), margin, params.healpix_order
    )


# --------------------------------------------------------------------------- matching
def _coarse_candidates(
    radio_xyz: FloatArray, opt: PreparedOptical, r_max: float
) -> tuple[IntArray, IntArray, FloatArray]:
    """(radio_idx, optical_idx, coarse_sep_arcsec) with ψ(radio, centre) ≤ r_max + half_arc (+slack)."""
    if radio_xyz.shape[0] == 0 or opt.centre_xyz.shape[0] == 0:
        e = np.zeros(0, np.int64)
        return e, e, np.zeros(0)
    rtree = cKDTree(radio_xyz, balanced_tree=False, compact_nodes=False)
    need = r_max + opt.half_arc_arcsec + COARSE_SAFETY_ARCSEC
    bulk_radius = r_max * (1.0 + BULK_PAD_FRACTION) + COARSE_SAFETY_ARCSEC
    bulk = need <= bulk_radius
    out_r, out_o, out_d = [], [], []
    sdm = rtree.sparse_distance_matrix(opt.tree, chord_from_arcsec(bulk_radius), output_type="ndarray")
    keep = bulk[sdm["j"]]
    out_r.append(sdm["i"][keep])
    out_o.append(sdm["j"][keep])
    out_d.append(sdm["v"][keep])
    fast = np.flatnonzero(~bulk)
    if fast.size:
        tier = np.ceil(np.log2(need[fast] / bulk_radius)).astype(int)
        for k in np.unique(tier):
            rows = fast[tier == k]
            radius = bulk_radius * 2.0**k
            t = cKDTree(opt.centre_xyz[rows], balanced_tree=False, compact_nodes=False)
            m = rtree.sparse_distance_matrix(t, chord_from_arcsec(radius), output_type="ndarray")
            out_r.append(m["i"])
            out_o.append(rows[m["j"]])
            out_d.append(m["v"])
    ri = np.concatenate(out_r).astype(np.int64)
    oi = np.concatenate(out_o).astype(np.int64)
    coarse = arcsec_from_chord(np.concatenate(out_d))
    ok = coarse <= need[oi]
    return ri[ok], oi[ok], coarse[ok]


def _sigma_opt_arcsec(opt: PreparedOptical, oi: IntArray, dt: FloatArray, missing_pm_sigma_mas_yr: float) -> FloatArray:
    miss = opt.pm_missing[oi]
    sa = propagate_sigma_mas(opt.sig_ra[oi], opt.sig_pmra[oi], dt, miss, missing_pm_sigma_mas_yr)
    sd = propagate_sigma_mas(opt.sig_dec[oi], opt.sig_pmdec[oi], dt, miss, missing_pm_sigma_mas_yr)
    return circular_sigma(sa, sd) / 1000.0


def match_radius_arcsec(sigma_arcsec: npt.ArrayLike, params: CrossmatchParams) -> FloatArray:
    """R = min(r_max, max(r_min, n_σ·σ))."""
    s = np.asarray(sigma_arcsec, dtype=np.float64)
    return np.minimum(params.radius_arcsec, np.maximum(params.r_min_arcsec, params.n_sigma * s))


def _empty_pairs(radio_id_dtype) -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=t) for c, t in PAIR_SCHEMA.items()})
    df["radio_id"] = df["radio_id"].astype(radio_id_dtype)
    return df


def rank_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """Sort by (radio_id, sep_sigma, sep_arcsec, catalogue, optical_id); set ``rank`` (1-based) and
    ``n_candidates`` per radio source. Returns a new frame with a fresh index."""
    if len(pairs) == 0:
        return pairs.assign(
            rank=pairs.get("rank", pd.Series(dtype="int32")).astype("int32"),
            n_candidates=pairs.get("n_candidates", pd.Series(dtype="int32")).astype("int32"),
        )
    rcode, _ = pd.factorize(pairs["radio_id"], sort=True)
    ccode, _ = pd.factorize(pairs["catalogue"], sort=True)
    order = np.lexsort(
        (pairs["optical_id"].to_numpy(), ccode, pairs["sep_arcsec"].to_numpy(), pairs["sep_sigma"].to_numpy(), rcode)
    )
    out = pairs.iloc[order].reset_index(drop=True)
    r = rcode[order]
    start = np.r_[True, r[1:] != r[:-1]]
    group_start = np.maximum.accumulate(np.where(start, np.arange(r.size), 0))
    counts = np.bincount(r, minlength=int(r.max()) + 1)
    out["rank"] = (np.arange(r.size) - group_start + 1).astype(np.int32)
    out["n_candidates"] = counts[r].astype(np.int32)
    return out


def one_to_one(pairs: pd.DataFrame) -> pd.DataFrame:
    """Greedy one-to-one: walk pairs by increasing (sep_sigma, sep_arcsec) and keep a pair only
    if neither its radio source nor its (catalogue, optical_id) is used yet. ``n_candidates``
    keeps the count before pruning. Partition-local: an optical source copied into two
    partitions' margins can still be used once in each (resolve globally if that matters)."""
    if len(pairs) == 0:
        return pairs
    order = np.lexsort((pairs["optical_id"].to_numpy(), pairs["sep_arcsec"].to_numpy(), pairs["sep_sigma"].to_numpy()))
    rcode, _ = pd.factorize(pairs["radio_id"])
    okey, _ = pd.factorize(pd.MultiIndex.from_arrays([pairs["catalogue"], pairs["optical_id"]]))
    used_r = np.zeros(rcode.max() + 1, bool)
    used_o = np.zeros(okey.max() + 1, bool)
    keep = np.zeros(len(pairs), bool)
    for k in order.tolist():
        r, o = rcode[k], okey[k]
        if not used_r[r] and not used_o[o]:
            used_r[r] = used_o[o] = True
            keep[k] = True
    out = pairs[keep].copy()
    out["rank"] = np.int32(1)
    return out.sort_values(["radio_id"], kind="stable").reset_index(drop=True)


def match_partition(
    radio: pd.DataFrame,
    optical: pd.DataFrame | PreparedOptical,
    params: CrossmatchParams,
    *,
    partition_pixel: int | None = None,
    catalogue: str = "optical",
) -> pd.DataFrame:
    """Cross-match one partition; returns pairs with the columns of ``PAIR_SCHEMA``.

    ``radio``: columns ``RADIO_REQUIRED`` (+ optional ``healpix`` home pixel at
    ``params.healpix_order``). ``optical``: columns ``OPTICAL_REQUIRED`` (+ optional
    ``OPTICAL_OPTIONAL``; a ``catalogue`` column overrides the ``catalogue`` argument), typically
    the partition's rows plus margin copies. If ``partition_pixel`` is given, only radio rows
    whose home pixel is that pixel produce pairs. A :class:`PreparedOptical` may be passed instead
    of a frame (its epoch range must cover the radio epochs).
    """
    if not isinstance(params, CrossmatchParams):
        raise ValueError(f"params: expected CrossmatchParams, got {type(params).__name__}")
    validate_radio_frame(radio)
    if partition_pixel is not None:
        if (
            isinstance(partition_pixel, bool)
            or not isinstance(partition_pixel, (int, np.integer))
            or not 0 <= partition_pixel < 12 * 4**params.healpix_order
        ):
            raise ValueError(
                f"partition_pixel: must be a pixel index at order {params.healpix_order}, got {partition_pixel!r}"
            )
    home = radio["healpix"].to_numpy(np.int64) if "healpix" in radio.columns else radio_home_pixels(radio, params)
    sel = np.arange(len(radio)) if partition_pixel is None else np.flatnonzero(home == partition_pixel)
    if sel.size == 0 or (isinstance(optical, pd.DataFrame) and len(optical) == 0):
        return _empty_pairs(radio["radio_id"].dtype)
    r_ra = radio["ra_deg"].to_numpy(float)[sel]
    r_dec = radio["dec_deg"].to_numpy(float)[sel]
    r_sig = radio["sigma_radio_arcsec"].to_numpy(float)[sel]
    r_ep = radio["epoch_yr"].to_numpy(float)[sel]
    if isinstance(optical, PreparedOptical):
        opt = optical
    else:
        opt = prepare_optical(optical, float(r_ep.min()), float(r_ep.max()), catalogue)
    if opt.optical_id.size == 0:
        return _empty_pairs(radio["radio_id"].dtype)

    ri, oi, coarse = _coarse_candidates(radec_to_xyz(r_ra, r_dec).reshape(-1, 3), opt, params.radius_arcsec)
    dt = r_ep[ri] - opt.ref_epoch[oi]
    s_opt = _sigma_opt_arcsec(opt, oi, dt, params.missing_pm_sigma_mas_yr)
    sigma = np.sqrt(r_sig[ri] ** 2 + s_opt**2 + params.sigma_sys_arcsec**2)
    radius = match_radius_arcsec(sigma, params)
    pre = coarse - opt.half_arc_arcsec[oi] - COARSE_SAFETY_ARCSEC <= radius
    ri, oi, dt, s_opt, sigma, radius = ri[pre], oi[pre], dt[pre], s_opt[pre], sigma[pre], radius[pre]
    ra_t, dec_t = propagate_radec(
        opt.ra_deg[oi],
        opt.dec_deg[oi],
        opt.pmra[oi],
        opt.pmdec[oi],
        opt.parallax[oi],
        opt.ref_epoch[oi],
        r_ep[ri],
        opt.rv[oi],
    )
    sep = separation_arcsec(r_ra[ri], r_dec[ri], ra_t, dec_t)
    ok = sep <= radius
    ri, oi = ri[ok], oi[ok]
    pairs = pd.DataFrame(
        {
            "radio_id": radio["radio_id"].to_numpy()[sel][ri],
            "optical_id": opt.optical_id[oi],
            "catalogue": opt.catalogue[oi],
            "healpix": home[sel][ri].astype(np.int64),
            "sep_arcsec": sep[ok],
            "sep_sigma": sep[ok] / sigma[ok],
            "sigma_arcsec": sigma[ok],
            "sigma_radio_arcsec": r_sig[ri],
            "sigma_opt_arcsec": s_opt[ok],
            "match_radius_arcsec": radius[ok],
            "ra_opt_deg": ra_t[ok],
            "dec_opt_deg": dec_t[ok],
            "radio_epoch_yr": r_ep[ri],
            "dt_yr": dt[ok],
            "pm_missing": opt.pm_missing[oi],
            "rank": np.zeros(ri.size, np.int32),
            "n_candidates": np.zeros(ri.size, np.int32),
        }
    )
    pairs["radio_id"] = pairs["radio_id"].astype(radio["radio_id"].dtype)
    pairs = rank_pairs(pairs)
    if params.one_to_one:
        pairs = one_to_one(pairs)
    return pairs
