"""The Airflow Assets that chain the three DAGs — defined once, here:

    catalogue_ingestion --raw_<table> (s3://<bucket>/raw/<table>)--> radio_star_crossmatch
    radio_star_crossmatch --crossmatch_runs (s3://<bucket>/crossmatch)--> warehouse_publish

Names and URIs are plain functions (tests and the REST client use them without Airflow); the ``Asset``
objects are built on first use and then shared by every DAG file parsed in the same process.
"""

from __future__ import annotations

import functools

from radiostars.catalogues.tables import TABLE_NAMES

CROSSMATCH_ASSET_NAME = "crossmatch_runs"


def raw_asset_name(table: str) -> str:
    return f"raw_{table}"


def raw_asset_uri(bucket: str, table: str) -> str:
    """The Asset of one raw table (the cross-match DAG schedules on these)."""
    return f"s3://{bucket}/raw/{table}"


def crossmatch_asset_uri(bucket: str) -> str:
    return f"s3://{bucket}/crossmatch"


@functools.cache
def raw_asset(bucket: str, table: str):
    """What the ingestion's ``commit`` task of ``table`` emits."""
    from airflow.sdk import Asset

    return Asset(name=raw_asset_name(table), uri=raw_asset_uri(bucket, table))


def raw_assets(bucket: str) -> list:
    """Every raw table's Asset, in load order: the cross-match DAG's schedule."""
    return [raw_asset(bucket, table) for table in TABLE_NAMES]


@functools.cache
def crossmatch_asset(bucket: str):
    """What the cross-match DAG emits when a run is committed; the publish DAG's schedule."""
    from airflow.sdk import Asset

    return Asset(name=CROSSMATCH_ASSET_NAME, uri=crossmatch_asset_uri(bucket))
