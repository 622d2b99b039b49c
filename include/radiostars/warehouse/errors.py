"""Exceptions of the warehouse package: each carries a one-line message a user can act on."""

from __future__ import annotations


class WarehouseError(RuntimeError):
    """Base class: anything the warehouse load / publication refuses to do."""


class InvalidRunIdError(WarehouseError):
    """The run id is empty or contains characters that cannot be part of a lake key."""


class RunNotFoundError(WarehouseError):
    """No object at all under ``crossmatch/<run_id>/``."""


class RunNotCommittedError(WarehouseError):
    """``crossmatch/<run_id>/`` exists but its ``_SUCCESS`` marker does not (or is unreadable)."""


class RunIncompleteError(WarehouseError):
    """The marker lists files that are missing, or a required part (pairs, radio, ...) is absent."""


class SchemaMismatchError(WarehouseError):
    """A Parquet file's columns or types differ from what the warehouse expects (docs/warehouse.md)."""


class ConsistencyError(WarehouseError):
    """The loaded run contradicts itself (e.g. ``best`` is not the rank-1 rows of ``pairs``)."""


class LakeUnavailableError(WarehouseError):
    """MinIO could not be reached or refused the request."""


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
