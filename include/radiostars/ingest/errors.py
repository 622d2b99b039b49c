"""Errors of the ingestion: one line each, saying what is wrong and what to do.

``retryable`` (of :class:`radiostars.errors.RadiostarsError`) tells the DAG whether an Airflow retry can
help (a service that is down may come back; bad data or a schema change will not fix itself, so those
fail at once without retries). The lake's errors (MinIO down, a committed file missing or altered) are
:mod:`radiostars.lake.errors`.
"""

from __future__ import annotations

from radiostars.errors import RadiostarsError


class IngestError(RadiostarsError):
    """Base class of the ingestion's errors; the message is one line."""


class ParamsError(IngestError, ValueError):
    """A DAG/CLI parameter is invalid (unknown table, chunk size out of range ...)."""


class SourceUnavailable(IngestError):
    """MySQL cannot be reached or the query failed on the connection."""

    retryable = True


class SchemaDriftError(IngestError):
    """The MySQL table no longer has the expected columns/types (or does not exist)."""


class QuarantineThresholdExceeded(IngestError):
    """Too large a fraction of a batch failed validation; nothing was committed."""
