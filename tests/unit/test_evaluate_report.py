"""The whole evaluation on a tiny, fully known run built with the real cross-match library
(radiostars.evaluate.fixtures), no services: known completeness, epoch effect, outputs, CLI errors."""

from __future__ import annotations

import json

import pytest

from radiostars.evaluate import cli
from radiostars.evaluate.epoch_effect import params_from_metrics
from radiostars.evaluate.fixtures import EXPECTED, HPM_HIP, build_tiny_run
from radiostars.evaluate.report import PLOT_FILES, evaluate_run, headline, write_outputs

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
    t = ev.summary["targets"]
    assert t["completeness"]["met"] is False and t["completeness"]["value"] == pytest.approx(5 / 6)
    assert any("have no pair carrying their id" in f for f in ev.summary["findings"])
    assert ev.summary["completeness"]["best_id_float64_rounded"] == 0
    assert "completeness" in headline(ev.summary)


def test_bayes_and_luminosity_sections(tiny):
    _, _, ev = tiny
    b = ev.summary["bayes"]
    assert [c["p_any_cut"] for c in b["comparisons"]] == [0.5, 0.8, 0.9, 0.99]
    assert sum(row["n"] for row in b["p_i_calibration_joint"]) == len(ev.frames["pairs"])
    lum = ev.summary["luminosity"]
    assert lum["n_with_distance"] >= EXPECTED["recovered_best"]  # every fixture star has ϖ/σ > 5
    assert ev.frames["best"]["l_nu"].dropna().gt(0).all()


def test_write_outputs(tiny, tmp_path):
    _, _, ev = tiny
    folder = write_outputs(ev, tmp_path / "r")
    for name in PLOT_FILES.values():
        assert (folder / name).stat().st_size > 5000, name
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["completeness"]["best"]["k"] == EXPECTED["recovered_best"]
    assert sorted(summary["plots"]) == sorted(PLOT_FILES.values())
    md = (folder / "report.md").read_text()
    for heading in ("## Targets", "## Completeness", "## Reliability", "## False-match rate", "## Epoch effect",
                    "## Bayesian selection", "## Luminosity"):
        assert heading in md
    assert "GSTAR04" in md


def test_cli_missing_truth_is_one_line_exit_2(tmp_path, capsys):
    assert cli.main(["evaluate", "--truth-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "radiostars seed" in err[0]


def test_cli_bad_argument_exit_2(capsys):
    assert cli.main(["--no-such-flag"]) == 2
    assert "see --help" in capsys.readouterr().err
