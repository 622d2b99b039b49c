"""`radiostars evaluate [--run-id ID] [--out reports/] [--lake-prefix P] [--truth-dir D]`.

Writes `<out>/<run_id>/{summary.json, report.md, *.png}` and prints the headline numbers.
Errors the user can act on print one line and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from radiostars.cli import OneLineParser, parse_subcommand


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="radiostars evaluate",
        description="Science evaluation of a committed cross-match run against the sample truth (docs/evaluation.md).",
    )
    p.add_argument("--run-id", default=None, help="committed run to evaluate (default: the latest committed run)")
    p.add_argument(
        "--out", default="reports", help="output folder; the report goes to <out>/<run_id>/ (default: reports)"
    )
    p.add_argument("--lake-prefix", default="", help="read crossmatch/ under this bucket prefix (ends with '/')")
    p.add_argument("--truth-dir", default=None, help="folder of radio_truth.parquet (default: settings.truth_dir)")
    g = p.add_argument_group(
        "profile run",
        "instead of evaluating an existing run: seed the `evaluation` profile into the lake, "
        "cross-match it with Spark, evaluate it (radiostars.evaluate.profile; docs/evaluation.md)",
    )
    g.add_argument("--profile-area-deg2", type=float, default=None, help="plane area of the evaluation sample [deg²]")
    g.add_argument("--profile-seed", type=int, default=42, help="sample seed (default 42)")
    g.add_argument(
        "--profile-pointings",
        type=int,
        default=None,
        help="fast-star pointings besides Barnard's star (default: every Hipparcos star with μ > 1″/yr)",
    )
    g.add_argument("--master", default="local[2]", help="Spark master of the profile run (default local[2])")
    g.add_argument("--profile-fresh", action="store_true", help="regenerate the sample even if it is in the lake")
    g.add_argument(
        "--profile-param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a cross-match setting other than its default (CrossmatchParams field; VALUE as JSON), repeatable",
    )
    return p


def evaluate(
    settings,
    run_id: str | None = None,
    out: Path | str = "reports",
    lake_prefix: str = "",
    truth_dir: Path | str | None = None,
) -> tuple[Path, dict]:
    """Read the run and the truth, compute, write `<out>/<run_id>/`; returns (folder, summary)."""
    from .headline import faint_density_plane
    from .lakeio import read_run
    from .report import evaluate_run, write_outputs
    from .truth import read_truth

    folder_truth = Path(truth_dir) if truth_dir else settings.truth_dir
    truth = read_truth(folder_truth)  # cheap check first
    run = read_run(settings, run_id, lake_prefix)
    evaluation = evaluate_run(run, truth, faint_density=faint_density_plane(folder_truth))
    folder = write_outputs(evaluation, Path(out) / run.run_id)
    return folder, evaluation.summary


def main(argv: list[str] | None = None) -> int:
    args = parse_subcommand(build_parser(), argv, "evaluate")
    if isinstance(args, int):
        return args
    from radiostars.config import get_settings
    from radiostars.errors import RadiostarsError

    from .report import headline

    try:
        if args.profile_area_deg2 is not None:
            from .profile import run_profile_evaluation

            run = run_profile_evaluation(
                get_settings(),
                seed=args.profile_seed,
                area_deg2=args.profile_area_deg2,
                n_pointings=args.profile_pointings,
                out=args.out,
                truth_dir=args.truth_dir,
                master=args.master,
                fresh=args.profile_fresh,
                param_overrides=args.profile_param,
            )
            folder, summary = run.folder, run.summary
            print(f"seed {run.seed_s:.0f} s, cross-match {run.crossmatch_s:.0f} s, evaluate {run.evaluate_s:.0f} s")
        else:
            folder, summary = evaluate(get_settings(), args.run_id, args.out, args.lake_prefix, args.truth_dir)
    except (RadiostarsError, ValueError) as exc:  # ValueError: a bad --profile-* value, named
        print(f"radiostars evaluate: error: {exc}", file=sys.stderr)
        return 2
    print(headline(summary))
    print(f"report: {folder / 'report.md'}")
    return 0
