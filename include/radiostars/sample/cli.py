"""argparse CLI for the sample data: ``seed`` and ``generate-scale``.

Wired as ``radiostars seed …`` / ``radiostars generate-scale …``; also runnable as
``python -m radiostars.sample.cli``. Bad input prints one line and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from radiostars.catalogues.tables import TABLE_NAMES, select_tables
from radiostars.sample.profiles import DEFAULT_PROFILE, PROFILES


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


def _rows_or_model(text: str) -> int | None:
    return None if text == "model" else _nonneg_int(text)


def _tables(text: str) -> list[str]:
    try:
        return list(select_tables(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    s.add_argument(
        "--update",
        type=_fraction,
        metavar="FRACTION",
        default=None,
        help="instead of seeding, change exactly this fraction of rows (new updated_at)",
    )
    s.add_argument("--tables", type=_tables, default=None, help="comma-separated subset of " + ",".join(TABLE_NAMES))
    s.add_argument(
        "--profile",
        choices=PROFILES,
        default=DEFAULT_PROFILE,
        help="easy (uniform 1e4 deg^-2 field, fast tests), realistic (default: Galaxy-model sky, "
        "MySQL) or evaluation (large realistic sky written straight into the lake)",
    )
    s.add_argument(
        "--area-deg2",
        type=_positive_float,
        default=None,
        help="plane-field area in deg² (default per profile: easy 20, realistic 4, evaluation 198)",
    )
    s.add_argument(
        "--faint-density",
        type=_positive_float,
        default=None,
        help="easy profile only: synthetic faint stars per deg² (default 1e4)",
    )
    s.add_argument("--lake-prefix", default="", help="evaluation profile: write under this prefix (ends with '/')")
    s.add_argument("--database", default=None, help="database name (default: MYSQL_DATABASE)")
    s.add_argument("--root", action="store_true", help="connect as root (e.g. for a test database)")
    g = sub.add_parser("generate-scale", help="write Gaia-like + SMGPS-like Parquet of a given size to MinIO")
    g.add_argument(
        "--optical-rows",
        type=_rows_or_model,
        default=1_000_000,
        help="Gaia-like rows, or 'model' for the Galaxy model's count over the area",
    )
    g.add_argument("--radio-rows", type=_nonneg_int, default=100_000)
    g.add_argument(
        "--area-deg2", type=_positive_float, default=None, help="patch area (default radio_rows / 1000 per deg²)"
    )
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
    from radiostars.config import get_settings
    from radiostars.errors import RadiostarsError

    try:
        settings = get_settings()
        if args.command == "seed":
            from radiostars.sample.seed import seed

            result = seed(
                settings,
                seed=args.seed,
                dirty=args.dirty,
                update_fraction=args.update,
                area_deg2=args.area_deg2,
                faint_density_per_deg2=args.faint_density,
                tables=args.tables,
                database=args.database,
                root=args.root,
                profile=args.profile,
                lake_prefix=args.lake_prefix,
            )
            if args.update is None:
                keep = (
                    "profile",
                    "database",
                    "run_id",
                    "lake_prefix",
                    "rows",
                    "dirty_counts",
                    "seconds",
                    "rows_per_s",
                    "area_deg2",
                    "radio_sources",
                    "radio_stars",
                    "radio_stars_by_field_kind",
                    "radio_stars_by_class",
                    "star_fraction_plane",
                    "faint_density_per_deg2_plane_median",
                )
                result = {k: result[k] for k in keep if k in result}
        else:
            from radiostars.sample.scale import generate_scale

            seed_value = args.seed if args.seed is not None else int(settings["SAMPLE_SEED"])
            result = generate_scale(
                settings,
                optical_rows=args.optical_rows,
                radio_rows=args.radio_rows,
                area_deg2=args.area_deg2,
                seed=seed_value,
                run_id=args.run_id,
                ingest_date=args.ingest_date,
                part_rows=args.part_rows,
                lake_prefix=args.lake_prefix,
            )
    except RadiostarsError as exc:
        print(f"radiostars {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"radiostars {args.command}: interrupted", file=sys.stderr)
        return 130
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
