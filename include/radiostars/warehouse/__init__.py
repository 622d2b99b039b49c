"""The warehouse: load committed cross-match runs into Postgres ``raw``, build + test the dbt marts,
publish them atomically to ``marts`` for the read-only analyst role (docs/warehouse.md).

A run the lake refuses (not found, not committed, incomplete) raises :mod:`radiostars.lake.errors`."""

from .errors import (
    ConsistencyError,
    LoadError,
    PublishError,
    RunNotLoadedError,
    SchemaMismatchError,
    WarehouseError,
    WarehouseUnavailableError,
)

__all__ = [
    "ConsistencyError",
    "LoadError",
    "PublishError",
    "RunNotLoadedError",
    "SchemaMismatchError",
    "WarehouseError",
    "WarehouseUnavailableError",
]
