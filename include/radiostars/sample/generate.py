"""Deterministic generation of the four catalogue tables, streamed as DataFrame chunks.

:class:`SampleGenerator` yields ``(table, chunk)`` in load order hipparcos2 → gaia_dr3 →
radio_sources → known_objects (the radio sky needs the stars chosen while streaming them). Every
chunk has exactly the schema columns (``schema.column_names``). Random numbers come from
independent streams ``SeedSequence([seed, stream, *keys])``, so a chunk does not depend on the
chunk size nor on which tables are loaded. After the stream is exhausted, ``truth_radio``,
``dirty_rows`` and ``counts`` hold the evaluation truth (see docs/data.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from radiostars.sample import dirty as dirty_mod
from radiostars.sample import ids
from radiostars.sample.errors import SampleError
from radiostars.sample.faint_stars import faint_star_chunk
from radiostars.sample.fields import (DEFAULT_AREA_DEG2, Field, demo_fields, field_of, galactic_name,
                                      galactic_to_icrs, icrs_to_galactic, make_unique, uniform_lb)
from radiostars.sample.gaia_bright import read_gaia_bright
from radiostars.sample.hipparcos import read_hipparcos2
from radiostars.sample.propagate import propagate_astropy
from radiostars.sample.radio_errors import position_error_arcsec, scatter_positions
from radiostars.sample.radio_flux import (DEFAULT_BG_DENSITY_PER_DEG2, DEFAULT_SLOPE, DETECTION_SNR,
                                          detected_background, observe_fluxes, sample_power_law)
from radiostars.sample.schema import ID_COLUMN, OBJECT_TYPES, column_names

DEFAULT_FAINT_DENSITY_PER_DEG2 = 1.0e4
BARNARD_HIP = 87937
J2000_MJD = 51544.5
HPM_MAS_YR = 1000.0
HIP_BLOCK_ROWS = 50_000  # fixed block sizes: random streams are keyed by block, not by chunk_rows
FAINT_BLOCK_ROWS = 50_000
# pseudo-field of targeted pointings on high-proper-motion Hipparcos stars (anywhere on the sky)
HPM_FIELD = Field("HPM", -1, 0.0, 0.0, 0.0, 0.0, 58119.0, 0.020, 0.4)  # epochs 2018.0–2021.0
HPM_EPOCH_SPAN_DAYS = 1096.0
KNOWN_BG_TYPES = (("AGN", 0.55), ("HII", 0.25), ("PN", 0.12), ("Pulsar", 0.08))

# stream ids for SeedSequence
_S_FAINT_N, _S_FAINT, _S_INJ_PICK, _S_HIP, _S_BG, _S_INJ, _S_NAMES, _S_KNOWN, _S_DIRTY = range(1, 10)


@dataclass(frozen=True)
class SampleParams:
    seed: int = 42
    area_deg2: float = DEFAULT_AREA_DEG2
    n_fields: int = 5
    faint_density_per_deg2: float = DEFAULT_FAINT_DENSITY_PER_DEG2
    bg_density_per_deg2: float = DEFAULT_BG_DENSITY_PER_DEG2
    flux_slope: float = DEFAULT_SLOPE
    n_inject_faint: int = 200
    n_inject_gaia_bright: int = 40
    n_inject_hip_in_field: int = 20
    n_inject_hpm: int = 40  # + Barnard's star, always
    known_bg_fraction: float = 0.05
    known_extra_hip_stars: int = 100
    dirty: bool = False
    chunk_rows: int = 100_000

    def validate(self) -> "SampleParams":
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise SampleError(f"seed={self.seed!r} must be a non-negative integer")
        for name in ("faint_density_per_deg2", "bg_density_per_deg2"):
            v = getattr(self, name)
            if not np.isfinite(v) or v < 0:
                raise SampleError(f"{name}={v!r} must be a finite number >= 0 per square degree")
        if not 0.5 <= self.flux_slope <= 3:
            raise SampleError(f"flux_slope={self.flux_slope} must be in [0.5, 3] (1.5 = Euclidean)")
        if self.chunk_rows < 1000:
            raise SampleError(f"chunk_rows={self.chunk_rows} must be >= 1000")
        demo_fields(self.area_deg2, self.n_fields)  # validates the area
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
        self._h: dict[str, "hashlib._Hash"] = {}

    def update(self, df: pd.DataFrame) -> None:
        for c in df.columns:
            if c in self.skip:
                continue
            h = self._h.setdefault(c, hashlib.sha256())
            s = df[c]
            if s.dtype == object:
                h.update("".join("\x00\x1e" if v is None or (isinstance(v, float) and np.isnan(v))
                                 else f"{v}\x1e" for v in s).encode())
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


@dataclass
class _Star:
    catalogue: str
    star_id: int
    ra: float
    dec: float
    pmra: float
    pmdec: float
    parallax: float
    ref_epoch: float
    field_index: int  # -1 = outside the demo fields


@dataclass
class SampleGenerator:
    params: SampleParams
    updated_at: dt.datetime
    fields: list[Field] = field(init=False)
    truth_radio: pd.DataFrame | None = field(default=None, init=False)
    dirty_rows: list[tuple[str, int, str]] = field(default_factory=list, init=False)
    counts: dict[str, int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.params.validate()
        self.fields = demo_fields(self.params.area_deg2, self.params.n_fields)
        self._next_row = {}
        self._templates: dict[str, pd.DataFrame] = {}
        self._hip_cand: list[pd.DataFrame] = []
        self._hip_known: list[pd.DataFrame] = []
        self._gaia_cand: list[pd.DataFrame] = []
        self._faint_injected: list[pd.DataFrame] = []
        self._stars: list[_Star] = []

    # ---- plumbing ----------------------------------------------------------------------------
    def _rng(self, stream: int, *keys: int) -> np.random.Generator:
        return rng_for(self.params.seed, stream, *keys)

    def _finish(self, table: str, df: pd.DataFrame) -> pd.DataFrame:
        """Add row_id / deleted / updated_at and put the columns in schema order."""
        start = self._next_row.get(table, 1)
        df = df.copy()
        df["row_id"] = np.arange(start, start + len(df), dtype=np.int64)
        df["deleted"] = False
        df["updated_at"] = pd.Timestamp(self.updated_at).tz_localize(None) if self.updated_at.tzinfo \
            else pd.Timestamp(self.updated_at)
        self._next_row[table] = start + len(df)
        self.counts[table] = self.counts.get(table, 0) + len(df)
        df = df[column_names(table)]
        if table not in self._templates and len(df):
            self._templates[table] = df.iloc[: min(len(df), 5000)].copy()
        return df

    def _dirty(self, table: str, new_ids) -> Iterator[tuple[str, pd.DataFrame]]:
        if not self.params.dirty:
            return
        rows, kinds = dirty_mod.make_dirty_rows(table, self._templates.get(table, pd.DataFrame()),
                                                self._rng(_S_DIRTY, list(dirty_mod.DIRTY_COUNTS).index(table)),
                                                new_ids, ID_COLUMN[table])
        out = self._finish(table, rows.drop(columns=["row_id", "deleted", "updated_at"]))
        self.dirty_rows += [(table, int(r), k) for r, k in zip(out["row_id"], kinds)]
        yield table, out

    def _chunks(self, table: str, df: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
        for start in range(0, len(df), self.params.chunk_rows):
            yield table, self._finish(table, df.iloc[start:start + self.params.chunk_rows])

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
        yield from self._dirty("hipparcos2", lambda n: ids.HIP_DIRTY_BASE + np.arange(n, dtype=np.int64))

    def _gaia(self) -> Iterator[tuple[str, pd.DataFrame]]:
        p = self.params
        for chunk in read_gaia_bright(p.chunk_rows):
            l_deg, b_deg = icrs_to_galactic(chunk["ra"].to_numpy(), chunk["dec"].to_numpy())
            fidx = field_of(l_deg, b_deg, self.fields)
            self._gaia_cand.append(chunk[fidx >= 0].assign(field_index=fidx[fidx >= 0]))
            yield "gaia_dr3", self._finish("gaia_dr3", chunk)
        total_area = sum(f.area_deg2 for f in self.fields)
        for f in self.fields:
            n = int(self._rng(_S_FAINT_N, f.index).poisson(p.faint_density_per_deg2 * f.area_deg2))
            k = min(n, int(round(p.n_inject_faint * f.area_deg2 / total_area)))
            picks = np.sort(self._rng(_S_INJ_PICK, f.index).choice(n, size=k, replace=False)) if k else \
                np.empty(0, np.int64)
            for c, first in enumerate(range(0, n, FAINT_BLOCK_ROWS)):
                m = min(FAINT_BLOCK_ROWS, n - first)
                chunk = faint_star_chunk(self._rng(_S_FAINT, f.index, c), f, first, m)
                sel = picks[(picks >= first) & (picks < first + m)] - first
                if len(sel):
                    self._faint_injected.append(chunk.iloc[sel].assign(field_index=f.index))
                yield "gaia_dr3", self._finish("gaia_dr3", chunk)
        yield from self._dirty("gaia_dr3", lambda n: ids.synthetic_gaia_id(
            ids.SYNTHETIC_DIRTY_FIELD, np.arange(n, dtype=np.int64)))

    # ---- radio ---------------------------------------------------------------------------------
    def _pick_stars(self) -> None:
        """Choose the stars that get radio emission (deterministic)."""
        p = self.params
        rng = self._rng(_S_INJ_PICK, 1000)
        hip = pd.concat(self._hip_cand, ignore_index=True) if self._hip_cand else pd.DataFrame()
        stars: list[_Star] = []

        def add(cat: str, df: pd.DataFrame, idc: str, ra: str, dec: str, pmra: str | None,
                pmdec: str | None, plx: str | None, epoch: float) -> None:
            for r in df.itertuples(index=False):
                d = r._asdict()
                stars.append(_Star(cat, int(d[idc]), d[ra], d[dec],
                                   d[pmra] if pmra else np.nan, d[pmdec] if pmdec else np.nan,
                                   d[plx] if plx else np.nan, epoch, int(d["field_index"])))

        if len(hip):
            hpm = hip[(hip["pm_tot"] > HPM_MAS_YR) & (hip["hip"] != BARNARD_HIP)]
            hpm = hpm.iloc[np.sort(rng.choice(len(hpm), size=min(p.n_inject_hpm, len(hpm)), replace=False))]
            barnard = hip[hip["hip"] == BARNARD_HIP]
            inf = hip[(hip["field_index"] >= 0) & (hip["pm_tot"] <= HPM_MAS_YR)]
            inf = inf.iloc[np.sort(rng.choice(len(inf), size=min(p.n_inject_hip_in_field, len(inf)),
                                              replace=False))]
            for df in (barnard, hpm, inf):
                add("hipparcos2", df, "hip", "ra_deg", "dec_deg", "pmra_mas_yr", "pmdec_mas_yr", "plx_mas",
                    1991.25)
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
        self._pick_stars()
        parts = []
        for f in self.fields:  # extragalactic background
            rng = self._rng(_S_BG, f.index)
            obs = detected_background(rng, f.rms_mjy, f.area_deg2, p.bg_density_per_deg2, p.flux_slope)
            n = len(obs["peak_flux_mjy"])
            l_deg, b_deg = uniform_lb(rng, f, n)
            ra, dec = galactic_to_icrs(l_deg, b_deg)
            epoch = f.epoch_mjd_start + rng.uniform(0, 60.0, n)
            parts.append(self._observe(rng, ra, dec, obs, np.full(n, f.rms_mjy), np.full(n, f.sys_err_arcsec),
                                       epoch, np.full(n, f.name, dtype=object), "background", None))
        if self._stars:  # radio stars
            rng = self._rng(_S_INJ, 0)
            st = pd.DataFrame([s.__dict__ for s in self._stars])
            n = len(st)
            fi = st["field_index"].to_numpy()
            in_f = fi >= 0
            byidx = {f.index: f for f in self.fields}
            rms = np.array([byidx[i].rms_mjy if i >= 0 else HPM_FIELD.rms_mjy for i in fi])
            sys = np.array([byidx[i].sys_err_arcsec if i >= 0 else HPM_FIELD.sys_err_arcsec for i in fi])
            start = np.array([byidx[i].epoch_mjd_start if i >= 0 else HPM_FIELD.epoch_mjd_start for i in fi])
            span = np.where(in_f, 60.0, HPM_EPOCH_SPAN_DAYS)
            epoch = start + rng.random(n) * span
            fname = np.array([byidx[i].name if i >= 0 else HPM_FIELD.name for i in fi], dtype=object)
            ra, dec = propagate_astropy(st["ra"], st["dec"], st["pmra"], st["pmdec"], st["parallax"],
                                        st["ref_epoch"], epoch)
            s_true = sample_power_law(rng, n, 5.5 * rms, p.flux_slope)
            obs = observe_fluxes(rng, s_true, rms)
            obs["peak_flux_mjy"] = np.maximum(obs["peak_flux_mjy"], DETECTION_SNR * rms)  # detected by construction
            parts.append(self._observe(rng, ra, dec, obs, rms, sys, epoch, fname, "injected", st))
        radio = pd.concat(parts, ignore_index=True)
        l_deg, b_deg = icrs_to_galactic(radio["ra_deg"].to_numpy(), radio["dec_deg"].to_numpy())
        radio["source_name"] = galactic_name(l_deg, b_deg)
        radio = radio.sort_values(["source_name", "true_ra_deg"], kind="stable").reset_index(drop=True)
        self._radio_names: set[str] = set()
        radio["source_name"] = make_unique(radio["source_name"].to_numpy(), self._radio_names)
        radio["row_id"] = np.arange(1, len(radio) + 1, dtype=np.int64)
        truth_cols = ["source_name", "row_id", "catalogue", "star_id", "is_injected", "true_ra_deg",
                      "true_dec_deg", "int_true_mjy", "field", "obs_epoch_mjd"]
        self.truth_radio = radio[truth_cols].copy()
        self._radio_true = radio  # used by known objects
        yield from self._chunks("radio_sources", radio.drop(columns=["row_id"]))
        rng = self._rng(_S_DIRTY, 100)

        def dirty_names(k: int) -> np.ndarray:
            f = self.fields[int(rng.integers(len(self.fields)))]
            lb = uniform_lb(rng, f, k)
            return make_unique(galactic_name(*lb), self._radio_names)
        yield from self._dirty("radio_sources", dirty_names)

    @staticmethod
    def _observe(rng, ra_true, dec_true, obs, rms, sys, epoch, field_name, kind, stars) -> pd.DataFrame:
        snr = obs["peak_flux_mjy"] / rms
        sigma = position_error_arcsec(snr, sys)
        ra, dec = scatter_positions(rng, np.asarray(ra_true), np.asarray(dec_true), sigma)
        n = len(ra)
        return pd.DataFrame({
            "ra_deg": ra, "dec_deg": dec, "ra_err_arcsec": sigma, "dec_err_arcsec": sigma.copy(),
            "peak_flux_mjy": obs["peak_flux_mjy"], "int_flux_mjy": obs["int_flux_mjy"],
            "int_flux_err_mjy": obs["int_flux_err_mjy"], "rms_mjy": rms, "obs_epoch_mjd": epoch,
            "field": field_name,
            # truth-only columns (dropped before loading)
            "catalogue": stars["catalogue"].to_numpy() if stars is not None else np.full(n, "background", object),
            "star_id": stars["star_id"].astype("Int64").to_numpy() if stars is not None else pd.array([pd.NA] * n, "Int64"),
            "is_injected": np.full(n, kind == "injected"),
            "true_ra_deg": np.asarray(ra_true, float), "true_dec_deg": np.asarray(dec_true, float),
            "int_true_mjy": obs["int_true_mjy"],
        })

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
        rows = [pd.DataFrame({"name": names, "ra_deg": kra, "dec_deg": kdec, "object_type": types,
                              "radio_name": tag["source_name"].to_numpy()})]
        # stars SIMBAD knows: the injected Hipparcos and bright Gaia stars, plus random Hipparcos stars
        st = pd.DataFrame([s.__dict__ for s in self._stars]) if self._stars else pd.DataFrame(
            columns=["catalogue", "star_id", "ra", "dec", "pmra", "pmdec", "parallax", "ref_epoch"])
        st = st[st["catalogue"].isin(["hipparcos2", "gaia_dr3"])]
        extra = pd.concat(self._hip_known, ignore_index=True) if self._hip_known else pd.DataFrame()
        if len(extra):
            extra = extra[~extra["hip"].isin(st.loc[st["catalogue"] == "hipparcos2", "star_id"])]
            st = pd.concat([st, pd.DataFrame({
                "catalogue": "hipparcos2", "star_id": extra["hip"].to_numpy(), "ra": extra["ra_deg"].to_numpy(),
                "dec": extra["dec_deg"].to_numpy(), "pmra": extra["pmra_mas_yr"].to_numpy(),
                "pmdec": extra["pmdec_mas_yr"].to_numpy(), "parallax": extra["plx_mas"].to_numpy(),
                "ref_epoch": 1991.25})], ignore_index=True)
        if len(st):
            ra2000, dec2000 = propagate_astropy(st["ra"], st["dec"], st["pmra"], st["pmdec"], st["parallax"],
                                                st["ref_epoch"].astype(float), np.full(len(st), J2000_MJD))
            names = [f"HIP {i}" if c == "hipparcos2" else f"Gaia DR3 {i}"
                     for c, i in zip(st["catalogue"], st["star_id"])]
            rows.append(pd.DataFrame({"name": names, "ra_deg": ra2000, "dec_deg": dec2000,
                                      "object_type": "Star", "radio_name": None}))
        known = pd.concat(rows, ignore_index=True).sort_values("name", kind="stable").reset_index(drop=True)
        taken: set[str] = set()
        known["name"] = make_unique(known["name"].to_numpy(), taken)
        assert set(known["object_type"]) <= set(OBJECT_TYPES)
        self.known_truth = known[["name", "object_type", "radio_name"]].copy()
        yield from self._chunks("known_objects", known.drop(columns=["radio_name"]))
        counter = iter(range(10**9))
        yield from self._dirty("known_objects", lambda n: make_unique(
            np.array([f"OBJ {next(counter):06d}" for _ in range(n)], dtype=object), taken))

    def params_dict(self) -> dict:
        return {**asdict(self.params), "fields": [f.__dict__ for f in self.fields]}


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
