"""`radiostars ingest`: the ingestion outside Airflow (same code as the DAG's tasks), for operators
and benchmarks. One line and exit 2 on a failure the user can act on."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from radiostars.catalogues.tables import TABLE_NAMES
from radiostars.config import get_settings
from radiostars.errors import RadiostarsError
from radiostars.ingest import spec


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="radiostars ingest", description=__doc__)
    p.add_argument("--tables", default=",".join(TABLE_NAMES), help="comma-separated, default: all")
    p.add_argument("--date", default=None, help="ingest date YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--full-refresh", action="store_true", help="re-extract everything, ignoring the watermark")
    p.add_argument("--chunk-size", type=int, default=spec.DEFAULT_CHUNK_SIZE)
    p.add_argument(
        "--safety-lag-s",
        type=int,
        default=None,
        help="extract rows with updated_at <= MySQL clock - this (default INGEST_SAFETY_LAG_S)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args((argv or [])[1:] if argv and argv[0] == "ingest" else argv)
    from radiostars.ingest.pipeline import ingest_table

    settings = get_settings()
    try:
        tables = spec.check_tables([t.strip() for t in args.tables.split(",") if t.strip()])
        date = spec.check_ingest_date(args.date or dt.datetime.now(dt.UTC).date().isoformat())
        for table in tables:
            summary = ingest_table(
                settings,
                table,
                date,
                full_refresh=args.full_refresh,
                chunk_size=args.chunk_size,
                safety_lag_s=args.safety_lag_s,
            )
            print(json.dumps({k: summary.get(k) for k in ("table", "run_id", "rows", "quarantined", "seconds")}))
    except RadiostarsError as exc:
        print(f"radiostars ingest: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
