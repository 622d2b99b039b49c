"""The driver-side scoring of a run (spark_engine/scoring.py): the collected pair/control_pair records → the
run posterior → pairs/, best/, metrics — without Spark, on the synthetic pair-level sky of the posterior tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from radiostars.crossmatch.params import CrossmatchParams
from radiostars.crossmatch.posterior import SCORED_COLUMNS
from radiostars.spark_engine.scoring import (
    PAIR_OUTPUT_COLUMNS,
    PROPERTY_COLUMNS,
    RECORD_COLUMNS,
    arrow_table,
    posterior_input,
    score_pairs,
)
from tests.posterior_fixtures import synthetic_run


def as_records(pairs: pd.DataFrame) -> pd.DataFrame:
    """Synthetic posterior pairs in the shape of the job's collected records (ids like the engine's)."""
    r = pairs.copy()
    ctrl = r["control_offset"].to_numpy() >= 0
    base = "R" + r["radio_id"].astype(str)
    r["radio_id"] = np.where(ctrl, base + "#c" + r["control_offset"].astype(str), base)
    r["record"] = np.where(ctrl, "control_pair", "pair")
    r["control_offset"] = r["control_offset"].astype(np.int32)
    r["healpix"] = np.int64(7)
    r["sep_sigma"] = r["sep_arcsec"] / r["sigma_arcsec"]
    r["sigma_radio_arcsec"] = 1.0
    r["radio_epoch_yr"] = 2020.0
    r["pm_missing"] = r["pmra_mas_yr"].isna()
    r["n_annulus"] = np.int64(400)
    r["p_chance"] = 1.0 - np.exp(-np.pi * r["sep_arcsec"] ** 2 * r["rho_arcsec2"])
    r["radio_ra_deg"], r["radio_dec_deg"] = r["ra_opt_deg"], r["dec_opt_deg"]
    grp = r.groupby(["radio_id", "catalogue"])
    r["rank"] = (grp["sep_sigma"].rank(method="first")).astype(np.int32)
    r["n_candidates"] = grp["sep_sigma"].transform("size").astype(np.int32)
    r = r.rename(columns={c: f"opt_{c}" for c in PROPERTY_COLUMNS})
    return r[list(RECORD_COLUMNS)].sample(frac=1.0, random_state=1).reset_index(drop=True)


@pytest.fixture(scope="module")
def run():
    sky = synthetic_run(3, 4000, 0.02, n_offsets=4, hipparcos=True)
    return sky, score_pairs(as_records(sky.pairs), sky.n_real, sky.n_control, CrossmatchParams())


def test_control_ids_go_back_to_their_parent():
    rec = as_records(synthetic_run(5, 50, 0.1, n_offsets=2).pairs)
    out = posterior_input(rec)
    ctrl = out["control_offset"] >= 0
    assert not out["radio_id"].str.contains("#c").any()
    assert set(out.loc[ctrl, "radio_id"]) <= {f"R{i}" for i in range(50)}
    bad = rec.copy()
    bad.loc[bad["record"] == "control_pair", "radio_id"] = "X"
    with pytest.raises(ValueError, match="#c"):
        posterior_input(bad)


def test_pairs_have_scored_columns_and_best_is_one_star_per_source(run):
    sky, scored = run
    pairs, best = scored.pairs, scored.best
    assert list(pairs.columns) == list(PAIR_OUTPUT_COLUMNS)
    assert set(SCORED_COLUMNS) <= set(pairs.columns) and set(PROPERTY_COLUMNS) <= set(pairs.columns)
    assert len(pairs) == int((sky.pairs["control_offset"] < 0).sum())  # real pairs only
    assert pairs["p_any"].between(0, 1).all() and pairs["p_i"].between(0, 1).all()
    # best: one row per real source with candidates, its star_rank-1 star's primary entry
    assert best["radio_source_name"].is_unique
    assert set(best["radio_source_name"]) == set(pairs["radio_source_name"])
    assert (best["star_rank"] == 1).all() and best["is_star_primary"].all()
    # the positional rank runs over both catalogues
    assert (pairs.groupby("radio_source_name")["rank"].min() == 1).all()
    assert (
        pairs.groupby("radio_source_name")["rank"].max() == pairs.groupby("radio_source_name")["n_candidates"].first()
    ).all()
    # same-star links are published: Hipparcos counterparts carry their Gaia entry
    linked = pairs[pairs["same_star_id"].notna()]
    assert len(linked) > 0 and set(linked["optical_catalogue"]) == {"gaia_dr3", "hipparcos2"}


def test_metrics_carry_the_cut_and_fitted_c(run):
    sky, scored = run
    m = scored.metrics
    cal, sc = m["calibration"], m["scoring"]
    assert cal["method"] == "target_reliability" and cal["status"] == "estimated" and cal["reached"]
    assert sc["p_any_cut"] == cal["p_any_cut"] and sc["target_reliability"] == 0.9
    assert sc["reliability_estimated"] >= 0.9 and sc["n_candidates"] > 0
    # the selected count is the number of real sources at or above the cut
    per_src = scored.pairs.groupby("radio_source_name")["p_any"].first()
    assert sc["n_candidates"] == int((per_src >= sc["p_any_cut"]).sum())
    # c fitted near the realised fraction (4000 sources, c = 2 %: σ ≈ 0.2 %)
    c_true = sky.truth["has_counterpart"].mean()
    assert abs(sc["c"] - c_true) < 4 * sc["c_err"] + 0.002
    assert set(sc["c_by_class"]) == {"gaia_dr3", "hipparcos2"} and sc["prior_status"] == "fitted"
    assert set(sc["c_per_catalogue"]) == {"gaia_dr3", "hipparcos2"} and sc["fallbacks"] == []
    hist = m["posterior"]["prior_fit"]["joint"]["property_priors"]["gaia_dr3"]["mag"]
    assert len(hist["ratio"]) == len(hist["counterpart_fraction"]) > 10
    assert m["false_rate_calibration"]["n_control_sources"] == sky.n_control
    assert sum(scored.control_matches_per_offset.values()) == int((sky.pairs["control_offset"] >= 0).sum())


def test_small_control_falls_back_to_documented_defaults():
    params = CrossmatchParams()
    sky = synthetic_run(8, 20, 0.2, n_offsets=2)  # 40 shifted sources < prior_fit_min_control_sources (100)
    scored = score_pairs(as_records(sky.pairs), sky.n_real, sky.n_control, params)
    sc = scored.metrics["scoring"]
    assert sc["cut_status"] == "fallback" and sc["prior_status"] == "fallback"
    assert sc["p_any_cut"] == params.target_reliability and sc["c"] == pytest.approx(params.prior_completeness)
    assert any("control too small" in r for r in sc["fallbacks"])
    assert scored.best["radio_source_name"].is_unique


def test_empty_run_gives_empty_outputs_with_every_column():
    empty = pd.DataFrame(
        {
            c: pd.Series(dtype=t)
            for c, t in {
                **{c: "float64" for c in RECORD_COLUMNS},
                "record": object,
                "radio_id": object,
                "catalogue": object,
                "control_offset": "int32",
                "optical_id": "int64",
            }.items()
        }
    )
    scored = score_pairs(empty[list(RECORD_COLUMNS)], 10, 80, CrossmatchParams())
    assert len(scored.pairs) == 0 and len(scored.best) == 0
    assert list(scored.pairs.columns) == list(PAIR_OUTPUT_COLUMNS)
    table = arrow_table(scored.pairs, "r1")
    assert table.num_rows == 0 and table.schema.field("same_star_catalogue").type == pa.string()


def test_arrow_table_keeps_ids_exact_and_nulls(run):
    _, scored = run
    table = arrow_table(scored.pairs, "run-1")
    assert table.column_names == ["run_id", *PAIR_OUTPUT_COLUMNS]
    assert table.schema.field("optical_id").type == pa.int64()
    assert table.column("optical_id").to_pylist() == scored.pairs["optical_id"].tolist()  # ids > 2**53 exact
    assert table.schema.field("same_star_id").type == pa.int64()
    assert table.column("same_star_id").null_count == int(scored.pairs["same_star_id"].isna().sum())
    assert table.column("colour").null_count == len(scored.pairs)  # NaN -> null


def test_demo_summary_prints_the_cut_reliability_and_candidates(run):
    from radiostars.demo import cut_lines

    _, scored = run
    text = "\n".join(cut_lines(scored.metrics))
    sc = scored.metrics["scoring"]
    assert f"p_any >= {sc['p_any_cut']:.4g}" in text and "target reliability 90%" in text
    assert f"{sc['reliability_estimated']:.3f}" in text and f"{sc['n_candidates']:,d}" in text
    # a fallback run says so; an old run (false-rate cut) keeps its line; no calibration: nothing
    small = synthetic_run(8, 20, 0.2, n_offsets=2)
    fb = score_pairs(as_records(small.pairs), small.n_real, small.n_control, CrossmatchParams())
    assert "fallback" in "\n".join(cut_lines(fb.metrics))
    old = {"calibration": {"p_any_cut": 0.03, "target_false_rate": 0.01, "false_rate_at_cut": 0.0098}}
    assert "1.0% false selections" in cut_lines(old)[0]
    assert cut_lines({}) == []
