"""Logic behind the radio_star_crossmatch DAG: params, the spark-submit arguments, the commit check
(the spark-submit --conf is :func:`radiostars.spark_engine.session.submit_conf`)."""

from __future__ import annotations

from radiostars.catalogues.tables import OPTICAL_CATALOGUES
from radiostars.config import Settings
from radiostars.crossmatch.params import param_defaults
from radiostars.errors import RadiostarsError
from radiostars.spark_engine import OPTICAL_LAYOUTS

DAG_ID = "radio_star_crossmatch"

# the trigger form: the CrossmatchParams fields an operator may change (their defaults are the class's)
UI_PARAMS = ("radius_arcsec", "n_sigma", "r_min_arcsec", "healpix_order", "target_false_rate", "target_reliability")
PARAM_DEFAULTS = {
    **{k: v for k, v in param_defaults().items() if k in UI_PARAMS},
    "catalogues": list(OPTICAL_CATALOGUES),
    "master": "",
    "optical_layout": OPTICAL_LAYOUTS[0],
    "overwrite": False,
}


class CrossmatchParamsError(RadiostarsError, ValueError):
    pass


def param_specs() -> dict[str, dict]:
    """JSON-schema of the UI trigger form (checked by Airflow at trigger time, again in plan())."""
    return {
        "radius_arcsec": {
            "type": "number",
            "minimum": 0.1,
            "maximum": 60,
            "description": "hard upper limit of the match radius [arcsec]",
        },
        "n_sigma": {
            "type": "number",
            "minimum": 1,
            "maximum": 10,
            "description": "radius = max(r_min, n_sigma x combined sigma)",
        },
        "r_min_arcsec": {"type": "number", "minimum": 0, "maximum": 60},
        "healpix_order": {
            "type": "integer",
            "minimum": 0,
            "maximum": 9,
            "description": "HEALPix partition order (pixels must be >> the margin)",
        },
        "target_false_rate": {
            "type": "number",
            "exclusiveMinimum": 0,
            "exclusiveMaximum": 1,
            "description": "false-selection rate per radio source the p_any cut is calibrated "
            "to on the shifted control",
        },
        "target_reliability": {
            "type": "number",
            "exclusiveMinimum": 0,
            "exclusiveMaximum": 1,
            "description": "reliability the published p_any cut is chosen for, estimated "
            "from the shifted control (docs/crossmatch.md §6.2)",
        },
        "catalogues": {"type": "array", "items": {"type": "string", "enum": list(OPTICAL_CATALOGUES)}, "minItems": 1},
        "optical_layout": {
            "type": "string",
            "enum": list(OPTICAL_LAYOUTS),
            "description": "curated: match against each optical snapshot's stored HEALPix layout "
            "(built once per snapshot when missing); shuffle: partition in the run",
        },
        "master": {
            "type": "string",
            "description": "Spark master URL; empty = the spark_default connection "
            "(SPARK_MASTER); else one of the configured masters: "
            "SPARK_MASTER, the local cluster spark://SPARK_MASTER_HOST:"
            "SPARK_MASTER_PORT, or local[N]",
        },
        "overwrite": {
            "type": "boolean",
            "description": "replace a run of the same id already committed (never "
            "implicit: a committed run is refused otherwise)",
        },
    }


def allowed_masters(settings: Settings) -> set[str]:
    """The Spark masters a trigger may name: the configured ones only (a UI user must not send the job,
    and with it the lake's credentials, to a master of their choosing)."""
    return {settings.spark_master, settings.spark_standalone_url}


def check_master(master: str, settings: Settings) -> str:
    """'' (the connection's), local[N] / local[*] (in the driver), or one of :func:`allowed_masters`."""
    import re

    if not master or re.fullmatch(r"local(\[(\*|[1-9][0-9]{0,2})\])?", master) or master in allowed_masters(settings):
        return master
    raise CrossmatchParamsError(
        f"master={master!r} is not a configured Spark master: use one of "
        f"{', '.join(sorted(allowed_masters(settings)))}, local[N], or leave it empty"
    )


def plan(params: dict, airflow_run_id: str, settings: Settings | None = None) -> dict:
    """Validated job arguments for one run (the same checks the job repeats)."""
    from radiostars.config import get_settings
    from radiostars.crossmatch.params import CrossmatchParams
    from radiostars.lake.keys import InvalidRunIdError
    from radiostars.orchestration.common import safe_run_id

    p = {**PARAM_DEFAULTS, **{k: v for k, v in (params or {}).items() if k in PARAM_DEFAULTS}}
    try:
        CrossmatchParams(
            radius_arcsec=float(p["radius_arcsec"]),
            r_min_arcsec=float(p["r_min_arcsec"]),
            n_sigma=float(p["n_sigma"]),
            healpix_order=int(p["healpix_order"]),
            target_false_rate=float(p["target_false_rate"]),
            target_reliability=float(p["target_reliability"]),
        )
    except (ValueError, TypeError) as exc:
        raise CrossmatchParamsError(f"invalid cross-match parameters: {exc}") from None
    if p["optical_layout"] not in OPTICAL_LAYOUTS:
        raise CrossmatchParamsError(
            f"optical_layout={p['optical_layout']!r}: expected one of {', '.join(OPTICAL_LAYOUTS)}"
        )
    master = check_master(str(p["master"] or ""), settings or get_settings())
    if not isinstance(p["overwrite"], bool):
        raise CrossmatchParamsError(f"overwrite={p['overwrite']!r}: expected true or false")
    try:
        run_id = safe_run_id(airflow_run_id)
    except InvalidRunIdError as exc:
        raise CrossmatchParamsError(str(exc)) from None
    args = [
        "--run-id",
        run_id,
        "--radius-arcsec",
        str(p["radius_arcsec"]),
        "--n-sigma",
        str(p["n_sigma"]),
        "--r-min-arcsec",
        str(p["r_min_arcsec"]),
        "--healpix-order",
        str(int(p["healpix_order"])),
        "--target-false-rate",
        str(p["target_false_rate"]),
        "--target-reliability",
        str(p["target_reliability"]),
        "--catalogues",
        ",".join(p["catalogues"]),
        "--optical-layout",
        str(p["optical_layout"]),
        "--under-spark-submit",
    ]
    if p["overwrite"]:  # only when asked: a committed run is otherwise refused by the job (a killed attempt's
        args.append("--overwrite")  # uncommitted leftovers are always cleared)
    else:  # the run id is this Airflow run's: a run committed under it is an earlier attempt's (one that committed
        args.append("--keep-committed")  # and was then killed, e.g. with the scheduler): kept, never redone
    if master:
        args += ["--master", master]
    return {"run_id": run_id, "application_args": args}


class SparkClusterUnavailable(RadiostarsError):
    """No alive standalone worker: spark-submit would wait for executors forever."""

    retryable = True


def wait_for_workers(
    settings: Settings, master: str, *, wait_s: float | None = None, poll_s: float = 3.0, alive_workers=None
) -> int:
    """Before a spark-submit to the local standalone master: wait up to ``SPARK_WORKER_WAIT_S`` for at least
    one ALIVE worker (the master's JSON status), else raise :class:`SparkClusterUnavailable` — a standalone
    application without executors waits for resources forever. ``local[*]`` and other masters: 0, no check
    (a remote cluster is bounded by the task's execution_timeout). Returns the number of alive workers."""
    import time

    if master != settings.spark_standalone_url:
        return 0
    if alive_workers is None:
        from radiostars.stack.probes import spark_alive_workers as alive_workers
    wait_s = settings.timeout_s("SPARK_WORKER_WAIT_S") if wait_s is None else wait_s
    deadline = time.monotonic() + wait_s
    last = "no answer"
    while True:
        try:
            n = len(alive_workers(settings))
            if n:
                return n
            last = "0 alive workers"
        except OSError as exc:
            last = f"master status unreachable ({exc})"
        if time.monotonic() >= deadline:
            raise SparkClusterUnavailable(
                f"Spark master {master}: {last} after {wait_s:.0f} s "
                "(SPARK_WORKER_WAIT_S); start one with `radiostars stack workers 1`"
            )
        time.sleep(poll_s)


def verify_committed(settings: Settings, run_id: str) -> dict:
    """Fail unless the job committed the run, every file its marker lists present with the listed size
    (:func:`radiostars.lake.runs.read_committed_run`); return the metrics the Asset event carries."""
    from radiostars.lake.runs import read_committed_run
    from radiostars.lake.store import Lake

    metrics = read_committed_run(Lake(settings), run_id).metrics  # a run the job did not commit raises
    return {
        "run_id": run_id,
        "pairs": metrics["pairs"],
        "radio_with_candidates": metrics["radio_with_candidates"],
        "far_analytic": metrics["far_analytic"],
        "far_control": metrics["far_control"],
        "p_any_cut": (metrics.get("calibration") or {}).get("p_any_cut"),
        "total_s": metrics["timings"]["total_s"],
        "curate_s": metrics["timings"].get("curate_s", 0.0),
    }
