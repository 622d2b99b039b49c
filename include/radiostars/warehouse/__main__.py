"""``python -m radiostars.warehouse load RUN_ID | publish [RUN_ID] | docs | freshness``.

Errors the user can act on print one line and exit 2 (same convention as the ``radiostars`` CLI).
"""

from __future__ import annotations

import argparse
import sys

from radiostars.config import get_settings
from radiostars.errors import RadiostarsError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m radiostars.warehouse", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    load = sub.add_parser("load", help="load a committed crossmatch run into raw.*")
    load.add_argument("run_id")
    pub = sub.add_parser("publish", help="dbt build + test into marts_build, then swap into marts")
    pub.add_argument("run_id", nargs="?", help="default: the latest successfully loaded run")
    pub.add_argument(
        "--allow-older",
        action="store_true",
        help="publish even when the live marts show a run committed later (a rollback); by default "
        "the newest committed run wins and an older one is skipped (docs/reliability.md)",
    )
    sub.add_parser("docs", help="dbt docs generate (site in dbt_project/target/)")
    sub.add_parser("freshness", help="dbt source freshness of the raw tables")
    args = ap.parse_args(argv)
    settings = get_settings()
    try:
        if args.cmd == "load":
            from .load import load_run

            r = load_run(settings, args.run_id)
            print(
                f"loaded run {r.run_id}: {r.total_rows:,} rows in {r.seconds:.1f} s "
                f"({r.rows_per_second:,.0f} rows/s); known objects from {r.known_objects_source}"
            )
        elif args.cmd == "publish":
            from .publish import publish

            r = publish(settings, args.run_id, allow_older=args.allow_older)
            if r.skipped:
                print(f"not published: {r.skipped}")
                return 0
            print(
                f"published run {r.run_id}: {r.n_candidates} radio-star candidates "
                f"(dbt {r.dbt_seconds:.0f} s: {r.dbt_counts})"
            )
        else:
            from .publish import run_dbt

            cmd = "docs generate" if args.cmd == "docs" else "source freshness"
            proc = run_dbt(settings, cmd, vars={"marts_schema": "marts"}, target_subdir="target")
            sys.stdout.write(proc.stdout[-3000:])
            sys.stderr.write(proc.stderr[-2000:])
            return proc.returncode
    except RadiostarsError as exc:
        print(f"radiostars.warehouse: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
