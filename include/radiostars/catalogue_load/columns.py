"""What the loader needs to know of the MySQL schema, read from the schema module (never copied):
the value columns of a table, their kinds and units (from the column comments), the catalogue id,
string lengths, and which columns a file must provide (those the validation rules need filled)."""

from __future__ import annotations

import functools

from radiostars.catalogue_load.units import Target, target_from_comment
from radiostars.catalogues import schema
from radiostars.catalogues.tables import ID_COLUMN, OBJECT_TYPES, TABLE_NAMES

KEYS = ("row_id", "deleted", "updated_at")


def tables() -> tuple[str, ...]:
    return TABLE_NAMES


def table(name: str):
    return schema.TABLES[name]


def id_column(name: str) -> str:
    return ID_COLUMN[name]


def value_columns(name: str) -> list[str]:
    """The columns a file can fill: everything but row_id, deleted, updated_at (schema order)."""
    return [c for c in schema.column_names(name) if c not in KEYS]


def kind(name: str, column: str) -> str:
    """float | int | str | bool, from the SQLAlchemy type."""
    from sqlalchemy import BigInteger, Boolean, Float, Integer, String

    t = schema.TABLES[name].c[column].type
    if isinstance(t, Boolean):
        return "bool"
    if isinstance(t, (BigInteger, Integer)):
        return "int"
    if isinstance(t, Float):
        return "float"
    if isinstance(t, String):
        return "str"
    raise TypeError(f"{name}.{column}: no loader kind for {t!r}")


def max_length(name: str, column: str) -> int | None:
    return getattr(schema.TABLES[name].c[column].type, "length", None)


@functools.cache
def target(name: str, column: str) -> Target:
    return target_from_comment(column, schema.TABLES[name].c[column].comment)


def required(name: str) -> list[str]:
    """Columns a file must fill: the catalogue id and what the validation rules need present
    (position, fluxes, epoch) — without them every row would be quarantined."""
    from radiostars.ingest.validate import EPOCHS, FLUXES, POSITION

    cols = [id_column(name), *POSITION[name], *FLUXES.get(name, ())]
    if name in EPOCHS:
        cols.append(EPOCHS[name][0])
    return cols


def object_types() -> tuple[str, ...]:
    return OBJECT_TYPES
