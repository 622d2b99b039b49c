"""Light definitions of the ingestion, safe to import while Airflow parses the DAG file.

Nothing heavy here (no pandas/pyarrow/SQLAlchemy): table names, lake keys, parameters and their
validation. The table list mirrors :mod:`radiostars.sample.schema` (a unit test keeps them equal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from radiostars.ingest.errors import ParamsError

TABLES: tuple[str, ...] = ("radio_sources", "gaia_dr3", "hipparcos2", "known_objects")

DEFAULT_CHUNK_SIZE = 50_000
MIN_CHUNK_SIZE = 1_000
MAX_CHUNK_SIZE = 1_000_000
ROW_GROUP_ROWS = 131_072  # Parquet row group of the committed parts (fixed: output is deterministic)
ROWS_PER_FILE = 1_048_576  # rows per committed part file

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RUN_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_PREFIX = re.compile(r"^([A-Za-z0-9._=-]+/)*$")


# ---- lake keys --------------------------------------------------------------------------------
def check_prefix(lake_prefix: str) -> str:
    """'' or 'a/b/' (ends with a slash, no leading slash); used by tests to stay out of the demo."""
    if lake_prefix and not lake_prefix.endswith("/"):
        lake_prefix += "/"
    if not _PREFIX.match(lake_prefix):
        raise ParamsError(f"lake_prefix {lake_prefix!r} must be '' or path segments like 'tests/abc/'")
    return lake_prefix


def run_prefix(table: str, ingest_date: str, run_id: str, lake_prefix: str = "") -> str:
    return f"{lake_prefix}raw/{table}/ingest_date={ingest_date}/run_id={run_id}/"


def table_prefix(table: str, lake_prefix: str = "") -> str:
    return f"{lake_prefix}raw/{table}/"


def quarantine_prefix(table: str, ingest_date: str, run_id: str, lake_prefix: str = "") -> str:
    return f"{lake_prefix}quarantine/{table}/ingest_date={ingest_date}/run_id={run_id}/"


def staging_prefix(table: str, run_id: str, lake_prefix: str = "") -> str:
    """Extracted, not yet validated chunks of one run; deleted at commit, never read by readers."""
    return f"{lake_prefix}_staging/{table}/run_id={run_id}/"


def watermark_key(table: str, lake_prefix: str = "") -> str:
    return f"{lake_prefix}_state/watermarks/{table}.json"


def manifest_key(table: str, ingest_date: str, run_id: str, lake_prefix: str = "") -> str:
    return run_prefix(table, ingest_date, run_id, lake_prefix) + "_manifest.json"


def raw_asset_uri(bucket: str, table: str) -> str:
    """The Airflow Asset of one raw table (the cross-match DAG schedules on these)."""
    return f"s3://{bucket}/raw/{table}"


def raw_asset_name(table: str) -> str:
    return f"raw_{table}"


# ---- parameters -------------------------------------------------------------------------------
@dataclass(frozen=True)
class IngestParams:
    tables: tuple[str, ...] = TABLES
    full_refresh: bool = False
    chunk_size: int = DEFAULT_CHUNK_SIZE


def check_tables(tables: object) -> tuple[str, ...]:
    """A list of table names (or one comma-separated string) -> tuple in load order."""
    if tables is None:
        return TABLES
    if isinstance(tables, str):
        tables = [t.strip() for t in tables.split(",") if t.strip()]
    if not isinstance(tables, (list, tuple)) or not all(isinstance(t, str) for t in tables):
        raise ParamsError(f"tables={tables!r} must be a list of table names from {', '.join(TABLES)}")
    if not tables:
        raise ParamsError(f"tables is empty; choose one or more of {', '.join(TABLES)}")
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise ParamsError(f"unknown table(s) {', '.join(unknown)}; choose from {', '.join(TABLES)}")
    return tuple(t for t in TABLES if t in tables)


def parse_params(raw: dict | None) -> IngestParams:
    """Validate the DAG run params (from the UI / REST / CLI) with one clear error line."""
    raw = dict(raw or {})
    tables = check_tables(raw.get("tables"))
    full_refresh = raw.get("full_refresh", False)
    if isinstance(full_refresh, str) and full_refresh.lower() in ("true", "false"):
        full_refresh = full_refresh.lower() == "true"
    if not isinstance(full_refresh, bool):
        raise ParamsError(f"full_refresh={full_refresh!r} must be true or false")
    chunk = raw.get("chunk_size", DEFAULT_CHUNK_SIZE)
    try:
        chunk_size = int(chunk)
        if isinstance(chunk, bool) or float(chunk) != chunk_size:
            raise ValueError
    except (TypeError, ValueError):
        raise ParamsError(f"chunk_size={chunk!r} must be an integer") from None
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ParamsError(f"chunk_size={chunk_size} must be in [{MIN_CHUNK_SIZE}, {MAX_CHUNK_SIZE}]")
    return IngestParams(tables=tables, full_refresh=full_refresh, chunk_size=chunk_size)


def check_ingest_date(value: str) -> str:
    if not isinstance(value, str) or not _DATE.match(value):
        raise ParamsError(f"ingest_date={value!r} must be YYYY-MM-DD")
    return value


def check_run_id(value: str) -> str:
    if not isinstance(value, str) or not _RUN_ID.match(value):
        raise ParamsError(f"run_id={value!r} must be 1-128 characters of [A-Za-z0-9._-]")
    return value
