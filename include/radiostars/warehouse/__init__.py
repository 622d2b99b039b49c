"""The warehouse: load committed cross-match runs into Postgres ``raw``, build + test the dbt marts,
publish them atomically to ``marts`` for the read-only analyst role (docs/warehouse.md)."""

from .errors import (ConsistencyError, InvalidRunIdError, LakeUnavailableError, LoadError, PublishError,
                     RunIncompleteError, RunNotCommittedError, RunNotFoundError, RunNotLoadedError,
                     SchemaMismatchError, WarehouseError, WarehouseUnavailableError)

__all__ = ["ConsistencyError", "InvalidRunIdError", "LakeUnavailableError", "LoadError", "PublishError",
           "RunIncompleteError", "RunNotCommittedError", "RunNotFoundError", "RunNotLoadedError",
           "SchemaMismatchError", "WarehouseError", "WarehouseUnavailableError"]
