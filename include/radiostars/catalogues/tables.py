"""Names of the catalogue database, light on purpose (no SQLAlchemy, no pyarrow): the DAG files import
them while Airflow parses them. :mod:`radiostars.catalogues.schema` builds its tables from these."""

from __future__ import annotations

SCHEMA_VERSION = 1

# the tables, in load order
TABLE_NAMES: tuple[str, ...] = ("radio_sources", "gaia_dr3", "hipparcos2", "known_objects")

# the catalogue identifier column of each table (non-unique physically; unique in clean data)
ID_COLUMN: dict[str, str] = {
    "radio_sources": "source_name",
    "gaia_dr3": "source_id",
    "hipparcos2": "hip",
    "known_objects": "name",
}

# the tables the radio sources are matched against
OPTICAL_CATALOGUES: tuple[str, ...] = ("gaia_dr3", "hipparcos2")

OBJECT_TYPES: tuple[str, ...] = ("AGN", "Pulsar", "PN", "HII", "Star")


def select_tables(names: object, *, allow_empty: bool = False) -> tuple[str, ...]:
    """The one check of a list of table names (a list, or one comma-separated string; None = all) →
    the tables in load order; ValueError naming what is wrong (callers raise it as their own error)."""
    if names is None:
        return TABLE_NAMES
    if isinstance(names, str):
        names = [t.strip() for t in names.split(",") if t.strip()]
    if not isinstance(names, (list, tuple)) or not all(isinstance(t, str) for t in names):
        raise ValueError(f"tables={names!r} must be a list of table names from {', '.join(TABLE_NAMES)}")
    if not names and not allow_empty:
        raise ValueError(f"tables is empty; choose one or more of {', '.join(TABLE_NAMES)}")
    unknown = sorted(set(names) - set(TABLE_NAMES))
    if unknown:
        raise ValueError(f"unknown table(s) {', '.join(unknown)}; choose from {', '.join(TABLE_NAMES)}")
    return tuple(t for t in TABLE_NAMES if t in names)
