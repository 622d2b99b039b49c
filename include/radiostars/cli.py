"""`radiostars` command line: the stack verbs (and, as they land, seed / ingest / crossmatch ...).

Errors the user can act on print one line and exit 2; no stack trace as the only message.
"""

from __future__ import annotations

import argparse
import sys

from radiostars.config import ConfigError, get_settings


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage dump) and exit 2, as every radiostars command's."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_subcommand(parser: argparse.ArgumentParser, argv: list[str] | None, command: str) -> argparse.Namespace | int:
    """Arguments of a delegated subcommand (``radiostars <command> …`` or its module run directly): the
    Namespace, or the exit code when argparse stopped (``--help``: 0, an error: 2, already printed)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [command]:  # dispatched from `radiostars <command> …`
        argv = argv[1:]
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def _stack(args: argparse.Namespace) -> int:
    from radiostars.stack import lifecycle
    from radiostars.stack.supervisor import render_supervisor_conf

    settings = get_settings()
    if args.verb == "up":
        lifecycle.up(settings, groups=args.groups or None)
        print(lifecycle.format_status(lifecycle.status(settings)))
    elif args.verb == "down":
        lifecycle.down(settings)
    elif args.verb == "status":
        print(lifecycle.format_status(lifecycle.status(settings)))
    elif args.verb == "is-up":
        return 0 if lifecycle.is_up(settings) else 1
    elif args.verb == "logs":
        print(lifecycle.logs(settings, lines=args.lines))
    elif args.verb == "workers":
        lifecycle.set_spark_workers(settings, args.count)
    elif args.verb == "clean":
        lifecycle.clean(settings, include_caches=args.all)
    elif args.verb == "render":
        print(render_supervisor_conf(settings))
    return 0


# subcommands whose parser lives with their package: radiostars.<package>.cli.main(argv)
DELEGATED = {
    "seed": ("sample", "load the deterministic sample catalogues into MySQL (--seed, --dirty, --update F)"),
    "load": (
        "catalogue_load",
        "load a published catalogue file (Gaia, VizieR, SIMBAD; VOTable/FITS/CSV/Parquet) "
        "into a MySQL table: --table T FILE [--map ours=theirs] [--replace]",
    ),
    "ingest": ("ingest", "MySQL -> lake ingestion outside Airflow (same code as the DAG)"),
    "warehouse": ("warehouse", "load a committed cross-match run / publish the marts / dbt docs"),
    "evaluate": ("evaluate", "science evaluation of a committed cross-match run against the sample truth"),
    "demo": ("demo", "seed and run the whole pipeline through Airflow, then print a summary"),
    "generate-scale": ("sample", "write Gaia-like / SMGPS-like catalogues of a given size to the lake"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="radiostars", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "airflow",
        help="run the airflow CLI with the stack's environment, e.g. `radiostars airflow backfill create --dag-id …`",
    )
    for command, (_package, help_text) in DELEGATED.items():
        sub.add_parser(command, help=help_text)  # listed in --help; dispatched in main()
    stack = sub.add_parser("stack", help="start, stop and inspect the local services")
    verbs = stack.add_subparsers(dest="verb", required=True)
    up = verbs.add_parser("up", help="initialise what is missing and start the services")
    up.add_argument("groups", nargs="*", help="core, spark and/or airflow (default: all)")
    verbs.add_parser("down", help="stop every service and supervisord")
    verbs.add_parser("status", help="state, port, URL and data folder of each service")
    verbs.add_parser("is-up", help="exit 0 when every service runs")
    logs = verbs.add_parser("logs", help="the last lines of every service log")
    logs.add_argument("--lines", type=int, default=30)
    workers = verbs.add_parser("workers", help="run 1 or 2 local Spark standalone workers")
    workers.add_argument("count", type=int, choices=[1, 2])
    clean = verbs.add_parser("clean", help="remove local state (not the cached binaries unless --all)")
    clean.add_argument("--all", action="store_true")
    verbs.add_parser("render", help="print the generated supervisord.conf")
    stack.set_defaults(func=_stack)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "airflow":  # the airflow CLI with the stack's environment (one JWT secret, DB ...)
        import os

        from radiostars.stack.lifecycle import airflow_cli_env
        from radiostars.stack.services import VENV_BIN

        airflow = str(VENV_BIN / "airflow")
        os.execve(airflow, [airflow, *argv[1:]], airflow_cli_env(get_settings()))
    if argv and argv[0] in DELEGATED:  # their own parser handles --help and errors
        import importlib

        package = DELEGATED[argv[0]][0]
        if package == "warehouse":  # its parser takes the verb first: load / publish / docs
            return importlib.import_module("radiostars.warehouse.__main__").main(argv[1:])
        module = "radiostars.demo" if package == "demo" else f"radiostars.{package}.cli"
        return importlib.import_module(module).main(argv)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"radiostars: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - known failure types print one line
        from radiostars.stack.process import StackError

        if isinstance(exc, (StackError, RuntimeError, OSError)):
            print(f"radiostars: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
