"""Read one committed cross-match run (docs/lake.md `crossmatch/<run_id>/…`) into pandas.

The single place that builds the pyarrow S3 filesystem for the evaluation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from radiostars.config import Settings
from radiostars.engine.run import committed_runs, is_committed

from .errors import EvaluationError

RUN_TABLES = ("pairs", "best", "control", "radio", "optical")


def s3_filesystem(settings: Settings):
    """pyarrow S3 filesystem on the lake's MinIO (plain HTTP on loopback)."""
    from pyarrow import fs as pafs

    return pafs.S3FileSystem(endpoint_override=settings.minio_url, access_key=settings["MINIO_ROOT_USER"],
                             secret_key=settings["MINIO_ROOT_PASSWORD"], scheme="http",
                             region=settings["S3_REGION"])


def run_key(run_id: str, lake_prefix: str = "") -> str:
    """Bucket-relative folder of a run (ends with '/')."""
    return f"{lake_prefix}crossmatch/{run_id}/"


def resolve_run_id(settings: Settings, run_id: str | None, lake_prefix: str = "") -> str:
    """The requested run if committed, else the latest committed one; EvaluationError otherwise."""
    where = f"s3://{settings.lake_bucket}/{lake_prefix}crossmatch/"
    try:
        if run_id:
            if not is_committed(settings, run_id, lake_prefix):
                raise EvaluationError(f"run {run_id!r} is not committed under {where} (no _SUCCESS marker): "
                                      "omit --run-id for the latest committed run, or run the radio_star_crossmatch DAG")
            return run_id
        runs = committed_runs(settings, lake_prefix)
    except EvaluationError:
        raise
    except Exception as exc:  # noqa: BLE001 - minio/urllib3 errors: one line for the CLI
        raise EvaluationError(f"cannot read {where}: {type(exc).__name__}: {str(exc).splitlines()[0]}; "
                              "is MinIO running (`make up`)?") from None
    if not runs:
        raise EvaluationError(f"no committed cross-match run under {where}: run `make demo` "
                              "(or trigger the radio_star_crossmatch DAG) first")
    return runs[-1]


@dataclass
class RunData:
    """Everything the evaluation reads from one committed run."""

    run_id: str
    lake_prefix: str
    metrics: dict
    pairs: pd.DataFrame
    best: pd.DataFrame
    control: pd.DataFrame
    radio: pd.DataFrame
    optical: pd.DataFrame
    # name, ra_deg, dec_deg, object_type as the warehouse sees them for this run; None = no snapshot
    known_objects: pd.DataFrame | None = None
    extra: dict = field(default_factory=dict)


def read_run_table(settings: Settings, run_id: str, name: str, lake_prefix: str = "", filesystem=None) -> pd.DataFrame:
    """One Parquet folder of a run (Spark part files; `_SUCCESS` and other `_`/`.` files are skipped)."""
    import pyarrow.parquet as pq

    if name not in RUN_TABLES:
        raise ValueError(f"name: one of {', '.join(RUN_TABLES)}, got {name!r}")
    path = f"{settings.lake_bucket}/{run_key(run_id, lake_prefix)}{name}"
    try:
        table = pq.read_table(path, filesystem=filesystem or s3_filesystem(settings))
    except (OSError, ValueError) as exc:
        raise EvaluationError(f"cannot read s3://{path}/ of committed run {run_id}: {str(exc).splitlines()[0]}") from None
    return table.to_pandas()


def read_json_object(settings: Settings, key: str) -> dict:
    from radiostars.lake import lake_client

    try:
        response = lake_client(settings).get_object(settings.lake_bucket, key)
        try:
            return json.loads(response.read())
        finally:
            response.close()
            response.release_conn()
    except Exception as exc:  # noqa: BLE001
        raise EvaluationError(f"cannot read s3://{settings.lake_bucket}/{key}: {type(exc).__name__}") from None


def read_metrics(settings: Settings, run_id: str, lake_prefix: str = "") -> dict:
    return read_json_object(settings, run_key(run_id, lake_prefix) + "metrics.json")


KNOWN_OBJECT_COLUMNS = ["name", "ra_deg", "dec_deg", "object_type"]


def read_known_objects(settings: Settings, run_id: str, lake_prefix: str = "", committed_at: datetime | None = None,
                       filesystem=None) -> pd.DataFrame | None:
    """The known objects the warehouse uses for this run (docs/warehouse.md): ``known_objects/`` of the run
    when it commits one, else the ``raw/known_objects/`` snapshot as of the run's commit (the ingestion's
    effective manifests committed at or before it); None when there is neither."""
    import pyarrow.parquet as pq
    from pyarrow import fs as pafs

    from radiostars.ingest.errors import IngestError
    from radiostars.ingest.manifest import effective_manifests, read_snapshot

    filesystem = filesystem or s3_filesystem(settings)
    folder = f"{settings.lake_bucket}/{run_key(run_id, lake_prefix)}known_objects"
    try:
        if filesystem.get_file_info(folder).type == pafs.FileType.Directory:
            return _latest_by_name(pq.read_table(folder, filesystem=filesystem).to_pandas())
        if not effective_manifests(settings, "known_objects", lake_prefix, committed_before=committed_at):
            return None
        return read_snapshot(settings, "known_objects", lake_prefix, columns=KNOWN_OBJECT_COLUMNS,
                             committed_before=committed_at).to_pandas()
    except (IngestError, OSError, ValueError) as exc:
        raise EvaluationError(f"cannot read the known objects of run {run_id}: {str(exc).splitlines()[0]}") from None


def _latest_by_name(known: pd.DataFrame) -> pd.DataFrame:
    """The warehouse's snapshot rule: the latest version of each name by (updated_at, row_id), deleted dropped."""
    order = [c for c in ("updated_at", "row_id") if c in known.columns]
    if order:
        known = known.sort_values(order, ascending=False, na_position="last", kind="stable")
    known = known.drop_duplicates("name")
    if "deleted" in known.columns:
        known = known[~known["deleted"].fillna(False).astype(bool)]
    return known[KNOWN_OBJECT_COLUMNS].reset_index(drop=True)


def read_run(settings: Settings, run_id: str | None = None, lake_prefix: str = "") -> RunData:
    """Resolve the run (latest committed by default) and read all its outputs."""
    if lake_prefix and not lake_prefix.endswith("/"):
        raise EvaluationError(f"--lake-prefix {lake_prefix!r} must end with '/'")
    run_id = resolve_run_id(settings, run_id, lake_prefix)
    fs = s3_filesystem(settings)
    frames = {name: read_run_table(settings, run_id, name, lake_prefix, fs) for name in RUN_TABLES}
    marker = read_json_object(settings, run_key(run_id, lake_prefix) + "_SUCCESS")
    committed_at = _parse_time(marker.get("committed_at"))
    return RunData(run_id=run_id, lake_prefix=lake_prefix, metrics=read_metrics(settings, run_id, lake_prefix),
                   known_objects=read_known_objects(settings, run_id, lake_prefix, committed_at, fs),
                   extra={"committed_at": committed_at.isoformat() if committed_at else None}, **frames)


def _parse_time(value) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
