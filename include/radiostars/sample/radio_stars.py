"""Radio stars of the `realistic` sky: how many, which kinds, where, how bright.

**How many.** Egbo et al. (2025, MNRAS 540, 2685) find 629 stellar counterparts among the SMGPS
compact sources (510 599, Mutale et al. 2026): a share s = 629 / 510 599 = 1.23·10⁻³ of the radio
catalogue. A plane field with N_bg detected background sources gets Poisson(s · N_bg) radio stars
(never more: the share is not raised to reach statistics — the `evaluation` profile covers a larger
area instead). A targeted pointing on a high-proper-motion star holds that star only.

**Which kinds.** The classes of the Sydney Radio Star Catalogue (Driessen et al. 2024: "from ultracool
dwarfs to Wolf-Rayet stars"; cool dwarfs are less radio-luminous than evolved stars) and of Egbo et al.
(OB stars, giants, YSOs, RS CVn / BY Dra binaries, flare stars). The class fractions, M_G ranges and
radio luminosity ranges were NOT found in a readable source: the values in :data:`CLASSES` are
assumptions (luminosities from memory of Güdel 2002, ARA&A 40, 217, Fig. "radio HRD" — verify).

**Where and how bright.** For a star of class k in a field of rms σ: its distance d is drawn from
ρ_k(d) d² (the class's disc: thin disc, or a young disc of scale height 80 pc) times the probability
that a luminosity L ~ log-uniform[L_lo, L_hi] gives S = L / (4π d²) ≥ 5σ, times Gaia's completeness at
the class's M_G ~ U[M_lo, M_hi], A_G(d); then L (truncated at 4π d² · 5σ) and M_G (with completeness)
at that distance. The star is kept when its measured peak flux reaches 5σ (the radio catalogue's
cut); else it is drawn again. Its motion follows its population's velocity ellipsoid (young classes:
half the thin-disc dispersions, assumed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radiostars.sample import galaxy as gx
from radiostars.sample.radio_flux import DETECTION_SNR, observe_fluxes

EGBO_STARS, SMGPS_COMPACT_SOURCES = 629, 510_599
STAR_SHARE = EGBO_STARS / SMGPS_COMPACT_SOURCES
CM_PER_KPC = 3.0857e21
ERG_S_HZ_PER_MJY_CM2 = 1e-26  # 1 mJy = 1e-26 erg s⁻¹ cm⁻² Hz⁻¹
YOUNG_H_KPC = 0.080  # young disc scale height (assumed)


@dataclass(frozen=True)
class StarClass:
    name: str
    fraction: float
    mg_min: float
    mg_max: float
    log_l_min: float  # log10 L_ν [erg s⁻¹ Hz⁻¹] at 1.3 GHz
    log_l_max: float
    young: bool  # young disc (h = 80 pc, half dispersions) instead of the thin disc


CLASSES: tuple[StarClass, ...] = (
    StarClass("m_dwarf", 0.30, 8.0, 13.0, 13.0, 15.5, False),  # flare stars, BY Dra
    StarClass("ultracool_dwarf", 0.03, 13.0, 17.0, 12.5, 14.0, False),
    StarClass("active_binary", 0.32, 1.0, 5.0, 15.0, 18.0, False),  # RS CVn / Algol / BY Dra
    StarClass("giant", 0.10, -1.0, 2.0, 14.5, 17.0, False),
    StarClass("yso", 0.15, 2.0, 8.0, 15.0, 18.0, True),
    StarClass("ob_wr", 0.10, -6.0, -2.0, 17.0, 20.0, True),
)
CLASS_NAMES = tuple(c.name for c in CLASSES)


def flux_mjy(log_l: np.ndarray, d_kpc: np.ndarray) -> np.ndarray:
    """S = L / (4π d²) [mJy]."""
    return (
        10 ** np.asarray(log_l, float)
        / (4 * np.pi * (np.asarray(d_kpc, float) * CM_PER_KPC) ** 2)
        / ERG_S_HZ_PER_MJY_CM2
    )


def distance_weights(cls: StarClass, l_deg: float, b_deg: float, s_min_mjy: float) -> tuple[np.ndarray, np.ndarray]:
    """(distance-bin centres [kpc], weights) of a detectable, Gaia-visible star of class ``cls``."""
    d = np.sqrt(gx.D_EDGES_KPC[1:] * gx.D_EDGES_KPC[:-1])
    dd = np.diff(gx.D_EDGES_KPC)
    _, _, z, R = gx.galactocentric(l_deg, b_deg, d)
    if cls.young:
        rho = np.exp(-(R - gx.R0_KPC) / gx.THIN_L_KPC - np.abs(z + gx.Z_SUN_KPC) / YOUNG_H_KPC)
    else:
        rho = gx.component_densities(R, z)[gx.THIN]
    log_l_needed = np.log10(s_min_mjy * ERG_S_HZ_PER_MJY_CM2 * 4 * np.pi * (d * CM_PER_KPC) ** 2)
    p_radio = np.clip((cls.log_l_max - log_l_needed) / (cls.log_l_max - cls.log_l_min), 0.0, 1.0)
    av = gx.extinction_av(l_deg, b_deg, d)
    mg = np.linspace(cls.mg_min, cls.mg_max, 41)
    g = mg[None, :] + gx.distance_modulus(d)[:, None] + gx.AG_PER_AV * av[:, None]
    p_gaia = gx.completeness(g).mean(axis=1)
    return d, rho * d**2 * dd * p_radio * p_gaia


def draw_radio_stars(
    rng: np.random.Generator, n: int, l_deg: float, b_deg: float, rms_mjy: float, position_sampler
) -> dict[str, np.ndarray]:
    """n detected radio stars toward a field centred on (l, b) with image rms ``rms_mjy``.

    ``position_sampler(rng, k)`` returns k (l, b) inside the field. Returns true l, b, d_kpc, mg, av,
    g_mag, v_gal (3, n), star_class, log_l, int_true_mjy and the observed fluxes."""
    s_min = DETECTION_SNR * rms_mjy
    tables = [distance_weights(c, l_deg, b_deg, s_min) for c in CLASSES]
    frac = np.array([c.fraction for c in CLASSES])
    out: dict[str, list] = {k: [] for k in ("cls", "d_kpc", "mg", "log_l", "av")}
    flux_parts = []
    got = 0
    while got < n:
        m = max(2 * (n - got), 4)
        k = rng.choice(len(CLASSES), size=m, p=frac / frac.sum())
        d = np.empty(m)
        mg = np.empty(m)
        log_l = np.empty(m)
        for ci in np.unique(k):
            idx = np.flatnonzero(k == ci)
            c = CLASSES[ci]
            d_c, w = tables[ci]
            cdf = np.cumsum(w)
            j = np.minimum(np.searchsorted(cdf, rng.random(len(idx)) * cdf[-1], side="right"), len(cdf) - 1)
            lo, hi = np.log(gx.D_EDGES_KPC[j]), np.log(gx.D_EDGES_KPC[j + 1])
            d[idx] = np.exp(lo + rng.random(len(idx)) * (hi - lo))
            l_need = np.log10(s_min * ERG_S_HZ_PER_MJY_CM2 * 4 * np.pi * (d[idx] * CM_PER_KPC) ** 2)
            l_lo = np.clip(l_need, c.log_l_min, c.log_l_max)
            log_l[idx] = rng.uniform(l_lo, c.log_l_max)
            mg[idx] = rng.uniform(c.mg_min, c.mg_max, len(idx))
        av = np.array([float(gx.extinction_av(l_deg, b_deg, np.array([x]))[0]) for x in d])
        g = mg + gx.distance_modulus(d) + gx.AG_PER_AV * av
        s_true = flux_mjy(log_l, d)
        obs = observe_fluxes(rng, s_true, np.full(m, rms_mjy))
        ok = (rng.random(m) < gx.completeness(g)) & (obs["peak_flux_mjy"] >= s_min)
        take = np.flatnonzero(ok)[: n - got]
        for key, arr in (("cls", k), ("d_kpc", d), ("mg", mg), ("log_l", log_l), ("av", av)):
            out[key].append(arr[take])
        flux_parts.append({kk: v[take] for kk, v in obs.items()})
        got += len(take)
    res = {k: np.concatenate(v) if v else np.empty(0) for k, v in out.items()}
    res["cls"] = res["cls"].astype(int)
    res["star_class"] = np.array([CLASSES[i].name for i in res["cls"]], dtype=object)
    res["g_mag"] = res["mg"] + gx.distance_modulus(res["d_kpc"]) + gx.AG_PER_AV * res["av"]
    res["l_deg"], res["b_deg"] = position_sampler(rng, n)
    young = np.array([CLASSES[i].young for i in res["cls"]], dtype=bool)
    pop = np.full(n, gx.THIN, dtype=np.int8)
    v = gx.heliocentric_velocity(rng, res["l_deg"], res["b_deg"], res["d_kpc"], pop)
    v_young = gx.heliocentric_velocity(rng, res["l_deg"], res["b_deg"], res["d_kpc"], pop, 0.5)
    res["v_gal"] = np.where(young[None, :], v_young, v)
    res["population"] = pop
    for key in ("peak_flux_mjy", "int_flux_mjy", "int_flux_err_mjy", "int_true_mjy", "ratio"):
        res[key] = np.concatenate([p[key] for p in flux_parts]) if flux_parts else np.empty(0)
    return res
