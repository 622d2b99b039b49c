"""Science evaluation of a committed cross-match run against the synthetic sample's truth (issue 9).

`radiostars evaluate` → `reports/<run_id>/{summary.json, report.md, *.png}`; see docs/evaluation.md.
"""

from .cli import evaluate, main
from .errors import EvaluationError

__all__ = ["EvaluationError", "evaluate", "main"]
