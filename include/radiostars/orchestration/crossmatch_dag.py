"""Logic behind the radio_star_crossmatch DAG: params, the spark-submit command, the commit check."""

from __future__ import annotations

from radiostars.config import Settings
from radiostars.engine import OPTICAL_LAYOUTS

DAG_ID = "radio_star_crossmatch"

PARAM_DEFAULTS = {"radius_arcsec": 10.0, "n_sigma": 4.0, "r_min_arcsec": 1.0, "healpix_order": 6,
                  "target_false_rate": 0.01, "catalogues": ["gaia_dr3", "hipparcos2"], "master": "",
                  "optical_layout": "curated"}


class CrossmatchParamsError(ValueError):
    pass


def param_specs() -> dict[str, dict]:
    """JSON-schema of the UI trigger form (checked by Airflow at trigger time, again in plan())."""
    return {
        "radius_arcsec": {"type": "number", "minimum": 0.1, "maximum": 60,
                          "description": "hard upper limit of the match radius [arcsec]"},
        "n_sigma": {"type": "number", "minimum": 1, "maximum": 10,
                    "description": "radius = max(r_min, n_sigma x combined sigma)"},
        "r_min_arcsec": {"type": "number", "minimum": 0, "maximum": 60},
        "healpix_order": {"type": "integer", "minimum": 0, "maximum": 9,
                          "description": "HEALPix partition order (pixels must be >> the margin)"},
        "target_false_rate": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1,
                              "description": "false-selection rate per radio source the p_any cut is calibrated "
                                             "to on the shifted control"},
        "catalogues": {"type": "array", "items": {"type": "string", "enum": ["gaia_dr3", "hipparcos2"]},
                       "minItems": 1},
        "optical_layout": {"type": "string", "enum": list(OPTICAL_LAYOUTS),
                           "description": "curated: match against each optical snapshot's stored HEALPix layout "
                                          "(built once per snapshot when missing); shuffle: partition in the run"},
        "master": {"type": "string", "description": "Spark master URL; empty = the spark_default connection "
                                                    "(SPARK_MASTER), e.g. spark://127.0.0.1:17077"},
    }


def plan(params: dict, airflow_run_id: str) -> dict:
    """Validated job arguments for one run (the same checks the job repeats)."""
    from radiostars.crossmatch.params import CrossmatchParams
    from radiostars.orchestration.common import safe_run_id

    p = {**PARAM_DEFAULTS, **{k: v for k, v in (params or {}).items() if k in PARAM_DEFAULTS}}
    try:
        CrossmatchParams(radius_arcsec=float(p["radius_arcsec"]), r_min_arcsec=float(p["r_min_arcsec"]),
                         n_sigma=float(p["n_sigma"]), healpix_order=int(p["healpix_order"]),
                         target_false_rate=float(p["target_false_rate"]))
    except (ValueError, TypeError) as exc:
        raise CrossmatchParamsError(f"invalid cross-match parameters: {exc}") from None
    if p["optical_layout"] not in OPTICAL_LAYOUTS:
        raise CrossmatchParamsError(f"optical_layout={p['optical_layout']!r}: expected one of {', '.join(OPTICAL_LAYOUTS)}")
    master = str(p["master"] or "")
    if master and not (master.startswith("spark://") or master.startswith("local")):
        raise CrossmatchParamsError(f"master={master!r}: expected local[N] or spark://host:port")
    args = ["--run-id", safe_run_id(airflow_run_id), "--radius-arcsec", str(p["radius_arcsec"]),
            "--n-sigma", str(p["n_sigma"]), "--r-min-arcsec", str(p["r_min_arcsec"]),
            "--healpix-order", str(int(p["healpix_order"])), "--target-false-rate", str(p["target_false_rate"]),
            "--catalogues", ",".join(p["catalogues"]),
            "--optical-layout", str(p["optical_layout"]),
            "--under-spark-submit",
            "--overwrite"]  # a retry of the same Airflow run replaces its own partial/committed output
    if master:
        args += ["--master", master]
    return {"run_id": safe_run_id(airflow_run_id), "application_args": args}


def spark_submit_conf(settings: Settings) -> dict[str, str]:
    """--conf pairs for spark-submit: s3a, jars, memory; the master comes from the connection."""
    from radiostars.spark import spark_conf

    conf = spark_conf(settings)
    conf.pop("spark.master")
    return conf


def verify_committed(settings: Settings, run_id: str) -> dict:
    """Fail unless the job committed the run; return the metrics the Asset event carries."""
    from radiostars.engine.run import is_committed
    from radiostars.ingest.lake_io import Lake

    if not is_committed(settings, run_id):
        raise RuntimeError(f"cross-match run {run_id} has no commit marker: the Spark job did not finish")
    metrics = Lake(settings).get_json(f"crossmatch/{run_id}/metrics.json") or {}
    return {"run_id": run_id, "pairs": metrics["pairs"], "radio_with_candidates": metrics["radio_with_candidates"],
            "far_analytic": metrics["far_analytic"], "far_control": metrics["far_control"],
            "p_any_cut": (metrics.get("calibration") or {}).get("p_any_cut"),
            "total_s": metrics["timings"]["total_s"], "curate_s": metrics["timings"].get("curate_s", 0.0)}
