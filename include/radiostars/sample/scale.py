"""Writing catalogues straight into the lake's raw zone (never to MySQL): ``generate-scale`` and the
``evaluation`` sample profile.

``generate-scale``: Gaia-like optical and SMGPS-like radio tables of a requested size for benchmarks at
10^6–10^8 rows. Both cover the same Galactic-plane bands (|b| ≤ 1.5°, l from 251° upwards, then from 2°;
area ``radio_rows / radio_density`` deg² unless given). The optical rows follow the Galaxy model
(:mod:`radiostars.sample.galaxy`: sky cells of 1° × 0.1° chosen ∝ the model's counts, then distance,
M_G, G, astrometry and Gaia errors as in the realistic sample); ``optical_rows`` fixes their number, so
the density is ``optical_rows / area`` (``optical_rows=None``: the model's own count for the area,
1.8·10⁵ deg⁻² on average over the footprint). The scale radio catalogue has no injected stars and no
truth.

:func:`write_sample_to_lake` streams a :class:`radiostars.sample.generate.SampleGenerator` (the
``evaluation`` profile) into the same layout and writes its truth.

Objects go to ``raw/<table>/ingest_date=<date>/run_id=<run_id>/part-NNNNN.parquet`` with the MySQL
tables' columns and Arrow types (``catalogues.arrow.expected_schema``), then ``_manifest.json``
(:mod:`radiostars.lake.raw`; ``full_refresh`` and ``committed_at`` set, so a reader of the lake takes this run as
the table's current snapshot). Memory is bounded by one part per table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from radiostars.catalogues.schema import column_names
from radiostars.catalogues.tables import SCHEMA_VERSION
from radiostars.lake.client import lake_client
from radiostars.lake.keys import raw_run_prefix
from radiostars.lake.raw import PartFile, write_manifest
from radiostars.sample import ids
from radiostars.sample.errors import SampleError
from radiostars.sample.faint_stars import MODEL_COLUMNS_TRUTH, FieldSky, model_star_rows
from radiostars.sample.fields import (
    SMGPS_L_RANGES_DEG,
    Field,
    galactic_name,
    galactic_to_icrs,
    offset_radec,
    uniform_lb,
)
from radiostars.sample.generate import rng_for
from radiostars.sample.radio_errors import quoted_error_arcsec, statistical_offsets
from radiostars.sample.radio_flux import detected_background, radio_source_columns

_S_SCALE_OPT, _S_SCALE_RADIO = 70, 71
SCALE_B_HALF_DEG = 1.5


def scale_patches(area_deg2: float) -> list[Field]:
    """|b| ≤ 1.5° bands filling the SMGPS footprint: l = 251°→358° first, then 2°→61° (≤ ~498 deg²)."""
    band = np.degrees(2 * np.sin(np.radians(SCALE_B_HALF_DEG)))
    max_area = sum(hi - lo for lo, hi in SMGPS_L_RANGES_DEG) * band
    if not 0 < area_deg2 <= max_area:
        raise SampleError(f"area_deg2={area_deg2} must be in (0, {max_area:.0f}] (the SMGPS footprint)")
    patches, left = [], area_deg2
    for i, (lo, hi) in enumerate(SMGPS_L_RANGES_DEG):
        width = min(left / band, hi - lo)
        if width <= 0:
            break
        patches.append(Field(f"SCALE{i}", i, lo, lo + width, -SCALE_B_HALF_DEG, SCALE_B_HALF_DEG, 58849.0, 0.020, 0.4))
        left -= width * band
    return patches


def _split(n: int, part_rows: int) -> list[int]:
    return [min(part_rows, n - s) for s in range(0, n, part_rows)]


def _per_patch(rng: np.random.Generator, patches: list[Field], n: int) -> np.ndarray:
    """How many of n rows fall in each patch (multinomial ∝ area)."""
    area = np.array([p.area_deg2 for p in patches])
    return rng.multinomial(n, area / area.sum())


def _per_patch_model(rng: np.random.Generator, skies: list[FieldSky], n: int) -> np.ndarray:
    """How many of n rows fall in each patch (multinomial ∝ the model's expected counts)."""
    w = np.array([s.expected for s in skies])
    return rng.multinomial(n, w / w.sum())


def optical_part(seed: int, skies: list[FieldSky], part: int, first: int, n: int) -> pd.DataFrame:
    """Part ``part`` of the optical table: n stars of the Galaxy model over the patches."""
    rng = rng_for(seed, _S_SCALE_OPT, part)
    frames, k = [], first
    for sky, m in zip(skies, _per_patch_model(rng, skies, n)):
        m = int(m)
        df = model_star_rows(rng, sky.draw_field_stars(rng, m), 0, k).drop(columns=list(MODEL_COLUMNS_TRUTH))
        df["source_id"] = ids.SYNTHETIC_ID_BASE + np.arange(k, k + m, dtype=np.int64)
        frames.append(df)
        k += m
    df = pd.concat(frames, ignore_index=True)
    df.insert(0, "row_id", np.arange(first + 1, first + n + 1, dtype=np.int64))
    return df


def radio_part(seed: int, patches: list[Field], part: int, first: int, n: int) -> pd.DataFrame:
    rng = rng_for(seed, _S_SCALE_RADIO, part)
    frames, k = [], first
    for patch, m in zip(patches, _per_patch(rng, patches, n)):
        m = int(m)
        if m == 0:
            continue
        obs = detected_background(rng, patch.rms_mjy, patch.area_deg2, n_target=m)
        l_deg, b_deg = uniform_lb(rng, patch, m)
        ra, dec = galactic_to_icrs(l_deg, b_deg)
        sigma = quoted_error_arcsec(obs["peak_flux_mjy"] / patch.rms_mjy)  # quoted: statistical only
        dx, dy, _ = statistical_offsets(rng, sigma)
        ra, dec = offset_radec(ra, dec, dx, dy)
        # names from the true (l, b) plus the running row number: unique by construction
        names = np.array([f"{s}_{k + i}" for i, s in enumerate(galactic_name(l_deg, b_deg))], dtype=object)
        frames.append(
            pd.DataFrame(
                {
                    "source_name": names,
                    **radio_source_columns(
                        ra, dec, sigma, obs, patch.rms_mjy, patch.epoch_mjd_start + rng.uniform(0, 730.0, m), patch.name
                    ),
                }
            )
        )
        k += m
    df = pd.concat(frames, ignore_index=True)
    df.insert(0, "row_id", np.arange(first + 1, first + n + 1, dtype=np.int64))
    return df


def _to_parquet_bytes(df: pd.DataFrame, table: str, updated_at: dt.datetime | None = None) -> bytes:
    """Parquet of ``df`` in the table's column order and Arrow types (``updated_at`` set when given)."""
    from radiostars.catalogues.arrow import expected_schema

    df = df.copy()
    if updated_at is not None:
        df["deleted"] = False
        df["updated_at"] = pd.Timestamp(updated_at).as_unit("us")
    buf = io.BytesIO()
    pq.write_table(
        pa.Table.from_pandas(df[column_names(table)], schema=expected_schema(table), preserve_index=False),
        buf,
        compression="snappy",
    )
    return buf.getvalue()


class LakeTableWriter:
    """Parts of one table of one run under ``raw/<table>/ingest_date=…/run_id=…/``; ``close`` writes the
    manifest (last: its presence commits the run). Rows are buffered up to ``part_rows``."""

    def __init__(
        self,
        client,
        bucket: str,
        table: str,
        run_id: str,
        ingest_date: str,
        lake_prefix: str = "",
        part_rows: int = 500_000,
        updated_at: dt.datetime | None = None,
    ):
        self.client, self.bucket, self.table = client, bucket, table
        self.run_id, self.ingest_date, self.lake_prefix = run_id, ingest_date, lake_prefix
        self.part_rows, self.updated_at = part_rows, updated_at
        self.files: list[PartFile] = []
        self._buf: list[pd.DataFrame] = []
        self._buffered = 0

    def add(self, df: pd.DataFrame) -> None:
        self._buf.append(df)
        self._buffered += len(df)
        while self._buffered >= self.part_rows:
            self._flush(self.part_rows)

    def _flush(self, n: int) -> None:
        data = pd.concat(self._buf, ignore_index=True)
        part, rest = data.iloc[:n], data.iloc[n:]
        self._buf, self._buffered = ([rest] if len(rest) else []), len(rest)
        body = _to_parquet_bytes(part, self.table, self.updated_at)
        key = (
            raw_run_prefix(self.table, self.ingest_date, self.run_id, self.lake_prefix)
            + f"part-{len(self.files):05d}.parquet"
        )
        self.client.put_object(
            self.bucket, key, io.BytesIO(body), len(body), content_type="application/vnd.apache.parquet"
        )
        self.files.append(PartFile(key, len(part), hashlib.sha256(body).hexdigest()))

    def close(self) -> str:
        if self._buffered:
            self._flush(self._buffered)
        committed_at = dt.datetime.now(dt.UTC).isoformat()
        return write_manifest(
            self.client,
            self.bucket,
            self.table,
            self.run_id,
            self.ingest_date,
            self.files,
            column_names(self.table),
            SCHEMA_VERSION,
            self.lake_prefix,
            extra={"full_refresh": True, "committed_at": committed_at, "writer": "radiostars.sample"},
        )


def _lake(settings, client, lake_prefix: str):
    if lake_prefix and not lake_prefix.endswith("/"):
        raise SampleError(f"lake_prefix {lake_prefix!r} must end with '/'")
    client = client or lake_client(settings)
    try:
        if not client.bucket_exists(settings.lake_bucket):
            client.make_bucket(settings.lake_bucket)
    except Exception as exc:  # noqa: BLE001 - one line for the CLI
        raise SampleError(
            f"cannot reach MinIO at {settings.minio_endpoint}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}; is it running (`make up`)?"
        ) from None
    return client


def generate_scale(
    settings,
    *,
    optical_rows: int | None = 1_000_000,
    radio_rows: int = 100_000,
    area_deg2: float | None = None,
    radio_density_per_deg2: float = 1000.0,
    seed: int = 42,
    run_id: str | None = None,
    ingest_date: str | None = None,
    part_rows: int = 500_000,
    client=None,
    lake_prefix: str = "",
) -> dict:
    """Write ``gaia_dr3`` (optical_rows; None = the Galaxy model's count) and ``radio_sources``
    (radio_rows) runs to the lake."""
    for name, v, lo, hi in (
        ("optical_rows", optical_rows, 1, 10**9),
        ("radio_rows", radio_rows, 1, 10**8),
        ("part_rows", part_rows, 1000, 5_000_000),
    ):
        if v is None and name == "optical_rows":
            continue
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
            raise SampleError(f"{name}={v!r} must be an integer in [{lo}, {hi}]")
    band = np.degrees(2 * np.sin(np.radians(SCALE_B_HALF_DEG)))
    footprint = sum(hi - lo for lo, hi in SMGPS_L_RANGES_DEG) * band
    # default: ~1000 radio sources per deg², capped at the whole SMGPS footprint (~498 deg²)
    area = float(area_deg2) if area_deg2 is not None else min(radio_rows / radio_density_per_deg2, footprint)
    patches = scale_patches(area)
    total_area = sum(p.area_deg2 for p in patches)
    skies = [FieldSky.build(p) for p in patches]
    model_rows = sum(s.expected for s in skies)
    if optical_rows is None:
        optical_rows = max(1, int(round(model_rows)))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    ingest_date = ingest_date or now.date().isoformat()
    run_id = run_id or f"scale_{now.strftime('%Y%m%dT%H%M%S')}_seed{seed}"
    client = _lake(settings, client, lake_prefix)
    out = {
        "run_id": run_id,
        "ingest_date": ingest_date,
        "area_deg2": total_area,
        "optical_density_per_deg2": optical_rows / total_area,
        "model_density_per_deg2": model_rows / total_area,
        "manifests": {},
    }
    for table, total, make, where in (
        ("gaia_dr3", optical_rows, optical_part, skies),
        ("radio_sources", radio_rows, radio_part, patches),
    ):
        writer = LakeTableWriter(
            client, settings.lake_bucket, table, run_id, ingest_date, lake_prefix, part_rows, updated_at=now
        )
        first = 0
        for part, n in enumerate(_split(total, part_rows)):
            writer.add(make(seed, where, part, first, n))
            first += n
        out["manifests"][table] = writer.close()
    return out


def write_sample_to_lake(
    settings,
    params,
    *,
    run_id: str | None = None,
    ingest_date: str | None = None,
    lake_prefix: str = "",
    truth_dir=None,
    part_rows: int = 500_000,
    client=None,
    updated_at: dt.datetime | None = None,
    log=None,
) -> dict:
    """Generate the sample of ``params`` (a :class:`radiostars.sample.generate.SampleParams`, normally the
    ``evaluation`` profile) straight into the lake's raw zone — every table, one run each, MySQL
    bypassed — and its truth into ``truth_dir`` (default ``settings.truth_dir``); returns a summary."""
    import sys
    import time
    from pathlib import Path

    from radiostars.sample.generate import SampleGenerator
    from radiostars.sample.truth import sample_summary, write_seed_truth

    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))  # stdout is the CLI's JSON
    t0 = time.perf_counter()
    now = updated_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    ingest_date = ingest_date or now.date().isoformat()
    gen = SampleGenerator(params, now)
    run_id = run_id or f"sample_{gen.params.profile}_{now.strftime('%Y%m%dT%H%M%S')}_seed{gen.params.seed}"
    client = _lake(settings, client, lake_prefix)
    writers: dict[str, LakeTableWriter] = {}
    t_log = t0
    for table, chunk in gen.generate():
        if table not in writers:
            writers[table] = LakeTableWriter(
                client, settings.lake_bucket, table, run_id, ingest_date, lake_prefix, part_rows
            )
        writers[table].add(chunk)
        if time.perf_counter() - t_log > 30:
            t_log = time.perf_counter()
            log(f"  {table}: {gen.counts.get(table, 0):,} rows generated, {t_log - t0:.0f} s")
    manifests = {t: w.close() for t, w in writers.items()}
    elapsed = time.perf_counter() - t0
    truth_dir = Path(truth_dir) if truth_dir is not None else settings.truth_dir
    summary = {
        "profile": gen.params.profile,
        "run_id": run_id,
        "ingest_date": ingest_date,
        "lake_prefix": lake_prefix,
        "rows": dict(gen.counts),
        "manifests": manifests,
        "params": gen.params_dict(),
        "seconds": round(elapsed, 1),
        "rows_per_s": round(sum(gen.counts.values()) / elapsed) if elapsed else None,
        **sample_summary(gen),
    }
    write_seed_truth(truth_dir, gen.truth_radio, gen.known_truth, gen.dirty_rows, summary, gen.truth_fields)
    return summary
