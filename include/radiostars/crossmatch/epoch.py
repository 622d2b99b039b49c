"""Epoch propagation of catalogue positions (rigorous space motion) and its errors.

Positions
---------
We follow exactly what ``SkyCoord.apply_space_motion`` does in astropy ≥ 4: it calls
``erfa.pmsafe`` (SOFA ``iauPmsafe`` → ``iauStarpm`` → ``iauStarpv`` / ``iauPvstar``), i.e. the
rigorous linear space-motion model of the Hipparcos Catalogue (ESA 1997, Vol. 1, §1.5.5;
Butkevich & Lindegren 2014, A&A 570, A62), re-implemented here in vectorised numpy so that each
row can have its own reference and target epoch:

1. Parallax floor (``iauPmsafe``): ϖ' = max(ϖ, F·μ, ϖ_min) with F = 326 (caps the transverse
   speed at ≈ 1 % c) and ϖ_min = 5·10⁻⁷″; μ is the total proper motion in rad/yr. Rows whose
   parallax is ≤ 0, NaN or absent are given ϖ = 0 first — which is what astropy does for a
   ``SkyCoord`` without a distance (``Distance`` refuses a negative parallax) — so they are placed at
   the large distance implied by the floor. With rv = 0 the distance only enters through
   second-order (relativistic, light-time) terms, so the choice barely matters; it is kept so
   that we equal astropy.
2. Space position r = (1/ϖ') p̂ [au] and velocity v = r(μ_α* ê_α + μ_δ ê_δ)/365.25 + v_r p̂
   [au/day], with p̂ = (cos δ cos α, cos δ sin α, sin δ), ê_α = (−sin α, cos α, 0),
   ê_δ = (−sin δ cos α, −sin δ sin α, cos δ). (No 1/cos δ: well defined at the poles.)
   Speeds > 0.5 c are set to zero (``iauStarpv``).
3. Observed → inertial special-relativistic Doppler correction of the velocity (``iauStarpv``'s
   fixed-point iteration; the effect is ~β²/2 of the motion, ≤ 5·10⁻⁵ for the floor above).
4. Light time: the catalogue place is light-delayed by τ₁ = |r|/c; the star is moved by
   Δt + τ₁ to its geometric place, the new light time τ₂ solves |r + v(Δt+τ₁) − v τ₂| = c τ₂, and
   the observed place at the target epoch is r + v(Δt + τ₁ − τ₂).
5. (α, δ) from the Cartesian vector.

The radio position is compared with the propagated *barycentric* catalogue place; the annual
parallax displacement (≤ ϖ) is not applied (see docs/crossmatch.md).

Epochs are Julian years (TDB): J = 2000 + (JD − 2451545)/365.25, MJD = JD − 2400000.5, so
J2016.0 = MJD 57388.5 and J1991.25 = MJD 48348.5625. A radio MJD in UTC differs from TDB by
~69 s, i.e. < 10⁻⁶ yr: negligible for propagation.

Errors
------
Per axis, ignoring the position–pm correlations (small at Gaia's mid-mission reference epoch):
σ_α*(t)² = σ_α*² + (σ_μα*·Δt)², σ_δ(t)² = σ_δ² + (σ_μδ·Δt)². Rows without a proper motion keep
their catalogue position and get an extra term (``missing_pm_sigma_mas_yr``·|Δt|)² on each axis.
The circular error used for matching is the per-axis RMS σ = sqrt((σ_α*² + σ_δ²)/2), the
convention of NWAY (Salvato et al. 2018) for turning an error ellipse into a circular error.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .separation import MAS_PER_RAD, angular_separation_rad, xyz_to_radec

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# SOFA / ERFA constants (erfam.h)
DAYS_PER_JULIAN_YEAR: float = 365.25  # ERFA_DJY
MJD_J2000: float = 51544.5  # J2000.0 = JD 2451545.0 = MJD 51544.5
AU_M: float = 149597870.7e3  # ERFA_DAU
SECONDS_PER_DAY: float = 86400.0  # ERFA_DAYSEC
C_AU_PER_DAY: float = SECONDS_PER_DAY * 299792458.0 / AU_M  # ERFA_DC
ARCSEC_PER_RAD: float = 206264.8062470963551564734  # ERFA_DR2AS
PMSAFE_F: float = 326.0  # iauPmsafe: max transverse speed ~1% c
PMSAFE_PXMIN_ARCSEC: float = 5e-7  # iauPmsafe: minimum parallax
STARPV_VMAX_C: float = 0.5  # iauStarpv: speeds above 0.5c are zeroed
STARPV_IMAX: int = 100  # iauStarpv: max iterations of the relativistic correction


# --------------------------------------------------------------------------- epochs
def mjd_to_jyear(mjd: ArrayLike) -> FloatArray:
    """Julian year from MJD: J = 2000 + (MJD − 51544.5)/365.25 (J2016.0 ↔ MJD 57388.5)."""
    m = np.asarray(mjd, dtype=np.float64)
    if not np.all(np.isfinite(m)):
        raise ValueError("mjd: non-finite value(s)")
    return 2000.0 + (m - MJD_J2000) / DAYS_PER_JULIAN_YEAR


def jyear_to_mjd(jyear: ArrayLike) -> FloatArray:
    """MJD from Julian year: MJD = 51544.5 + 365.25 (J − 2000)."""
    j = np.asarray(jyear, dtype=np.float64)
    if not np.all(np.isfinite(j)):
        raise ValueError("jyear: non-finite value(s)")
    return MJD_J2000 + (j - 2000.0) * DAYS_PER_JULIAN_YEAR


# --------------------------------------------------------------------------- validation
def validate_propagation_inputs(
    ra_deg: ArrayLike,
    dec_deg: ArrayLike,
    pmra_mas_yr: ArrayLike,
    pmdec_mas_yr: ArrayLike,
    parallax_mas: ArrayLike,
    ref_epoch_yr: ArrayLike,
    target_epoch_yr: ArrayLike,
    rv_km_s: ArrayLike | None = None,
) -> tuple[FloatArray, ...]:
    """Broadcast and check the inputs of :func:`propagate_radec`.

    NaN is allowed in pm (→ no motion), parallax (→ no distance) and rv (→ 0); positions and
    epochs must be finite; |dec| ≤ 90°; epochs within [1000, 3000]. Raises ``ValueError`` naming
    the offending argument.
    """
    names = (
        "ra_deg",
        "dec_deg",
        "pmra_mas_yr",
        "pmdec_mas_yr",
        "parallax_mas",
        "ref_epoch_yr",
        "target_epoch_yr",
        "rv_km_s",
    )
    raw = (
        ra_deg,
        dec_deg,
        pmra_mas_yr,
        pmdec_mas_yr,
        parallax_mas,
        ref_epoch_yr,
        target_epoch_yr,
        0.0 if rv_km_s is None else rv_km_s,
    )
    arrays = []
    for name, value in zip(names, raw):
        try:
            arrays.append(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: not convertible to float64 ({exc})") from exc
    try:
        arrays = list(np.broadcast_arrays(*arrays))
    except ValueError as exc:
        shapes = {n: a.shape for n, a in zip(names, arrays)}
        raise ValueError(f"inputs do not broadcast: {shapes}") from exc
    ra, dec, pmra, pmdec, plx, t1, t2, rv = arrays
    for name, arr in (("ra_deg", ra), ("dec_deg", dec), ("ref_epoch_yr", t1), ("target_epoch_yr", t2)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}: {int(arr.size - np.isfinite(arr).sum())} non-finite value(s)")
    if np.any(np.abs(dec) > 90.0):
        raise ValueError("dec_deg: values outside [-90, 90]")
    for name, arr in (("ref_epoch_yr", t1), ("target_epoch_yr", t2)):
        if np.any((arr < 1000.0) | (arr > 3000.0)):
            raise ValueError(f"{name}: epochs must be Julian years in [1000, 3000] (got an MJD or JD?)")
    for name, arr in (("pmra_mas_yr", pmra), ("pmdec_mas_yr", pmdec), ("parallax_mas", plx), ("rv_km_s", rv)):
        if np.any(np.isinf(arr)):
            raise ValueError(f"{name}: infinite value(s) (use NaN for 'missing')")
    return ra, dec, pmra, pmdec, plx, t1, t2, rv


def pm_missing_mask(pmra_mas_yr: ArrayLike, pmdec_mas_yr: ArrayLike) -> BoolArray:
    """True where either proper-motion component is NaN (the row keeps its position)."""
    return ~(np.isfinite(np.asarray(pmra_mas_yr, dtype=float)) & np.isfinite(np.asarray(pmdec_mas_yr, dtype=float)))


# --------------------------------------------------------------------------- propagation
def _dot(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.einsum("...i,...i->...", a, b)


def _space_motion_xyz(ra, dec, pmra, pmdec, plx, t1, t2, rv) -> FloatArray:
    """Core of :func:`propagate_radec` on validated, broadcast float arrays; returns vectors (au)."""
    missing = pm_missing_mask(pmra, pmdec)
    pma = np.where(missing, 0.0, pmra) / MAS_PER_RAD  # rad/yr (μ_α*, includes cos δ)
    pmd = np.where(missing, 0.0, pmdec) / MAS_PER_RAD
    rv = np.where(np.isfinite(rv), rv, 0.0)
    plx_arcsec = np.where(np.isfinite(plx) & (plx > 0.0), plx / 1000.0, 0.0)

    # 1. iauPmsafe parallax floor (pm taken as the total proper motion; iauPmsafe uses the
    #    separation of (α, δ) and (α+α̇, δ+δ̇), equal to first order — a 1e-4 relative
    #    difference in an already 5e-5 term).
    pm_total = np.hypot(pma, pmd)
    px = np.maximum(np.maximum(plx_arcsec, PMSAFE_F * pm_total), PMSAFE_PXMIN_ARCSEC)

    # 2. iauStarpv: position (au) and velocity (au/day)
    a = np.deg2rad(ra)
    d = np.deg2rad(dec)
    ca, sa, cd, sd = np.cos(a), np.sin(a), np.cos(d), np.sin(d)
    p_hat = np.stack([cd * ca, cd * sa, sd], axis=-1)
    e_a = np.stack([-sa, ca, np.zeros_like(sa)], axis=-1)
    e_d = np.stack([-sd * ca, -sd * sa, cd], axis=-1)
    r_au = ARCSEC_PER_RAD / px
    rd = SECONDS_PER_DAY * rv * 1e3 / AU_M
    pos = r_au[..., None] * p_hat
    vel = (r_au / DAYS_PER_JULIAN_YEAR)[..., None] * (pma[..., None] * e_a + pmd[..., None] * e_d) + rd[
        ..., None
    ] * p_hat
    too_fast = np.sqrt(_dot(vel, vel)) / C_AU_PER_DAY > STARPV_VMAX_C
    vel = np.where(too_fast[..., None], 0.0, vel)

    # 3. observed → inertial velocity (iauStarpv's fixed-point iteration, vectorised)
    x_hat = pos / np.sqrt(_dot(pos, pos))[..., None]
    vsr = _dot(x_hat, vel)
    usr = vsr[..., None] * x_hat
    ust = vel - usr
    betsr = vsr / C_AU_PER_DAY
    betst = np.sqrt(_dot(ust, ust)) / C_AU_PER_DAY
    betr, bett = betsr.copy(), betst.copy()
    dfac = np.ones_like(betsr)
    dele = np.zeros_like(betsr)
    for _ in range(STARPV_IMAX):
        dfac_new = 1.0 + betr
        w = betr * betr + bett * bett
        dele_new = -w / (np.sqrt(1.0 - w) + 1.0)
        betr = dfac_new * betsr + dele_new
        bett = dfac_new * betst
        converged = np.array_equal(dfac_new, dfac) and np.array_equal(dele_new, dele)
        dfac, dele = dfac_new, dele_new
        if converged:
            break
    # iauStarpv scales the radial part by (d + δ/β_r); written as (d·v_r + δ·c) it has no
    # 0/0 at v_r = 0 and equals ERFA's generic branch (a Doppler-induced inertial radial
    # velocity δ·c ≈ −β_t² c/2, which the light time then acts on). ERFA's literal `v_r == 0`
    # branch (which drops that term) is only hit when rounding makes v_r exactly 0.
    vel = (dfac * vsr + dele * C_AU_PER_DAY)[..., None] * x_hat + dfac[..., None] * ust

    # 4. iauStarpm: light-time corrected motion
    tl1 = np.sqrt(_dot(pos, pos)) / C_AU_PER_DAY
    dt = (t2 - t1) * DAYS_PER_JULIAN_YEAR
    p = pos + vel * (dt + tl1)[..., None]
    r2 = _dot(p, p)
    rdv = _dot(p, vel)
    v2 = _dot(vel, vel)
    c2mv2 = C_AU_PER_DAY * C_AU_PER_DAY - v2
    tl2 = (-rdv + np.sqrt(rdv * rdv + c2mv2 * r2)) / c2mv2
    return pos + vel * (dt + tl1 - tl2)[..., None]


def propagate_radec(
    ra_deg: ArrayLike,
    dec_deg: ArrayLike,
    pmra_mas_yr: ArrayLike,
    pmdec_mas_yr: ArrayLike,
    parallax_mas: ArrayLike,
    ref_epoch_yr: ArrayLike,
    target_epoch_yr: ArrayLike,
    rv_km_s: ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Move catalogue positions from ``ref_epoch_yr`` to ``target_epoch_yr`` (Julian years).

    ``pmra_mas_yr`` is μ_α* = μ_α cos δ (Gaia/Hipparcos convention). All arguments broadcast, so
    each row may have its own reference and target epoch. Rows with NaN pm keep their position
    exactly. Returns (ra_deg in [0, 360), dec_deg). Equals ``SkyCoord.apply_space_motion`` (see the
    module docstring for the model) to ≪ 0.1 mas over decades.
    """
    ra, dec, pmra, pmdec, plx, t1, t2, rv = validate_propagation_inputs(
        ra_deg, dec_deg, pmra_mas_yr, pmdec_mas_yr, parallax_mas, ref_epoch_yr, target_epoch_yr, rv_km_s
    )
    if ra.size == 0:
        return ra.copy(), dec.copy()
    shape = ra.shape
    ra, dec, pmra, pmdec, plx, t1, t2, rv = (np.atleast_1d(a) for a in (ra, dec, pmra, pmdec, plx, t1, t2, rv))
    missing = pm_missing_mask(pmra, pmdec)
    still = missing | ((np.nan_to_num(pmra) == 0.0) & (np.nan_to_num(pmdec) == 0.0) & (np.nan_to_num(rv) == 0.0))
    ra2 = ra % 360.0
    dec2 = dec.copy()
    moving = ~still
    if moving.any():
        xyz = _space_motion_xyz(
            ra[moving], dec[moving], pmra[moving], pmdec[moving], plx[moving], t1[moving], t2[moving], rv[moving]
        )
        ra2[moving], dec2[moving] = xyz_to_radec(xyz)
    return ra2.reshape(shape), dec2.reshape(shape)


def track_bounds(
    ra_deg: ArrayLike,
    dec_deg: ArrayLike,
    pmra_mas_yr: ArrayLike,
    pmdec_mas_yr: ArrayLike,
    parallax_mas: ArrayLike,
    ref_epoch_yr: ArrayLike,
    epoch_lo_yr: float,
    epoch_hi_yr: float,
    rv_km_s: ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Bound the sky track of each source over target epochs in [epoch_lo_yr, epoch_hi_yr].

    Linear space motion projects onto a great circle through the catalogue place, traversed
    monotonically in time (the light-time corrected time argument is monotonic too). So every
    position p(t), t ∈ [lo, hi], lies on the arc p(lo)–p(hi), and therefore

    * within ``half_arc_arcsec`` = ψ(p(lo), p(hi))/2 of the arc midpoint (returned as
      ``centre_ra_deg``, ``centre_dec_deg``) — used for the coarse KD-tree search, and
    * within ``reach_arcsec`` = max(ψ(p_ref, p(lo)), ψ(p_ref, p(hi))) of the catalogue place
      p_ref (p_ref lies on the same great circle) — used for the HEALPix margin.

    Returns (centre_ra_deg, centre_dec_deg, half_arc_arcsec, reach_arcsec).
    """
    if not (np.isfinite(epoch_lo_yr) and np.isfinite(epoch_hi_yr)):
        raise ValueError("epoch_lo_yr/epoch_hi_yr: must be finite")
    if epoch_hi_yr < epoch_lo_yr:
        raise ValueError(f"epoch_hi_yr ({epoch_hi_yr}) < epoch_lo_yr ({epoch_lo_yr})")
    ra_lo, dec_lo = propagate_radec(
        ra_deg, dec_deg, pmra_mas_yr, pmdec_mas_yr, parallax_mas, ref_epoch_yr, epoch_lo_yr, rv_km_s
    )
    ra_hi, dec_hi = propagate_radec(
        ra_deg, dec_deg, pmra_mas_yr, pmdec_mas_yr, parallax_mas, ref_epoch_yr, epoch_hi_yr, rv_km_s
    )
    ra0 = np.deg2rad(np.asarray(ra_deg, dtype=float))
    dec0 = np.deg2rad(np.asarray(dec_deg, dtype=float))
    rl, dl, rh, dh = (np.deg2rad(v) for v in (ra_lo, dec_lo, ra_hi, dec_hi))
    arc = angular_separation_rad(rl, dl, rh, dh) * ARCSEC_PER_RAD
    reach = (
        np.maximum(angular_separation_rad(ra0, dec0, rl, dl), angular_separation_rad(ra0, dec0, rh, dh))
        * ARCSEC_PER_RAD
    )
    cl, ch = np.cos(dl), np.cos(dh)
    mid = np.stack(
        [cl * np.cos(rl) + ch * np.cos(rh), cl * np.sin(rl) + ch * np.sin(rh), np.sin(dl) + np.sin(dh)], axis=-1
    )
    cra, cdec = xyz_to_radec(mid)
    # a still source: keep the input values bit-for-bit
    still = arc == 0.0
    cra = np.where(still, ra_lo, cra)
    cdec = np.where(still, dec_lo, cdec)
    return cra, cdec, arc / 2.0, reach


REACH_BOUND_SLACK = 1.001  # light-time and the Doppler-induced radial term of ERFA's model: < 1e-3 relative


def reach_bound_arcsec(
    pmra_mas_yr: ArrayLike,
    pmdec_mas_yr: ArrayLike,
    ref_epoch_yr: ArrayLike,
    epoch_lo_yr: float,
    epoch_hi_yr: float,
) -> FloatArray:
    """Upper bound of how far a source with zero radial velocity moves from its catalogue place
    at any epoch in [epoch_lo_yr, epoch_hi_yr], without propagating it.

    With v_r = 0 the space velocity v is perpendicular to the line of sight r₀ at the reference
    epoch, so after Δt the star is at r₀ + v·Δt and its angular displacement is
    atan(|v|Δt/|r₀|) = atan(μ·Δt) ≤ μ·Δt (μ the total proper motion in rad/yr). ERFA's model adds
    light-time corrections and a Doppler-induced radial term of relative size ~v/c < 1e-3, covered
    by ``REACH_BOUND_SLACK``. Missing proper motions move nothing (0). Used for HEALPix margins,
    where it replaces two rigorous propagations per row (:func:`track_bounds` gives the exact
    reach, and handles a non-zero radial velocity).
    """
    pmra = np.nan_to_num(np.asarray(pmra_mas_yr, dtype=np.float64), nan=0.0)
    pmdec = np.nan_to_num(np.asarray(pmdec_mas_yr, dtype=np.float64), nan=0.0)
    ref = np.asarray(ref_epoch_yr, dtype=np.float64)
    dt_yr = np.maximum(np.abs(epoch_lo_yr - ref), np.abs(epoch_hi_yr - ref))
    return REACH_BOUND_SLACK * np.hypot(pmra, pmdec) * dt_yr / 1000.0


# --------------------------------------------------------------------------- errors
def propagate_sigma_mas(
    sigma_pos_mas: ArrayLike,
    sigma_pm_mas_yr: ArrayLike,
    dt_yr: ArrayLike,
    pm_missing: ArrayLike | None = None,
    missing_pm_sigma_mas_yr: float = 0.0,
) -> FloatArray:
    """Per-axis position error at the target epoch (mas).

    σ(t)² = σ_pos² + (σ_pm·Δt)² for rows with a proper motion (a NaN σ_pm counts as 0), and
    σ(t)² = σ_pos² + (missing_pm_sigma_mas_yr·Δt)² for rows without (``pm_missing``).
    """
    if not np.isfinite(missing_pm_sigma_mas_yr) or missing_pm_sigma_mas_yr < 0:
        raise ValueError(f"missing_pm_sigma_mas_yr: must be finite and >= 0, got {missing_pm_sigma_mas_yr!r}")
    s_pos = np.asarray(sigma_pos_mas, dtype=np.float64)
    if np.any(~np.isfinite(s_pos) | (s_pos < 0)):
        raise ValueError("sigma_pos_mas: must be finite and >= 0")
    s_pm = np.asarray(sigma_pm_mas_yr, dtype=np.float64)
    if np.any(s_pm < 0):
        raise ValueError("sigma_pm_mas_yr: must be >= 0 (NaN allowed)")
    dt = np.asarray(dt_yr, dtype=np.float64)
    if not np.all(np.isfinite(dt)):
        raise ValueError("dt_yr: non-finite value(s)")
    missing = (
        np.zeros(np.broadcast_shapes(s_pos.shape, s_pm.shape, dt.shape), bool)
        if pm_missing is None
        else np.asarray(pm_missing, bool)
    )
    extra = np.where(missing, missing_pm_sigma_mas_yr, np.nan_to_num(s_pm, nan=0.0)) * dt
    return np.sqrt(s_pos * s_pos + extra * extra)


def circular_sigma(sigma_a: ArrayLike, sigma_b: ArrayLike) -> FloatArray:
    """Circular (per-axis RMS) error sqrt((σ_a² + σ_b²)/2) from two axis errors (NWAY's convention)."""
    a = np.asarray(sigma_a, dtype=np.float64)
    b = np.asarray(sigma_b, dtype=np.float64)
    return np.sqrt((a * a + b * b) / 2.0)
