"""spark-submit entry point of the cross-match (thin: arguments, session, one call).

    spark-submit --master local[*] spark_jobs/crossmatch.py --run-id 20261125T0200 [--radius-arcsec 10 ...]

All maths lives in radiostars.crossmatch (numpy, unit-tested); the Spark plumbing in radiostars.spark_engine.
Exit code 2 with one line for a run that cannot proceed (already committed, no input, bad params).
"""

from __future__ import annotations

import argparse
import sys

from radiostars.catalogues.tables import OPTICAL_CATALOGUES
from radiostars.crossmatch.params import param_defaults
from radiostars.spark_engine import OPTICAL_LAYOUTS


def build_parser() -> argparse.ArgumentParser:
    d = param_defaults()  # the defaults are CrossmatchParams'
    p = argparse.ArgumentParser(
        prog="crossmatch", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--run-id", required=True)
    p.add_argument("--catalogues", default=",".join(OPTICAL_CATALOGUES), help="comma-separated optical catalogues")
    p.add_argument(
        "--radius-arcsec", type=float, default=d["radius_arcsec"], help="hard upper limit of the match radius"
    )
    p.add_argument("--r-min-arcsec", type=float, default=d["r_min_arcsec"])
    p.add_argument("--n-sigma", type=float, default=d["n_sigma"])
    p.add_argument("--sigma-sys-arcsec", type=float, default=d["sigma_sys_arcsec"])
    p.add_argument("--healpix-order", type=int, default=d["healpix_order"])
    p.add_argument("--control-offset-arcmin", type=float, default=d["control_offsets_arcmin"][0])
    p.add_argument(
        "--target-false-rate",
        type=float,
        default=d["target_false_rate"],
        help="recorded only: the false-selection rate of the superseded false-rate cut",
    )
    p.add_argument(
        "--target-reliability",
        type=float,
        default=d["target_reliability"],
        help="reliability the published p_any cut is chosen for, estimated on the shifted control "
        "(docs/crossmatch.md §6.2)",
    )
    p.add_argument("--one-to-one", action="store_true")
    p.add_argument(
        "--optical-layout",
        choices=OPTICAL_LAYOUTS,
        default=OPTICAL_LAYOUTS[0],
        help="curated: read each optical snapshot's HEALPix-partitioned layout (built once when "
        "missing); shuffle: explode and shuffle the raw snapshot in this run",
    )
    p.add_argument(
        "--curate-only",
        action="store_true",
        help="only build (or confirm) the curated layouts of the catalogues for the default epoch "
        "window, without a match: the one-off partitioning, e.g. after a big ingestion",
    )
    p.add_argument("--lake-prefix", default="")
    p.add_argument(
        "--master",
        default=None,
        help="Spark master (default: SPARK_MASTER from the config, or what spark-submit was given)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an already committed run")
    p.add_argument(
        "--keep-committed",
        action="store_true",
        help="a run already committed under this id is kept and the job exits 0 (set by the Airflow DAG: a retry "
        "of an attempt that committed and was then killed must not fail nor commit twice); --overwrite wins",
    )
    p.add_argument(
        "--under-spark-submit",
        action="store_true",
        help="keep the master spark-submit was given (set by the Airflow DAG)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from radiostars.crossmatch.params import CrossmatchParams
    from radiostars.errors import RadiostarsError
    from radiostars.spark_engine.run import RunError, RunRequest, curate, run_crossmatch
    from radiostars.spark_engine.session import spark_session

    try:
        params = CrossmatchParams(
            radius_arcsec=args.radius_arcsec,
            r_min_arcsec=args.r_min_arcsec,
            n_sigma=args.n_sigma,
            sigma_sys_arcsec=args.sigma_sys_arcsec,
            healpix_order=args.healpix_order,
            control_offsets_arcmin=(args.control_offset_arcmin,),
            target_false_rate=args.target_false_rate,
            target_reliability=args.target_reliability,
            one_to_one=args.one_to_one,
        )
        request = RunRequest(
            run_id=args.run_id,
            params=params,
            catalogues=tuple(c.strip() for c in args.catalogues.split(",") if c.strip()),
            lake_prefix=args.lake_prefix,
            overwrite=args.overwrite,
            keep_committed=args.keep_committed,
            optical_layout=args.optical_layout,
        )
        request.validate()
    except (ValueError, RunError) as exc:
        print(f"crossmatch: error: {exc}", file=sys.stderr)
        return 2
    spark = spark_session(
        f"radiostars-crossmatch-{args.run_id}", master=args.master, inherit_master=args.under_spark_submit
    )
    try:
        if args.curate_only:
            curate(spark, _settings(), request)
        else:
            run_crossmatch(spark, _settings(), request)
    except RadiostarsError as exc:
        print(f"crossmatch: error: {exc}", file=sys.stderr)
        return 2
    finally:
        spark.stop()
    return 0


def _settings():
    from radiostars.config import get_settings

    return get_settings()


if __name__ == "__main__":
    sys.exit(main())
