"""The catalogue tables as Arrow schemas: the columns of the raw zone's Parquet (docs/lake.md).

Derived from the SQLAlchemy metadata of :mod:`radiostars.catalogues.schema` (the one definition of the
database): BIGINT → int64, INT → int32, DOUBLE → double, VARCHAR → string, BOOLEAN → bool,
DATETIME → ``timestamp[us, tz=UTC]``.
"""

from __future__ import annotations

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")


def _arrow_type(sa_type) -> pa.DataType:
    from sqlalchemy import BigInteger, Boolean, DateTime, Float, Integer, String

    if isinstance(sa_type, BigInteger):
        return pa.int64()
    if isinstance(sa_type, Boolean):
        return pa.bool_()
    if isinstance(sa_type, Integer):
        return pa.int32()
    if isinstance(sa_type, Float):  # mysql DOUBLE is a Float subclass
        return pa.float64()
    if isinstance(sa_type, String):
        return pa.string()
    if isinstance(sa_type, DateTime):
        return TIMESTAMP
    raise TypeError(f"no Arrow type for SQLAlchemy type {sa_type!r}")


def expected_schema(table: str) -> pa.Schema:
    """Arrow schema of ``table`` in column order; NOT NULL columns are non-nullable fields."""
    from radiostars.catalogues.schema import TABLES  # SQLAlchemy only when a schema is asked for

    return pa.schema([pa.field(c.name, _arrow_type(c.type), nullable=bool(c.nullable)) for c in TABLES[table].columns])


def quarantine_schema(table: str) -> pa.Schema:
    """The table's columns (all nullable: bad rows may hold anything) + ``reason``."""
    base = expected_schema(table)
    return pa.schema([f.with_nullable(True) for f in base] + [pa.field("reason", pa.string(), False)])
