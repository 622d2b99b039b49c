"""Exceptions of the warehouse package: each carries a one-line message a user can act on.

The run-level refusals (invalid run id, run not found / not committed / incomplete) and an unreachable
MinIO are the lake's errors (:mod:`radiostars.lake.errors`): the loader raises them as they are."""

from __future__ import annotations

from radiostars.errors import RadiostarsError


class WarehouseError(RadiostarsError):
    """Base class: anything the warehouse load / publication refuses to do."""


class SchemaMismatchError(WarehouseError):
    """A Parquet file's columns or types differ from what the warehouse expects (docs/warehouse.md)."""


class ConsistencyError(WarehouseError):
    """The loaded run contradicts itself (e.g. ``best`` is not the rank-1 rows of ``pairs``)."""


class WarehouseUnavailableError(WarehouseError):
    """PostgreSQL could not be reached (or refused the login)."""


class LoadError(WarehouseError):
    """PostgreSQL rejected the data while loading (the transaction was rolled back)."""


class RunNotLoadedError(WarehouseError):
    """Publication asked for a run that has no successful load in ``raw.load_log``."""


class PublishError(WarehouseError):
    """``dbt build`` failed (a model or a test): the previous ``marts`` were left untouched."""

    def __init__(self, message: str, failures: list[str] | None = None):
        super().__init__(message)
        self.failures = failures or []


class PublishBusyError(WarehouseError):
    """Another publication holds the publish lock (or a live lease) longer than this one may wait."""

    retryable = True
