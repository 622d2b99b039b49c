"""Schema-drift detection of the MySQL tables against the one definition of the database.

The expected columns are :func:`radiostars.catalogues.arrow.expected_schema` (from the SQLAlchemy
metadata in :mod:`radiostars.catalogues.schema`). Drift = the live table (``information_schema.columns``) differs:
a missing column or a changed type stops the ingestion (:class:`SchemaDriftError`); a new column is
reported (log + manifest ``schema_drift``) and not ingested until the schema module knows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from radiostars.catalogues.arrow import expected_schema
from radiostars.ingest.errors import SchemaDriftError

# Arrow type -> MySQL information_schema DATA_TYPE values that carry it without loss
_MYSQL_TYPES: dict[str, set[str]] = {
    "int64": {"bigint"},
    "int32": {"int", "mediumint", "smallint"},
    "double": {"double"},
    "string": {"varchar", "char", "text", "mediumtext", "longtext", "tinytext"},
    "bool": {"tinyint"},
    "timestamp[us, tz=UTC]": {"datetime", "timestamp"},
}


@dataclass(frozen=True)
class Drift:
    table: str
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # "col: expected int64, found varchar"

    @property
    def blocking(self) -> bool:
        return bool(self.missing or self.changed)

    def describe(self) -> str:
        parts = []
        if self.missing:
            parts.append(f"missing column(s) {', '.join(self.missing)}")
        if self.changed:
            parts.append(f"changed type(s) {'; '.join(self.changed)}")
        if self.added:
            parts.append(
                f"new column(s) {', '.join(self.added)} (not ingested until radiostars.catalogues.schema declares them)"
            )
        return f"schema drift in {self.table}: " + ", ".join(parts) if parts else f"{self.table}: no drift"

    def as_dict(self) -> dict:
        return {"missing": self.missing, "added": self.added, "changed": self.changed}


def compare_columns(table: str, live: list[tuple[str, str]]) -> Drift:
    """Compare ``[(column_name, data_type), ...]`` of the live table with the expected schema."""
    expected = expected_schema(table)
    live_types = {name.lower(): dtype.lower() for name, dtype in live}
    exp_names = [f.name for f in expected]
    missing = [n for n in exp_names if n.lower() not in live_types]
    added = [name for name, _ in live if name.lower() not in {n.lower() for n in exp_names}]
    changed = []
    for f in expected:
        found = live_types.get(f.name.lower())
        if found is not None and found not in _MYSQL_TYPES[str(f.type)]:
            changed.append(f"{f.name}: expected {'/'.join(sorted(_MYSQL_TYPES[str(f.type)]))}, found {found}")
    return Drift(table, missing, added, changed)


def check_drift(table: str, live: list[tuple[str, str]], database: str) -> Drift:
    """Raise :class:`SchemaDriftError` for a missing table/column or a changed type; else the drift."""
    if not live:
        raise SchemaDriftError(
            f"table {table} does not exist in MySQL database {database!r}; seed it first (`radiostars seed`)"
        )
    drift = compare_columns(table, live)
    if drift.blocking:
        raise SchemaDriftError(
            drift.describe() + " — update radiostars.catalogues.schema (and bump "
            "SCHEMA_VERSION) or fix the source table; nothing was ingested"
        )
    return drift
