"""argparse CLI for the sample data: ``seed`` and ``generate-scale``.

Wired as ``radiostars seed …`` / ``radiostars generate-scale …``; also runnable as
``python -m radiostars.sample.cli``. Bad input prints one line and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from radiostars.sample.errors import SampleError
from radiostars.sample.schema import TABLES


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v > 0 or v != v or v == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive finite number")
    return v


def _fraction(text: str) -> float:
    v = _positive_float(text)
    if v > 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a fraction in (0, 1]")
    return v


def _nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return v


def _tables(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in names if t not in TABLES]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown table(s) {', '.join(bad) or text!r}; choose from "
                                         f"{', '.join(TABLES)}")
    return names


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump), exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="radiostars", description="radiostars sample data")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("seed", help="generate the sample catalogues and load them into MySQL")
    s.add_argument("--seed", type=_nonneg_int, default=None, help="random seed (default: SAMPLE_SEED)")
    s.add_argument("--dirty", action="store_true", help="add known counts of bad rows of each kind")
    s.add_argument("--update", type=_fraction, metavar="FRACTION", default=None,
                   help="instead of seeding, change exactly this fraction of rows (new updated_at)")
    s.add_argument("--tables", type=_tables, default=None, help="comma-separated subset of " + ",".join(TABLES))
    s.add_argument("--area-deg2", type=_positive_float, default=20.0, help="total demo-field area (deg²)")
    s.add_argument("--faint-density", type=float, default=1.0e4,
                   help="synthetic faint stars per deg² in the fields (default 1e4)")
    s.add_argument("--database", default=None, help="database name (default: MYSQL_DATABASE)")
    s.add_argument("--root", action="store_true", help="connect as root (e.g. for a test database)")
    g = sub.add_parser("generate-scale", help="write Gaia-like + SMGPS-like Parquet of a given size to MinIO")
    g.add_argument("--optical-rows", type=_nonneg_int, default=1_000_000)
    g.add_argument("--radio-rows", type=_nonneg_int, default=100_000)
    g.add_argument("--area-deg2", type=_positive_float, default=None,
                   help="patch area (default radio_rows / 1000 per deg²)")
    g.add_argument("--seed", type=_nonneg_int, default=None)
    g.add_argument("--run-id", default=None)
    g.add_argument("--ingest-date", default=None, help="YYYY-MM-DD (default: today, UTC)")
    g.add_argument("--part-rows", type=_nonneg_int, default=500_000)
    g.add_argument("--lake-prefix", default="", help="write under this prefix of the bucket (ends with '/')")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed one usage line + the error
        return int(exc.code or 0)
    from radiostars.config import ConfigError, get_settings

    try:
        settings = get_settings()
        if args.command == "seed":
            from radiostars.sample.seed import seed

            result = seed(settings, seed=args.seed, dirty=args.dirty, update_fraction=args.update,
                          area_deg2=args.area_deg2, faint_density_per_deg2=args.faint_density,
                          tables=args.tables, database=args.database, root=args.root)
            if args.update is None:
                result = {k: result[k] for k in ("database", "rows", "dirty_counts", "seconds", "rows_per_s")}
        else:
            from radiostars.sample.scale import generate_scale

            seed_value = args.seed if args.seed is not None else int(settings["SAMPLE_SEED"])
            result = generate_scale(settings, optical_rows=args.optical_rows, radio_rows=args.radio_rows,
                                    area_deg2=args.area_deg2, seed=seed_value, run_id=args.run_id,
                                    ingest_date=args.ingest_date, part_rows=args.part_rows,
                                    lake_prefix=args.lake_prefix)
    except (SampleError, ConfigError) as exc:
        print(f"radiostars {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"radiostars {args.command}: interrupted", file=sys.stderr)
        return 130
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
