"""Keys of the lake (docs/lake.md): the one spelling of every path, and the checks of what goes in one.

Light on purpose (no pyarrow, no minio): the DAG files import it while Airflow parses them.
Keys are bucket-relative; ``lake_prefix`` ('' or 'a/b/') lets tests and benchmarks work under their own
folder of the same bucket.
"""

from __future__ import annotations

import re

from radiostars.lake.errors import InvalidKeyError, InvalidRunIdError

RAW = "raw/"
CROSSMATCH = "crossmatch/"
MANIFEST = "_manifest.json"  # the commit of one raw-zone run, written last
MARKER = "_SUCCESS"  # the commit of one cross-match run, written last
METRICS = "metrics.json"

# Where the pipeline writes (docs/lake.md): every object it puts or deletes in the lake bucket is under one
# of its zones, or under a scratch root the tests and benchmarks use as their ``lake_prefix`` (each run
# there then has its own zones, e.g. ``tests/xm-1a2b/raw/...``). MinIO's policy for the pipeline user
# (radiostars.stack.lifecycle.pipeline_policy) allows writes and deletes under these prefixes only.
ZONES = ("raw/", "quarantine/", "_staging/", "_state/", "crossmatch/", "curated/")
SCRATCH_ROOTS = ("tests/", "bench/", "evaluation/")  # evaluation/: radiostars evaluate --profile-area-deg2
WRITABLE_PREFIXES = ZONES + SCRATCH_ROOTS

_PREFIX = re.compile(r"^([A-Za-z0-9._=-]+/)*$")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+=-]{0,199}$")
RUN_ID_RULE = "1-200 characters from letters, digits and _ . : + = -, starting with a letter or digit, no '..'"


def check_prefix(lake_prefix: str) -> str:
    """'' or 'a/b/' (a missing final slash is added; no leading slash)."""
    if lake_prefix and not lake_prefix.endswith("/"):
        lake_prefix += "/"
    if not _PREFIX.match(lake_prefix):
        raise InvalidKeyError(f"lake_prefix {lake_prefix!r} must be '' or path segments like 'tests/abc/'")
    return lake_prefix


def check_run_id(run_id: str) -> str:
    """The one check of a run id (an ingestion run or a cross-match run): a single key segment.

    The run ids the project makes (``20260101T020000123456Z-a1b2c3`` for ingestion, the Airflow run id
    through :func:`radiostars.orchestration.common.safe_run_id` for the cross-match) use only
    ``[A-Za-z0-9._-]``; the rule also accepts a raw Airflow run id (``manual__2026-01-01T00:00:00+00:00``)."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id) or ".." in run_id:
        raise InvalidRunIdError(f"invalid run id {run_id!r}: use {RUN_ID_RULE} (no '/')")
    return run_id


# ---- raw zone: what ingestion (and the scale generator) writes ------------------------------------
def table_prefix(table: str, lake_prefix: str = "") -> str:
    return f"{lake_prefix}{RAW}{table}/"


def raw_run_prefix(table: str, ingest_date: str, run_id: str, lake_prefix: str = "") -> str:
    return f"{lake_prefix}{RAW}{table}/ingest_date={ingest_date}/run_id={run_id}/"


def manifest_key(table: str, ingest_date: str, run_id: str, lake_prefix: str = "") -> str:
    return raw_run_prefix(table, ingest_date, run_id, lake_prefix) + MANIFEST


def quarantine_prefix(table: str, ingest_date: str, run_id: str, lake_prefix: str = "") -> str:
    return f"{lake_prefix}quarantine/{table}/ingest_date={ingest_date}/run_id={run_id}/"


def staging_prefix(table: str, run_id: str, lake_prefix: str = "") -> str:
    """Extracted, not yet validated chunks of one run; deleted at commit, never read by readers."""
    return f"{lake_prefix}_staging/{table}/run_id={run_id}/"


def watermark_key(table: str, lake_prefix: str = "") -> str:
    return f"{lake_prefix}_state/watermarks/{table}.json"


# ---- crossmatch/: what the Spark job commits -------------------------------------------------------
def crossmatch_root(lake_prefix: str = "") -> str:
    return f"{lake_prefix}{CROSSMATCH}"


def crossmatch_run_prefix(run_id: str, lake_prefix: str = "") -> str:
    """``<lake_prefix>crossmatch/<run_id>/`` (the run id checked)."""
    return f"{lake_prefix}{CROSSMATCH}{check_run_id(run_id)}/"


def marker_key(run_id: str, lake_prefix: str = "") -> str:
    return crossmatch_run_prefix(run_id, lake_prefix) + MARKER


def metrics_key(run_id: str, lake_prefix: str = "") -> str:
    return crossmatch_run_prefix(run_id, lake_prefix) + METRICS
