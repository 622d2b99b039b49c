"""A simple Galaxy model for Gaia-like star counts, distances and motions (the `realistic` sky).

Every number below is in docs/data.md's parameter table with its source; "assumed" marks a choice
where no source was read.

**Density.** Two exponential discs and a power-law halo (Jurić et al. 2008, ApJ 673, 864)::

    ρ(R, z) ∝ e^{−(R−R0)/L1 − |z+z⊙|/H1} + f_thick e^{−(R−R0)/L2 − |z+z⊙|/H2} + f_halo (R0 / r_q)^{n_H},
    r_q = sqrt(R² + ((z+z⊙)/q_H)²),

H1 = 300 pc, L1 = 2.6 kpc, H2 = 900 pc, L2 = 3.6 kpc, f_thick = 0.12; R0 = 8178 pc (GRAVITY 2019),
z⊙ = 27 pc (Chen et al. 2001). ρ is normalised to 1 at the Sun, so ρ(R, z) · Φ(M) is the number
density per magnitude, with Φ the local luminosity function.

**Luminosity function.** Φ(M_V) of Allen's Astrophysical Quantities (V column, −6 ≤ M_V ≤ 22),
converted to M_G with the mean dwarf sequence of Pecaut & Mamajek (2013; E. Mamajek's table
v2024.05.15: M_V, M_G, BP−RP per spectral type), and scaled so that the density of Gaia sources down
to M9V (M_V ≤ 19.5) is the Gaia Catalogue of Nearby Stars' 331 312 objects within 100 pc, 91 % of them
inside (Smart et al. 2021): 0.072 pc⁻³.

**Extinction.** A smooth dust disc (Li et al. 2018, LAMOST: scale height 103 pc, scale length
3192 pc, Sun 23 pc above its mid-plane) with a_V = 0.85 mag/kpc in its mid-plane at R0 (the middle
of the commonly quoted 0.7–1 mag/kpc); A_V(d) = ∫ a_V e^{−(R−R0)/L_d − |z+z_d|/h_d} ds, A_G = 0.789 A_V,
E(BP−RP) = (1.002 − 0.589) A_V (Wang & Chen 2019; the ratios from memory, to be verified).

**Completeness.** Gaia's faint end: C(G) = 1 / (1 + e^{(G − 21.0)/0.2}) (assumed; Boubert & Everall
2020 find the 99 % completeness limit between G = 18.9 and 21.3 over the sky) and at most
1.05·10⁶ sources deg⁻² (the on-board detection limit quoted for Gaia, Gaia Collaboration, Prusti et
al. 2016 — from memory): in a denser cell the faintest sources are dropped.

**Kinematics.** Per component Gaussian velocity ellipsoids (σ_U, σ_V, σ_W) and asymmetric drift
(Bensby et al. 2003: thin 35/20/16, −15; thick 67/38/35, −46; halo 160/90/90, −220 km/s) around the
rotation curve v_c(R) = 229.0 − 1.7 (R − R0) km/s (Eilers et al. 2019, held at its R = 5 kpc value
inside 5 kpc); the Sun moves at v_c(R0) + (U, V, W)⊙ = (11.1, 12.24, 7.25) km/s (Schönrich et al.
2010). The heliocentric velocity is projected on the sky: μ = v_t / (4.74047 d).

Everything is vectorised; positions go from Galactic to ICRS with the constant rotation matrix of
astropy's Galactic frame (:data:`GAL_TO_ICRS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# ---- Galactic structure ------------------------------------------------------------------------
R0_KPC = 8.178  # GRAVITY Collaboration 2019, A&A 625, L10
Z_SUN_KPC = 0.027  # Chen et al. 2001, ApJ 553, 184
THIN_H_KPC, THIN_L_KPC = 0.300, 2.6  # Jurić et al. 2008
THICK_H_KPC, THICK_L_KPC = 0.900, 3.6  # Jurić et al. 2008
THICK_NORM = 0.12  # Jurić et al. 2008 (local thick/thin)
HALO_NORM, HALO_Q, HALO_N = 0.0051, 0.64, 2.77  # Jurić et al. 2008 halo (from memory, verify)

# ---- dust ----------------------------------------------------------------------------------------
DUST_H_KPC, DUST_L_KPC, DUST_Z_SUN_KPC = 0.103, 3.192, 0.023  # Li et al. 2018, ApJ 858, 75
AV_PER_KPC = 0.85  # mid-plane at R0; middle of the quoted 0.7–1 mag/kpc (assumed)
AG_PER_AV = 0.789  # Wang & Chen 2019 (from memory — verify)
E_BPRP_PER_AV = 1.002 - 0.589  # A_BP/A_V − A_RP/A_V, Wang & Chen 2019 (from memory — verify)

# ---- Gaia selection ------------------------------------------------------------------------------
G_COMPLETE_50 = 21.0  # C(G) = 1/2 (assumed; Boubert & Everall 2020: 99 % limit 18.9–21.3)
G_COMPLETE_WIDTH = 0.2
G_MAX_SAMPLED = 22.0  # stars fainter than this are never drawn (C < 5e-3)
CROWDING_LIMIT_PER_DEG2 = 1.05e6  # Gaia on-board limit (Prusti et al. 2016; from memory)

# ---- local luminosity function (Allen's Astrophysical Quantities, V column) ---------------------
_LF_MV = np.arange(-6.0, 23.0)
_LF_LOG_PHI = np.array(
    [
        -7.9,
        -7.2,
        -6.54,
        -5.90,
        -5.28,
        -4.60,
        -3.95,
        -3.46,
        -3.20,
        -2.94,
        -2.72,
        -2.47,
        -2.37,
        -2.45,
        -2.38,
        -2.27,
        -2.11,
        -2.01,
        -1.97,
        -1.93,
        -1.89,
        -1.90,
        -1.92,
        -1.97,
        -2.08,
        -2.3,
        -2.5,
        -2.9,
        -3.3,
    ]
)
LOCAL_GAIA_DENSITY_PC3 = 331_312 * 0.91 / (4.0 / 3.0 * np.pi * 100.0**3)  # GCNS, Smart et al. 2021
LF_NORM_MV_MAX = 19.5  # GCNS: ≥ 92 % complete down to M9V (M_V ≈ 19.4)

# Mean dwarf sequence (Pecaut & Mamajek 2013; Mamajek table v2024.05.15): M_V, M_G, BP−RP.
# O5V–B8V have no BP−RP in the table: −0.40 … −0.10 assumed; L2V's BP−RP assumed 5.0.
_MS_MV = np.array(
    [
        -5.35,
        -3.90,
        -1.20,
        0.00,
        0.50,
        0.99,
        2.01,
        2.57,
        3.37,
        4.48,
        4.80,
        5.30,
        5.78,
        6.07,
        7.28,
        8.20,
        8.80,
        9.64,
        10.21,
        11.15,
        12.61,
        14.15,
        16.32,
        17.70,
        18.60,
        19.40,
        20.9,
    ]
)
_MS_MG = np.array(
    [
        -5.34,
        -3.89,
        -1.19,
        -0.01,
        0.515,
        1.00,
        1.98,
        2.51,
        3.26,
        4.325,
        4.635,
        5.098,
        5.553,
        5.83,
        6.85,
        7.57,
        8.10,
        8.82,
        9.29,
        10.05,
        11.21,
        12.45,
        14.26,
        14.72,
        15.20,
        16.20,
        17.30,
    ]
)
_MS_BPRP = np.array(
    [
        -0.40,
        -0.35,
        -0.20,
        -0.10,
        -0.036,
        -0.020,
        0.130,
        0.230,
        0.329,
        0.784,
        0.823,
        0.900,
        0.983,
        1.10,
        1.43,
        1.70,
        1.84,
        2.09,
        2.23,
        2.50,
        2.94,
        3.35,
        4.16,
        4.65,
        4.86,
        4.78,
        5.0,
    ]
)
GIANT_BPRP, GIANT_BPRP_SIGMA = 1.25, 0.20  # red clump / RGB colour (assumed)
GIANT_MG_MAX = 2.5  # giants only brighter than this (assumed)
GIANT_FRACTION = 0.5  # share of giants among stars with M_G < 2.5 (assumed)

# ---- kinematics ------------------------------------------------------------------------------
K_KMS = 4.740470463533348  # km/s per (kpc · mas/yr)
VC_R0_KMS, VC_SLOPE_KMS_KPC, VC_R_MIN_KPC = 229.0, -1.7, 5.0  # Eilers et al. 2019
SUN_UVW_KMS = (11.1, 12.24, 7.25)  # Schönrich et al. 2010
# (σ_U, σ_V, σ_W, V_asym) [km/s]: thin, thick, halo (Bensby et al. 2003, Table 1)
POPULATION_KINEMATICS = {0: (35.0, 20.0, 16.0, -15.0), 1: (67.0, 38.0, 35.0, -46.0), 2: (160.0, 90.0, 90.0, -220.0)}
THIN, THICK, HALO = 0, 1, 2

# ---- grids of the line-of-sight tables ------------------------------------------------------
D_EDGES_KPC = np.geomspace(1e-3, 40.0, 181)  # 180 log bins, 1 pc – 40 kpc
M_STEP = 0.1
MG_EDGES = np.arange(-6.5, 17.5 + 1e-9, M_STEP)  # 240 bins in M_G

# Rotation Galactic (x toward l=0,b=0; y toward l=90°; z toward b=90°) → ICRS, from astropy's frame.
GAL_TO_ICRS = np.array(
    [
        [-0.0548756577125922, 0.4941094371927267, -0.8676661375596585],
        [-0.8734370519556162, -0.4448297212232957, -0.1980763372730006],
        [-0.4838350736167156, 0.7469821839866677, 0.4559838136873021],
    ]
)


def mv_to_mg(mv) -> np.ndarray:
    """Dwarf-sequence M_V → M_G (linear interpolation, linear extrapolation beyond L2V)."""
    mv = np.asarray(mv, float)
    out = np.interp(mv, _MS_MV, _MS_MG)
    hi = mv > _MS_MV[-1]
    slope = (_MS_MG[-1] - _MS_MG[-2]) / (_MS_MV[-1] - _MS_MV[-2])
    out[hi] = _MS_MG[-1] + slope * (mv[hi] - _MS_MV[-1])
    lo = mv < _MS_MV[0]
    out[lo] = mv[lo] + (_MS_MG[0] - _MS_MV[0])
    return out


def dwarf_bp_rp(mg) -> np.ndarray:
    """Intrinsic BP−RP of the dwarf sequence at M_G (clamped at the table ends)."""
    return np.interp(np.asarray(mg, float), _MS_MG, _MS_BPRP)


@lru_cache(maxsize=1)
def luminosity_function() -> tuple[np.ndarray, np.ndarray]:
    """(M_G bin centres, Φ per pc³ per bin) on :data:`MG_EDGES`.

    Allen's Φ(M_V) (log-linear interpolation) is mapped bin by bin through M_V → M_G: the number in
    an M_V interval is kept and re-binned in M_G; the normalisation is the GCNS local density of
    Gaia sources down to M_V = 19.5."""
    mv = np.arange(-6.5, 22.5, 0.01) + 0.005
    phi_mv = 10 ** np.interp(mv, _LF_MV, _LF_LOG_PHI) * 0.01
    norm = LOCAL_GAIA_DENSITY_PC3 / phi_mv[mv <= LF_NORM_MV_MAX].sum()
    mg = mv_to_mg(mv)
    hist, _ = np.histogram(mg, bins=MG_EDGES, weights=phi_mv * norm)
    return 0.5 * (MG_EDGES[1:] + MG_EDGES[:-1]), hist


def galactocentric(l_deg, b_deg, d_kpc) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Heliocentric Galactic (x, y, z) [kpc] and Galactocentric radius R [kpc] (z is the height above
    the plane through the Sun; the mid-plane is at z = −z⊙)."""
    lr, br = np.radians(l_deg), np.radians(b_deg)
    cb = np.cos(br)
    x, y, z = d_kpc * cb * np.cos(lr), d_kpc * cb * np.sin(lr), d_kpc * np.sin(br)
    return x, y, z, np.hypot(R0_KPC - x, y)


def component_densities(R_kpc, z_kpc) -> np.ndarray:
    """(3, …) thin, thick, halo densities relative to the total at the Sun."""
    zc = np.abs(z_kpc + Z_SUN_KPC)
    thin = np.exp(-(R_kpc - R0_KPC) / THIN_L_KPC - zc / THIN_H_KPC)
    thick = THICK_NORM * np.exp(-(R_kpc - R0_KPC) / THICK_L_KPC - zc / THICK_H_KPC)
    rq = np.sqrt(R_kpc**2 + (zc / HALO_Q) ** 2)
    halo = HALO_NORM * (R0_KPC / np.maximum(rq, 0.5)) ** HALO_N
    local = (
        np.exp(-Z_SUN_KPC / THIN_H_KPC)
        + THICK_NORM * np.exp(-Z_SUN_KPC / THICK_H_KPC)
        + HALO_NORM * (R0_KPC / np.hypot(R0_KPC, Z_SUN_KPC / HALO_Q)) ** HALO_N
    )
    return np.stack([thin, thick, halo]) / local


def dust_density(R_kpc, z_kpc) -> np.ndarray:
    """dA_V/ds [mag/kpc]."""
    return AV_PER_KPC * np.exp(-(R_kpc - R0_KPC) / DUST_L_KPC - np.abs(z_kpc + DUST_Z_SUN_KPC) / DUST_H_KPC)


def extinction_av(l_deg: float, b_deg: float, d_kpc: np.ndarray) -> np.ndarray:
    """A_V to distance d along (l, b) [mag]: trapezoid integral of :func:`dust_density` on a fine grid."""
    s = np.concatenate([[0.0], np.geomspace(1e-4, max(float(np.max(d_kpc)), 1e-3), 400)])
    _, _, z, R = galactocentric(l_deg, b_deg, s)
    rho = dust_density(R, z)
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (rho[1:] + rho[:-1]) * np.diff(s))])
    return np.interp(d_kpc, s, cum)


def completeness(g_mag) -> np.ndarray:
    """Gaia's faint-end completeness C(G)."""
    return 1.0 / (1.0 + np.exp((np.asarray(g_mag, float) - G_COMPLETE_50) / G_COMPLETE_WIDTH))


def distance_modulus(d_kpc) -> np.ndarray:
    return 5.0 * np.log10(np.asarray(d_kpc, float) * 100.0)


@dataclass(frozen=True)
class LineOfSight:
    """Star counts toward one direction: weights per (distance bin, M_G bin) in stars per deg²."""

    l_deg: float
    b_deg: float
    weights: np.ndarray  # (n_d, n_M) stars deg⁻² in each bin, completeness applied
    av_mid: np.ndarray  # A_V at the distance-bin centres
    av_edges: np.ndarray  # A_V at the distance-bin edges

    @property
    def density_per_deg2(self) -> float:
        return float(self.weights.sum())

    def g_counts(self, g_edges: np.ndarray) -> np.ndarray:
        """Histogram of G (bin-centre G of each (d, M) cell) in stars deg⁻²."""
        return np.histogram(self.g_mid().ravel(), bins=g_edges, weights=self.weights.ravel())[0]

    def g_mid(self) -> np.ndarray:
        d_mid = np.sqrt(D_EDGES_KPC[1:] * D_EDGES_KPC[:-1])
        mg = 0.5 * (MG_EDGES[1:] + MG_EDGES[:-1])
        return mg[None, :] + distance_modulus(d_mid)[:, None] + AG_PER_AV * self.av_mid[:, None]


SQDEG_PER_SR = (180.0 / np.pi) ** 2


def line_of_sight(l_deg: float, b_deg: float, crowding_limit: float | None = CROWDING_LIMIT_PER_DEG2) -> LineOfSight:
    """Expected Gaia source counts toward (l, b) per deg², resolved in distance and M_G.

    N = Σ_d Σ_M ρ(d) d² Δd Φ(M) C(G) / (sq deg per sr), G = M + 5 log10(100 d/kpc) + A_G(d),
    d in pc for the volume (10⁹ pc³ per kpc³); completeness in G and the crowding limit applied."""
    d_mid = np.sqrt(D_EDGES_KPC[1:] * D_EDGES_KPC[:-1])
    dd = np.diff(D_EDGES_KPC)
    _, _, z, R = galactocentric(l_deg, b_deg, d_mid)
    rho = component_densities(R, z).sum(axis=0)
    av_edges = extinction_av(l_deg, b_deg, D_EDGES_KPC)
    av_mid = extinction_av(l_deg, b_deg, d_mid)
    _, phi = luminosity_function()
    vol = rho * d_mid**2 * dd * 1e9 / SQDEG_PER_SR  # pc³ per deg² per distance bin
    mg = 0.5 * (MG_EDGES[1:] + MG_EDGES[:-1])
    g = mg[None, :] + distance_modulus(d_mid)[:, None] + AG_PER_AV * av_mid[:, None]
    w = vol[:, None] * phi[None, :] * completeness(g)
    w[g > G_MAX_SAMPLED] = 0.0
    if crowding_limit is not None and w.sum() > crowding_limit:
        order = np.argsort(g, axis=None)
        cum = np.cumsum(w.ravel()[order])
        drop = order[cum > crowding_limit]
        w.ravel()[drop] = 0.0
    return LineOfSight(float(l_deg), float(b_deg), w, av_mid, av_edges)


def density_per_deg2(l_deg: float, b_deg: float) -> float:
    """Expected Gaia DR3-like source density toward (l, b) [deg⁻²]."""
    return line_of_sight(l_deg, b_deg).density_per_deg2


def band_density_per_deg2(l_deg: float, b_max_deg: float = 1.5, n_b: int = 30) -> float:
    """Mean density over |b| ≤ b_max at longitude l (equal-area steps in sin b)."""
    s = np.sin(np.radians(b_max_deg))
    sb = -s + (np.arange(n_b) + 0.5) * 2 * s / n_b
    return float(np.mean([density_per_deg2(l_deg, np.degrees(np.arcsin(v))) for v in sb]))


# ---- sampling ------------------------------------------------------------------------------------
@dataclass
class DrawnStars:
    """True properties of drawn stars (all arrays of one length)."""

    l_deg: np.ndarray
    b_deg: np.ndarray
    d_kpc: np.ndarray
    mg: np.ndarray
    g_mag: np.ndarray
    av: np.ndarray
    population: np.ndarray  # THIN / THICK / HALO

    def __len__(self) -> int:
        return len(self.d_kpc)


def sample_distance_magnitude(
    rng: np.random.Generator, los: LineOfSight, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n draws of (d [kpc], M_G, A_V) from ``los.weights`` (cell by inverse CDF, uniform within the
    M bin, log-uniform within the distance bin)."""
    cdf = np.cumsum(los.weights.ravel())
    if n == 0 or cdf[-1] <= 0:
        z = np.empty(0)
        return z, z.copy(), z.copy()
    k = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    k = np.minimum(k, cdf.size - 1)
    n_m = los.weights.shape[1]
    i_d, i_m = np.divmod(k, n_m)
    u = rng.random((2, n))
    lo, hi = np.log(D_EDGES_KPC[i_d]), np.log(D_EDGES_KPC[i_d + 1])
    d = np.exp(lo + u[0] * (hi - lo))
    mg = MG_EDGES[i_m] + u[1] * M_STEP
    av = los.av_edges[i_d] + (los.av_edges[i_d + 1] - los.av_edges[i_d]) * (d - D_EDGES_KPC[i_d]) / (
        D_EDGES_KPC[i_d + 1] - D_EDGES_KPC[i_d]
    )
    return d, mg, av


def draw_population(rng: np.random.Generator, l_deg, b_deg, d_kpc) -> np.ndarray:
    """THIN / THICK / HALO with probabilities ∝ the component densities at each star."""
    _, _, z, R = galactocentric(l_deg, b_deg, d_kpc)
    comp = component_densities(R, z)
    p = np.cumsum(comp, axis=0) / comp.sum(axis=0)
    u = rng.random(len(np.atleast_1d(d_kpc)))
    return (u[None, :] > p[:-1]).sum(axis=0).astype(np.int8)


def rotation_speed_kms(R_kpc) -> np.ndarray:
    return VC_R0_KMS + VC_SLOPE_KMS_KPC * (np.maximum(R_kpc, VC_R_MIN_KPC) - R0_KPC)


def heliocentric_velocity(
    rng: np.random.Generator, l_deg, b_deg, d_kpc, population, dispersion_scale: float = 1.0
) -> np.ndarray:
    """(3, n) heliocentric Galactic Cartesian velocity [km/s] of stars drawn from the velocity
    ellipsoid of their population around the rotation curve, minus the Sun's velocity."""
    x, y, z, R = galactocentric(l_deg, b_deg, d_kpc)
    X, Y = x - R0_KPC, y  # Galactocentric, Sun at (−R0, 0)
    pop = np.asarray(population)
    sig = np.array([POPULATION_KINEMATICS[i] for i in range(3)])[pop]  # (n, 4)
    n = len(pop)
    g = rng.standard_normal((3, n))
    v_r = dispersion_scale * sig[:, 0] * g[0]
    v_phi = rotation_speed_kms(R) + sig[:, 3] + dispersion_scale * sig[:, 1] * g[1]
    v_z = dispersion_scale * sig[:, 2] * g[2]
    Rs = np.maximum(R, 1e-6)
    e_r = np.stack([X / Rs, Y / Rs])
    e_phi = np.stack([Y / Rs, -X / Rs])  # = (0, 1) at the Sun: toward l = 90°
    vx = v_r * e_r[0] + v_phi * e_phi[0]
    vy = v_r * e_r[1] + v_phi * e_phi[1]
    # Sun: U toward the Galactic centre (+x), V along rotation (+y), W toward the NGP
    u_sun, v_sun, w_sun = SUN_UVW_KMS
    return np.stack([vx - u_sun, vy - (VC_R0_KMS + v_sun), v_z - w_sun])


def galactic_unit_vectors(l_deg, b_deg) -> np.ndarray:
    lr, br = np.radians(l_deg), np.radians(b_deg)
    cb = np.cos(br)
    return np.stack([cb * np.cos(lr), cb * np.sin(lr), np.sin(br)])


def galactic_to_icrs_fast(l_deg, b_deg) -> tuple[np.ndarray, np.ndarray]:
    """(l, b) → (ra, dec) [deg] with the constant rotation :data:`GAL_TO_ICRS` (astropy's frame)."""
    v = GAL_TO_ICRS @ galactic_unit_vectors(l_deg, b_deg)
    return np.degrees(np.arctan2(v[1], v[0])) % 360.0, np.degrees(np.arcsin(np.clip(v[2], -1, 1)))


def icrs_to_galactic_fast(ra_deg, dec_deg) -> tuple[np.ndarray, np.ndarray]:
    a, d = np.radians(ra_deg), np.radians(dec_deg)
    v = GAL_TO_ICRS.T @ np.stack([np.cos(d) * np.cos(a), np.cos(d) * np.sin(a), np.sin(d)])
    return np.degrees(np.arctan2(v[1], v[0])) % 360.0, np.degrees(np.arcsin(np.clip(v[2], -1, 1)))


def proper_motion_icrs(ra_deg, dec_deg, d_kpc, v_gal_kms) -> tuple[np.ndarray, np.ndarray]:
    """(μ_α*, μ_δ) [mas/yr] of heliocentric Galactic velocities ``v_gal_kms`` (3, n) at (ra, dec, d)."""
    v = GAL_TO_ICRS @ v_gal_kms
    a, d = np.radians(ra_deg), np.radians(dec_deg)
    p = np.stack([-np.sin(a), np.cos(a), np.zeros_like(a)])
    q = np.stack([-np.sin(d) * np.cos(a), -np.sin(d) * np.sin(a), np.cos(d)])
    k = K_KMS * np.asarray(d_kpc, float)
    return (p * v).sum(axis=0) / k, (q * v).sum(axis=0) / k
