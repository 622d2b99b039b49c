"""``radiostars load --table T FILE``: load a published catalogue file into MySQL (one line and
exit 2 on a bad file, map or unit; nothing written then)."""

from __future__ import annotations

import argparse
import json
import sys

from radiostars.cli import OneLineParser, parse_subcommand


def build_parser() -> argparse.ArgumentParser:
    from radiostars.catalogue_load.columns import tables
    from radiostars.catalogue_load.load import DEFAULT_CHUNK_ROWS, DEFAULT_STREAMS
    from radiostars.catalogue_load.readers import FORMATS

    p = OneLineParser(prog="radiostars load", description=__doc__)
    p.add_argument("file", help="VOTable, FITS, CSV/ECSV/VizieR TSV or Parquet file (.gz for text formats)")
    p.add_argument("--table", required=True, choices=tables(), help="the catalogue table to load into")
    p.add_argument("--format", choices=FORMATS, default=None, help="default: from the extension (checked)")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="OURS=THEIRS[:UNIT]",
        help="take our column from their column (optionally in UNIT, or an epoch format "
        "mjd/jd/jyear/isot), or set a constant: a number or a 'quoted' string; repeatable",
    )
    p.add_argument(
        "--catalogue",
        default=None,
        metavar="MAP",
        help="built-in map to use (gaia_source, hip2, smgps, simbad, radiostars); default: the best fit",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--upsert",
        dest="mode",
        action="store_const",
        const="upsert",
        help="insert new ids, update changed rows, keep the others (default)",
    )
    mode.add_argument(
        "--replace",
        dest="mode",
        action="store_const",
        const="replace",
        help="make the table hold exactly the file: rows not in it are soft-deleted",
    )
    p.set_defaults(mode="upsert")
    p.add_argument("--database", default=None, help="database (default: MYSQL_DATABASE)")
    p.add_argument("--root", action="store_true", help="connect as root (e.g. a test database)")
    p.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    p.add_argument(
        "--wire",
        choices=("binary", "text"),
        default="binary",
        help="how numeric chunks reach MySQL: binary prepared INSERTs (default; half the server CPU) "
        "or LOAD DATA text (what the seeder uses)",
    )
    p.add_argument(
        "--streams",
        type=int,
        default=DEFAULT_STREAMS,
        help=f"connections filling an empty table in parallel (default {DEFAULT_STREAMS})",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parse_subcommand(build_parser(), argv, "load")
    if isinstance(args, int):
        return args
    from radiostars.catalogue_load.load import format_summary, load_file
    from radiostars.config import get_settings
    from radiostars.errors import RadiostarsError

    try:
        summary = load_file(
            get_settings(),
            args.table,
            args.file,
            fmt=args.format,
            maps=args.map,
            catalogue=args.catalogue,
            mode=args.mode,
            database=args.database,
            root=args.root,
            chunk_rows=args.chunk_rows,
            binary=args.wire == "binary",
            streams=args.streams,
        )
    except RadiostarsError as exc:  # LoadError, a configuration error, MySQL unreachable …
        print(f"radiostars load: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("radiostars load: interrupted; nothing was written", file=sys.stderr)
        return 130
    print(json.dumps(summary, indent=2, default=str) if args.json else format_summary(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
