"""`radiostars evaluate [--run-id ID] [--out reports/] [--lake-prefix P] [--truth-dir D]`.

Writes `<out>/<run_id>/{summary.json, report.md, *.png}` and prints the headline numbers.
Errors the user can act on print one line and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import EvaluationError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="radiostars evaluate",
                description="Science evaluation of a committed cross-match run against the sample truth "
                            "(docs/evaluation.md).")
    p.add_argument("--run-id", default=None, help="committed run to evaluate (default: the latest committed run)")
    p.add_argument("--out", default="reports", help="output folder; the report goes to <out>/<run_id>/ (default: reports)")
    p.add_argument("--lake-prefix", default="", help="read crossmatch/ under this bucket prefix (ends with '/')")
    p.add_argument("--truth-dir", default=None, help="folder of radio_truth.parquet (default: settings.truth_dir)")
    return p


def evaluate(settings, run_id: str | None = None, out: Path | str = "reports", lake_prefix: str = "",
             truth_dir: Path | str | None = None) -> tuple[Path, dict]:
    """Read the run and the truth, compute, write `<out>/<run_id>/`; returns (folder, summary)."""
    from .lakeio import read_run
    from .report import evaluate_run, write_outputs
    from .truth import read_truth

    truth = read_truth(Path(truth_dir) if truth_dir else settings.truth_dir)  # cheap check first
    run = read_run(settings, run_id, lake_prefix)
    evaluation = evaluate_run(run, truth)
    folder = write_outputs(evaluation, Path(out) / run.run_id)
    return folder, evaluation.summary


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["evaluate"]:  # dispatched from `radiostars evaluate …`
        argv = argv[1:]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    from radiostars.config import ConfigError, get_settings

    from .report import headline

    try:
        folder, summary = evaluate(get_settings(), args.run_id, args.out, args.lake_prefix, args.truth_dir)
    except (EvaluationError, ConfigError) as exc:
        print(f"radiostars evaluate: error: {exc}", file=sys.stderr)
        return 2
    print(headline(summary))
    print(f"report: {folder / 'report.md'}")
    return 0

