"""Errors of the lake (docs/lake.md): one line each, naming the object and what to do."""

from __future__ import annotations

from radiostars.errors import RadiostarsError


class LakeError(RadiostarsError):
    """Base class of the lake's errors."""


class LakeUnavailable(LakeError):
    """MinIO cannot be reached or refused a read/write."""

    retryable = True


class InvalidKeyError(LakeError, ValueError):
    """A lake prefix or key segment that cannot be part of an object name (or a Hadoop path)."""


class InvalidRunIdError(InvalidKeyError):
    """The run id is empty or holds characters that cannot be part of a lake key."""


class LakeIntegrityError(LakeError):
    """A committed object is missing, or its size/checksum differs from what its commit lists."""


class RunNotFoundError(LakeError):
    """No object at all under ``crossmatch/<run_id>/``."""


class RunNotCommittedError(LakeError):
    """``crossmatch/<run_id>/`` exists but its ``_SUCCESS`` marker does not (or is unreadable)."""


class RunIncompleteError(LakeIntegrityError):
    """The marker lists files that are missing or differ, or a required part (pairs, radio, ...) is absent."""
