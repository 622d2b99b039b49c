"""The Spark cross-match on the real stack: equal to astropy `search_around_sky`, the same on local[2]
and on the standalone cluster, with the commit-marker protocol. Inputs are written in the raw-lake
layout under a private prefix (manifests included), so the job reads them exactly as in production. The sky and the
undisturbed local[2] run ("local") are session fixtures (tests/integration/conftest.py), shared with
test_faults_spark.py as its baseline."""

from __future__ import annotations

import io
import json
import uuid

import pandas as pd
import pytest

from tests.spark_sky import N_BAD_OPTICAL, N_BAD_RADIO, R_ARCSEC, _params, _run

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _reference(radio: pd.DataFrame, optical: pd.DataFrame) -> pd.DataFrame:
    import astropy.units as u
    from astropy.coordinates import SkyCoord, search_around_sky

    i1, i2, d2, _ = search_around_sky(
        SkyCoord(radio["ra_deg"].to_numpy() * u.deg, radio["dec_deg"].to_numpy() * u.deg),
        SkyCoord(optical["ra"].to_numpy() * u.deg, optical["dec"].to_numpy() * u.deg),
        R_ARCSEC * u.arcsec,
    )
    return pd.DataFrame(
        {
            "radio_source_name": radio["source_name"].to_numpy()[i1],
            "optical_id": optical["source_id"].to_numpy()[i2],
            "sep_ref": d2.to_value(u.arcsec),
        }
    )


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


def test_run_publishes_the_run_posterior(stack, sky, local_run):
    """pairs/ carries the posterior's inputs and scored columns, best/ is one star per source, and the
    metrics hold the reliability cut, the fitted c and the learned histograms (docs/crossmatch.md §6.2)."""
    from radiostars.crossmatch.posterior import SCORED_COLUMNS, class_catalogue
    from radiostars.spark_engine.scoring import PROPERTY_COLUMNS

    _, radio, _ = sky
    pairs, metrics = local_run
    assert set(SCORED_COLUMNS) <= set(pairs.columns) and set(PROPERTY_COLUMNS) <= set(pairs.columns)
    assert pairs["p_any"].between(0, 1).all() and pairs["p_i"].between(0, 1).all()
    assert (pairs["mag"] == 15.0).all()  # the optical property reached the posterior
    best = metrics["_best"]
    assert best["radio_source_name"].is_unique
    assert set(best["radio_source_name"]) == set(pairs["radio_source_name"])
    assert (best["star_rank"] == 1).all() and best["is_star_primary"].all()
    expected = pairs[(pairs["star_rank"] == 1) & pairs["is_star_primary"]]
    assert set(zip(best["radio_source_name"], best["optical_id"])) == set(
        zip(expected["radio_source_name"], expected["optical_id"])
    )
    cal, sc = metrics["calibration"], metrics["scoring"]
    assert cal["method"] == "target_reliability" and cal["target_reliability"] == 0.9
    assert cal["n_real_sources"] == len(radio) and cal["n_control_sources"] == 4 * len(radio)
    assert sc["p_any_cut"] == cal["p_any_cut"] and sc["prior_status"] in ("fitted", "fallback")
    per_src = pairs.groupby("radio_source_name")["p_any"].first()
    assert sc["n_candidates"] == int((per_src >= sc["p_any_cut"]).sum())
    # a sky without counterparts: c fitted near 0 (the hard sky is random points), few or no candidates
    assert sc["c"] < 0.05 and sc["c_err"] is not None
    # classes are the catalogue, or the catalogue in a band of local density (gaia_dr3@sparse …) when the sky spans several
    classes = metrics["posterior"]["prior_fit"]["joint"]["property_priors"]
    assert any(class_catalogue(k) == "gaia_dr3" for k in classes), classes
    assert metrics["false_rate_calibration"]["n_control_sources"] == 4 * len(radio)
    assert metrics["timings"]["score_s"] >= 0


def test_run_with_a_too_small_control_falls_back_and_says_so(stack, sky):
    """A control below prior_fit_min_control_sources: the documented defaults (c = prior_completeness,
    positions only, cut p_any >= target_reliability), recorded in the metrics; the run still commits."""
    import dataclasses

    prefix, radio, _ = sky
    params = dataclasses.replace(_params(), prior_fit_min_control_sources=10 * 4 * len(radio))
    pairs, metrics = _run(stack, prefix, "fallback", "local[2]", params=params)
    sc, cal = metrics["scoring"], metrics["calibration"]
    assert cal["status"] == "fallback" and cal["p_any_cut"] == params.target_reliability
    # the default c per class (a catalogue, or a catalogue's density band: a source's candidates lie in one band)
    assert sc["prior_status"] == "fallback" and sc["c_by_class"]
    assert all(c == pytest.approx(params.prior_completeness) for c in sc["c_by_class"].values()), sc["c_by_class"]
    assert any("control too small" in r for r in sc["fallbacks"]) and sc["property_prior_source"] == "learned"
    assert (pairs["ln_property_ratio"] == 0).all()  # positions only
    assert metrics["_best"]["radio_source_name"].is_unique and len(metrics["_best"]) > 0


def test_shuffle_path_gives_identical_outputs(stack, sky, local_run):
    """The curated layout (no shuffle of the optical side) and the in-run explode + shuffle agree on
    every pair column and every count, so the layout is an optimisation only."""
    prefix, _, _ = sky
    shuffled, metrics = _run(stack, prefix, "shuffle", "local[2]", optical_layout="shuffle")
    assert metrics["optical_layout"] == "shuffle" and "layout" not in metrics["optical"]["gaia_dr3"]
    key = ["radio_source_name", "optical_id"]
    cols = key + [
        "sep_arcsec",
        "sep_sigma",
        "rank",
        "n_candidates",
        "p_chance",
        "local_density_per_arcsec2",
        "n_annulus",
        "p_any",
        "p_i",
        "healpix",
    ]
    a = local_run[0][cols].sort_values(key).reset_index(drop=True)
    b = shuffled[cols].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    first = local_run[1]
    for name in ("pairs", "radio_with_candidates", "far_analytic", "far_control"):
        assert metrics[name] == pytest.approx(first[name], rel=1e-12), name
    assert metrics["optical"]["gaia_dr3"]["rows"] == first["optical"]["gaia_dr3"]["rows"]
    assert metrics["optical"]["gaia_dr3"]["skipped_no_position"] == first["optical"]["gaia_dr3"]["skipped_no_position"]


def test_committed_run_is_refused_then_overwritten_identically(stack, sky, local_run):
    from radiostars.lake.runs import is_committed
    from radiostars.lake.store import Lake
    from radiostars.spark_engine.run import RunError

    prefix, _, _ = sky
    assert is_committed(Lake(stack), "local", prefix)
    with pytest.raises(RunError, match="already committed"):
        _run(stack, prefix, "local", "local[2]")
    again, metrics = _run(stack, prefix, "local", "local[2]", overwrite=True)
    assert not metrics["optical"]["gaia_dr3"]["layout"]["built_in_this_run"]  # the stored layout is reused
    assert metrics["timings"]["curate_s"] == 0.0
    key = ["radio_source_name", "optical_id"]
    first = local_run[0].sort_values(key).reset_index(drop=True)
    again = again.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        first[key + ["sep_arcsec", "rank", "p_chance"]], again[key + ["sep_arcsec", "rank", "p_chance"]]
    )


def test_uncommitted_run_is_invisible(stack, sky):
    from radiostars.lake.client import lake_client
    from radiostars.lake.runs import committed_runs, is_committed
    from radiostars.lake.store import Lake

    prefix, _, _ = sky
    # what a killed job leaves: outputs without a marker
    body = b"partial"
    lake_client(stack).put_object(
        stack.lake_bucket, f"{prefix}crossmatch/killed/pairs/part-0.parquet", io.BytesIO(body), len(body)
    )
    assert not is_committed(Lake(stack), "killed", prefix)
    assert "killed" not in committed_runs(Lake(stack), prefix)


def test_standalone_cluster_gives_identical_pairs(stack, sky, local_run):
    from radiostars.stack.supervisor import program_states

    if program_states(stack).get("spark-worker") != "RUNNING":
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

    from radiostars.lake.client import lake_client
    from radiostars.lake.keys import marker_key
    from radiostars.lake.runs import committed_runs
    from radiostars.lake.store import Lake

    prefix = f"tests/order-{uuid.uuid4().hex[:8]}/"
    client = lake_client(stack)
    # Airflow run ids do not sort by time: "scheduled__…" > "manual__…" > "asset_triggered__…"
    for run_id, at in (("scheduled__old", "2026-01-01T00:00:00Z"), ("asset_triggered__new", "2026-01-02T00:00:00Z")):
        body = json.dumps({"run_id": run_id, "committed_at": at}).encode()
        client.put_object(stack.lake_bucket, marker_key(run_id, prefix), io.BytesIO(body), len(body))
    try:
        assert committed_runs(Lake(stack), prefix) == ["scheduled__old", "asset_triggered__new"]
    finally:
        Lake(stack).remove_prefix(prefix)
