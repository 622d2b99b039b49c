"""The whole evaluation on a tiny, fully known run built with the real cross-match library
(tests/evaluate_fixtures.py), no services: known completeness, epoch effect, outputs, CLI errors."""

from __future__ import annotations

import json

import pytest

from radiostars.evaluate import cli
from radiostars.evaluate.epoch_effect import params_from_metrics
from radiostars.evaluate.report import PLOT_FILES, evaluate_run, headline, write_outputs
from tests.evaluate_fixtures import EXPECTED, HPM_HIP, build_tiny_run

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def tiny():
    run, truth = build_tiny_run()
    return run, truth, evaluate_run(run, truth)


def test_completeness_on_known_run(tiny):
    _, _, ev = tiny
    c = ev.summary["completeness"]
    assert (c["best"]["k"], c["best"]["n"]) == (EXPECTED["recovered_best"], EXPECTED["injected"])
    assert c["n_injected_not_in_run"] == 0
    missed = ev.frames["missed"]
    assert list(missed["source_name"]) == ["GSTAR04"]  # the star 20″ from its radio source
    assert missed["true_rank"].isna().all()
    assert sum(b["n"] for b in c["by_sn"]) == EXPECTED["injected"]


def test_reliability_counts_are_consistent(tiny):
    _, _, ev = tiny
    r = ev.summary["reliability"]
    best = ev.frames["best"]
    assert r["overall"]["n"] == len(best) and r["overall"]["k"] == EXPECTED["recovered_best"]
    assert sum(v["n"] for v in r["by_class"].values()) == len(best)
    assert sum(r["best_match_kinds"].values()) == len(best)
    assert r["best_match_kinds"]["true"] == EXPECTED["recovered_best"]


def test_far_truth_counts_every_non_true_pair(tiny):
    run, _, ev = tiny
    far = ev.summary["far"]
    assert far["truth_pairs"]["count"] == len(run.pairs) - EXPECTED["recovered_best"]
    assert far["analytic"]["value"] == pytest.approx(run.metrics["far_analytic"])
    assert far["analytic_recomputed"] == pytest.approx(run.metrics["far_analytic"], rel=0.2)


def test_epoch_effect_fast_star_found_only_with_propagation(tiny):
    _, _, ev = tiny
    ep = ev.summary["epoch_effect"]
    assert ep["n_stars"] == EXPECTED["hpm_stars"]
    assert ep["with_propagation"]["k"] == EXPECTED["hpm_with"]
    assert ep["without_propagation"]["k"] == EXPECTED["hpm_without"]
    assert ep["with_propagation_inprocess"]["k"] == EXPECTED["hpm_with"]
    assert list(ev.frames["epoch_stars"]["star_id"]) == [HPM_HIP]


def test_params_from_metrics_round_trip(tiny):
    run, _, _ = tiny
    assert params_from_metrics(run.metrics).to_dict() == run.metrics["params"]
    assert params_from_metrics({**run.metrics, "params": {**run.metrics["params"], "future_knob": 1}})


def test_targets_and_findings_explain_the_miss(tiny):
    _, _, ev = tiny
    t, h = ev.summary["targets"], ev.summary["headline"]
    assert ev.summary["completeness"]["best"]["value"] == pytest.approx(5 / 6)
    assert t["completeness_at_default_cut"]["value"] == h["completeness_at_default_cut"]
    assert t["completeness_at_default_cut"]["met"] is (h["completeness_at_default_cut"] >= 0.8)
    assert t["epoch_effect"]["met"] is True
    assert any("have no pair carrying their id" in f for f in ev.summary["findings"])
    # a missed completeness is explained by how much and why: the three kinds of miss add up to the misses
    bd = ev.summary["headline_detail"]["physics"]["breakdown"]
    com = ev.summary["headline_detail"]["physics"]["completeness"]
    assert bd["star_not_a_candidate"] + bd["below_cut"] + bd["selected_best_is_other_star"] == com["n"] - com["k"]
    assert bd["star_not_a_candidate"] >= 1  # GSTAR04, 20″ from its star
    if not t["completeness_at_default_cut"]["met"]:
        assert any(
            f.startswith("Completeness at the default cut") and "points under 80%" in f for f in ev.summary["findings"]
        )
    assert ev.summary["completeness"]["best_id_float64_rounded"] == 0
    text = headline(ev.summary)
    assert "completeness_at_default_cut_position_only" in text and "position_only:" in text


def test_bayes_and_luminosity_sections(tiny):
    _, _, ev = tiny
    b = ev.summary["bayes"]
    assert [c["p_any_cut"] for c in b["comparisons"] if not c["calibrated"]] == [0.5, 0.8, 0.9, 0.99]
    assert [c["p_any_cut"] for c in b["comparisons"] if c["calibrated"]] == [
        ev.summary["bayes"]["calibration"]["p_any_cut"]
    ]
    assert sum(row["n"] for row in b["p_i_calibration_joint"]) == len(ev.frames["pairs"])
    lum = ev.summary["luminosity"]
    assert lum["n_with_distance"] >= EXPECTED["recovered_best"]  # every fixture star has ϖ/σ > 5
    assert ev.frames["best"]["l_nu"].dropna().gt(0).all()


def test_selection_at_equal_completeness_and_the_calibrated_cut(tiny):
    run, _, ev = tiny
    b = ev.summary["bayes"]
    best = ev.frames["best"]
    cut = run.metrics["calibration"]["p_any_cut"]
    at = b["at_calibrated_cut"]
    assert at["p_any_cut"] == cut and at["control_false_rate"] == run.metrics["calibration"]["false_rate_at_cut"]
    # the truth's false-selection rate: star-less radio sources whose best candidate passes the cut
    background = best[best["match_kind"] == "background"]
    assert at["truth_false_rate"]["n"] == 300 and at["truth_false_rate"]["k"] == int((background["p_any"] >= cut).sum())
    assert at["selection"]["n_true"] == int((best["is_true"] & (best["p_any"] >= cut)).sum())
    rows = b["equal_completeness"]
    assert [r["completeness_level"] for r in rows] == [0.25, 0.5, 0.75, 0.9, 0.95, 0.99]
    reachable = [r for r in rows if r["purer"] is not None]
    assert reachable and all(r["p_any_completeness"] >= r["completeness_level"] for r in reachable)
    # 5 of 6 stars are the best match: 90 % and above are out of reach of any cut
    assert [r["purer"] for r in rows[3:]] == [None, None, None]
    v = b["purer_at_equal_completeness"]
    assert sum(v.values()) == len(rows) and v["unreachable"] == 3
    assert len(b["curves"]["p_any"]) == 101 and len(b["curves"]["p_chance"]) == 71


def test_classes_follow_the_warehouse_rule(tiny):
    run, _, ev = tiny
    best = ev.frames["best"].set_index("radio_source_name")
    inputs = ev.summary["reliability"]["class_inputs"]
    assert inputs["p_any_cut"] == run.metrics["calibration"]["p_any_cut"] and inputs["known_objects"] == 3
    # the AGN 5″ from GSTAR00's radio position: flagged, so never A or B; the Star near GSTAR01 does not count
    assert bool(best.loc["GSTAR00", "near_known_nonstellar"]) and best.loc["GSTAR00", "class"] == "C"
    assert not bool(best.loc["GSTAR01", "near_known_nonstellar"])
    from radiostars.evaluate import metrics as M

    again = M.reliability_class(
        best["p_chance"],
        best["p_any"],
        best["p_i"],
        n_candidates=best["n_candidates"],
        near_known_nonstellar=best["near_known_nonstellar"],
        p_any_cut=inputs["p_any_cut"],
    )
    assert list(again) == list(best["class"])
    assert set(ev.summary["reliability"]["class_definition"]) == {"A", "B", "C"}


def test_a_run_without_calibration_or_known_objects(tiny):
    import copy

    run, truth, _ = tiny
    old = copy.copy(run)
    old.metrics = {k: v for k, v in run.metrics.items() if k != "calibration"}
    old.metrics["posterior"] = {
        k: v for k, v in run.metrics["posterior"].items() if k not in ("calibration", "calibration_position_only")
    }
    old.known_objects = None
    ev = evaluate_run(old, truth)
    assert ev.summary["bayes"]["at_calibrated_cut"] is None and ev.summary["bayes"]["calibration"] is None
    assert ev.summary["reliability"]["class_inputs"]["p_any_cut"] == 0.5
    assert ev.summary["reliability"]["by_class"]["A"]["n"] == 0  # known objects unknown: never A
    # the headline's documented fallback: p_any >= target_reliability, no estimate to pull, said in the findings
    h = ev.summary["headline"]
    assert h["default_cut"] == run.metrics["params"]["target_reliability"]
    assert h["reliability_estimated_at_default_cut"] is None and h["reliability_estimate_pull"] is None
    assert ev.summary["targets"]["reliability_estimate_pull"]["met"] is False
    assert any("has no calibration" in f and "documented fallback" in f for f in ev.summary["findings"])


def test_write_outputs(tiny, tmp_path):
    _, _, ev = tiny
    folder = write_outputs(ev, tmp_path / "r")
    for name in PLOT_FILES.values():
        assert (folder / name).stat().st_size > 5000, name
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["completeness"]["best"]["k"] == EXPECTED["recovered_best"]
    assert sorted(summary["plots"]) == sorted(PLOT_FILES.values())
    md = (folder / "report.md").read_text()
    for heading in (
        "## Headline",
        "## Completeness",
        "## Reliability",
        "## False-match rate",
        "## Epoch effect",
        "## Bayesian selection",
        "## Luminosity",
    ):
        assert heading in md
    assert "**Calibrated cut**" in md and "Reliability at equal completeness" in md
    assert summary["bayes"]["at_calibrated_cut"]["p_any_cut"] == ev.summary["bayes"]["at_calibrated_cut"]["p_any_cut"]
    assert "GSTAR04" in md


def _with_hipparcos_twin(run, source: str = "GSTAR00", hip: int = 99_001):
    """The run with the injected star of `source` listed a second time, as a Hipparcos entry 0.01″ away
    that takes rank 1 — the case of a bright star in both catalogues."""
    import copy

    import numpy as np
    import pandas as pd

    twin_run = copy.copy(run)
    pairs = run.pairs.copy()
    mine = pairs["radio_source_name"] == source
    star = pairs[mine & (pairs["rank"] == 1)].iloc[0]
    twin = star.copy()
    twin["optical_catalogue"], twin["optical_id"] = "hipparcos2", hip
    twin["optical_dec_deg"] = star["optical_dec_deg"] + 0.01 / 3600
    twin["sep_sigma"] = star["sep_sigma"] * 0.9
    pairs.loc[mine, "rank"] += 1
    pairs.loc[mine, "n_candidates"] += 1
    twin["rank"], twin["n_candidates"] = 1, int(pairs.loc[mine, "n_candidates"].iloc[0])
    if "is_star_primary" in pairs.columns:  # a merged star of the joint posterior: the twin carries its evidence
        pairs.loc[mine & (pairs["optical_id"] == star["optical_id"]), "is_star_primary"] = False
        twin["is_star_primary"] = True
    pairs = pd.concat([pairs, twin.to_frame().T.astype(pairs.dtypes.to_dict())], ignore_index=True)
    twin_run.pairs = pairs
    best = (pairs["star_rank"] == 1) & pairs["is_star_primary"] if "star_rank" in pairs.columns else pairs["rank"] == 1
    twin_run.best = pairs[best].reset_index(drop=True)
    gaia = run.optical[(run.optical["catalogue"] == "gaia_dr3") & (run.optical["optical_id"] == star["optical_id"])]
    hip_row = gaia.assign(catalogue="hipparcos2", optical_id=np.int64(hip), ref_epoch_yr=1991.25, mag=gaia["mag"] + 0.3)
    twin_run.optical = pd.concat([run.optical, hip_row], ignore_index=True)
    return twin_run


def test_star_level_counts_the_same_stars_other_entry(tiny):
    run, truth, _ = tiny
    ev = evaluate_run(_with_hipparcos_twin(run), truth)
    c, r, t = ev.summary["completeness"], ev.summary["reliability"], ev.summary["targets"]
    n = EXPECTED["injected"]
    # GSTAR00's best candidate is now its star's Hipparcos entry: recovered at star level, missed id-exact
    assert (c["best"]["k"], c["best"]["n"]) == (EXPECTED["recovered_best"], n)
    assert (c["best_strict"]["k"], c["best_strict"]["n"]) == (EXPECTED["recovered_best"] - 1, n)
    assert c["n_best_is_same_star"] == 1 and ev.summary["same_star"]["n_links"] == 1
    assert set(t) >= {"reliability_at_default_cut", "completeness_at_default_cut"}
    assert (
        r["overall"]["k"] == EXPECTED["recovered_best"] and r["overall_strict"]["k"] == EXPECTED["recovered_best"] - 1
    )
    assert r["best_match_kinds"]["same_star"] == 1 and r["best_match_kinds"]["true"] == EXPECTED["recovered_best"] - 1
    missed = ev.frames["missed"].set_index("source_name")
    assert missed["best_is_same_star"].to_dict() == {"GSTAR00": True, "GSTAR04": False}
    assert any("entry in the other catalogue" in f for f in ev.summary["findings"])
    # the twin is not a chance pair: the truth FAR counts the same pairs as without it
    assert ev.summary["far"]["truth_pairs"]["count"] == len(run.pairs) - EXPECTED["recovered_best"]
    assert "reliability_at_default_cut" in headline(ev.summary)


def test_cli_missing_truth_is_one_line_exit_2(tmp_path, capsys):
    assert cli.main(["evaluate", "--truth-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "radiostars seed" in err[0]


def test_cli_bad_argument_exit_2(capsys):
    assert cli.main(["--no-such-flag"]) == 2
    assert "see --help" in capsys.readouterr().err
