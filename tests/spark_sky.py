"""The small hard sky of the Spark integration tests (tests/integration/test_crossmatch_spark.py,
test_faults_spark.py): 600 radio and 8000 optical sources with clusters (tests/skygen.py), a few unusable rows,
written in the raw-lake layout under a private prefix; the fixed-radius parameters that make astropy's
search_around_sky the exact reference; and one committed run read back through the marker. The session
fixtures ``sky`` and ``local_run`` (tests/integration/conftest.py) write the sky and run the undisturbed
local[2] run once for every module that uses them."""

from __future__ import annotations

import hashlib
import io
import uuid

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tests.skygen import hard_sky

R_ARCSEC = 20.0
N_BAD_RADIO = 3  # rows with a NULL position: skipped and counted
N_BAD_OPTICAL = 3  # NaN / NULL / out-of-range positions: skipped and counted


def _write_table(settings, prefix: str, table: str, df: pd.DataFrame) -> None:
    from radiostars.catalogues.schema import column_names
    from radiostars.lake.client import lake_client
    from radiostars.lake.keys import raw_run_prefix
    from radiostars.lake.raw import PartFile, write_manifest

    columns = column_names(table)
    for column in columns:
        if column not in df.columns:
            df[column] = None
    df["deleted"] = False
    df["updated_at"] = pd.Timestamp("2026-01-01T00:00:00").as_unit("us")
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df[columns], preserve_index=False), buf)
    body = buf.getvalue()
    key = raw_run_prefix(table, "2026-01-01", "t1", prefix) + "part-00000.parquet"
    client = lake_client(settings)
    client.put_object(settings.lake_bucket, key, io.BytesIO(body), len(body))
    write_manifest(
        client,
        settings.lake_bucket,
        table,
        "t1",
        "2026-01-01",
        [PartFile(key, len(df), hashlib.sha256(body).hexdigest())],
        columns,
        lake_prefix=prefix,
    )


def write_sky(stack) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """(prefix, radio frame, optical frame) written to the lake under a fresh prefix (the caller removes it)."""
    rng = np.random.default_rng(11)
    rra, rdec = hard_sky(rng, 600, 80, 60)
    ora, odec = hard_sky(rng, 8000, 1500, 900)
    radio = pd.DataFrame(
        {
            "source_name": [f"R{i:05d}" for i in range(rra.size)],
            "ra_deg": rra,
            "dec_deg": rdec,
            "ra_err_arcsec": 1.0,
            "dec_err_arcsec": 1.0,
            "peak_flux_mjy": 1.0,
            "int_flux_mjy": 1.0,
            "int_flux_err_mjy": 0.1,
            "rms_mjy": 0.02,
            "obs_epoch_mjd": 58849.0,
            "field": "T",
        }
    )
    bad = pd.DataFrame(
        {
            "source_name": [f"BAD{i}" for i in range(N_BAD_RADIO)],
            "ra_deg": [None] * N_BAD_RADIO,
            "dec_deg": [1.0] * N_BAD_RADIO,
            "ra_err_arcsec": 1.0,
            "dec_err_arcsec": 1.0,
            "obs_epoch_mjd": 58849.0,
        }
    )
    radio_all = pd.concat([radio, bad], ignore_index=True)
    radio_all["row_id"] = np.arange(1, len(radio_all) + 1)
    # ids above 2**53 like real Gaia source_ids: any float64 round trip in the engine would corrupt them
    optical = pd.DataFrame(
        {
            "row_id": np.arange(1, ora.size + 1),
            "source_id": 6_000_000_000_000_000_001 + np.arange(ora.size, dtype=np.int64),
            "ra": ora,
            "dec": odec,
            "ra_error": 0.1,
            "dec_error": 0.1,
            "ref_epoch": 2016.0,
            "phot_g_mean_mag": 15.0,
            "is_synthetic": True,
        }
    )
    bad_optical = pd.DataFrame(
        {
            "row_id": ora.size + 1 + np.arange(N_BAD_OPTICAL),
            "source_id": 5_000_000_000_000_000_001 + np.arange(N_BAD_OPTICAL, dtype=np.int64),
            "ra": [np.nan, 12.0, 400.0],
            "dec": [1.0, None, 1.0],
            "ra_error": 0.1,
            "dec_error": 0.1,
            "ref_epoch": 2016.0,
            "phot_g_mean_mag": 15.0,
            "is_synthetic": True,
        }
    )
    prefix = f"tests/xm-{uuid.uuid4().hex[:8]}/"
    _write_table(stack, prefix, "radio_sources", radio_all)
    _write_table(stack, prefix, "gaia_dr3", pd.concat([optical, bad_optical], ignore_index=True))
    return prefix, radio, optical


def _params():
    from radiostars.crossmatch.params import CrossmatchParams

    # r_min = r_max: a fixed radius, so astropy's search_around_sky is the exact reference
    return CrossmatchParams(
        radius_arcsec=R_ARCSEC,
        r_min_arcsec=R_ARCSEC,
        n_sigma=1.0,
        sigma_sys_arcsec=0.0,
        healpix_order=2,
        margin_arcsec=3 * R_ARCSEC,
        density_inner_arcsec=1.5 * R_ARCSEC,
        density_outer_arcsec=3 * R_ARCSEC,
        control_position_angles_deg=(0.0, 90.0, 180.0, 270.0),
    )


def _run(
    settings,
    prefix: str,
    run_id: str,
    master: str,
    overwrite: bool = False,
    optical_layout: str = "curated",
    params=None,
) -> tuple[pd.DataFrame, dict]:
    from radiostars.lake.runs import read_committed_run, read_part
    from radiostars.lake.store import Lake
    from radiostars.spark_engine.run import RunRequest, run_crossmatch
    from radiostars.spark_engine.session import spark_session

    spark = spark_session(f"test-{run_id}", master=master, settings=settings)
    try:
        metrics = run_crossmatch(
            spark,
            settings,
            RunRequest(
                run_id=run_id,
                params=params or _params(),
                catalogues=("gaia_dr3",),
                lake_prefix=prefix,
                overwrite=overwrite,
                optical_layout=optical_layout,
            ),
        )
    finally:
        spark.stop()
    # read back through the committed-run contract: exactly the files the marker lists, sizes checked
    lake = Lake(settings)
    run = read_committed_run(lake, run_id, prefix)
    assert run.marker["format"] == 2 and run.metrics["run_id"] == run_id
    assert {f["key"].split("/", 1)[0] for f in run.marker["files"]} >= {
        "pairs",
        "best",
        "control",
        "radio",
        "optical",
        "metrics.json",
    }
    pairs = read_part(lake, run, "pairs").to_pandas()
    metrics["_optical_output"] = read_part(lake, run, "optical").to_pandas()
    metrics["_best"] = read_part(lake, run, "best").to_pandas()
    return pairs, metrics
