"""The raw-zone contract (docs/lake.md ``raw/``): committed manifests, effective manifests, the current
snapshot, and the manifest writer of the scale generator.

Readers never list Parquet files: they read ``_manifest.json`` objects, and only the files those
list. The ingestion, the Spark job, the warehouse loader and the evaluation all read through these.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from radiostars.lake.errors import LakeIntegrityError
from radiostars.lake.keys import MANIFEST, check_prefix, manifest_key, table_prefix
from radiostars.lake.store import Lake

_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


def list_manifests(lake: Lake, table: str, lake_prefix: str = "") -> list[dict]:
    """Every committed manifest of ``table`` (any date, any run), each with its own ``key`` added."""
    out = []
    for key, _ in lake.list(table_prefix(table, lake_prefix)):
        if key.endswith("/" + MANIFEST):
            try:
                m = lake.get_json(key)
            except ValueError as exc:
                raise LakeIntegrityError(f"manifest s3://{lake.bucket}/{key} is not valid JSON ({exc})") from None
            if m is not None:
                out.append({**m, "key": key})
    return out


def newest_manifest(manifests: list[dict]) -> dict:
    """The newest of several manifests (of one ingest_date): greatest ``committed_at`` (compared as times,
    so ``Z`` and ``+00:00`` spellings agree; a manifest without one is the oldest), then ``run_id``."""
    return max(manifests, key=lambda m: (committed_time(m) or _EPOCH, m.get("run_id") or ""))


def committed_time(manifest: dict) -> dt.datetime | None:
    """A manifest's ``committed_at`` as an aware UTC datetime (ISO 8601, ``Z`` accepted); None when absent
    or unparsable (the scale generator writes manifests without it)."""
    value = manifest.get("committed_at")
    if value in (None, ""):
        return None
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def select_effective(manifests: list[dict]) -> list[dict]:
    """Per ``ingest_date`` the newest committed manifest, in date order, starting at the latest full
    refresh (a full refresh re-extracts the whole table, so earlier dates are superseded)."""
    by_date: dict[str, list[dict]] = {}
    for m in manifests:
        by_date.setdefault(m["ingest_date"], []).append(m)
    chosen = [newest_manifest(by_date[d]) for d in sorted(by_date)]
    starts = [i for i, m in enumerate(chosen) if m.get("full_refresh")]
    return chosen[starts[-1] :] if starts else chosen


def effective_manifests(
    settings,
    table: str,
    lake_prefix: str = "",
    lake: Lake | None = None,
    *,
    committed_before: dt.datetime | None = None,
) -> list[dict]:
    """The manifests a reader of ``table`` must use (see :func:`select_effective`).

    ``committed_before``: the snapshot as it was at that instant — only manifests committed at or before
    it count (a manifest without a parsable ``committed_at`` then never counts). The warehouse loader
    uses it so that a late reload of a cross-match run sees the known objects the run saw."""
    lake = lake or Lake(settings)
    manifests = list_manifests(lake, table, check_prefix(lake_prefix))
    if committed_before is not None:
        if committed_before.tzinfo is None:
            committed_before = committed_before.replace(tzinfo=dt.UTC)
        manifests = [m for m in manifests if (when := committed_time(m)) is not None and when <= committed_before]
    return select_effective(manifests)


def snapshot_uris(
    settings, table: str, lake_prefix: str = "", scheme: str = "s3a", manifests: list[dict] | None = None
) -> list[str]:
    """URIs of every Parquet file of the effective manifests (for ``spark.read.parquet(*uris)``);
    apply :func:`dedupe_snapshot`'s rule on top (latest per row_id, drop deleted, one row per id).
    ``manifests``: the effective manifests when the caller has listed them already."""
    if manifests is None:
        manifests = effective_manifests(settings, table, lake_prefix)
    return [settings.lake_uri(f["key"], scheme=scheme) for m in manifests for f in m["files"]]


def dedupe_snapshot(data: pa.Table, id_col: str) -> pa.Table:
    """Current state from stacked versions: the latest version of each ``row_id`` (by
    ``updated_at``), without soft-deleted rows, and one row per catalogue id (smallest row_id wins,
    the rule validation applies within a batch). Sorted by row_id."""
    if data.num_rows == 0:
        return data
    order = pc.sort_indices(data, sort_keys=[("row_id", "ascending"), ("updated_at", "descending")])
    data = data.take(order)
    rid = data.column("row_id").to_numpy()
    first = np.ones(len(rid), bool)
    first[1:] = rid[1:] != rid[:-1]
    data = data.filter(pa.array(first))
    data = data.filter(pc.invert(pc.fill_null(data.column("deleted"), False)))
    order = pc.sort_indices(data, sort_keys=[(id_col, "ascending"), ("row_id", "ascending")])
    by_id = data.take(order)
    ids = by_id.column(id_col).combine_chunks()
    keep = np.ones(by_id.num_rows, bool)
    if by_id.num_rows > 1:
        keep[1:] = pc.not_equal(ids.slice(1), ids.slice(0, len(ids) - 1)).to_numpy(zero_copy_only=False)
    out = by_id.filter(pa.array(keep))
    return out.take(pc.sort_indices(out, sort_keys=[("row_id", "ascending")]))


def manifest_file_sizes(lake: Lake, manifest: dict) -> list[tuple[str, int]]:
    """(key, size) of every file a manifest lists, each checked to exist (keys may be relative to the
    manifest's folder); a listed file that is missing raises :class:`LakeIntegrityError`."""
    base = manifest["key"].rsplit("/", 1)[0] + "/"
    out = []
    for entry in manifest.get("files") or []:
        key = entry["key"] if isinstance(entry, dict) else entry
        if not key.startswith("raw/") and not key.startswith(base):
            key = base + key
        size = lake.size(key)
        if size is None:
            raise LakeIntegrityError(f"manifest {manifest['key']} lists {key}, which is missing")
        out.append((key, int(size)))
    return out


def read_files(lake: Lake, files: list[dict], columns: list[str] | None = None, verify: bool = True) -> list[pa.Table]:
    tables = []
    for f in files:
        body = lake.get_bytes(f["key"])
        if body is None:
            raise LakeIntegrityError(f"s3://{lake.bucket}/{f['key']} is listed in a manifest but missing")
        if verify and f.get("sha256") and hashlib.sha256(body).hexdigest() != f["sha256"]:
            raise LakeIntegrityError(f"s3://{lake.bucket}/{f['key']}: sha256 differs from its manifest")
        import pyarrow.parquet as pq

        tables.append(pq.read_table(pa.BufferReader(body), columns=columns))
    return tables


def read_snapshot(
    settings,
    table: str,
    lake_prefix: str = "",
    columns: list[str] | None = None,
    verify: bool = True,
    lake: Lake | None = None,
    *,
    committed_before: dt.datetime | None = None,
) -> pa.Table:
    """The current snapshot of ``table`` as an Arrow table (in memory: meant for the small radio
    and known-object tables and for tests; Spark reads :func:`snapshot_uris`); with
    ``committed_before``, the snapshot as of that instant (see :func:`effective_manifests`)."""
    from radiostars.catalogues.arrow import expected_schema
    from radiostars.catalogues.tables import ID_COLUMN

    lake = lake or Lake(settings)
    idc = ID_COLUMN[table]
    need = None if columns is None else list(dict.fromkeys([*columns, "row_id", "updated_at", "deleted", idc]))
    files = [
        f
        for m in effective_manifests(settings, table, lake_prefix, lake, committed_before=committed_before)
        for f in m["files"]
    ]
    parts = read_files(lake, files, need, verify)
    schema = pa.schema([f.with_nullable(True) for f in expected_schema(table)])
    if need is not None:
        schema = pa.schema([schema.field(c) for c in need])
    data = pa.concat_tables([p.cast(schema) for p in parts]) if parts else schema.empty_table()
    out = dedupe_snapshot(data, idc)
    return out.select(columns) if columns is not None else out


# ---- writing (the scale generator and tests; the ingestion builds its richer manifest itself) ----
@dataclass(frozen=True)
class PartFile:
    key: str
    rows: int
    sha256: str


def manifest_dict(
    table: str,
    run_id: str,
    ingest_date: str,
    files: list[PartFile],
    columns: list[str],
    schema_version: int = 1,
    extra: dict | None = None,
) -> dict:
    """The minimal manifest of docs/lake.md (``files`` without ``bytes``, ``columns`` as plain names);
    ``extra``: further keys (the sample's lake writer adds ``full_refresh``, ``committed_at``, ``writer``)."""
    return {
        "table": table,
        "run_id": run_id,
        "ingest_date": ingest_date,
        "files": [{"key": f.key, "rows": f.rows, "sha256": f.sha256} for f in files],
        "rows": sum(f.rows for f in files),
        "schema_version": schema_version,
        "columns": list(columns),
        **(extra or {}),
    }


def write_manifest(
    client,
    bucket: str,
    table: str,
    run_id: str,
    ingest_date: str,
    files: list[PartFile],
    columns: list[str],
    schema_version: int = 1,
    lake_prefix: str = "",
    extra: dict | None = None,
) -> str:
    """Put ``_manifest.json`` (written last: its presence marks the run complete); returns its key."""
    import io

    body = json.dumps(
        manifest_dict(table, run_id, ingest_date, files, columns, schema_version, extra), indent=2
    ).encode()
    key = manifest_key(table, ingest_date, run_id, lake_prefix)
    client.put_object(bucket, key, io.BytesIO(body), len(body), content_type="application/json")
    return key
