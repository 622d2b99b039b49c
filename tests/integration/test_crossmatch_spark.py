"""The Spark cross-match on the real stack: equal to astropy `search_around_sky`, the same on local[2]
and on the standalone cluster, with the commit-marker protocol. Inputs are written in the raw-lake
layout under a private prefix (manifests included), so the job reads them exactly as in production."""

from __future__ import annotations

import hashlib
import io
import json
import uuid

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.skygen import hard_sky

pytestmark = [pytest.mark.integration, pytest.mark.slow]

R_ARCSEC = 20.0
N_BAD_RADIO = 3  # rows with a NULL position: skipped and counted
N_BAD_OPTICAL = 3  # NaN / NULL / out-of-range positions: skipped and counted


def _write_table(settings, prefix: str, table: str, df: pd.DataFrame) -> None:
    from radiostars.lake import lake_client
    from radiostars.sample.manifest import PartFile, run_prefix, write_manifest
    from radiostars.sample.schema import column_names

    columns = column_names(table)
    for column in columns:
        if column not in df.columns:
            df[column] = None
    df["deleted"] = False
    df["updated_at"] = pd.Timestamp("2026-01-01T00:00:00").as_unit("us")
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df[columns], preserve_index=False), buf)
    body = buf.getvalue()
    key = run_prefix(table, "2026-01-01", "t1", prefix) + "part-00000.parquet"
    client = lake_client(settings)
    client.put_object(settings.lake_bucket, key, io.BytesIO(body), len(body))
    write_manifest(client, settings.lake_bucket, table, "t1", "2026-01-01",
                   [PartFile(key, len(df), hashlib.sha256(body).hexdigest())], columns, lake_prefix=prefix)


@pytest.fixture(scope="module")
def sky(stack):
    """(prefix, radio frame, optical frame) written to the lake; removed afterwards."""
    from radiostars.ingest.lake_io import Lake

    rng = np.random.default_rng(11)
    rra, rdec = hard_sky(rng, 600, 80, 60)
    ora, odec = hard_sky(rng, 8000, 1500, 900)
    radio = pd.DataFrame({"source_name": [f"R{i:05d}" for i in range(rra.size)], "ra_deg": rra, "dec_deg": rdec,
                          "ra_err_arcsec": 1.0, "dec_err_arcsec": 1.0, "peak_flux_mjy": 1.0, "int_flux_mjy": 1.0,
                          "int_flux_err_mjy": 0.1, "rms_mjy": 0.02, "obs_epoch_mjd": 58849.0, "field": "T"})
    bad = pd.DataFrame({"source_name": [f"BAD{i}" for i in range(N_BAD_RADIO)], "ra_deg": [None] * N_BAD_RADIO,
                        "dec_deg": [1.0] * N_BAD_RADIO, "ra_err_arcsec": 1.0, "dec_err_arcsec": 1.0,
                        "obs_epoch_mjd": 58849.0})
    radio_all = pd.concat([radio, bad], ignore_index=True)
    radio_all["row_id"] = np.arange(1, len(radio_all) + 1)
    # ids above 2**53 like real Gaia source_ids: any float64 round trip in the engine would corrupt them
    optical = pd.DataFrame({"row_id": np.arange(1, ora.size + 1),
                            "source_id": 6_000_000_000_000_000_001 + np.arange(ora.size, dtype=np.int64),
                            "ra": ora, "dec": odec, "ra_error": 0.1, "dec_error": 0.1, "ref_epoch": 2016.0,
                            "phot_g_mean_mag": 15.0, "is_synthetic": True})
    bad_optical = pd.DataFrame({"row_id": ora.size + 1 + np.arange(N_BAD_OPTICAL),
                                "source_id": 5_000_000_000_000_000_001 + np.arange(N_BAD_OPTICAL, dtype=np.int64),
                                "ra": [np.nan, 12.0, 400.0], "dec": [1.0, None, 1.0], "ra_error": 0.1,
                                "dec_error": 0.1, "ref_epoch": 2016.0, "phot_g_mean_mag": 15.0, "is_synthetic": True})
    prefix = f"tests/xm-{uuid.uuid4().hex[:8]}/"
    _write_table(stack, prefix, "radio_sources", radio_all)
    _write_table(stack, prefix, "gaia_dr3", pd.concat([optical, bad_optical], ignore_index=True))
    yield prefix, radio, optical
    Lake(stack).remove_prefix(prefix)


def _params():
    from radiostars.crossmatch.params import CrossmatchParams

    # r_min = r_max: a fixed radius, so astropy's search_around_sky is the exact reference
    return CrossmatchParams(radius_arcsec=R_ARCSEC, r_min_arcsec=R_ARCSEC, n_sigma=1.0, sigma_sys_arcsec=0.0,
                            healpix_order=2, margin_arcsec=3 * R_ARCSEC, density_inner_arcsec=1.5 * R_ARCSEC,
                            density_outer_arcsec=3 * R_ARCSEC, control_position_angles_deg=(0.0, 90.0, 180.0, 270.0))


def _run(settings, prefix: str, run_id: str, master: str, overwrite: bool = False,
         optical_layout: str = "curated") -> tuple[pd.DataFrame, dict]:
    from radiostars.engine.run import RunRequest, run_crossmatch
    from radiostars.spark import spark_session

    spark = spark_session(f"test-{run_id}", master=master, settings=settings)
    try:
        metrics = run_crossmatch(spark, settings, RunRequest(run_id=run_id, params=_params(), catalogues=("gaia_dr3",),
                                                             lake_prefix=prefix, overwrite=overwrite,
                                                             optical_layout=optical_layout))
        pairs = spark.read.parquet(settings.lake_uri(f"{prefix}crossmatch/{run_id}/pairs")).toPandas()
        optical = spark.read.parquet(settings.lake_uri(f"{prefix}crossmatch/{run_id}/optical")).toPandas()
        metrics["_optical_output"] = optical
    finally:
        spark.stop()
    return pairs, metrics


def _reference(radio: pd.DataFrame, optical: pd.DataFrame) -> pd.DataFrame:
    import astropy.units as u
    from astropy.coordinates import SkyCoord, search_around_sky

    i1, i2, d2, _ = search_around_sky(SkyCoord(radio["ra_deg"].to_numpy() * u.deg, radio["dec_deg"].to_numpy() * u.deg),
                                      SkyCoord(optical["ra"].to_numpy() * u.deg, optical["dec"].to_numpy() * u.deg),
                                      R_ARCSEC * u.arcsec)
    return pd.DataFrame({"radio_source_name": radio["source_name"].to_numpy()[i1],
                         "optical_id": optical["source_id"].to_numpy()[i2], "sep_ref": d2.to_value(u.arcsec)})


@pytest.fixture(scope="module")
def local_run(stack, sky):
    prefix, _, _ = sky
    return _run(stack, prefix, "local", "local[2]")


def test_local_run_equals_astropy_search_around_sky(stack, sky, local_run):
    _, radio, optical = sky
    pairs, metrics = local_run
    ref = _reference(radio, optical)
    assert len(ref) > 1500  # poles, seam and pixel corners are populated
    assert not pairs.duplicated(["radio_source_name", "optical_id"]).any()
    merged = ref.merge(pairs, on=["radio_source_name", "optical_id"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged["_merge"].value_counts().to_dict()
    assert (merged["sep_ref"] - merged["sep_arcsec"]).abs().max() < 1e-6  # < 1 µas
    assert metrics["radio"]["skipped_no_position"] == N_BAD_RADIO
    assert metrics["radio"]["usable"] == len(radio)
    assert metrics["pairs"] == len(ref)
    best = pairs[pairs["rank"] == 1]
    assert best["radio_source_name"].is_unique and len(best) == ref["radio_source_name"].nunique()
    assert ((pairs["p_chance"] >= 0) & (pairs["p_chance"] <= 1)).all()
    # optical/: exactly the matched rows, once each, with their catalogue and catalogue columns
    out = metrics["_optical_output"]
    assert out["optical_id"].is_unique and set(out["optical_id"]) == set(pairs["optical_id"])
    assert (out["catalogue"] == "gaia_dr3").all() and out["ra_deg"].notna().all()
    assert metrics["optical"]["gaia_dr3"]["rows"] == len(optical) + N_BAD_OPTICAL
    assert metrics["optical"]["gaia_dr3"]["skipped_no_position"] == N_BAD_OPTICAL
    assert metrics["calibration"]["n_control_sources"] == 4 * len(radio)
    # the first run on this snapshot built its curated layout, timed apart from the match
    layout = metrics["optical"]["gaia_dr3"]["layout"]
    assert layout["built_in_this_run"] and metrics["timings"]["curate_s"] > 0
    assert layout["rows_with_margins"] > len(optical)  # margin copies


def test_shuffle_path_gives_identical_outputs(stack, sky, local_run):
    """The curated layout (no shuffle of the optical side) and the in-run explode + shuffle agree on
    every pair column and every count, so the layout is an optimisation only."""
    prefix, _, _ = sky
    shuffled, metrics = _run(stack, prefix, "shuffle", "local[2]", optical_layout="shuffle")
    assert metrics["optical_layout"] == "shuffle" and "layout" not in metrics["optical"]["gaia_dr3"]
    key = ["radio_source_name", "optical_id"]
    cols = key + ["sep_arcsec", "sep_sigma", "rank", "n_candidates", "p_chance", "local_density_per_arcsec2",
                  "n_annulus", "p_any", "p_i", "healpix"]
    a = local_run[0][cols].sort_values(key).reset_index(drop=True)
    b = shuffled[cols].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    first = local_run[1]
    for name in ("pairs", "radio_with_candidates", "far_analytic", "far_control"):
        assert metrics[name] == pytest.approx(first[name], rel=1e-12), name
    assert metrics["optical"]["gaia_dr3"]["rows"] == first["optical"]["gaia_dr3"]["rows"]
    assert metrics["optical"]["gaia_dr3"]["skipped_no_position"] == first["optical"]["gaia_dr3"]["skipped_no_position"]


def test_committed_run_is_refused_then_overwritten_identically(stack, sky, local_run):
    from radiostars.engine.run import RunError, is_committed

    prefix, _, _ = sky
    assert is_committed(stack, "local", prefix)
    with pytest.raises(RunError, match="already committed"):
        _run(stack, prefix, "local", "local[2]")
    again, metrics = _run(stack, prefix, "local", "local[2]", overwrite=True)
    assert not metrics["optical"]["gaia_dr3"]["layout"]["built_in_this_run"]  # the stored layout is reused
    assert metrics["timings"]["curate_s"] == 0.0
    key = ["radio_source_name", "optical_id"]
    first = local_run[0].sort_values(key).reset_index(drop=True)
    again = again.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(first[key + ["sep_arcsec", "rank", "p_chance"]],
                                  again[key + ["sep_arcsec", "rank", "p_chance"]])


def test_uncommitted_run_is_invisible(stack, sky):
    from radiostars.engine.run import committed_runs, is_committed
    from radiostars.lake import lake_client

    prefix, _, _ = sky
    # what a killed job leaves: outputs without a marker
    body = b"partial"
    lake_client(stack).put_object(stack.lake_bucket, f"{prefix}crossmatch/killed/pairs/part-0.parquet",
                                  io.BytesIO(body), len(body))
    assert not is_committed(stack, "killed", prefix)
    assert "killed" not in committed_runs(stack, prefix)


def test_standalone_cluster_gives_identical_pairs(stack, sky, local_run):
    from radiostars.stack import services

    if services.program_states(stack).get("spark-worker") != "RUNNING":
        pytest.fail("the Spark standalone master/worker is not running — `make up` starts it", pytrace=False)
    prefix, _, _ = sky
    cluster_pairs, metrics = _run(stack, prefix, "cluster", stack.spark_standalone_url)
    assert metrics["master"].startswith("spark://")
    key = ["radio_source_name", "optical_id"]
    cols = key + ["sep_arcsec", "sep_sigma", "rank", "n_candidates", "p_chance"]
    a = local_run[0][cols].sort_values(key).reset_index(drop=True)
    b = cluster_pairs[cols].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_committed_runs_are_ordered_by_commit_time_not_name(stack):
    import json

    from radiostars.ingest.lake_io import Lake
    from radiostars.engine.run import MARKER, committed_runs
    from radiostars.lake import lake_client

    prefix = f"tests/order-{uuid.uuid4().hex[:8]}/"
    client = lake_client(stack)
    # Airflow run ids do not sort by time: "scheduled__…" > "manual__…" > "asset_triggered__…"
    for run_id, at in (("scheduled__old", "2026-01-01T00:00:00Z"), ("asset_triggered__new", "2026-01-02T00:00:00Z")):
        body = json.dumps({"run_id": run_id, "committed_at": at}).encode()
        client.put_object(stack.lake_bucket, f"{prefix}crossmatch/{run_id}/{MARKER}", io.BytesIO(body), len(body))
    try:
        assert committed_runs(stack, prefix) == ["scheduled__old", "asset_triggered__new"]
    finally:
        Lake(stack).remove_prefix(prefix)
