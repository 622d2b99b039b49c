"""`make demo`: seed the sample, then run the whole pipeline through the real Airflow (REST API v2),
following the Asset chain catalogue_ingestion → radio_star_crossmatch → warehouse_publish, and print
a summary. A failing stage stops with its failing task's log tail and exit code 1."""

from __future__ import annotations

import argparse
import sys
import time

from radiostars.config import Settings, get_settings
from radiostars.errors import RadiostarsError

INGEST, CROSSMATCH, PUBLISH = "catalogue_ingestion", "radio_star_crossmatch", "warehouse_publish"
# ingestion right after a seed: everything again, without the safety lag (no upstream transaction can be
# open, and the seeded rows are younger than INGEST_SAFETY_LAG_S; docs/ingestion.md)
SEEDED_INGEST_CONF = {"full_refresh": True, "safety_lag_s": 0}
CHAIN = (INGEST, CROSSMATCH, PUBLISH)


class DemoFailed(RadiostarsError):
    pass


def _stage(name: str):
    print(f"\n\033[1m==> {name}\033[0m", flush=True)
    return time.monotonic()


def wait_until_idle(client, timeout_s: float = 1800, log=print, settle_s: float = 10.0) -> None:
    """Wait until no run of the chain is queued or running.

    Why: when the stack starts, the scheduler creates the nightly ingestion run it missed (Airflow's
    catchup=False still runs the latest interval), and its asset events start a crossmatch and a
    publish. A demo (or test) triggered on top would make two chains race; follow ours alone.
    An asset event just emitted needs a scheduler loop to become a run, hence the settle check.
    """
    deadline = time.monotonic() + timeout_s
    announced = False
    while time.monotonic() < deadline:
        busy = [
            (dag, r["dag_run_id"])
            for dag in CHAIN
            for r in client.dag_runs(dag, limit=10)
            if r["state"] in ("queued", "running")
        ]
        if not busy:
            time.sleep(settle_s)
            if not any(r["state"] in ("queued", "running") for dag in CHAIN for r in client.dag_runs(dag, limit=10)):
                return
            continue
        if not announced:
            log(
                "waiting for runs already in progress to finish first: "
                + ", ".join(f"{dag} {run_id}" for dag, run_id in busy)
            )
            announced = True
        time.sleep(5)
    raise DemoFailed(f"the pipeline did not go idle within {timeout_s:.0f} s (runs in progress: see the Airflow UI)")


def run_chain(settings: Settings, client, ingest_conf: dict, timeout_s: float = 1800, log=print) -> dict[str, dict]:
    """Wait for the chain to be idle, trigger ingestion, follow the asset-triggered runs;
    returns {dag_id: run} of this chain."""
    wait_until_idle(client, timeout_s, log)
    known = {dag: {r["dag_run_id"] for r in client.dag_runs(dag, limit=50)} for dag in CHAIN}
    started = time.monotonic()

    def show(dag):
        return lambda task, old, new: log(f"  {time.monotonic() - started:7.1f}s  {dag}.{task}: {old} -> {new}")

    runs = {}
    run_id = client.trigger(INGEST, ingest_conf)
    log(f"triggered {INGEST} run {run_id}")
    for dag in CHAIN:
        if dag != INGEST:
            remaining = timeout_s - (time.monotonic() - started)
            run_id = client.wait_for_new_run(dag, known[dag], timeout_s=min(remaining, 300))["dag_run_id"]
            log(f"asset-triggered {dag} run {run_id}")
        t0 = time.monotonic()
        run = client.follow_run(dag, run_id, timeout_s - (time.monotonic() - started), on_change=show(dag))
        run["elapsed_s"] = time.monotonic() - t0
        runs[dag] = run
        if run["state"] != "success":
            raise DemoFailed(f"{dag} run {run_id} ended {run['state']}\n" + client.failed_task_logs(dag, run_id))
        log(f"  {dag} succeeded in {run['elapsed_s']:.1f} s")
    return runs


def cut_lines(metrics: dict) -> list[str]:
    """The run's selection in the summary: the reliability cut of the run posterior (metrics.json ``scoring`` /
    ``calibration``, docs/crossmatch.md §6.2) — cut, estimated reliability, candidates, fitted c, fallbacks —
    or, for a run written before it, the false-rate cut."""
    sc = metrics.get("scoring")
    if isinstance(sc, dict):
        rel, err = sc.get("reliability_estimated"), sc.get("reliability_err")
        comp = sc.get("completeness_proxy")
        out = [
            f"  reliability cut        p_any >= {sc['p_any_cut']:.4g} for target reliability "
            f"{sc['target_reliability']:.0%} ({sc['cut_status']}"
            + ("" if sc.get("reached", True) else "; target not reached: nothing selected")
            + ")",
            "  estimated reliability  "
            + ("n/a" if rel is None else f"{rel:.3f}" + ("" if err is None else f" ± {err:.3f}"))
            + ("" if comp is None else f"   completeness proxy {comp:.3f}")
            + " (from the shifted control)",
            f"  candidates at the cut  {sc['n_candidates']:,d}",
            "  fitted c               "
            + (
                "n/a"
                if sc.get("c") is None
                else f"{sc['c']:.4g}" + ("" if sc.get("c_err") is None else f" ± {sc['c_err']:.2g}")
            )
            + f" (prior {sc['prior_status']}, property priors {sc.get('property_prior_source')})",
        ]
        for reason in sc.get("fallbacks") or []:
            out.append(f"  fallback               {reason}")
        return out
    cal = metrics.get("calibration")
    if isinstance(cal, dict) and cal.get("target_false_rate") is not None:
        return [
            f"  p_any cut              {cal['p_any_cut']:.4g} (calibrated on the control to "
            f"{cal['target_false_rate']:.1%} false selections; measured {cal['false_rate_at_cut']:.2%})"
        ]
    return []


def summary(settings: Settings, crossmatch_run_id: str) -> str:
    """Rows per stage, quarantine, pairs, FAR, top candidates (read as the analyst role), URLs."""
    import psycopg

    from radiostars.catalogues.tables import TABLE_NAMES
    from radiostars.lake.raw import effective_manifests
    from radiostars.lake.runs import read_committed_run
    from radiostars.lake.store import Lake

    lines = ["", "\033[1mradiostars demo — summary\033[0m", "", "lake (committed raw snapshots):"]
    for table in TABLE_NAMES:
        manifests = effective_manifests(settings, table)
        rows = sum(m.get("rows", 0) for m in manifests)
        quarantined = sum(m.get("quarantined", 0) for m in manifests)
        lines.append(f"  {table:<15} {rows:>9,d} rows   {quarantined:>6,d} quarantined")
    metrics = read_committed_run(Lake(settings), crossmatch_run_id).metrics
    lines += [
        "",
        f"cross-match run {crossmatch_run_id}:",
        f"  radio sources matched  {metrics['radio']['usable']:,d}",
        f"  candidate pairs        {metrics['pairs']:,d}",
        f"  radio with candidates  {metrics['radio_with_candidates']:,d}",
        f"  false-match rate       analytic {metrics['far_analytic']:.4f} vs shifted control "
        f"{metrics['far_control']:.4f} ± {metrics['far_control_err']:.4f} per source",
    ]
    lines += cut_lines(metrics)
    dsn = settings.postgres_dsn(user=settings["ANALYST_USER"], password=settings["ANALYST_PASSWORD"])
    with psycopg.connect(dsn) as conn:
        (n,) = conn.execute("SELECT count(*) FROM marts.radio_star_candidates").fetchone()
        rows = conn.execute(
            "SELECT radio_source_name, optical_catalogue, optical_id, round(sep_arcsec::numeric, 2), "
            "p_any, reliability_class, round(distance_pc::numeric, 1), L_nu_erg_s_hz "
            "FROM marts.radio_star_candidates "
            "ORDER BY reliability_class, p_any DESC NULLS LAST, p_chance, sep_sigma LIMIT 10"
        ).fetchall()
    lines += [
        "",
        f"marts.radio_star_candidates: {n:,d} candidates (top 10, read as role {settings['ANALYST_USER']}):",
        f"  {'radio source':<22} {'catalogue':<11} {'optical id':>20} {'sep″':>6} {'p_any':>7} cls {'d/pc':>8} {'L_nu erg/s/Hz':>13}",
    ]
    for name, cat, oid, sep, p_any, cls, dist, lnu in rows:
        lines.append(
            f"  {name:<22} {cat:<11} {oid:>20} {float(sep):>6.2f} "
            f"{'' if p_any is None else f'{p_any:.4f}':>7} {cls:^3} "
            f"{'' if dist is None else f'{float(dist):8.1f}':>8} {'' if lnu is None else f'{lnu:.2e}':>13}"
        )
    lines += [
        "",
        "where things are:",
        f"  Airflow UI      {settings.airflow_url}  (user {settings['AIRFLOW_ADMIN_USER']}, password in .env)",
        f"  MinIO console   http://{settings['MINIO_HOST']}:{settings.port('MINIO_CONSOLE_PORT')}  (bucket {settings.lake_bucket})",
        f"  warehouse       postgresql://{settings['ANALYST_USER']}@{settings['POSTGRES_HOST']}:{settings.postgres_port}/{settings['POSTGRES_WAREHOUSE_DB']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="radiostars demo", description=__doc__)
    parser.add_argument("--skip-seed", action="store_true", help="keep the catalogues already in MySQL")
    parser.add_argument("--timeout-s", type=float, default=2400)
    args = parser.parse_args(argv[1:] if argv and argv[0] == "demo" else argv)

    from radiostars.airflow_client import AirflowClient
    from radiostars.stack import lifecycle

    settings = get_settings()
    t_all = time.monotonic()
    timings = {}
    try:
        t = _stage("services")
        lifecycle.up(settings)
        timings["services"] = time.monotonic() - t
        if not args.skip_seed:
            t = _stage("seed the sample catalogues into MySQL")
            from radiostars.sample.cli import main as sample_main

            if sample_main(["seed"]) != 0:
                raise DemoFailed("seeding failed (see the line above)")
            timings["seed"] = time.monotonic() - t
        t = _stage("pipeline through Airflow")
        client = AirflowClient(settings)
        client.wait_for_dags(list(CHAIN), timeout_s=180)
        for dag in CHAIN:
            client.set_paused(dag, False)
        # a fresh seed recreates the tables (row ids restart): re-extract everything; the seed has
        # committed and nothing else writes, so no safety lag is needed (its rows are seconds old)
        runs = run_chain(settings, client, SEEDED_INGEST_CONF, timeout_s=args.timeout_s)
        for dag, run in runs.items():
            timings[dag] = run["elapsed_s"]
        from radiostars.orchestration.common import safe_run_id

        print(summary(settings, safe_run_id(runs[CROSSMATCH]["dag_run_id"])))
    except RadiostarsError as exc:
        print(f"\nradiostars demo: FAILED: {exc}", file=sys.stderr)
        return 1
    timings["total"] = time.monotonic() - t_all
    print("\nelapsed: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
