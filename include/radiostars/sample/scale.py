"""``generate-scale``: Gaia-like optical and SMGPS-like radio tables of a requested size, written
as Parquet straight to MinIO (never to MySQL), for benchmarks at 10^6–10^8 rows.

Both tables cover the same Galactic-plane bands (|b| ≤ 1.5°, l from 251° upwards, then from 2°; area
``radio_rows / radio_density`` deg² unless given), so the optical density is
``optical_rows / area`` per deg² (10^4–10^6 for the sizes above). Objects are written under
``raw/<table>/ingest_date=<date>/run_id=<run_id>/part-NNNNN.parquet`` with the same column names as
the MySQL tables, then a ``_manifest.json`` (see :mod:`manifest`). Memory is bounded by one part.
The scale radio catalogue has no injected stars and no truth.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from radiostars.sample.errors import SampleError
from radiostars.sample.faint_stars import faint_star_chunk
from radiostars.sample import ids
from radiostars.sample.fields import SMGPS_L_RANGES_DEG, Field, galactic_name, galactic_to_icrs, uniform_lb
from radiostars.sample.generate import rng_for
from radiostars.lake import lake_client
from radiostars.sample.manifest import PartFile, run_prefix, write_manifest
from radiostars.sample.radio_errors import position_error_arcsec, scatter_positions
from radiostars.sample.radio_flux import detected_background
from radiostars.sample.schema import SCHEMA_VERSION, column_names

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
        patches.append(Field(f"SCALE{i}", i, lo, lo + width, -SCALE_B_HALF_DEG, SCALE_B_HALF_DEG,
                             58849.0, 0.020, 0.4))
        left -= width * band
    return patches


def _split(n: int, part_rows: int) -> list[int]:
    return [min(part_rows, n - s) for s in range(0, n, part_rows)]


def _per_patch(rng: np.random.Generator, patches: list[Field], n: int) -> np.ndarray:
    """How many of n rows fall in each patch (multinomial ∝ area)."""
    area = np.array([p.area_deg2 for p in patches])
    return rng.multinomial(n, area / area.sum())


def optical_part(seed: int, patches: list[Field], part: int, first: int, n: int) -> pd.DataFrame:
    rng = rng_for(seed, _S_SCALE_OPT, part)
    frames, k = [], first
    for patch, m in zip(patches, _per_patch(rng, patches, n)):
        df = faint_star_chunk(rng, patch, k, int(m))
        df["source_id"] = ids.SYNTHETIC_ID_BASE + np.arange(k, k + m, dtype=np.int64)
        frames.append(df)
        k += int(m)
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
        sigma = position_error_arcsec(obs["peak_flux_mjy"] / patch.rms_mjy, patch.sys_err_arcsec)
        ra, dec = scatter_positions(rng, ra, dec, sigma)
        # names from the true (l, b) plus the running row number: unique by construction
        names = np.array([f"{s}_{k + i}" for i, s in enumerate(galactic_name(l_deg, b_deg))], dtype=object)
        frames.append(pd.DataFrame({
            "source_name": names, "ra_deg": ra, "dec_deg": dec, "ra_err_arcsec": sigma,
            "dec_err_arcsec": sigma.copy(), "peak_flux_mjy": obs["peak_flux_mjy"],
            "int_flux_mjy": obs["int_flux_mjy"], "int_flux_err_mjy": obs["int_flux_err_mjy"],
            "rms_mjy": np.full(m, patch.rms_mjy),
            "obs_epoch_mjd": patch.epoch_mjd_start + rng.uniform(0, 730.0, m),
            "field": np.full(m, patch.name, dtype=object)}))
        k += m
    df = pd.concat(frames, ignore_index=True)
    df.insert(0, "row_id", np.arange(first + 1, first + n + 1, dtype=np.int64))
    return df


def _to_parquet_bytes(df: pd.DataFrame, table: str, updated_at: dt.datetime) -> bytes:
    df = df.copy()
    df["deleted"] = False
    df["updated_at"] = pd.Timestamp(updated_at).as_unit("us")
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df[column_names(table)], preserve_index=False), buf,
                   compression="snappy")
    return buf.getvalue()


def generate_scale(settings, *, optical_rows: int = 1_000_000, radio_rows: int = 100_000,
                   area_deg2: float | None = None, radio_density_per_deg2: float = 1000.0,
                   seed: int = 42, run_id: str | None = None, ingest_date: str | None = None,
                   part_rows: int = 500_000, client=None, lake_prefix: str = "") -> dict:
    """Write ``gaia_dr3`` (optical_rows) and ``radio_sources`` (radio_rows) runs to the lake."""
    for name, v, lo, hi in (("optical_rows", optical_rows, 1, 10**9), ("radio_rows", radio_rows, 1, 10**8),
                            ("part_rows", part_rows, 1000, 5_000_000)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
            raise SampleError(f"{name}={v!r} must be an integer in [{lo}, {hi}]")
    band = np.degrees(2 * np.sin(np.radians(SCALE_B_HALF_DEG)))
    footprint = sum(hi - lo for lo, hi in SMGPS_L_RANGES_DEG) * band
    # default: ~1000 radio sources per deg², capped at the whole SMGPS footprint (~498 deg²)
    area = float(area_deg2) if area_deg2 is not None else min(radio_rows / radio_density_per_deg2, footprint)
    patches = scale_patches(area)
    total_area = sum(p.area_deg2 for p in patches)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    ingest_date = ingest_date or now.date().isoformat()
    run_id = run_id or f"scale_{now.strftime('%Y%m%dT%H%M%S')}_seed{seed}"
    if lake_prefix and not lake_prefix.endswith("/"):
        raise SampleError(f"lake_prefix {lake_prefix!r} must end with '/'")
    client = client or lake_client(settings)
    bucket = settings.lake_bucket
    try:
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
    except Exception as exc:  # noqa: BLE001 - one line for the CLI
        raise SampleError(f"cannot reach MinIO at {settings.minio_endpoint}: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}; is it running (`make up`)?") from None
    out = {"run_id": run_id, "ingest_date": ingest_date, "area_deg2": total_area,
           "optical_density_per_deg2": optical_rows / total_area, "manifests": {}}
    for table, total, make in (("gaia_dr3", optical_rows, optical_part), ("radio_sources", radio_rows, radio_part)):
        files: list[PartFile] = []
        first = 0
        for part, n in enumerate(_split(total, part_rows)):
            body = _to_parquet_bytes(make(seed, patches, part, first, n), table, now)
            key = run_prefix(table, ingest_date, run_id, lake_prefix) + f"part-{part:05d}.parquet"
            client.put_object(bucket, key, io.BytesIO(body), len(body),
                              content_type="application/vnd.apache.parquet")
            files.append(PartFile(key, n, hashlib.sha256(body).hexdigest()))
            first += n
        out["manifests"][table] = write_manifest(client, bucket, table, run_id, ingest_date, files,
                                                 column_names(table), SCHEMA_VERSION, lake_prefix)
    return out
