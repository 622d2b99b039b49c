"""Synthetic faint Gaia-like field stars (is_synthetic = 1) inside the survey fields.

Two skies. The `realistic` one (:class:`FieldSky`, :func:`model_star_rows`) draws stars from the
Galaxy model (:mod:`radiostars.sample.galaxy`, :mod:`radiostars.sample.clusters`,
:mod:`radiostars.sample.gaia_astrometry`). The `easy` one (:func:`faint_star_chunk`, the first sample)
is plausible, not a Galaxy model:

* positions uniform in the field (see :func:`fields.uniform_lb`), epoch 2016.0;
* G on [12, 21] with dN/dG ∝ 10^(0.3 G) (inverse CDF of a truncated exponential);
* distance d ~ Gamma(k=2, θ=1.5 kpc), clipped to [0.05, 20] kpc; true parallax ϖ = 1/d [mas];
* tangential velocity per axis ~ N(0, 35 km/s); μ = v / (4.74047 d) [mas/yr, d in kpc];
* Gaia DR3-like errors (Lindegren et al. 2021, roughly): σ_ϖ(G) = sqrt(0.015² + (0.5·10^(0.25(G−20)))²) mas,
  σ_pos = 0.8 σ_ϖ [mas], σ_μ = 1.1 σ_ϖ [mas/yr]; observed = true + N(0, σ);
* two-parameter solutions (no parallax / pm, NULL, position error × 3) with probability
  0.6 · clip((G − 19) / 2, 0, 1);
* BP−RP ~ N(1.5 + 0.1 (G − 15), 0.5), clipped to [−0.3, 5].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from radiostars.sample import clusters
from radiostars.sample import gaia_astrometry as ga
from radiostars.sample import galaxy as gx
from radiostars.sample.fields import Field, field_of, galactic_to_icrs, uniform_lb
from radiostars.sample.gaia_bright import GAIA_REF_EPOCH
from radiostars.sample.ids import synthetic_gaia_id

G_MIN, G_MAX, G_SLOPE = 12.0, 21.0, 0.3
K_KMS_PER_KPC_MASYR = 4.74047


def sample_g_mag(
    rng: np.random.Generator, n: int, g_min: float = G_MIN, g_max: float = G_MAX, slope: float = G_SLOPE
) -> np.ndarray:
    """Inverse CDF of dN/dG ∝ 10^(slope G) on [g_min, g_max]."""
    lo, hi = 10 ** (slope * g_min), 10 ** (slope * g_max)
    return np.log10(lo + rng.random(n) * (hi - lo)) / slope


def parallax_error_mas(g_mag: np.ndarray) -> np.ndarray:
    """σ_ϖ(G) = sqrt(0.015² + (0.5 · 10^(0.25 (G − 20)))²) [mas]."""
    return np.hypot(0.015, 0.5 * 10 ** (0.25 * (g_mag - 20.0)))


def faint_star_chunk(rng: np.random.Generator, field: Field, first: int, n: int) -> pd.DataFrame:
    """``n`` synthetic stars of ``field`` numbered ``first..first+n-1`` (gaia_dr3 columns)."""
    l_deg, b_deg = uniform_lb(rng, field, n)
    ra, dec = galactic_to_icrs(l_deg, b_deg)
    g = sample_g_mag(rng, n)
    d_kpc = np.clip(rng.gamma(2.0, 1.5, n), 0.05, 20.0)
    plx_true = 1.0 / d_kpc
    pm_true = rng.normal(0.0, 35.0, (2, n)) / (K_KMS_PER_KPC_MASYR * d_kpc)
    s_plx = parallax_error_mas(g)
    s_pos, s_pm = 0.8 * s_plx, 1.1 * s_plx
    noise = rng.standard_normal((3, n))
    two_param = rng.random(n) < 0.6 * np.clip((g - 19.0) / 2.0, 0.0, 1.0)
    nan_if = np.where(two_param, np.nan, 1.0)
    bp_rp = np.clip(rng.normal(1.5 + 0.1 * (g - 15.0), 0.5), -0.3, 5.0)
    pos_err = s_pos * np.where(two_param, 3.0, 1.0)
    return pd.DataFrame(
        {
            "source_id": synthetic_gaia_id(field.index, np.arange(first, first + n, dtype=np.int64)),
            "ra": ra,
            "dec": dec,
            "ra_error": pos_err,
            "dec_error": pos_err.copy(),
            "parallax": (plx_true + s_plx * noise[0]) * nan_if,
            "parallax_error": s_plx * nan_if,
            "pmra": (pm_true[0] + s_pm * noise[1]) * nan_if,
            "pmdec": (pm_true[1] + s_pm * noise[2]) * nan_if,
            "pmra_error": s_pm * nan_if,
            "pmdec_error": s_pm * nan_if,
            "phot_g_mean_mag": g,
            "bp_rp": bp_rp,
            "ref_epoch": np.full(n, GAIA_REF_EPOCH),
            "is_synthetic": np.ones(n, dtype=bool),
        }
    )


# ---- the realistic sky: the Galaxy model of :mod:`radiostars.sample.galaxy` ----------------------------
CELL_DL_DEG, CELL_DB_DEG = 1.0, 0.1  # sky cells of a box field: density is evaluated per cell
MODEL_COLUMNS_TRUTH = (
    "true_ra",
    "true_dec",
    "true_parallax",
    "true_pmra",
    "true_pmdec",
    "true_g",
    "distance_pc",
    "population",
    "in_cluster",
    "two_param",
)


@dataclass
class FieldSky:
    """Star counts of one field from the Galaxy model: sky cells, their line-of-sight tables and
    expected counts (``expected``), plus the expected open clusters per cell.

    Positions are uniform inside a cell (box cells: l ~ U, sin b ~ U; a pointing is one cell)."""

    field: Field
    cells: list[tuple[float, float, float, float, float]]  # (l_lo, l_hi, b_lo, b_hi, area) or pointing
    los: list[gx.LineOfSight]
    expected_per_cell: np.ndarray
    clusters_per_cell: np.ndarray

    @classmethod
    def build(cls, field: Field) -> FieldSky:
        cells, los = [], []
        if field.is_pointing:
            l_c, b_c = field.centre_lb
            cells.append((np.nan, np.nan, np.nan, np.nan, field.area_deg2))
            los.append(gx.line_of_sight(l_c, b_c))
            centres = [(l_c, b_c)]
        else:
            n_l = max(1, int(np.ceil((field.l_max_deg - field.l_min_deg) / CELL_DL_DEG - 1e-9)))
            n_b = max(1, int(np.ceil((field.b_max_deg - field.b_min_deg) / CELL_DB_DEG - 1e-9)))
            l_e = np.linspace(field.l_min_deg, field.l_max_deg, n_l + 1)
            s_e = np.linspace(np.sin(np.radians(field.b_min_deg)), np.sin(np.radians(field.b_max_deg)), n_b + 1)
            b_e = np.degrees(np.arcsin(s_e))
            centres = []
            for i in range(n_l):
                for j in range(n_b):
                    area = np.radians(l_e[i + 1] - l_e[i]) * (s_e[j + 1] - s_e[j]) * gx.SQDEG_PER_SR
                    l_c = (0.5 * (l_e[i] + l_e[i + 1])) % 360.0
                    b_c = float(np.degrees(np.arcsin(0.5 * (s_e[j] + s_e[j + 1]))))
                    cells.append((l_e[i], l_e[i + 1], b_e[j], b_e[j + 1], area))
                    los.append(gx.line_of_sight(l_c, b_c))
                    centres.append((l_c, b_c))
        area = np.array([c[4] for c in cells])
        expected = np.array([x.density_per_deg2 for x in los]) * area
        oc = np.array([clusters.expected_clusters(l, b, a) for (l, b), a in zip(centres, area)])
        return cls(field, cells, los, expected, oc)

    @property
    def expected(self) -> float:
        return float(self.expected_per_cell.sum())

    @property
    def density_per_deg2(self) -> float:
        return self.expected / self.field.area_deg2

    def positions(self, rng: np.random.Generator, cell: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """n (l, b) uniform inside cell ``cell``."""
        if self.field.is_pointing:
            return uniform_lb(rng, self.field, n)
        l_lo, l_hi, b_lo, b_hi, _ = self.cells[cell]
        s = rng.uniform(np.sin(np.radians(b_lo)), np.sin(np.radians(b_hi)), n)
        return rng.uniform(l_lo, l_hi, n) % 360.0, np.degrees(np.arcsin(s))

    def draw_field_stars(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """n field stars: cells ∝ expected counts, then (d, M_G) from each cell's table."""
        cdf = np.cumsum(self.expected_per_cell)
        cell = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(cdf) - 1)
        out = {k: np.empty(n) for k in ("l_deg", "b_deg", "d_kpc", "mg", "av")}
        for c in np.unique(cell):
            idx = np.flatnonzero(cell == c)
            out["l_deg"][idx], out["b_deg"][idx] = self.positions(rng, int(c), len(idx))
            out["d_kpc"][idx], out["mg"][idx], out["av"][idx] = gx.sample_distance_magnitude(rng, self.los[c], len(idx))
        out["g_mag"] = out["mg"] + gx.distance_modulus(out["d_kpc"]) + gx.AG_PER_AV * out["av"]
        out["population"] = gx.draw_population(rng, out["l_deg"], out["b_deg"], out["d_kpc"])
        out["v_gal"] = gx.heliocentric_velocity(rng, out["l_deg"], out["b_deg"], out["d_kpc"], out["population"])
        return out

    def draw_clusters(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The members of this field's open clusters (Poisson number per cell), kept inside the field."""
        n_oc = rng.poisson(self.clusters_per_cell)
        parts = []
        for c in np.flatnonzero(n_oc):
            for _ in range(int(n_oc[c])):
                l_c, b_c = self.positions(rng, int(c), 1)
                m = clusters.draw_cluster_members(rng, float(l_c[0]), float(b_c[0]))
                parts.append(m)
        keys = ("l_deg", "b_deg", "d_kpc", "mg", "av", "g_mag")
        if not parts:
            out = {k: np.empty(0) for k in keys}
            out["v_gal"] = np.empty((3, 0))
        else:
            out = {k: np.concatenate([p[k] for p in parts]) for k in keys}
            out["v_gal"] = np.concatenate([p["v_gal"] for p in parts], axis=1)
        inside = self.contains(out["l_deg"], out["b_deg"])
        out = {k: (v[:, inside] if k == "v_gal" else v[inside]) for k, v in out.items()}
        out["population"] = np.zeros(int(inside.sum()), dtype=np.int8)
        return out

    def contains(self, l_deg: np.ndarray, b_deg: np.ndarray) -> np.ndarray:
        if self.field.is_pointing:
            ra, dec = gx.galactic_to_icrs_fast(l_deg, b_deg)
            return field_of(l_deg, b_deg, [self.field], ra, dec) == self.field.index
        return field_of(l_deg % 360.0, b_deg, [self.field]) == self.field.index


def model_star_rows(
    rng: np.random.Generator, stars: dict[str, np.ndarray], field_index: int, first: int, in_cluster: bool = False
) -> pd.DataFrame:
    """gaia_dr3 rows (+ the truth columns :data:`MODEL_COLUMNS_TRUTH`) of drawn stars: true position at
    J2016.0, parallax 1/d, proper motion from the velocity; catalogue values by
    :func:`radiostars.sample.gaia_astrometry.observe`."""
    n = len(stars["d_kpc"])
    ra, dec = gx.galactic_to_icrs_fast(stars["l_deg"], stars["b_deg"])
    pmra, pmdec = gx.proper_motion_icrs(ra, dec, stars["d_kpc"], stars["v_gal"])
    plx = 1.0 / stars["d_kpc"]
    bp_rp = ga.intrinsic_bp_rp(rng, stars["mg"]) + gx.E_BPRP_PER_AV * stars["av"]
    two_param = rng.random(n) < ga.two_parameter_probability(stars["g_mag"])
    df = ga.observe(rng, ra, dec, plx, pmra, pmdec, stars["g_mag"], bp_rp, two_param)
    df.insert(0, "source_id", synthetic_gaia_id(field_index, np.arange(first, first + n, dtype=np.int64)))
    df["is_synthetic"] = np.ones(n, dtype=bool)
    truth = {
        "true_ra": ra,
        "true_dec": dec,
        "true_parallax": plx,
        "true_pmra": pmra,
        "true_pmdec": pmdec,
        "true_g": stars["g_mag"],
        "distance_pc": stars["d_kpc"] * 1000.0,
        "population": stars["population"],
        "in_cluster": np.full(n, in_cluster),
        "two_param": two_param,
    }
    for k in MODEL_COLUMNS_TRUTH:
        df[k] = truth[k]
    return df
