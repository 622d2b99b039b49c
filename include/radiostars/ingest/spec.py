"""Light definitions of the ingestion, safe to import while Airflow parses the DAG file.

Nothing heavy here (no pandas/pyarrow/SQLAlchemy): parameters and their validation. The table names
are :mod:`radiostars.catalogues.tables`, the lake keys :mod:`radiostars.lake.keys`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from radiostars.catalogues.tables import TABLE_NAMES, select_tables
from radiostars.ingest.errors import ParamsError

DEFAULT_CHUNK_SIZE = 50_000
MIN_CHUNK_SIZE = 1_000
MAX_CHUNK_SIZE = 1_000_000
MAX_SAFETY_LAG_S = 7 * 86_400
ROW_GROUP_ROWS = 131_072  # Parquet row group of the committed parts (fixed: output is deterministic)
ROWS_PER_FILE = 1_048_576  # rows per committed part file

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ---- parameters -------------------------------------------------------------------------------
@dataclass(frozen=True)
class IngestParams:
    tables: tuple[str, ...] = TABLE_NAMES
    full_refresh: bool = False
    chunk_size: int = DEFAULT_CHUNK_SIZE
    safety_lag_s: int | None = None  # None: INGEST_SAFETY_LAG_S


def check_tables(tables: object) -> tuple[str, ...]:
    """A list of table names (or one comma-separated string) -> tuple in load order."""
    try:
        return select_tables(tables)
    except ValueError as exc:
        raise ParamsError(str(exc)) from None


def _whole_number(value: object, name: str, lo: int, hi: int, what: str) -> int:
    """``value`` (int, or a string / float holding one; not a bool) in [lo, hi], else a ParamsError."""
    try:
        number = int(value)
        if isinstance(value, bool) or float(value) != number:
            raise ValueError
    except (TypeError, ValueError):
        raise ParamsError(f"{name}={value!r} must be {what}") from None
    if not lo <= number <= hi:
        raise ParamsError(f"{name}={number} must be in [{lo}, {hi}]")
    return number


def parse_params(raw: dict | None) -> IngestParams:
    """Validate the DAG run params (from the UI / REST / CLI) with one clear error line."""
    raw = dict(raw or {})
    tables = check_tables(raw.get("tables"))
    full_refresh = raw.get("full_refresh", False)
    if isinstance(full_refresh, str) and full_refresh.lower() in ("true", "false"):
        full_refresh = full_refresh.lower() == "true"
    if not isinstance(full_refresh, bool):
        raise ParamsError(f"full_refresh={full_refresh!r} must be true or false")
    chunk_size = _whole_number(
        raw.get("chunk_size", DEFAULT_CHUNK_SIZE), "chunk_size", MIN_CHUNK_SIZE, MAX_CHUNK_SIZE, "an integer"
    )
    lag = raw.get("safety_lag_s")
    if lag is not None:
        lag = _whole_number(lag, "safety_lag_s", 0, MAX_SAFETY_LAG_S, "a whole number of seconds")
    return IngestParams(tables=tables, full_refresh=full_refresh, chunk_size=chunk_size, safety_lag_s=lag)


def check_ingest_date(value: str) -> str:
    if not isinstance(value, str) or not _DATE.match(value):
        raise ParamsError(f"ingest_date={value!r} must be YYYY-MM-DD")
    return value
