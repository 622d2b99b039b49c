"""The radio_star_crossmatch DAG's job arguments: validated, and understood by the job's own parser."""

import importlib.util
from pathlib import Path

import pytest

from radiostars.orchestration.crossmatch_dag import CrossmatchParamsError, plan

ROOT = Path(__file__).resolve().parents[2]


def _job_parser():
    spec = importlib.util.spec_from_file_location("crossmatch_job", ROOT / "spark_jobs" / "crossmatch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_parser()


def test_plan_arguments_parse_in_the_job_with_the_ui_params():
    out = plan({"radius_arcsec": 7.5, "target_false_rate": 0.02, "catalogues": ["gaia_dr3"]},
               "manual__2026-11-26T03:00:00+00:00")
    args = _job_parser().parse_args(out["application_args"])
    assert args.run_id == out["run_id"]
    assert args.radius_arcsec == 7.5 and args.target_false_rate == 0.02 and args.catalogues == "gaia_dr3"
    assert args.overwrite and args.under_spark_submit
    assert args.optical_layout == "curated"
    shuffle = plan({"optical_layout": "shuffle"}, "manual__x")["application_args"]
    assert _job_parser().parse_args(shuffle).optical_layout == "shuffle"


@pytest.mark.parametrize("params, field", [({"target_false_rate": 1.5}, "target_false_rate"),
                                           ({"healpix_order": 9}, "healpix_order"),
                                           ({"master": "yarn"}, "master"),
                                           ({"optical_layout": "hats"}, "optical_layout")])
def test_plan_refuses_bad_params_with_the_field_named(params, field):
    with pytest.raises(CrossmatchParamsError, match=field):
        plan(params, "manual__x")
