"""Shifted-position control: the empirical false-match rate.

Each radio position is moved by a fixed angle d (default 1′ ≫ match radius) along the great
circle leaving it at position angle θ (east of north), in several directions. The shifted
sources keep their errors and epochs, are re-partitioned (their home pixel may change) and
matched exactly like the real ones; since d > 2 r_max, a true counterpart can never match its
shifted source, so every control match is a chance match. The false-match rate per radio
source, FAR = N_control_pairs / (N_radio · N_offsets), is compared with the analytic
expectation Σ π R_j² ρ_j / N_radio; the fraction of shifted sources with ≥ 1 match with
Σ [1 − exp(−π R_j² ρ_j)] / N_radio.

Offset on the sphere (exact, valid at the poles): with p̂ the position, ê (east) and n̂ (north)
its local basis, t̂ = cos θ n̂ + sin θ ê, the new position is cos d p̂ + sin d t̂ — the same as
``SkyCoord.directional_offset_by`` (at a pole, astropy and this take "north" along the RA meridian
of the input, ê = (−sin α, cos α, 0)).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from .separation import ARCSEC_PER_RAD, validate_radec, xyz_to_radec

FloatArray = npt.NDArray[np.float64]


def offset_radec(
    ra_deg: npt.ArrayLike, dec_deg: npt.ArrayLike, offset_arcsec: npt.ArrayLike, position_angle_deg: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Move positions by ``offset_arcsec`` along the great circle at ``position_angle_deg`` (E of N)."""
    ra, dec = validate_radec("ra_deg", ra_deg, "dec_deg", dec_deg)
    d = np.asarray(offset_arcsec, dtype=np.float64)
    pa = np.asarray(position_angle_deg, dtype=np.float64)
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("offset_arcsec: must be finite and >= 0")
    if not np.all(np.isfinite(pa)):
        raise ValueError("position_angle_deg: must be finite")
    a, de = np.deg2rad(ra), np.deg2rad(dec)
    ca, sa, cd, sd = np.cos(a), np.sin(a), np.cos(de), np.sin(de)
    p = np.stack(np.broadcast_arrays(cd * ca, cd * sa, sd), axis=-1)
    e = np.stack(np.broadcast_arrays(-sa, ca, np.zeros_like(sa)), axis=-1)
    n = np.stack(np.broadcast_arrays(-sd * ca, -sd * sa, cd), axis=-1)
    th = np.deg2rad(pa)[..., None]
    dr = (d / ARCSEC_PER_RAD)[..., None]
    t = np.cos(th) * n + np.sin(th) * e
    return xyz_to_radec(np.cos(dr) * p + np.sin(dr) * t)


def control_radio_frame(radio: pd.DataFrame, offsets: list[tuple[float, float]]) -> pd.DataFrame:
    """Shifted copies of ``radio`` for each (offset_arcsec, position_angle_deg).

    Columns: those of ``radio`` with shifted ``ra_deg``/``dec_deg``; ``radio_id`` becomes the string
    ``"<id>#c<k>"``; ``source_radio_id`` keeps the original id and ``control_offset`` = k. A
    ``healpix`` column is dropped (recompute the home pixel of the shifted position).
    """
    if not isinstance(radio, pd.DataFrame) or not {"radio_id", "ra_deg", "dec_deg"} <= set(radio.columns):
        raise ValueError("radio: expected a DataFrame with radio_id, ra_deg, dec_deg")
    if len(offsets) == 0:
        raise ValueError("offsets: must not be empty")
    frames = []
    for k, (d, pa) in enumerate(offsets):
        ra, dec = offset_radec(radio["ra_deg"].to_numpy(float), radio["dec_deg"].to_numpy(float), d, pa)
        f = radio.drop(columns=[c for c in ("healpix",) if c in radio.columns]).copy()
        f["source_radio_id"] = radio["radio_id"].to_numpy()
        f["radio_id"] = radio["radio_id"].astype(str) + f"#c{k}"
        f["ra_deg"], f["dec_deg"] = ra, dec
        f["control_offset"] = np.int32(k)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class FalseMatchSummary:
    """Control-run statistics (rates are per shifted radio source)."""

    n_radio: int
    n_offsets: int
    n_control_pairs: int
    n_control_sources_matched: int
    far_pairs: float
    far_pairs_err: float
    far_sources: float
    far_sources_err: float
    expected_pairs: float | None
    expected_sources: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def false_match_rate(
    control_pairs: pd.DataFrame,
    n_radio: int,
    n_offsets: int,
    expected_count_per_source: npt.ArrayLike | None = None,
) -> FalseMatchSummary:
    """Summarise a control run with Poisson errors.

    ``control_pairs`` are the matches of the shifted sources (column ``radio_id``), ``n_radio``
    the number of real radio sources and ``n_offsets`` the number of shifts. Optionally
    ``expected_count_per_source`` (π R² ρ for every shifted source, matched or not) gives the
    analytic expectations Σμ/N and Σ(1 − e^−μ)/N to compare with.
    """
    if isinstance(n_radio, bool) or not isinstance(n_radio, (int, np.integer)) or n_radio < 1:
        raise ValueError(f"n_radio: must be an int >= 1, got {n_radio!r}")
    if isinstance(n_offsets, bool) or not isinstance(n_offsets, (int, np.integer)) or n_offsets < 1:
        raise ValueError(f"n_offsets: must be an int >= 1, got {n_offsets!r}")
    if not isinstance(control_pairs, pd.DataFrame) or "radio_id" not in control_pairs.columns:
        raise ValueError("control_pairs: expected a DataFrame with a radio_id column")
    n_tot = n_radio * n_offsets
    n_pairs = len(control_pairs)
    n_src = int(control_pairs["radio_id"].nunique())
    exp_p = exp_s = None
    if expected_count_per_source is not None:
        mu = np.asarray(expected_count_per_source, dtype=np.float64)
        if mu.size != n_tot or np.any(~np.isfinite(mu) | (mu < 0)):
            raise ValueError(f"expected_count_per_source: need {n_tot} finite values >= 0, got {mu.size}")
        exp_p = float(mu.sum() / n_tot)
        exp_s = float(-np.expm1(-mu).sum() / n_tot)
    return FalseMatchSummary(
        n_radio=int(n_radio),
        n_offsets=int(n_offsets),
        n_control_pairs=n_pairs,
        n_control_sources_matched=n_src,
        far_pairs=n_pairs / n_tot,
        far_pairs_err=float(np.sqrt(n_pairs)) / n_tot,
        far_sources=n_src / n_tot,
        far_sources_err=float(np.sqrt(n_src)) / n_tot,
        expected_pairs=exp_p,
        expected_sources=exp_s,
    )
