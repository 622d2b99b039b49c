"""The one exception of the evaluation: its message is one line that says what to run."""

from __future__ import annotations

from radiostars.errors import RadiostarsError


class EvaluationError(RadiostarsError):
    """The evaluation cannot run (no committed run, no truth, unreadable lake); the message says why."""
