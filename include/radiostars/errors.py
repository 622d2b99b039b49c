"""The base of every radiostars error.

Every error the project raises on purpose derives from :class:`RadiostarsError`: its message is one
line that says what is wrong and what to do, so a CLI prints it and exits 2, and a DAG task fails with
it. ``retryable`` tells an Airflow task whether a retry can help (a service that is down may come back;
bad input or a schema change will not fix itself).
"""

from __future__ import annotations


class RadiostarsError(RuntimeError):
    """Base class of the project's errors; the message is one line."""

    retryable: bool = False
