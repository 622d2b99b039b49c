"""The radio_star_crossmatch DAG's job arguments: validated, and understood by the job's own parser."""

import importlib.util
from pathlib import Path

import pytest

from radiostars.orchestration.crossmatch_dag import CrossmatchParamsError, plan

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def _job_parser():
    spec = importlib.util.spec_from_file_location("crossmatch_job", ROOT / "spark_jobs" / "crossmatch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_parser()


def test_plan_arguments_parse_in_the_job_with_the_ui_params():
    out = plan(
        {"radius_arcsec": 7.5, "target_false_rate": 0.02, "target_reliability": 0.8, "catalogues": ["gaia_dr3"]},
        "manual__2026-11-26T03:00:00+00:00",
    )
    args = _job_parser().parse_args(out["application_args"])
    assert args.run_id == out["run_id"]
    assert args.radius_arcsec == 7.5 and args.target_false_rate == 0.02 and args.catalogues == "gaia_dr3"
    assert args.target_reliability == 0.8
    assert args.under_spark_submit and not args.overwrite  # replacing a committed run is never implicit
    assert args.optical_layout == "curated"
    shuffle = plan({"optical_layout": "shuffle"}, "manual__x")["application_args"]
    assert _job_parser().parse_args(shuffle).optical_layout == "shuffle"


@pytest.mark.parametrize(
    "params, field",
    [
        ({"target_false_rate": 1.5}, "target_false_rate"),
        ({"target_reliability": 1.0}, "target_reliability"),
        ({"healpix_order": 9}, "healpix_order"),
        ({"master": "yarn"}, "master"),
        ({"optical_layout": "hats"}, "optical_layout"),
    ],
)
def test_plan_refuses_bad_params_with_the_field_named(params, field):
    with pytest.raises(CrossmatchParamsError, match=field):
        plan(params, "manual__x")


def test_dag_and_job_defaults_are_crossmatch_params_defaults():
    """One set of defaults: the trigger form's and the job's command line's come from CrossmatchParams."""
    from radiostars.catalogues.tables import OPTICAL_CATALOGUES
    from radiostars.crossmatch.params import CrossmatchParams
    from radiostars.orchestration.crossmatch_dag import PARAM_DEFAULTS, param_specs

    defaults = CrossmatchParams()
    for name in (
        "radius_arcsec",
        "n_sigma",
        "r_min_arcsec",
        "healpix_order",
        "target_false_rate",
        "target_reliability",
    ):
        assert PARAM_DEFAULTS[name] == getattr(defaults, name), name
    assert PARAM_DEFAULTS["catalogues"] == list(OPTICAL_CATALOGUES) == param_specs()["catalogues"]["items"]["enum"]
    assert set(PARAM_DEFAULTS) == set(param_specs())
    args = _job_parser().parse_args(["--run-id", "r"])
    assert (
        args.radius_arcsec,
        args.r_min_arcsec,
        args.n_sigma,
        args.sigma_sys_arcsec,
        args.healpix_order,
        args.target_false_rate,
    ) == (
        defaults.radius_arcsec,
        defaults.r_min_arcsec,
        defaults.n_sigma,
        defaults.sigma_sys_arcsec,
        defaults.healpix_order,
        defaults.target_false_rate,
    )
    assert (args.control_offset_arcmin,) == defaults.control_offsets_arcmin
    assert args.catalogues == ",".join(OPTICAL_CATALOGUES)


def _settings(tmp_path):
    from radiostars.config import load_settings

    return load_settings(
        environ={"SPARK_MASTER": "spark://cluster.example:7077", "SPARK_MASTER_PORT": "17077"},
        env_file=tmp_path / "none",
    )


@pytest.mark.parametrize(
    "master, ok",
    [
        ("", True),
        ("local[2]", True),
        ("local[*]", True),
        ("spark://cluster.example:7077", True),
        ("spark://127.0.0.1:17077", True),
        ("spark://attacker.example:7077", False),
        ("spark://127.0.0.1:7078", False),
        ("local[2] --conf x=y", False),
        ("k8s://https://x", False),
    ],
)
def test_master_must_be_a_configured_one(tmp_path, master, ok):
    if ok:
        args = plan({"master": master}, "manual__x", _settings(tmp_path))["application_args"]
        assert (master in args) == bool(master)
    else:
        with pytest.raises(CrossmatchParamsError, match="not a configured Spark master"):
            plan({"master": master}, "manual__x", _settings(tmp_path))


def test_run_ids_map_one_to_one_and_bad_ones_are_refused(tmp_path):
    from radiostars.lake.keys import check_run_id

    s = _settings(tmp_path)
    ids = ["manual__2026-11-26T03:00:00+00:00", "a:b", "a+b", "a_b", "a-b"]
    mapped = [plan({}, run_id, s)["run_id"] for run_id in ids]
    assert len(set(mapped)) == len(ids)  # a:b and a+b no longer both become a_b
    assert all(check_run_id(run_id) and ":" not in run_id for run_id in mapped)
    for bad in ["a b", "a/b", "a=b", "../x", "x" * 121, "", "_x"]:
        with pytest.raises(CrossmatchParamsError, match="cannot name a cross-match run"):
            plan({}, bad, s)


def test_overwrite_only_when_asked(tmp_path):
    s = _settings(tmp_path)
    assert "--overwrite" in plan({"overwrite": True}, "manual__x", s)["application_args"]
    assert "--overwrite" not in plan({"overwrite": False}, "manual__x", s)["application_args"]
    # a retry of the DAG run keeps what an earlier attempt committed (fault 5); overwrite replaces it
    assert "--keep-committed" in plan({}, "manual__x", s)["application_args"]
    assert "--keep-committed" not in plan({"overwrite": True}, "manual__x", s)["application_args"]
    assert _job_parser().parse_args(plan({}, "manual__x", s)["application_args"]).keep_committed
    with pytest.raises(CrossmatchParamsError, match="overwrite"):
        plan({"overwrite": "yes"}, "manual__x", s)
