"""The committed-run contract of ``crossmatch/<run_id>/`` (docs/lake.md): commit, list, read.

A cross-match run is committed by its ``_SUCCESS`` marker, written last::

    {"run_id", "committed_at", "format": 2,
     "files": [{"key": "pairs/part-00000-….parquet", "bytes": 1234, "etag": "…"}, …]}

``files`` lists every object the run wrote under its folder (keys relative to it, ``metrics.json``
included), with its size and ETag at commit time. Readers (the warehouse loader, the evaluation, the
DAG's commit check) read exactly the listed Parquet files and refuse the run — one line naming the
file — when a listed file is missing or differs in size or ETag. A run without a marker does not exist
for them.

Markers written before format 2 list folders (``"pairs/"``) or plain keys: they stay readable — every
Parquet file under a listed folder is read — but cannot be checked for size; re-run such a run to get
the checked form.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from radiostars.lake.errors import RunIncompleteError, RunNotCommittedError, RunNotFoundError
from radiostars.lake.keys import MARKER, METRICS, crossmatch_root, crossmatch_run_prefix
from radiostars.lake.store import Lake

MARKER_FORMAT = 2
# the parts the Spark job always commits (docs/lake.md); `known_objects/` is optional
RUN_PARTS = ("pairs", "best", "control", "radio", "optical")


# ---------------------------------------------------------------------------- commit
def commit_run(lake: Lake, run_id: str, lake_prefix: str = "", *, committed_at: dt.datetime | None = None) -> dict:
    """Write the ``_SUCCESS`` marker of a run whose outputs are all written: it lists every object under
    the run's folder with its size and ETag. Returns the marker."""
    prefix = crossmatch_run_prefix(run_id, lake_prefix)
    files = [
        {"key": obj.key[len(prefix) :], "bytes": obj.size, "etag": obj.etag}
        for obj in lake.objects(prefix)
        if obj.key != prefix + MARKER
    ]
    if not any(f["key"] == METRICS for f in files):
        raise RunIncompleteError(f"run {run_id!r}: cannot commit s3://{lake.bucket}/{prefix} without its {METRICS}")
    when = (committed_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    marker = {
        "run_id": run_id,
        "committed_at": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "format": MARKER_FORMAT,
        "files": files,
    }
    lake.put_json(prefix + MARKER, marker)
    return marker


# ---------------------------------------------------------------------------- list
def is_committed(lake: Lake, run_id: str, lake_prefix: str = "") -> bool:
    return lake.size(crossmatch_run_prefix(run_id, lake_prefix) + MARKER) is not None


def committed_runs(lake: Lake, lake_prefix: str = "") -> list[str]:
    """Run ids with a commit marker, oldest commit first (by the marker's ``committed_at``: Airflow run
    ids — manual__…, asset_triggered__…, scheduled__… — do not sort by time)."""
    runs = []
    for folder in lake.folders(crossmatch_root(lake_prefix)):
        marker = lake.get_json(folder + MARKER)
        if marker is not None:  # no marker: not committed
            when = parse_time(marker.get("committed_at")) or dt.datetime.min.replace(tzinfo=dt.UTC)
            runs.append((when, folder.rstrip("/").rsplit("/", 1)[-1]))
    return [run_id for _, run_id in sorted(runs)]


# ---------------------------------------------------------------------------- read
@dataclass
class CommittedRun:
    """What the ``_SUCCESS`` marker of one run commits: Parquet keys per part, metrics, marker."""

    run_id: str
    prefix: str
    marker: dict
    metrics: dict
    committed_at: dt.datetime | None
    parts: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # part -> [(key, size)]


def parse_time(value) -> dt.datetime | None:
    """An ISO 8601 time (``Z`` accepted) or a Unix time as an aware UTC datetime; None when absent."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def marker_entries(marker: dict) -> list[tuple[str, int | None, str | None]]:
    """(key, bytes, etag) of each entry of a marker's ``files``; bytes/etag None for an older marker's
    plain keys and folders."""
    files = marker.get("files")
    if not isinstance(files, list):
        return []
    out = []
    for entry in files:
        if isinstance(entry, dict):
            key, size, etag = entry.get("key") or entry.get("path"), entry.get("bytes"), entry.get("etag")
        else:
            key, size, etag = entry, None, None
        if isinstance(key, str) and key:
            out.append((key, None if size is None else int(size), etag or None))
    return out


def read_committed_run(
    lake: Lake, run_id: str, lake_prefix: str = "", required: tuple[str, ...] = RUN_PARTS
) -> CommittedRun:
    """Resolve what a run's ``_SUCCESS`` marker commits, every listed file checked against one listing of
    the run's folder; refuse a missing, uncommitted or incomplete run (or one without a ``required`` part)."""
    prefix = crossmatch_run_prefix(run_id, lake_prefix)
    where = f"{lake.bucket}/{prefix}"
    marker_key = prefix + MARKER
    try:
        marker = lake.get_json(marker_key)
    except ValueError as exc:
        raise RunNotCommittedError(f"run {run_id!r}: marker {marker_key} is not valid JSON ({exc})") from None
    if marker is None:
        if next(lake.list(prefix), None) is not None:
            raise RunNotCommittedError(
                f"run {run_id!r} is not committed: {lake.bucket}/{marker_key} is missing "
                "(the cross-match job has not finished, or failed)"
            )
        raise RunNotFoundError(f"run {run_id!r} not found: nothing under {where}")
    if not isinstance(marker, dict) or marker.get("run_id") not in (None, run_id):
        raise RunIncompleteError(
            f"run {run_id!r}: marker {marker_key} names run "
            f"{marker.get('run_id') if isinstance(marker, dict) else marker!r}"
        )
    entries = marker_entries(marker)
    if not entries:
        raise RunIncompleteError(f"run {run_id!r}: marker {marker_key} lists no files")

    listing = {obj.key: obj for obj in lake.objects(prefix)}
    parts: dict[str, list[tuple[str, int]]] = {}
    missing: list[str] = []
    differ: list[str] = []
    metrics_key = None
    for entry, size, etag in entries:
        key = entry if entry.startswith(prefix) else prefix + entry.lstrip("/")
        rel = key[len(prefix) :]
        if rel == MARKER:
            continue
        part = rel.split("/", 1)[0]
        obj = listing.get(key)
        if size is not None:  # format 2: one file, checked
            if obj is None:
                missing.append(key)
                continue
            if obj.size != size:
                differ.append(f"{key} has {obj.size} bytes, the marker lists {size}")
            elif etag and obj.etag and obj.etag != etag.strip('"'):
                differ.append(f"{key} has ETag {obj.etag}, the marker lists {etag}")
            if rel == METRICS:
                metrics_key = key
            elif key.endswith(".parquet"):
                parts.setdefault(part, []).append((key, obj.size))
            continue  # other files (Spark's per-folder _SUCCESS) are checked, not data
        # older markers: a plain key, or a folder ("pairs/": every Parquet file under it)
        if rel == METRICS:
            metrics_key = key
        elif key.endswith(".parquet"):
            if obj is None:
                missing.append(key)
            else:
                parts.setdefault(part, []).append((key, obj.size))
        else:
            folder = key.rstrip("/") + "/"
            found = sorted((k, o.size) for k, o in listing.items() if k.startswith(folder) and k.endswith(".parquet"))
            if found:
                parts.setdefault(part, []).extend(found)
            elif obj is None and not any(k.startswith(folder) for k in listing):
                missing.append(key)
    if missing:
        raise RunIncompleteError(
            f"run {run_id!r}: the marker lists {len(missing)} file(s) missing from the lake, e.g. {missing[0]}"
        )
    if differ:
        raise RunIncompleteError(
            f"run {run_id!r}: {len(differ)} file(s) differ from what the marker lists "
            f"(rewritten after the commit?), e.g. {differ[0]}"
        )
    absent = [p for p in required if p not in parts]
    if absent:
        raise RunIncompleteError(f"run {run_id!r}: the marker commits no {', '.join(absent)} Parquet")
    if metrics_key is None:
        metrics_key = prefix + METRICS
        if metrics_key not in listing:
            raise RunIncompleteError(f"run {run_id!r}: no {METRICS} committed")
    try:
        metrics = lake.get_json(metrics_key)
    except ValueError as exc:
        raise RunIncompleteError(f"run {run_id!r}: {metrics_key} is not valid JSON ({exc})") from None
    if metrics is None:
        raise RunIncompleteError(f"run {run_id!r}: {metrics_key} is missing")
    for name in parts:
        parts[name] = sorted(set(parts[name]))
    try:
        committed_at = parse_time(marker.get("committed_at"))
    except (TypeError, ValueError, OverflowError):
        raise RunIncompleteError(
            f"run {run_id!r}: marker {marker_key} has an unreadable committed_at {marker.get('committed_at')!r}"
        ) from None
    return CommittedRun(run_id, prefix, marker, metrics, committed_at, parts)


def read_part(lake: Lake, run: CommittedRun, part: str):
    """One part of a committed run (exactly its listed files) as one Arrow table, read whole — for the
    small parts and the evaluation; the warehouse streams big ones with :meth:`Lake.open_parquet`.
    None when the run commits no such part."""
    import pyarrow as pa

    files = run.parts.get(part)
    if not files:
        return None
    tables = [lake.read_parquet(key) for key, _ in files]
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")


# ---------------------------------------------------------------------------- metrics.json
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
    return {
        "target_false_rate": _finite(cal.get("target_false_rate")),
        "p_any_cut": _finite(cal.get("p_any_cut")),
        "false_rate_at_cut": _finite(cal.get("false_rate_at_cut")),
        "n_selected_at_cut": _count(cal.get("n_selected_at_cut")),
        "n_control_sources": _count(cal.get("n_control_sources")),
        "curve": curve if isinstance(curve, list) else None,
    }
