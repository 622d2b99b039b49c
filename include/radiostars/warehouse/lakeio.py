"""Reading a committed cross-match run from the lake (docs/lake.md), through the minio SDK only.

Parquet is read with HTTP range requests through :class:`LakeFile` (a seekable file object), so a
schema check reads only the footers and a load streams row group by row group: no part is ever
held whole in memory, nor copied to local disk.
"""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .errors import (InvalidRunIdError, LakeUnavailableError, RunIncompleteError,
                     RunNotCommittedError, RunNotFoundError)
from .schema import REQUIRED_PARTS

CROSSMATCH_PREFIX = "crossmatch/"
MARKER = "_SUCCESS"
METRICS = "metrics.json"
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+=-]{0,199}$")


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id) or ".." in run_id:
        raise InvalidRunIdError(f"invalid run id {run_id!r}: use 1-200 characters from "
                                "letters, digits and _ . : + = - (no '/')")
    return run_id


def run_prefix(run_id: str) -> str:
    return f"{CROSSMATCH_PREFIX}{check_run_id(run_id)}/"


def _lake_call(what: str, fn, *args, **kwargs):
    """Call the minio SDK, turning connection problems into one clear line."""
    from minio.error import S3Error
    from urllib3.exceptions import HTTPError

    try:
        return fn(*args, **kwargs)
    except S3Error:
        raise
    except (HTTPError, OSError) as exc:
        raise LakeUnavailableError(f"cannot reach MinIO while {what}: {type(exc).__name__}: {exc}") from None


def read_json(client, bucket: str, key: str) -> dict:
    resp = _lake_call(f"reading {key}", client.get_object, bucket, key)
    try:
        return json.loads(resp.read())
    finally:
        resp.close()
        resp.release_conn()


def object_exists(client, bucket: str, key: str) -> bool:
    from minio.error import S3Error

    try:
        _lake_call(f"checking {key}", client.stat_object, bucket, key)
        return True
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NoSuchObject", "ResourceNotFound"):
            return False
        raise LakeUnavailableError(f"MinIO refused stat of {bucket}/{key}: {exc.code}") from None


def list_keys(client, bucket: str, prefix: str) -> list[tuple[str, int]]:
    from minio.error import S3Error

    try:
        objs = _lake_call(f"listing {prefix}", lambda: list(client.list_objects(bucket, prefix=prefix,
                                                                               recursive=True)))
    except S3Error as exc:
        raise LakeUnavailableError(f"MinIO refused listing {bucket}/{prefix}: {exc.code}") from None
    return [(o.object_name, o.size) for o in objs if not o.is_dir]


class LakeFile(io.RawIOBase):
    """A read-only, seekable view of one lake object; every read is one HTTP range request."""

    def __init__(self, client, bucket: str, key: str, size: int):
        super().__init__()
        self.client, self.bucket, self.key, self.size = client, bucket, key, size
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.pos)
        if n <= 0:
            return 0
        resp = _lake_call(f"reading {self.key}", self.client.get_object, self.bucket, self.key,
                          offset=self.pos, length=n)
        try:
            data = resp.read()
        finally:
            resp.close()
            resp.release_conn()
        buffer[:len(data)] = data
        self.pos += len(data)
        return len(data)


def open_parquet(client, bucket: str, key: str, size: int):
    import pyarrow.parquet as pq

    return pq.ParquetFile(io.BufferedReader(LakeFile(client, bucket, key, size), buffer_size=1 << 20))


@dataclass
class CommittedRun:
    """What the ``_SUCCESS`` marker of one run commits: Parquet keys per part, metrics, marker."""

    run_id: str
    prefix: str
    marker: dict
    metrics: dict
    committed_at: datetime | None
    parts: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # part -> [(key, size)]


def parse_time(value) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _marker_entries(marker: dict) -> list[str]:
    files = marker.get("files")
    if not isinstance(files, list) or not files:
        return []
    out = []
    for entry in files:
        key = entry.get("key") or entry.get("path") if isinstance(entry, dict) else entry
        if isinstance(key, str) and key:
            out.append(key)
    return out


def read_committed_run(client, bucket: str, run_id: str) -> CommittedRun:
    """Resolve what a run's ``_SUCCESS`` marker commits; refuse missing/uncommitted/incomplete runs."""
    prefix = run_prefix(run_id)
    marker_key = prefix + MARKER
    if not object_exists(client, bucket, marker_key):
        if list_keys(client, bucket, prefix):
            raise RunNotCommittedError(f"run {run_id!r} is not committed: {bucket}/{marker_key} is missing "
                                       "(the cross-match job has not finished, or failed)")
        raise RunNotFoundError(f"run {run_id!r} not found: nothing under {bucket}/{prefix}")
    try:
        marker = read_json(client, bucket, marker_key)
    except ValueError as exc:
        raise RunNotCommittedError(f"run {run_id!r}: marker {marker_key} is not valid JSON ({exc})") from None
    if marker.get("run_id") not in (None, run_id):
        raise RunIncompleteError(f"run {run_id!r}: marker {marker_key} names run {marker.get('run_id')!r}")
    entries = _marker_entries(marker)
    if not entries:
        raise RunIncompleteError(f"run {run_id!r}: marker {marker_key} lists no files")

    listing = dict(list_keys(client, bucket, prefix))
    parts: dict[str, list[tuple[str, int]]] = {}
    missing: list[str] = []
    metrics_key = None
    for entry in entries:
        key = entry if entry.startswith(prefix) else prefix + entry.lstrip("/")
        rel = key[len(prefix):]
        if rel == METRICS:
            metrics_key = key
            continue
        if rel == MARKER:
            continue
        part = rel.split("/", 1)[0]
        if key.endswith(".parquet"):
            if key not in listing:
                missing.append(key)
            else:
                parts.setdefault(part, []).append((key, listing[key]))
        else:
            folder = key.rstrip("/") + "/"
            found = sorted((k, n) for k, n in listing.items() if k.startswith(folder) and k.endswith(".parquet"))
            if found:  # a directory entry (e.g. "pairs/"): every Parquet file under it is committed
                parts.setdefault(part, []).extend(found)
            elif key not in listing and not any(k.startswith(folder) for k in listing):
                missing.append(key)
        # other files (e.g. Spark's per-folder _SUCCESS, .crc) are not data
    if missing:
        raise RunIncompleteError(f"run {run_id!r}: the marker lists {len(missing)} file(s) missing from the "
                                 f"lake, e.g. {missing[0]}")
    absent = [p for p in REQUIRED_PARTS if p not in parts]
    if absent:
        raise RunIncompleteError(f"run {run_id!r}: the marker commits no {', '.join(absent)} Parquet")
    if metrics_key is None:
        metrics_key = prefix + METRICS
        if metrics_key not in listing:
            raise RunIncompleteError(f"run {run_id!r}: no {METRICS} committed")
    try:
        metrics = read_json(client, bucket, metrics_key)
    except ValueError as exc:
        raise RunIncompleteError(f"run {run_id!r}: {metrics_key} is not valid JSON ({exc})") from None
    for part in parts:
        parts[part] = sorted(set(parts[part]))
    return CommittedRun(run_id, prefix, marker, metrics, parse_time(marker.get("committed_at")), parts)


def _finite(value) -> float | None:
    try:
        f = None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None
    return f if f is not None and math.isfinite(f) else None


def _count(value) -> int | None:
    f = _finite(value)
    return int(f) if f is not None and f.is_integer() else None


def run_calibration(metrics: dict) -> dict | None:
    """metrics.json ``calibration`` — the p_any cut the job calibrated on its shifted control — read
    defensively: ``target_false_rate``, ``p_any_cut``, ``false_rate_at_cut`` (finite floats or None),
    ``n_selected_at_cut``, ``n_control_sources`` (integers or None) and ``curve`` (the list, or None).
    None when the run has no calibration (written before the job recorded one: no key, or ``null``).
    The one reader of that block: the warehouse loader and ``make evaluate`` both use it."""
    cal = metrics.get("calibration") if isinstance(metrics, dict) else None
    if not isinstance(cal, dict):
        return None
    curve = cal.get("curve")
    return {"target_false_rate": _finite(cal.get("target_false_rate")), "p_any_cut": _finite(cal.get("p_any_cut")),
            "false_rate_at_cut": _finite(cal.get("false_rate_at_cut")),
            "n_selected_at_cut": _count(cal.get("n_selected_at_cut")),
            "n_control_sources": _count(cal.get("n_control_sources")),
            "curve": curve if isinstance(curve, list) else None}


# ---------------------------------------------------------------------------- raw/ snapshots
def known_objects_manifests(settings, client, committed_before: datetime | None) -> list[dict]:
    """The effective ``raw/known_objects/`` manifests committed at or before ``committed_before``
    (:func:`radiostars.ingest.manifest.effective_manifests`, the one definition docs/lake.md names),
    with lake failures turned into the warehouse's errors."""
    from radiostars.ingest.errors import IngestError
    from radiostars.ingest.lake_io import Lake
    from radiostars.ingest.manifest import effective_manifests

    try:
        return effective_manifests(settings, "known_objects", lake=Lake(settings, client),
                                   committed_before=committed_before)
    except IngestError as exc:
        raise LakeUnavailableError(str(exc)) from None
    except ValueError as exc:  # a manifest that is not valid JSON
        raise RunIncompleteError(f"a raw/known_objects/ manifest is unreadable: {exc}") from None


def manifest_files(client, bucket: str, manifest: dict) -> list[tuple[str, int]]:
    from minio.error import S3Error

    base = manifest["key"].rsplit("/", 1)[0] + "/"
    out = []
    for entry in manifest.get("files") or []:
        key = entry["key"] if isinstance(entry, dict) else entry
        if not key.startswith("raw/"):
            key = base + key
        try:
            size = _lake_call(f"checking {key}", client.stat_object, bucket, key).size
        except S3Error as exc:
            raise RunIncompleteError(f"manifest {manifest['key']} lists {key}, which is missing ({exc.code})"
                                     ) from None
        out.append((key, int(size)))
    return out
