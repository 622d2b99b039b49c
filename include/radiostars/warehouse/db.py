"""PostgreSQL connections for the warehouse (psycopg 3), with one-line errors when it is unreachable."""

from __future__ import annotations

import psycopg

from radiostars.config import Settings

from .errors import WarehouseUnavailableError

CONNECT_TIMEOUT_S = 5


def session_options(settings: Settings) -> str:
    """libpq ``options``: the session's ``statement_timeout`` and ``lock_timeout`` (POSTGRES_STATEMENT_TIMEOUT_S,
    POSTGRES_LOCK_TIMEOUT_S; docs/reliability.md). lock_timeout also bounds waiting for an advisory lock."""
    statement_ms = settings.timeout_s("POSTGRES_STATEMENT_TIMEOUT_S") * 1000
    lock_ms = settings.timeout_s("POSTGRES_LOCK_TIMEOUT_S") * 1000
    return f"-c statement_timeout={statement_ms} -c lock_timeout={lock_ms}"


def connect(
    settings: Settings, *, user: str | None = None, password: str | None = None, autocommit: bool = True, **kwargs
) -> psycopg.Connection:
    """Connect to the warehouse database (as the owner unless ``user`` is given); every statement bounded by
    :func:`session_options` unless ``options`` is given."""
    kwargs.setdefault("options", session_options(settings))
    try:
        return psycopg.connect(
            settings.postgres_dsn(user=user, password=password),
            autocommit=autocommit,
            connect_timeout=CONNECT_TIMEOUT_S,
            **kwargs,
        )
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise WarehouseUnavailableError(
            f"cannot reach PostgreSQL at {settings['POSTGRES_HOST']}:{settings['POSTGRES_PORT']}"
            f"/{settings['POSTGRES_WAREHOUSE_DB']} as {user or settings['POSTGRES_USER']}: {first}"
        ) from None


def pg_message(exc: BaseException) -> str:
    diag = getattr(exc, "diag", None)
    msg = getattr(diag, "message_primary", None) if diag is not None else None
    if msg:
        return msg
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
