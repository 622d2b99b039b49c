"""Errors of the ingestion: one line each, saying what is wrong and what to do.

``retryable`` tells the DAG whether an Airflow retry can help (a service that is down may come back;
bad data or a schema change will not fix itself, so those fail at once without retries).
"""

from __future__ import annotations


class IngestError(RuntimeError):
    """Base class; the message is one line."""

    retryable: bool = False


class ParamsError(IngestError, ValueError):
    """A DAG/CLI parameter is invalid (unknown table, chunk size out of range ...)."""


class SourceUnavailable(IngestError):
    """MySQL cannot be reached or the query failed on the connection."""

    retryable = True


class LakeUnavailable(IngestError):
    """MinIO cannot be reached or refused a read/write."""

    retryable = True


class SchemaDriftError(IngestError):
    """The MySQL table no longer has the expected columns/types (or does not exist)."""


class QuarantineThresholdExceeded(IngestError):
    """Too large a fraction of a batch failed validation; nothing was committed."""


class LakeIntegrityError(IngestError):
    """A committed file is missing or its checksum does not match its manifest."""
