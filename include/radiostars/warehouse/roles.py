"""The read-only ``analyst`` role: USAGE + SELECT on ``marts`` only, re-granted after every swap.

Default privileges cannot follow a schema swap (``ALTER DEFAULT PRIVILEGES … IN SCHEMA`` is bound to
the schema's OID, and the swapped-in schema is a different one), so :func:`grant_marts` runs inside
the swap transaction: analysts never see a ``marts`` they cannot read.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from radiostars.config import Settings

MARTS_SCHEMA = "marts"
ANALYST_STATEMENT_TIMEOUT = "120s"


def analyst_name(settings: Settings) -> str:
    return settings["ANALYST_USER"]


def create_analyst_role(conn: psycopg.Connection, settings: Settings) -> None:
    """As the superuser (`stack up`): create (or update the password of) the analyst login role. It may
    read `marts` and nothing else — by grants (CONNECT on the warehouse only, no TEMP, SELECT on marts),
    not by settings it could override; read-only transactions and a timeout are only a second line."""
    name = analyst_name(settings)
    role = sql.Identifier(name)
    password = sql.Literal(settings.secret("ANALYST_PASSWORD"))
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('radiostars.roles'))")
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL(
                "{} ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD {}"
            ).format(sql.SQL(verb), role, password)
        )
        conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(role))
        conn.execute(
            sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(role, sql.Literal(ANALYST_STATEMENT_TIMEOUT))
        )


def ensure_analyst_role(conn: psycopg.Connection, settings: Settings) -> None:
    """As the warehouse owner: the analyst's grants in this database (the role itself is made at `stack
    up` by :func:`create_analyst_role`): CONNECT, nothing on the pipeline's schemas, SELECT on marts."""
    name = analyst_name(settings)
    role = sql.Identifier(name)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('radiostars.roles'))")
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
            raise RuntimeError(f"PostgreSQL role {name!r} (ANALYST_USER) is missing: run `radiostars stack up`")
        db = conn.info.dbname
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(db), role))
        for schema in ("raw", "staging", "intermediate", "marts_build"):
            if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone():
                conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(sql.Identifier(schema), role))
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (MARTS_SCHEMA,)).fetchone():
            grant_marts(conn, settings)


def grant_marts(conn: psycopg.Connection, settings: Settings, schema: str = MARTS_SCHEMA) -> None:
    """USAGE on the marts schema and SELECT on every table/view in it (call inside the swap txn)."""
    role = sql.Identifier(analyst_name(settings))
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), role))
    conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(sql.Identifier(schema), role))
