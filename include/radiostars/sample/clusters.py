"""Open clusters: the clumping of the `realistic` faint field.

* Number: 5648 bound open clusters over the sky (Hunt & Reffert 2024, A&A 686, A42; of the 7167 groups of
  Hunt & Reffert 2023), spread like a young thin disc: ρ_OC ∝ e^{−(R−R0)/L1 − |z+z⊙|/h_OC}, h_OC = 100 pc
  (assumed; Cantat-Gaudin et al. 2020 quantify the cluster scale height vs age), catalogued out to
  d_OC = 5 kpc (assumed): the expected number in a sky cell is 5648 · ∫ρ_OC d² dd · Ω / Σ_sky.
* Size: projected half-number radius a lognormal with median 3.7 pc (Sánchez et al. 2020: cluster sizes
  lognormal, mean characteristic radius 3.7 pc) and σ_ln = 0.5 (assumed); Plummer profile, so a
  member's projected radius is a √(u / (1 − u)), u ~ U(0, 1), truncated at 10 a; depth N(0, a).
* Members: "a few tens of stars to over a thousand" (Hunt & Reffert 2023): total number log-uniform in
  [30, 3000] (assumed), M_G from the field luminosity function, kept with Gaia's completeness C(G) at
  the cluster's distance and extinction.
* Motion: the cluster moves like a young thin-disc star (Bensby thin-disc ellipsoid × 0.5, assumed); its
  members share it with an internal dispersion of 1 km/s per axis (assumed).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from radiostars.sample import galaxy as gx

N_CLUSTERS_SKY = 5648
CLUSTER_H_KPC = 0.100
CLUSTER_D_MAX_KPC = 5.0
RADIUS_MEDIAN_PC, RADIUS_SIGMA_LN = 3.7, 0.5
MEMBERS_MIN, MEMBERS_MAX = 30, 3000
INTERNAL_SIGMA_KMS = 1.0
BULK_DISPERSION_SCALE = 0.5

_D_GRID = np.linspace(0.0, CLUSTER_D_MAX_KPC, 201)


def _column(l_deg: float, b_deg: float) -> np.ndarray:
    """ρ_OC(d) d² on :data:`_D_GRID` (arbitrary units)."""
    _, _, z, R = gx.galactocentric(l_deg, b_deg, _D_GRID)
    return np.exp(-(R - gx.R0_KPC) / gx.THIN_L_KPC - np.abs(z + gx.Z_SUN_KPC) / CLUSTER_H_KPC) * _D_GRID**2


@lru_cache(maxsize=1)
def _sky_integral() -> float:
    """Σ over the sky of ∫ρ_OC d² dd dΩ [arbitrary units · deg²] (the cluster disc is thin: a fine grid in b)."""
    ls = (np.arange(72) + 0.5) * 5.0
    sb = np.sin(np.radians(np.linspace(-30, 30, 241)))
    total = 0.0
    for i in range(len(sb) - 1):
        b = np.degrees(np.arcsin(0.5 * (sb[i] + sb[i + 1])))
        area = (sb[i + 1] - sb[i]) * np.radians(5.0) * gx.SQDEG_PER_SR
        total += sum(np.trapezoid(_column(l, b), _D_GRID) for l in ls) * area
    return total


def expected_clusters(l_deg: float, b_deg: float, area_deg2: float) -> float:
    """Expected number of catalogued open clusters in ``area_deg2`` around (l, b)."""
    return N_CLUSTERS_SKY * np.trapezoid(_column(l_deg, b_deg), _D_GRID) * area_deg2 / _sky_integral()


def draw_cluster_members(rng: np.random.Generator, l_deg: float, b_deg: float) -> dict[str, np.ndarray]:
    """One cluster toward (l, b): its Gaia-visible members' true (l, b, d, M_G, A_V, G, v_gal)."""
    col = _column(l_deg, b_deg)
    cdf = np.cumsum(col)
    d_c = float(np.interp(rng.random() * cdf[-1], cdf, _D_GRID))
    d_c = max(d_c, 0.05)
    a_kpc = RADIUS_MEDIAN_PC * np.exp(RADIUS_SIGMA_LN * rng.standard_normal()) / 1000.0
    n_tot = int(np.exp(rng.uniform(np.log(MEMBERS_MIN), np.log(MEMBERS_MAX))))
    mg_c, phi = gx.luminosity_function()
    mg = rng.choice(mg_c, size=n_tot, p=phi / phi.sum()) + rng.uniform(-0.5, 0.5, n_tot) * gx.M_STEP
    u = np.minimum(rng.random(n_tot), 0.99)
    r = np.minimum(a_kpc * np.sqrt(u / (1 - u)), 10 * a_kpc)
    ang = rng.uniform(0, 2 * np.pi, n_tot)
    dl = np.degrees(r * np.cos(ang) / d_c) / max(np.cos(np.radians(b_deg)), 1e-6)
    db = np.degrees(r * np.sin(ang) / d_c)
    d = np.maximum(d_c + a_kpc * rng.standard_normal(n_tot), 1e-3)
    av = gx.extinction_av(l_deg, b_deg, d)
    g = mg + gx.distance_modulus(d) + gx.AG_PER_AV * av
    keep = rng.random(n_tot) < gx.completeness(g)
    bulk = gx.heliocentric_velocity(
        rng, np.array([l_deg]), np.array([b_deg]), np.array([d_c]), np.array([gx.THIN]), BULK_DISPERSION_SCALE
    )
    v = bulk + INTERNAL_SIGMA_KMS * rng.standard_normal((3, n_tot))
    return {
        "l_deg": (l_deg + dl[keep]) % 360.0,
        "b_deg": b_deg + db[keep],
        "d_kpc": d[keep],
        "mg": mg[keep],
        "av": av[keep],
        "g_mag": g[keep],
        "v_gal": v[:, keep],
    }
