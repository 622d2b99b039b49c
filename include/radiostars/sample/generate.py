"""Deterministic generation of the four catalogue tables, streamed as DataFrame chunks.

:class:`SampleGenerator` yields ``(table, chunk)`` in load order hipparcos2 → gaia_dr3 →
radio_sources → known_objects (the radio sky needs the stars chosen while streaming them). Every
chunk has exactly the schema columns (``schema.column_names``). Random numbers come from
independent streams ``SeedSequence([seed, stream, *keys])``, so a chunk does not depend on the
chunk size nor on which tables are loaded. After the stream is exhausted, ``truth_radio``,
``truth_fields``, ``dirty_rows`` and ``counts`` hold the evaluation truth (see docs/data.md).

Profiles (:mod:`radiostars.sample.profiles`): ``easy`` is the first sample (uniform faint field, fixed
injection); ``realistic`` and ``evaluation`` draw the faint field from the Galaxy model
(:class:`radiostars.sample.faint_stars.FieldSky`), radio stars from their population model
(:mod:`radiostars.sample.radio_stars`) at the Egbo et al. share per field, and targeted pointings on
high-proper-motion Hipparcos stars; their radio positions carry per-field coherent offsets and a tail
(:mod:`radiostars.sample.radio_errors`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from radiostars.catalogues.schema import column_names
from radiostars.catalogues.tables import ID_COLUMN, OBJECT_TYPES
from radiostars.crossmatch.epoch import MJD_J2000
from radiostars.sample import dirty as dirty_mod
from radiostars.sample import galaxy as gx
from radiostars.sample import ids
from radiostars.sample import profiles as prof
from radiostars.sample.errors import SampleError
from radiostars.sample.faint_stars import MODEL_COLUMNS_TRUTH, FieldSky, faint_star_chunk, model_star_rows
from radiostars.sample.fields import (
    Field,
    field_of,
    galactic_name,
    galactic_to_icrs,
    icrs_to_galactic,
    make_unique,
    offset_radec,
    uniform_lb,
)
from radiostars.sample.gaia_bright import GAIA_REF_EPOCH, read_gaia_bright
from radiostars.sample.hipparcos import read_hipparcos2
from radiostars.sample.propagate import propagate_astropy
from radiostars.sample.radio_errors import (
    TAIL_FRACTION,
    coherent_offset_arcsec,
    position_error_arcsec,
    quoted_error_arcsec,
    statistical_offsets,
)
from radiostars.sample.radio_flux import (
    DEFAULT_BG_DENSITY_PER_DEG2,
    DEFAULT_SLOPE,
    DETECTION_SNR,
    detected_background,
    observe_fluxes,
    radio_source_columns,
    sample_power_law,
)
from radiostars.sample.radio_stars import STAR_SHARE, draw_radio_stars

DEFAULT_FAINT_DENSITY_PER_DEG2 = prof.EASY_FAINT_DENSITY_PER_DEG2
BRIGHT_SUBSTITUTE_G = 10.0  # a drawn radio star brighter than this becomes a real star of the field
BRIGHT_SUBSTITUTE_MAX_DMAG = 1.0
BARNARD_HIP = 87937
HPM_MAS_YR = 1000.0
HIP_BLOCK_ROWS = 50_000  # fixed block sizes: random streams are keyed by block, not by chunk_rows
FAINT_BLOCK_ROWS = 50_000
# pseudo-field of targeted pointings on high-proper-motion Hipparcos stars (anywhere on the sky)
HPM_FIELD = Field("HPM", -1, 0.0, 0.0, 0.0, 0.0, 58119.0, 0.020, 0.4)  # epochs 2018.0–2021.0
HPM_EPOCH_SPAN_DAYS = 1096.0
KNOWN_BG_TYPES = (("AGN", 0.55), ("HII", 0.25), ("PN", 0.12), ("Pulsar", 0.08))

# stream ids for SeedSequence
_S_FAINT_N, _S_FAINT, _S_INJ_PICK, _S_HIP, _S_BG, _S_INJ, _S_NAMES, _S_KNOWN, _S_DIRTY = range(1, 10)
_S_FIELDS, _S_CLUSTER, _S_RSTAR, _S_ASTRO, _S_HPM_PICK = range(20, 25)


@dataclass(frozen=True)
class SampleParams:
    """Sample parameters; ``None`` means the profile's default (:mod:`radiostars.sample.profiles`)."""

    seed: int = 42
    profile: str = prof.DEFAULT_PROFILE
    area_deg2: float | None = None
    n_fields: int = 5
    faint_density_per_deg2: float | None = None  # easy profile only
    bg_density_per_deg2: float = DEFAULT_BG_DENSITY_PER_DEG2
    flux_slope: float = DEFAULT_SLOPE
    n_inject_faint: int = 200  # easy profile: the first sample's fixed injection
    n_inject_gaia_bright: int = 40
    n_inject_hip_in_field: int = 20
    n_inject_hpm: int = 40  # + Barnard's star, always
    n_hpm_pointings: int | None = None  # realistic: 4 (+ Barnard's star); evaluation: every μ > 1″/yr star
    star_share: float = STAR_SHARE
    tail_fraction: float = TAIL_FRACTION
    known_bg_fraction: float = 0.05
    known_extra_hip_stars: int = 100
    dirty: bool = False
    chunk_rows: int = 100_000

    @property
    def is_easy(self) -> bool:
        return self.profile == "easy"

    def resolved(self) -> SampleParams:
        """A copy with the profile's defaults filled in."""
        from dataclasses import replace

        return replace(
            self,
            area_deg2=self.area_deg2 if self.area_deg2 is not None else prof.default_area(self.profile),
            faint_density_per_deg2=(
                self.faint_density_per_deg2
                if self.faint_density_per_deg2 is not None
                else DEFAULT_FAINT_DENSITY_PER_DEG2
            )
            if self.is_easy
            else None,
            n_hpm_pointings=self.n_hpm_pointings
            if self.n_hpm_pointings is not None or self.is_easy
            else (prof.REALISTIC_HPM_POINTINGS if self.profile == "realistic" else -1),
        )

    def validate(self) -> SampleParams:
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise SampleError(f"seed={self.seed!r} must be a non-negative integer")
        prof.check_profile(self.profile)
        if self.faint_density_per_deg2 is not None and not self.is_easy:
            raise SampleError(
                f"faint_density_per_deg2 applies to the easy profile only; the {self.profile} "
                "profile draws its faint field from the Galaxy model"
            )
        if self.area_deg2 is not None and (not np.isfinite(self.area_deg2) or self.area_deg2 <= 0):
            raise SampleError(f"area_deg2={self.area_deg2!r} must be a finite number of square degrees > 0")
        for name in ("faint_density_per_deg2", "bg_density_per_deg2"):
            v = getattr(self, name)
            if v is not None and (not np.isfinite(v) or v < 0):
                raise SampleError(f"{name}={v!r} must be a finite number >= 0 per square degree")
        if not 0.5 <= self.flux_slope <= 3:
            raise SampleError(f"flux_slope={self.flux_slope} must be in [0.5, 3] (1.5 = Euclidean)")
        if not 0 <= self.star_share < 0.1 or not 0 <= self.tail_fraction < 1:
            raise SampleError(f"star_share={self.star_share} / tail_fraction={self.tail_fraction} out of range")
        if self.chunk_rows < 1000:
            raise SampleError(f"chunk_rows={self.chunk_rows} must be >= 1000")
        r = self.resolved()
        prof.plane_fields(r.profile, r.area_deg2, r.n_fields, lambda i: rng_for(r.seed, _S_FIELDS, i))
        return self


def rng_for(seed: int, stream: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), stream, *map(int, keys)]))


class TableDigest:
    """SHA-256 per column over the values in row order, independent of how rows are chunked.

    ``hexdigest`` combines the per-column digests with the column names; ``updated_at`` is skipped
    (it is the wall-clock time of the seed). NaN and NULL hash alike.
    """

    def __init__(self, skip: tuple[str, ...] = ("updated_at",)):
        self.skip = skip
        self._h: dict[str, hashlib._Hash] = {}

    def update(self, df: pd.DataFrame) -> None:
        for c in df.columns:
            if c in self.skip:
                continue
            h = self._h.setdefault(c, hashlib.sha256())
            s = df[c]
            if s.dtype == object:
                h.update(
                    "".join(
                        "\x00\x1e" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v}\x1e" for v in s
                    ).encode()
                )
            else:
                a = s.to_numpy()
                if a.dtype.kind == "f":
                    a = np.where(np.isnan(a), np.nan, a)  # one NaN bit pattern
                h.update(np.ascontiguousarray(a).tobytes())

    def hexdigest(self) -> str:
        top = hashlib.sha256()
        for c in sorted(self._h):
            top.update(c.encode() + b"=" + self._h[c].digest())
        return top.hexdigest()


def update_digest(digest: TableDigest, df: pd.DataFrame) -> None:
    digest.update(df)


# truth columns of radio_truth.parquet (docs/data.md §4)
TRUTH_RADIO_COLUMNS = [
    "source_name",
    "row_id",
    "catalogue",
    "star_id",
    "is_injected",
    "true_ra_deg",
    "true_dec_deg",
    "int_true_mjy",
    "field",
    "field_kind",
    "obs_epoch_mjd",
    "star_class",
    "offset_east_arcsec",
    "offset_north_arcsec",
    "is_tail",
    "true_distance_pc",
    "true_parallax_mas",
    "true_pmra_mas_yr",
    "true_pmdec_mas_yr",
    "g_mag",
    "catalogue_has_pm",
    "log_l_radio",
]
_STAR_COLUMNS = [
    "catalogue",
    "star_id",
    "field_index",
    "star_class",
    "ra",
    "dec",
    "pmra",
    "pmdec",
    "parallax",
    "ref_epoch",
    "g_mag",
    "catalogue_has_pm",
    "log_l_radio",
    "int_true_mjy",
    "peak_flux_mjy",
    "int_flux_mjy",
    "int_flux_err_mjy",
]


@dataclass
class _Star:
    """An injected radio star: its TRUE astrometry at ``ref_epoch`` (for the easy profile: its
    catalogue row, as the first sample did)."""

    catalogue: str
    star_id: int
    ra: float
    dec: float
    pmra: float
    pmdec: float
    parallax: float
    ref_epoch: float
    field_index: int  # -1 = outside the fields (easy HPM stars)
    star_class: str = "easy"
    g_mag: float = float("nan")
    catalogue_has_pm: bool = True
    log_l_radio: float = float("nan")
    int_true_mjy: float = float("nan")
    peak_flux_mjy: float = float("nan")
    int_flux_mjy: float = float("nan")
    int_flux_err_mjy: float = float("nan")


@dataclass
class SampleGenerator:
    params: SampleParams
    updated_at: dt.datetime
    fields: list[Field] = field(init=False)
    truth_radio: pd.DataFrame | None = field(default=None, init=False)
    truth_fields: pd.DataFrame | None = field(default=None, init=False)
    dirty_rows: list[tuple[str, int, str]] = field(default_factory=list, init=False)
    counts: dict[str, int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.params = self.params.validate().resolved()
        p = self.params
        self.fields = prof.plane_fields(p.profile, p.area_deg2, p.n_fields, lambda i: self._rng(_S_FIELDS, i))
        self._next_row = {}
        self._templates: dict[str, pd.DataFrame] = {}
        self._hip_cand: list[pd.DataFrame] = []
        self._hip_known: list[pd.DataFrame] = []
        self._gaia_cand: list[pd.DataFrame] = []
        self._faint_injected: list[pd.DataFrame] = []
        self._stars: list[_Star] = []
        self._background: dict[int, dict] = {}
        self._field_stats: dict[int, dict] = {}
        self._used_real: set[tuple[str, int]] = set()

    @property
    def all_fields(self) -> list[Field]:
        """Plane fields and (after the Hipparcos pass) the high-proper-motion pointings."""
        return self.fields + getattr(self, "pointings", [])

    # ---- plumbing ----------------------------------------------------------------------------
    def _rng(self, stream: int, *keys: int) -> np.random.Generator:
        return rng_for(self.params.seed, stream, *keys)

    def _finish(self, table: str, df: pd.DataFrame) -> pd.DataFrame:
        """Add row_id / deleted / updated_at and put the columns in schema order."""
        start = self._next_row.get(table, 1)
        df = df.copy()
        df["row_id"] = np.arange(start, start + len(df), dtype=np.int64)
        df["deleted"] = False
        df["updated_at"] = (
            pd.Timestamp(self.updated_at).tz_localize(None) if self.updated_at.tzinfo else pd.Timestamp(self.updated_at)
        )
        self._next_row[table] = start + len(df)
        self.counts[table] = self.counts.get(table, 0) + len(df)
        df = df[column_names(table)]
        if table not in self._templates and len(df):
            self._templates[table] = df.iloc[: min(len(df), 5000)].copy()
        return df

    def _dirty(self, table: str, new_ids) -> Iterator[tuple[str, pd.DataFrame]]:
        if not self.params.dirty:
            return
        rows, kinds = dirty_mod.make_dirty_rows(
            table,
            self._templates.get(table, pd.DataFrame()),
            self._rng(_S_DIRTY, list(dirty_mod.DIRTY_COUNTS).index(table)),
            new_ids,
            ID_COLUMN[table],
        )
        out = self._finish(table, rows.drop(columns=["row_id", "deleted", "updated_at"]))
        self.dirty_rows += [(table, int(r), k) for r, k in zip(out["row_id"], kinds)]
        yield table, out

    def _chunks(self, table: str, df: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
        for start in range(0, len(df), self.params.chunk_rows):
            yield table, self._finish(table, df.iloc[start : start + self.params.chunk_rows])

    # ---- the stream ----------------------------------------------------------------------------
    def generate(self) -> Iterator[tuple[str, pd.DataFrame]]:
        yield from self._hipparcos()
        yield from self._gaia()
        yield from self._radio()
        yield from self._known()

    def _hipparcos(self) -> Iterator[tuple[str, pd.DataFrame]]:
        p = self.params
        for k, chunk in enumerate(read_hipparcos2(HIP_BLOCK_ROWS)):  # fixed: keys the rng
            l_deg, b_deg = icrs_to_galactic(chunk["ra_deg"].to_numpy(), chunk["dec_deg"].to_numpy())
            fidx = field_of(l_deg, b_deg, self.fields)
            pm = np.hypot(chunk["pmra_mas_yr"], chunk["pmdec_mas_yr"]).to_numpy()
            cand = (fidx >= 0) | (pm > HPM_MAS_YR)
            self._hip_cand.append(chunk[cand].assign(field_index=fidx[cand], pm_tot=pm[cand]))
            u = self._rng(_S_HIP, k).random(len(chunk))
            self._hip_known.append(chunk[u < p.known_extra_hip_stars / 118_000])
            yield "hipparcos2", self._finish("hipparcos2", chunk)
        self.pointings = [] if p.is_easy else self._choose_pointings()
        yield from self._dirty("hipparcos2", lambda n: ids.HIP_DIRTY_BASE + np.arange(n, dtype=np.int64))

    def _choose_pointings(self) -> list[Field]:
        """Barnard's star always, then ``n_hpm_pointings`` other μ > 1″/yr stars at |b| > 20° (every
        μ > 1″/yr star when < 0)."""
        hip = pd.concat(self._hip_cand, ignore_index=True)
        hpm = hip[hip["pm_tot"] > HPM_MAS_YR].sort_values("hip")
        others = hpm[hpm["hip"] != BARNARD_HIP]
        n = self.params.n_hpm_pointings
        if n >= 0:  # a few pointings (realistic demo): away from the plane, to keep the demo small
            b = icrs_to_galactic(others["ra_deg"].to_numpy(), others["dec_deg"].to_numpy())[1]
            others = others[np.abs(b) > prof.REALISTIC_HPM_MIN_ABS_B_DEG]
        if 0 <= n < len(others):
            pick = np.sort(self._rng(_S_HPM_PICK, 0).choice(len(others), size=n, replace=False))
            others = others.iloc[pick]
        chosen = pd.concat([hpm[hpm["hip"] == BARNARD_HIP], others], ignore_index=True)
        return prof.hpm_pointings(chosen, lambda i: self._rng(_S_FIELDS, 1000 + i))

    def _gaia(self) -> Iterator[tuple[str, pd.DataFrame]]:
        p = self.params
        fields = self.all_fields
        for chunk in read_gaia_bright(p.chunk_rows):
            ra, dec = chunk["ra"].to_numpy(), chunk["dec"].to_numpy()
            l_deg, b_deg = icrs_to_galactic(ra, dec)
            fidx = field_of(l_deg, b_deg, fields, ra, dec)
            self._gaia_cand.append(chunk[fidx >= 0].assign(field_index=fidx[fidx >= 0]))
            yield "gaia_dr3", self._finish("gaia_dr3", chunk)
        if p.is_easy:
            yield from self._gaia_easy()
        else:
            for f in fields:
                yield from self._gaia_model_field(f)
        yield from self._dirty(
            "gaia_dr3", lambda n: ids.synthetic_gaia_id(ids.SYNTHETIC_DIRTY_FIELD, np.arange(n, dtype=np.int64))
        )

    def _gaia_easy(self) -> Iterator[tuple[str, pd.DataFrame]]:
        p = self.params
        total_area = sum(f.area_deg2 for f in self.fields)
        for f in self.fields:
            n = int(self._rng(_S_FAINT_N, f.index).poisson(p.faint_density_per_deg2 * f.area_deg2))
            k = min(n, int(round(p.n_inject_faint * f.area_deg2 / total_area)))
            picks = (
                np.sort(self._rng(_S_INJ_PICK, f.index).choice(n, size=k, replace=False))
                if k
                else np.empty(0, np.int64)
            )
            for c, first in enumerate(range(0, n, FAINT_BLOCK_ROWS)):
                m = min(FAINT_BLOCK_ROWS, n - first)
                chunk = faint_star_chunk(self._rng(_S_FAINT, f.index, c), f, first, m)
                sel = picks[(picks >= first) & (picks < first + m)] - first
                if len(sel):
                    self._faint_injected.append(chunk.iloc[sel].assign(field_index=f.index))
                yield "gaia_dr3", self._finish("gaia_dr3", chunk)
            self._field_stats[f.index] = {
                "faint_expected": p.faint_density_per_deg2 * f.area_deg2,
                "faint_rows": n,
                "cluster_rows": 0,
            }

    # ---- the realistic sky, one field at a time ------------------------------------------------
    def _gaia_model_field(self, f: Field) -> Iterator[tuple[str, pd.DataFrame]]:
        """Field stars (Galaxy model), open-cluster members, then the Gaia entries of the field's radio
        stars; ids ``synthetic_gaia_id(field, 0…)`` in that order."""
        sky = FieldSky.build(f)
        n = int(self._rng(_S_FAINT_N, f.index).poisson(sky.expected))
        drop = list(MODEL_COLUMNS_TRUTH)
        for c, first in enumerate(range(0, n, FAINT_BLOCK_ROWS)):
            m = min(FAINT_BLOCK_ROWS, n - first)
            rng = self._rng(_S_FAINT, f.index, c)
            rows = model_star_rows(rng, sky.draw_field_stars(rng, m), f.index, first)
            yield "gaia_dr3", self._finish("gaia_dr3", rows.drop(columns=drop))
        rng = self._rng(_S_CLUSTER, f.index)
        members = sky.draw_clusters(rng)
        n_cl = len(members["d_kpc"])
        if n_cl:
            rows = model_star_rows(rng, members, f.index, n, in_cluster=True)
            yield "gaia_dr3", self._finish("gaia_dr3", rows.drop(columns=drop))
        self._field_stats[f.index] = {
            "faint_expected": sky.expected,
            "faint_rows": n,
            "cluster_rows": n_cl,
            "faint_density_per_deg2": sky.density_per_deg2,
        }
        rows = self._radio_stars_of_field(f, sky, first_id=n + n_cl)
        if rows is not None and len(rows):
            yield "gaia_dr3", self._finish("gaia_dr3", rows)

    def _background_of(self, f: Field) -> dict:
        """The field's detected extragalactic background (fluxes, positions, epochs), drawn once."""
        if f.index not in self._background:
            p = self.params
            rng = self._rng(_S_BG, f.index)
            obs = detected_background(rng, f.rms_mjy, f.area_deg2, p.bg_density_per_deg2, p.flux_slope)
            n = len(obs["peak_flux_mjy"])
            l_deg, b_deg = uniform_lb(rng, f, n)
            ra, dec = galactic_to_icrs(l_deg, b_deg)
            epoch = f.epoch_mjd_start + rng.uniform(0, f.epoch_span_days, n)
            self._background[f.index] = {"obs": obs, "ra": ra, "dec": dec, "epoch": epoch}
        return self._background[f.index]

    def _radio_stars_of_field(self, f: Field, sky: FieldSky, first_id: int) -> pd.DataFrame | None:
        """Draw the field's radio stars; returns the gaia_dr3 rows of the synthetic ones.

        Plane field: Poisson(star_share · N_background) stars from the population model; a star drawn
        brighter than G = 10 becomes a real Hipparcos / bright-Gaia star of the field when one within
        1 mag is free. Pointing: its Hipparcos star (truth = catalogue + a draw from its errors)."""
        p = self.params
        if f.kind == "hpm":
            self._add_hpm_target(f)
            return None
        n_bg = len(self._background_of(f)["obs"]["peak_flux_mjy"])
        n = int(self._rng(_S_INJ_PICK, f.index).poisson(p.star_share * n_bg))
        if n == 0:
            return None
        rng = self._rng(_S_RSTAR, f.index)
        l_c, b_c = f.centre_lb
        st = draw_radio_stars(rng, n, l_c, b_c, f.rms_mjy, lambda r, k: uniform_lb(r, f, k))
        ra, dec = gx.galactic_to_icrs_fast(st["l_deg"], st["b_deg"])
        pmra, pmdec = gx.proper_motion_icrs(ra, dec, st["d_kpc"], st["v_gal"])
        plx = 1.0 / st["d_kpc"]
        synthetic = np.ones(n, dtype=bool)
        for i in np.flatnonzero(st["g_mag"] < BRIGHT_SUBSTITUTE_G):
            real = self._real_star_like(f, float(st["g_mag"][i]), rng)
            if real is None:
                continue
            synthetic[i] = False
            real.update(
                star_class=st["star_class"][i],
                log_l_radio=float(st["log_l"][i]),
                **{k: float(st[k][i]) for k in ("int_true_mjy", "peak_flux_mjy", "int_flux_mjy", "int_flux_err_mjy")},
            )
            if real["catalogue"] == "gaia_dr3":  # no astrometry in the package: the drawn star's motion
                real.update(pmra=float(pmra[i]), pmdec=float(pmdec[i]), parallax=float(plx[i]))
            self._stars.append(_Star(**real))
        idx = np.flatnonzero(synthetic)
        if not len(idx):
            return None
        sel = {k: (v[:, idx] if k == "v_gal" else v[idx]) for k, v in st.items()}
        rows = model_star_rows(rng, sel, f.index, first_id)
        for j, r in enumerate(rows.itertuples(index=False)):
            i = idx[j]
            self._stars.append(
                _Star(
                    "gaia_dr3_synthetic",
                    int(r.source_id),
                    float(r.true_ra),
                    float(r.true_dec),
                    float(r.true_pmra),
                    float(r.true_pmdec),
                    float(r.true_parallax),
                    GAIA_REF_EPOCH,
                    f.index,
                    str(st["star_class"][i]),
                    float(r.true_g),
                    not bool(r.two_param),
                    float(st["log_l"][i]),
                    *(float(st[k][i]) for k in ("int_true_mjy", "peak_flux_mjy", "int_flux_mjy", "int_flux_err_mjy")),
                )
            )
        return rows.drop(columns=list(MODEL_COLUMNS_TRUTH))

    def _real_star_like(self, f: Field, g_mag: float, rng: np.random.Generator) -> dict | None:
        """A free real star of field ``f`` with magnitude within 1 mag of ``g_mag`` (Hipparcos Hp or
        Gaia G), as a _Star dict with TRUE astrometry (Hipparcos: catalogue + N(0, its errors))."""
        cands = []
        hip = pd.concat(self._hip_cand, ignore_index=True) if self._hip_cand else pd.DataFrame()
        if len(hip):
            h = hip[(hip["field_index"] == f.index) & (hip["pm_tot"] <= HPM_MAS_YR)]
            cands += [("hipparcos2", int(r.hip), abs(r.hp_mag - g_mag)) for r in h.itertuples()]
        gb = [c[c["field_index"] == f.index] for c in self._gaia_cand]
        gb = pd.concat(gb, ignore_index=True) if gb else pd.DataFrame()
        if len(gb):
            cands += [("gaia_dr3", int(r.source_id), abs(r.phot_g_mean_mag - g_mag)) for r in gb.itertuples()]
        cands = [c for c in cands if c[2] <= BRIGHT_SUBSTITUTE_MAX_DMAG and (c[0], c[1]) not in self._used_real]
        if not cands:
            return None
        cat, sid, _ = min(cands, key=lambda c: (c[2], c[0], c[1]))
        self._used_real.add((cat, sid))
        if cat == "hipparcos2":
            return self._hip_truth(hip[hip["hip"] == sid].iloc[0], rng, f.index)
        r = gb[gb["source_id"] == sid].iloc[0]
        return dict(
            catalogue="gaia_dr3",
            star_id=sid,
            ra=float(r.ra),
            dec=float(r.dec),
            pmra=np.nan,
            pmdec=np.nan,
            parallax=np.nan,
            ref_epoch=GAIA_REF_EPOCH,
            field_index=f.index,
            g_mag=float(r.phot_g_mean_mag),
            catalogue_has_pm=False,
        )

    @staticmethod
    def _hip_truth(row, rng: np.random.Generator, field_index: int) -> dict:
        """True astrometry of a real Hipparcos star: catalogue + N(0, quoted error) per parameter."""
        z = rng.standard_normal(5)
        ra, dec = offset_radec(
            np.array([row.ra_deg]),
            np.array([row.dec_deg]),
            np.array([z[0] * row.e_ra_mas / 1000.0]),
            np.array([z[1] * row.e_dec_mas / 1000.0]),
        )
        return dict(
            catalogue="hipparcos2",
            star_id=int(row.hip),
            ra=float(ra[0]),
            dec=float(dec[0]),
            pmra=float(row.pmra_mas_yr + z[2] * row.e_pmra),
            pmdec=float(row.pmdec_mas_yr + z[3] * row.e_pmdec),
            parallax=float(row.plx_mas + z[4] * row.e_plx_mas),
            ref_epoch=1991.25,
            field_index=field_index,
            g_mag=float(row.hp_mag),
            catalogue_has_pm=True,
        )

    def _add_hpm_target(self, f: Field) -> None:
        hip_id = int(f.name[3:])
        hip = pd.concat(self._hip_cand, ignore_index=True)
        row = hip[hip["hip"] == hip_id].iloc[0]
        rng = self._rng(_S_RSTAR, f.index)
        star = self._hip_truth(row, rng, f.index)
        s_true = sample_power_law(rng, 1, 5.5 * f.rms_mjy, self.params.flux_slope)
        obs = observe_fluxes(rng, s_true, np.array([f.rms_mjy]))
        obs["peak_flux_mjy"] = np.maximum(obs["peak_flux_mjy"], DETECTION_SNR * f.rms_mjy)
        star.update(
            star_class="hpm_target",
            **{k: float(obs[k][0]) for k in ("int_true_mjy", "peak_flux_mjy", "int_flux_mjy", "int_flux_err_mjy")},
        )
        self._stars.append(_Star(**star))

    # ---- radio (easy: the first sample's injection) --------------------------------------------
    def _pick_stars_easy(self) -> None:
        """Choose the stars that get radio emission (deterministic): the first sample's fixed counts."""
        p = self.params
        rng = self._rng(_S_INJ_PICK, 1000)
        hip = pd.concat(self._hip_cand, ignore_index=True) if self._hip_cand else pd.DataFrame()
        stars: list[_Star] = []

        def add(
            cat: str,
            df: pd.DataFrame,
            idc: str,
            ra: str,
            dec: str,
            pmra: str | None,
            pmdec: str | None,
            plx: str | None,
            epoch: float,
        ) -> None:
            for r in df.itertuples(index=False):
                d = r._asdict()
                stars.append(
                    _Star(
                        cat,
                        int(d[idc]),
                        d[ra],
                        d[dec],
                        d[pmra] if pmra else np.nan,
                        d[pmdec] if pmdec else np.nan,
                        d[plx] if plx else np.nan,
                        epoch,
                        int(d["field_index"]),
                        catalogue_has_pm=pmra is not None and bool(np.isfinite(d[pmra])),
                    )
                )

        if len(hip):
            hpm = hip[(hip["pm_tot"] > HPM_MAS_YR) & (hip["hip"] != BARNARD_HIP)]
            hpm = hpm.iloc[np.sort(rng.choice(len(hpm), size=min(p.n_inject_hpm, len(hpm)), replace=False))]
            barnard = hip[hip["hip"] == BARNARD_HIP]
            inf = hip[(hip["field_index"] >= 0) & (hip["pm_tot"] <= HPM_MAS_YR)]
            inf = inf.iloc[np.sort(rng.choice(len(inf), size=min(p.n_inject_hip_in_field, len(inf)), replace=False))]
            for df in (barnard, hpm, inf):
                add("hipparcos2", df, "hip", "ra_deg", "dec_deg", "pmra_mas_yr", "pmdec_mas_yr", "plx_mas", 1991.25)
        gb = pd.concat(self._gaia_cand, ignore_index=True) if self._gaia_cand else pd.DataFrame()
        if len(gb):
            gb = gb.iloc[np.sort(rng.choice(len(gb), size=min(p.n_inject_gaia_bright, len(gb)), replace=False))]
            add("gaia_dr3", gb, "source_id", "ra", "dec", None, None, None, 2016.0)
        if self._faint_injected:
            fs = pd.concat(self._faint_injected, ignore_index=True)
            add("gaia_dr3_synthetic", fs, "source_id", "ra", "dec", "pmra", "pmdec", "parallax", 2016.0)
        self._stars = stars

    def _radio(self) -> Iterator[tuple[str, pd.DataFrame]]:
        p = self.params
        if p.is_easy:
            self._pick_stars_easy()
        parts = []
        byidx = {f.index: f for f in self.all_fields}
        offsets: dict[int, tuple[float, float]] = {}
        for f in self.all_fields:  # extragalactic background, and each field's coherent offset
            offsets[f.index] = (
                (0.0, 0.0) if p.is_easy else coherent_offset_arcsec(self._rng(_S_ASTRO, f.index), f.sys_err_arcsec)
            )
            bg = self._background_of(f)
            n = len(bg["obs"]["peak_flux_mjy"])
            parts.append(
                self._observe(
                    self._rng(_S_ASTRO, f.index, 1),
                    bg["ra"],
                    bg["dec"],
                    bg["obs"],
                    np.full(n, f.rms_mjy),
                    f,
                    offsets[f.index],
                    bg["epoch"],
                    None,
                )
            )
        if self._stars:  # radio stars
            st = pd.DataFrame([s.__dict__ for s in self._stars])
            rng = self._rng(_S_INJ, 0)
            n = len(st)
            fi = st["field_index"].to_numpy()
            fobj = [byidx.get(int(i), HPM_FIELD) for i in fi]
            rms = np.array([f.rms_mjy for f in fobj])
            start = np.array([f.epoch_mjd_start for f in fobj])
            span = np.array([HPM_EPOCH_SPAN_DAYS if f is HPM_FIELD else f.epoch_span_days for f in fobj])
            epoch = start + rng.random(n) * span
            ra, dec = propagate_astropy(
                st["ra"], st["dec"], st["pmra"], st["pmdec"], st["parallax"], st["ref_epoch"], epoch
            )
            if p.is_easy:
                s_true = sample_power_law(rng, n, 5.5 * rms, p.flux_slope)
                obs = observe_fluxes(rng, s_true, rms)
                obs["peak_flux_mjy"] = np.maximum(obs["peak_flux_mjy"], DETECTION_SNR * rms)  # detected by construction
            else:
                obs = {
                    k: st[k].to_numpy(float)
                    for k in ("int_true_mjy", "peak_flux_mjy", "int_flux_mjy", "int_flux_err_mjy")
                }
            for i in sorted(set(int(x) for x in fi)):  # one call per field: its coherent offset
                k = np.flatnonzero(fi == i)
                f = fobj[int(k[0])]
                parts.append(
                    self._observe(
                        self._rng(_S_ASTRO, 10_000 + i),
                        ra[k],
                        dec[k],
                        {kk: np.asarray(v)[k] for kk, v in obs.items()},
                        rms[k],
                        f,
                        offsets.get(f.index, (0.0, 0.0)),
                        epoch[k],
                        st.iloc[k],
                    )
                )
        radio = pd.concat(parts, ignore_index=True)
        l_deg, b_deg = icrs_to_galactic(radio["ra_deg"].to_numpy(), radio["dec_deg"].to_numpy())
        radio["source_name"] = galactic_name(l_deg, b_deg)
        radio = radio.sort_values(["source_name", "true_ra_deg"], kind="stable").reset_index(drop=True)
        self._radio_names: set[str] = set()
        radio["source_name"] = make_unique(radio["source_name"].to_numpy(), self._radio_names)
        radio["row_id"] = np.arange(1, len(radio) + 1, dtype=np.int64)
        self.truth_radio = radio[TRUTH_RADIO_COLUMNS].copy()
        self.truth_fields = self._fields_truth(radio, offsets)
        self._radio_true = radio  # used by known objects
        yield from self._chunks("radio_sources", radio.drop(columns=["row_id"]))
        rng = self._rng(_S_DIRTY, 100)

        def dirty_names(k: int) -> np.ndarray:
            f = self.fields[int(rng.integers(len(self.fields)))]
            lb = uniform_lb(rng, f, k)
            return make_unique(galactic_name(*lb), self._radio_names)

        yield from self._dirty("radio_sources", dirty_names)

    def _observe(
        self, rng, ra_true, dec_true, obs, rms, f: Field, offset: tuple[float, float], epoch, stars: pd.DataFrame | None
    ) -> pd.DataFrame:
        """Measured radio rows: quoted σ = θ/(2 S/N); position = truth + the field's coherent offset +
        the statistical offset (core or tail) — or, easy profile, N(0, √(σ_stat² + σ_sys²))."""
        p = self.params
        snr = obs["peak_flux_mjy"] / rms
        sigma = quoted_error_arcsec(snr)
        n = len(sigma)
        ra_true, dec_true = np.asarray(ra_true, float), np.asarray(dec_true, float)
        if p.is_easy:
            total = position_error_arcsec(snr, f.sys_err_arcsec)
            d = rng.standard_normal((2, n)) * total
            dx, dy, tail = d[0], d[1], np.zeros(n, dtype=bool)
        else:
            dx, dy, tail = statistical_offsets(rng, sigma, p.tail_fraction)
            dx, dy = dx + offset[0], dy + offset[1]
        ra, dec = offset_radec(ra_true, dec_true, dx, dy)
        st = stars if stars is not None else None
        nan = np.full(n, np.nan)

        def col(name, default):
            return st[name].to_numpy() if st is not None and name in st.columns else default

        plx = col("parallax", nan).astype(float)
        return pd.DataFrame(
            {
                **radio_source_columns(ra, dec, sigma, obs, rms, epoch, f.name),
                # truth-only columns (dropped before loading)
                "catalogue": col("catalogue", np.full(n, "background", object)),
                "star_id": st["star_id"].astype("Int64").to_numpy()
                if st is not None
                else pd.array([pd.NA] * n, "Int64"),
                "is_injected": np.full(n, st is not None),
                "true_ra_deg": ra_true,
                "true_dec_deg": dec_true,
                "int_true_mjy": obs["int_true_mjy"],
                "field_kind": np.full(n, "easy_hpm" if f is HPM_FIELD else f.kind, dtype=object),
                "star_class": col("star_class", np.full(n, None, object)),
                "offset_east_arcsec": np.full(n, offset[0]),
                "offset_north_arcsec": np.full(n, offset[1]),
                "is_tail": tail,
                "true_distance_pc": np.where(plx > 0, 1000.0 / np.where(plx > 0, plx, 1.0), np.nan),
                "true_parallax_mas": plx,
                "true_pmra_mas_yr": col("pmra", nan).astype(float),
                "true_pmdec_mas_yr": col("pmdec", nan).astype(float),
                "g_mag": col("g_mag", nan).astype(float),
                "catalogue_has_pm": col("catalogue_has_pm", np.full(n, None, object)),
                "log_l_radio": col("log_l_radio", nan).astype(float),
            }
        )

    def _fields_truth(self, radio: pd.DataFrame, offsets: dict[int, tuple[float, float]]) -> pd.DataFrame:
        rows = []
        for f in self.all_fields:
            r = radio[radio["field"] == f.name]
            st = self._field_stats.get(f.index, {})
            rows.append(
                {
                    **{k: v for k, v in f.__dict__.items()},
                    "area_deg2": f.area_deg2,
                    "offset_east_arcsec": offsets[f.index][0],
                    "offset_north_arcsec": offsets[f.index][1],
                    "n_radio": int(len(r)),
                    "n_radio_stars": int(r["is_injected"].sum()),
                    "faint_expected": st.get("faint_expected", np.nan),
                    "faint_rows": st.get("faint_rows", 0),
                    "cluster_rows": st.get("cluster_rows", 0),
                    "faint_density_per_deg2": st.get(
                        "faint_density_per_deg2", st.get("faint_expected", np.nan) / f.area_deg2
                    ),
                }
            )
        return pd.DataFrame(rows)

    # ---- known objects -------------------------------------------------------------------------
    def _known(self) -> Iterator[tuple[str, pd.DataFrame]]:
        p = self.params
        rng = self._rng(_S_KNOWN, 0)
        radio = self._radio_true
        bg = radio[~radio["is_injected"]]
        tag = bg.iloc[np.sort(rng.choice(len(bg), size=int(round(p.known_bg_fraction * len(bg))), replace=False))]
        types = rng.choice([t for t, _ in KNOWN_BG_TYPES], size=len(tag), p=[w for _, w in KNOWN_BG_TYPES])
        d = rng.standard_normal((2, len(tag))) * 0.2
        from radiostars.sample.fields import offset_radec

        kra, kdec = offset_radec(tag["true_ra_deg"].to_numpy(), tag["true_dec_deg"].to_numpy(), d[0], d[1])
        names = simbad_names(types, kra, kdec)
        rows = [
            pd.DataFrame(
                {
                    "name": names,
                    "ra_deg": kra,
                    "dec_deg": kdec,
                    "object_type": types,
                    "radio_name": tag["source_name"].to_numpy(),
                }
            )
        ]
        # stars SIMBAD knows: the injected Hipparcos and bright Gaia stars, plus random Hipparcos stars
        st = (
            pd.DataFrame([s.__dict__ for s in self._stars])
            if self._stars
            else pd.DataFrame(columns=["catalogue", "star_id", "ra", "dec", "pmra", "pmdec", "parallax", "ref_epoch"])
        )
        st = st[st["catalogue"].isin(["hipparcos2", "gaia_dr3"])]
        extra = pd.concat(self._hip_known, ignore_index=True) if self._hip_known else pd.DataFrame()
        if len(extra):
            extra = extra[~extra["hip"].isin(st.loc[st["catalogue"] == "hipparcos2", "star_id"])]
            st = pd.concat(
                [
                    st,
                    pd.DataFrame(
                        {
                            "catalogue": "hipparcos2",
                            "star_id": extra["hip"].to_numpy(),
                            "ra": extra["ra_deg"].to_numpy(),
                            "dec": extra["dec_deg"].to_numpy(),
                            "pmra": extra["pmra_mas_yr"].to_numpy(),
                            "pmdec": extra["pmdec_mas_yr"].to_numpy(),
                            "parallax": extra["plx_mas"].to_numpy(),
                            "ref_epoch": 1991.25,
                        }
                    ),
                ],
                ignore_index=True,
            )
        if len(st):
            ra2000, dec2000 = propagate_astropy(
                st["ra"],
                st["dec"],
                st["pmra"],
                st["pmdec"],
                st["parallax"],
                st["ref_epoch"].astype(float),
                np.full(len(st), MJD_J2000),
            )
            names = [
                f"HIP {i}" if c == "hipparcos2" else f"Gaia DR3 {i}" for c, i in zip(st["catalogue"], st["star_id"])
            ]
            rows.append(
                pd.DataFrame(
                    {"name": names, "ra_deg": ra2000, "dec_deg": dec2000, "object_type": "Star", "radio_name": None}
                )
            )
        known = pd.concat(rows, ignore_index=True).sort_values("name", kind="stable").reset_index(drop=True)
        taken: set[str] = set()
        known["name"] = make_unique(known["name"].to_numpy(), taken)
        assert set(known["object_type"]) <= set(OBJECT_TYPES)
        self.known_truth = known[["name", "object_type", "radio_name"]].copy()
        yield from self._chunks("known_objects", known.drop(columns=["radio_name"]))
        counter = iter(range(10**9))
        yield from self._dirty(
            "known_objects",
            lambda n: make_unique(np.array([f"OBJ {next(counter):06d}" for _ in range(n)], dtype=object), taken),
        )

    def params_dict(self) -> dict:
        return {**asdict(self.params), "fields": [f.__dict__ for f in self.all_fields]}


def simbad_names(obj_type: np.ndarray, ra_deg: np.ndarray, dec_deg: np.ndarray) -> list[str]:
    """SIMBAD-like identifiers: AGN Jhhmmss.s±ddmmss, PSR Jhhmm±ddmm, PN Glll.l±b.b, HII Glll.lll±b.bbb."""
    l_deg, b_deg = icrs_to_galactic(np.asarray(ra_deg, float), np.asarray(dec_deg, float))
    out = []
    for t, ra, dec, l, b in zip(obj_type, ra_deg, dec_deg, l_deg, b_deg):
        hours = ra / 15.0
        hh, mm = int(hours), int((hours * 60) % 60)
        ss = (hours * 3600) % 60
        sign = "-" if dec < 0 else "+"
        ad = abs(dec)
        dd, dm, ds = int(ad), int((ad * 60) % 60), int((ad * 3600) % 60)
        if t == "AGN":
            out.append(f"AGN J{hh:02d}{mm:02d}{int(ss * 10) / 10:04.1f}{sign}{dd:02d}{dm:02d}{ds:02d}")
        elif t == "Pulsar":
            out.append(f"PSR J{hh:02d}{mm:02d}{sign}{dd:02d}{dm:02d}")
        elif t == "PN":
            out.append(f"PN G{l:05.1f}{b:+05.1f}")
        else:
            out.append(f"HII G{l:07.3f}{b:+06.3f}")
    return out
