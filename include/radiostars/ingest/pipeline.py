"""The four steps of ingesting one table, each a plain function (the DAG runs one task per step;
tests, the benchmark and the CLI call :func:`ingest_table`). Steps exchange small JSON-able dicts.

1. :func:`extract`  — fix the window (below the server clock minus the safety lag), stream it from
   MySQL (binary protocol, straight into Arrow) into run-scoped staging chunks (Arrow IPC).
2. :func:`validate` — apply the rules; bad rows -> ``quarantine/``; fail above the threshold.
3. :func:`write`    — good rows -> deterministic ``raw/`` parts with sha256.
4. :func:`commit`   — ``_manifest.json`` (the commit), then the watermark; drop the staging.

Nothing is visible to readers before step 4 writes the manifest; the watermark moves only after it.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa

from radiostars.catalogues.arrow import expected_schema, quarantine_schema
from radiostars.catalogues.tables import ID_COLUMN, SCHEMA_VERSION, TABLE_NAMES
from radiostars.config import ConfigError
from radiostars.ingest import spec
from radiostars.ingest.drift import check_drift
from radiostars.ingest.errors import ParamsError, QuarantineThresholdExceeded
from radiostars.ingest.extract import Key, connect, deferred_rows, live_columns, stream_window, upper_bound
from radiostars.ingest.validate import REASONS, DuplicateFinder, join_reasons, reason_masks
from radiostars.lake import keys
from radiostars.lake.errors import LakeIntegrityError
from radiostars.lake.raw import list_manifests, newest_manifest
from radiostars.lake.store import Lake, PartInfo, PartWriter

log = logging.getLogger("radiostars.ingest")
WRITER = "radiostars.ingest"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_run_id(now: dt.datetime | None = None) -> str:
    """Sortable, unique per attempt, safe in S3 keys and Hadoop paths: 20250101T020000123456Z-a1b2c3."""
    now = now or utc_now()
    return f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(3)}"


def prefetched(items: Iterable, depth: int = 1) -> Iterator:
    """``items``, produced up to ``depth`` ahead on a worker thread: the next page is read from MySQL
    (connectorx releases the GIL) or the next staging chunk fetched from MinIO while the caller
    compresses, checks or writes the current one. Memory: ``depth`` more chunks. An exception of the producer is raised in the caller; a caller that stops
    early (``close``) stops the producer after its current item."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((done, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            q.put((done, exc))

    worker = threading.Thread(target=produce, name="radiostars-ingest-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, exc = q.get()
            if item is done:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        worker.join(timeout=30)


def safety_lag(settings, override: int | None) -> int:
    """The run's safety lag: the run parameter, else INGEST_SAFETY_LAG_S (a bad value: ParamsError)."""
    if override is not None:
        return spec.parse_params({"safety_lag_s": override}).safety_lag_s
    try:
        return settings.ingest_safety_lag_s
    except ConfigError as exc:
        raise ParamsError(str(exc)) from None


def _read_state(lake: Lake, table: str, lake_prefix: str) -> Key | None:
    state = lake.get_json(keys.watermark_key(table, lake_prefix))
    return Key.from_dict(state.get("watermark")) if state else None


def plan_window(
    state: Key | None, manifests: list[dict], ingest_date: str, full_refresh: bool, current: Key | None
) -> tuple[Key | None, Key | None, bool]:
    """(from, to, full_refresh) of a run; rows with from < key <= to are extracted.

    ``current``: the greatest key now readable safely — with ``updated_at <= MySQL clock − safety lag``
    (:func:`radiostars.ingest.extract.upper_bound`), called "the current maximum" below.

    * full refresh: from the beginning to the current maximum;
    * rerun of an already committed date: from that date's ``from`` (so its data is replaced),
      to the current maximum — or to its old ``to`` if later dates were committed since;
    * otherwise: from the committed watermark (the state file, or a newer manifest if a commit
      stopped between manifest and watermark) to the current maximum.
    """
    ours = [m for m in manifests if m.get("watermark")]
    committed = max((Key.from_dict(m["watermark"]["to"]) for m in ours if m["watermark"].get("to")), default=None)
    if committed is not None and (state is None or committed > state):
        state = committed
    same = [m for m in ours if m["ingest_date"] == ingest_date]
    end = current
    if full_refresh:
        start = None
    elif same:
        prev = newest_manifest(same)
        start = Key.from_dict(prev["watermark"].get("from"))
        full_refresh = bool(prev.get("full_refresh"))
        prev_to = Key.from_dict(prev["watermark"].get("to"))
        if prev_to is not None and state is not None and state > prev_to:
            end = prev_to  # later dates exist: replay exactly this date's window
    else:
        start = state
    if end is None or (start is not None and end <= start):
        end = start
    return start, end, full_refresh


def extract(
    settings,
    table: str,
    ingest_date: str,
    *,
    run_id: str | None = None,
    full_refresh: bool = False,
    chunk_size: int = spec.DEFAULT_CHUNK_SIZE,
    lake_prefix: str = "",
    database: str | None = None,
    airflow_run_id: str | None = None,
    safety_lag_s: int | None = None,
    lake: Lake | None = None,
) -> dict:
    """Step 1: stream the window into ``_staging/<table>/run_id=<run>/chunk-NNNNN.arrows``.

    The window ends at the greatest key with ``updated_at <= now − safety_lag_s`` (*now*: the MySQL
    server's clock); rows above it are counted (``deferred_rows``) and left for the next run."""
    if table not in TABLE_NAMES:
        raise ParamsError(f"unknown table {table!r}; choose from {', '.join(TABLE_NAMES)}")
    spec.check_ingest_date(ingest_date)
    lake_prefix = keys.check_prefix(lake_prefix)
    run_id = keys.check_run_id(run_id or new_run_id())
    chunk_size = spec.parse_params({"chunk_size": chunk_size}).chunk_size
    lag_s = safety_lag(settings, safety_lag_s)
    lake = lake or Lake(settings)
    lake.ensure_bucket()
    database = database or settings["MYSQL_DATABASE"]
    t0 = time.perf_counter()
    staging = keys.staging_prefix(table, run_id, lake_prefix)
    chunks: list[str] = []
    rows_in = 0
    with connect(
        settings.mysql_url(ingest=True, database=database),
        statement_timeout_s=settings.timeout_s("MYSQL_STATEMENT_TIMEOUT_S"),
        lock_wait_timeout_s=settings.timeout_s("MYSQL_LOCK_WAIT_TIMEOUT_S"),
    ) as src:
        drift = check_drift(table, live_columns(src, table), database)
        if drift.added:
            log.warning("%s", drift.describe())
        state = _read_state(lake, table, lake_prefix)
        bound, now = upper_bound(src, table, lag_s)
        start, end, full_refresh = plan_window(
            state, list_manifests(lake, table, lake_prefix), ingest_date, full_refresh, bound
        )
        if end is not None and (start is None or end > start):
            for i, batch in enumerate(prefetched(stream_window(src, table, start, end, chunk_size))):
                key = f"{staging}chunk-{i:05d}.arrows"
                lake.put_arrow_stream(key, batch)
                chunks.append(key)
                rows_in += batch.num_rows
        deferred, future = deferred_rows(src, table, now, lag_s)
    seconds = time.perf_counter() - t0
    log.info(
        "%s: extracted %d rows in %.1f s (%s -> %s) into %d staging chunk(s)",
        table,
        rows_in,
        seconds,
        start.as_dict() if start else "beginning",
        end.as_dict() if end else "-",
        len(chunks),
    )
    if deferred:
        log.warning(
            "%s: %d row(s) with updated_at > %s (MySQL clock %s - safety lag %d s) left for the next run%s",
            table,
            deferred,
            (now - dt.timedelta(seconds=lag_s)).isoformat(),
            now.isoformat(),
            lag_s,
            f"; {future} of them dated after the MySQL clock (upstream clock ahead?)" if future else "",
        )
    return {
        "table": table,
        "run_id": run_id,
        "ingest_date": ingest_date,
        "lake_prefix": lake_prefix,
        "database": database,
        "full_refresh": full_refresh,
        "airflow_run_id": airflow_run_id,
        "from": start.as_dict() if start else None,
        "to": end.as_dict() if end else None,
        "rows_in": rows_in,
        "staging": chunks,
        "schema_drift": drift.as_dict(),
        "source_now": now.isoformat(timespec="microseconds"),
        "safety_lag_s": lag_s,
        "deferred_rows": deferred,
        "future_rows": future,
        "seconds": round(seconds, 3),
    }


def validate(
    settings,
    extracted: dict,
    *,
    max_fraction: float | None = None,
    now: dt.datetime | None = None,
    lake: Lake | None = None,
) -> dict:
    """Step 2: rules per row; bad rows (+ ``reason``) -> ``quarantine/…/part-NNNNN.parquet``.

    Raises :class:`QuarantineThresholdExceeded` when quarantined / rows_in > ``max_fraction``
    (default INGEST_QUARANTINE_MAX_FRACTION); the quarantine files stay for inspection but no
    manifest lists them, so nothing is committed.
    """
    lake = lake or Lake(settings)
    table, run_id, prefix = extracted["table"], extracted["run_id"], extracted["lake_prefix"]
    if max_fraction is None:
        try:
            max_fraction = settings.ingest_quarantine_max_fraction
        except ConfigError as exc:  # a bad .env value fails the run at once, like a bad parameter
            raise ParamsError(str(exc)) from None
    now = now or utc_now()
    t0 = time.perf_counter()
    idc = ID_COLUMN[table]
    chunks = extracted["staging"]
    # pass 1: catalogue ids of the batch (hash-partitioned to local files above 2e6 rows) -> duplicate row_ids
    finder = DuplicateFinder(table, extracted["rows_in"])
    for ids in prefetched(lake.read_arrow_stream(k, columns=["row_id", idc, "deleted"]) for k in chunks):
        finder.add(ids)
    dups = finder.finish()
    # pass 2: rules, chunk by chunk (numpy masks; reason strings for the failing rows only)
    qschema = quarantine_schema(table)
    writer = PartWriter(
        lake,
        keys.quarantine_prefix(table, extracted["ingest_date"], run_id, prefix),
        qschema,
        row_group_rows=spec.ROW_GROUP_ROWS,
        rows_per_file=spec.ROWS_PER_FILE,
    )
    counts = dict.fromkeys(REASONS, 0)
    rejected_chunk, rejected_pos = [], []
    for i, batch in enumerate(prefetched(lake.read_arrow_stream(k) for k in chunks)):
        masks = reason_masks(table, batch, now, dups)
        any_bad = np.zeros(batch.num_rows, bool)
        for r, mask in masks.items():
            counts[r] += int(mask.sum())
            any_bad |= mask
        bad = np.flatnonzero(any_bad)
        if len(bad):
            why = join_reasons({r: m[bad] for r, m in masks.items()}, len(bad))
            rows = batch.take(pa.array(bad)).cast(pa.schema([f for f in qschema if f.name != "reason"]))
            writer.write(rows.append_column(qschema.field("reason"), pa.array(why.tolist(), pa.string())))
            rejected_chunk.append(np.full(len(bad), i, np.int32))
            rejected_pos.append(bad.astype(np.int32))
    qfiles = writer.close()
    rejected = pa.table(
        {
            "chunk": pa.array(np.concatenate(rejected_chunk) if rejected_chunk else [], pa.int32()),
            "pos": pa.array(np.concatenate(rejected_pos) if rejected_pos else [], pa.int32()),
        }
    )
    quarantined = rejected.num_rows
    rejected_key = keys.staging_prefix(table, run_id, prefix) + "rejected.arrows"
    lake.put_arrow_stream(rejected_key, rejected)
    counts = {r: n for r, n in counts.items() if n}
    rows_in = extracted["rows_in"]
    summary = ", ".join(f"{r}={n}" for r, n in counts.items()) or "none"
    log.info(
        "%s: %d of %d rows quarantined (%s) in %.1f s", table, quarantined, rows_in, summary, time.perf_counter() - t0
    )
    if rows_in and quarantined / rows_in > max_fraction:
        where = f"s3://{lake.bucket}/{keys.quarantine_prefix(table, extracted['ingest_date'], run_id, prefix)}"
        raise QuarantineThresholdExceeded(
            f"{table}: {quarantined} of {rows_in} rows ({quarantined / rows_in:.1%}) failed validation, above "
            f"INGEST_QUARANTINE_MAX_FRACTION={max_fraction:g} ({summary}); nothing committed — inspect {where}"
        )
    return {
        "quarantined": quarantined,
        "reasons": counts,
        "quarantine_files": [q.as_dict() for q in qfiles],
        "rejected": rejected_key,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def write(
    settings,
    extracted: dict,
    validated: dict,
    *,
    on_part: Callable[[PartInfo], None] | None = None,
    lake: Lake | None = None,
    row_group_rows: int = spec.ROW_GROUP_ROWS,
    rows_per_file: int = spec.ROWS_PER_FILE,
) -> dict:
    """Step 3: the rows validation kept -> ``raw/<table>/ingest_date=…/run_id=…/part-NNNNN.parquet``."""
    lake = lake or Lake(settings)
    table, run_id, prefix = extracted["table"], extracted["run_id"], extracted["lake_prefix"]
    t0 = time.perf_counter()
    rej = lake.read_arrow_stream(validated["rejected"])
    chunk_of, pos_of = rej.column("chunk").to_numpy(), rej.column("pos").to_numpy()
    schema = expected_schema(table)
    writer = PartWriter(
        lake,
        keys.raw_run_prefix(table, extracted["ingest_date"], run_id, prefix),
        schema,
        row_group_rows=row_group_rows,
        rows_per_file=rows_per_file,
        on_part=on_part,
    )
    try:
        for i, batch in enumerate(prefetched(lake.read_arrow_stream(k) for k in extracted["staging"])):
            keep = np.ones(batch.num_rows, bool)
            keep[pos_of[chunk_of == i]] = False
            writer.write(batch.filter(pa.array(keep)).cast(schema))
        files = writer.close()
    except BaseException:
        writer.abort()
        raise
    rows = sum(f.rows for f in files)
    if rows + validated["quarantined"] != extracted["rows_in"]:
        raise LakeIntegrityError(
            f"{table}: {rows} written + {validated['quarantined']} quarantined != "
            f"{extracted['rows_in']} extracted; not committing"
        )
    log.info("%s: wrote %d rows in %d part(s) in %.1f s", table, rows, len(files), time.perf_counter() - t0)
    return {"rows": rows, "files": [f.as_dict() for f in files], "seconds": round(time.perf_counter() - t0, 3)}


def build_manifest(extracted: dict, validated: dict, written: dict, committed_at: str) -> dict:
    schema = expected_schema(extracted["table"])
    return {
        "table": extracted["table"],
        "run_id": extracted["run_id"],
        "ingest_date": extracted["ingest_date"],
        "schema_version": SCHEMA_VERSION,
        "columns": [{"name": f.name, "type": str(f.type)} for f in schema],
        "files": written["files"],
        "rows": written["rows"],
        "rows_in": extracted["rows_in"],
        "quarantined": validated["quarantined"],
        "quarantine_reasons": validated["reasons"],
        "quarantine_files": validated["quarantine_files"],
        "watermark": {"from": extracted["from"], "to": extracted["to"]},
        "full_refresh": extracted["full_refresh"],
        "schema_drift": extracted["schema_drift"],
        "source": {
            "database": extracted["database"],
            "now": extracted.get("source_now"),
            "safety_lag_s": extracted.get("safety_lag_s"),
            "deferred_rows": extracted.get("deferred_rows"),
            "future_rows": extracted.get("future_rows"),
        },
        "airflow_run_id": extracted.get("airflow_run_id"),
        "writer": WRITER,
        "committed_at": committed_at,
    }


def commit(settings, extracted: dict, validated: dict, written: dict, *, lake: Lake | None = None) -> dict:
    """Step 4: check the parts, write the manifest (the commit), then the watermark; drop staging."""
    lake = lake or Lake(settings)
    table, prefix = extracted["table"], extracted["lake_prefix"]
    for f in written["files"] + validated["quarantine_files"]:
        size = lake.size(f["key"])
        if size != f["bytes"]:
            raise LakeIntegrityError(
                f"s3://{lake.bucket}/{f['key']} is {'missing' if size is None else f'{size} bytes'}"
                f", expected {f['bytes']}; not committing"
            )
    manifest = build_manifest(extracted, validated, written, utc_now().isoformat(timespec="microseconds"))
    key = keys.manifest_key(table, extracted["ingest_date"], extracted["run_id"], prefix)
    lake.put_json(key, manifest)
    state = _read_state(lake, table, prefix)
    to = Key.from_dict(extracted["to"])
    if to is not None and (state is None or to > state):
        lake.put_json(
            keys.watermark_key(table, prefix),
            {
                "table": table,
                "watermark": to.as_dict(),
                "ingest_date": extracted["ingest_date"],
                "run_id": extracted["run_id"],
                "manifest": key,
                "committed_at": manifest["committed_at"],
            },
        )
    try:
        lake.remove_prefix(keys.staging_prefix(table, extracted["run_id"], prefix))
    except Exception as exc:  # noqa: BLE001 - staging is never read; a leftover is harmless
        log.warning("%s: could not remove staging: %s", table, exc)
    log.info("%s: committed %s (%d rows, %d quarantined)", table, key, manifest["rows"], manifest["quarantined"])
    return {
        "table": table,
        "run_id": extracted["run_id"],
        "ingest_date": extracted["ingest_date"],
        "manifest": key,
        "rows": manifest["rows"],
        "rows_in": manifest["rows_in"],
        "quarantined": manifest["quarantined"],
        "watermark": manifest["watermark"],
    }


def ingest_table(
    settings,
    table: str,
    ingest_date: str,
    *,
    full_refresh: bool = False,
    chunk_size: int = spec.DEFAULT_CHUNK_SIZE,
    lake_prefix: str = "",
    database: str | None = None,
    max_fraction: float | None = None,
    on_part: Callable[[PartInfo], None] | None = None,
    safety_lag_s: int | None = None,
    lake: Lake | None = None,
) -> dict:
    """All four steps for one table, in-process; returns the commit summary (+ step timings)."""
    lake = lake or Lake(settings)
    t0 = time.perf_counter()
    e = extract(
        settings,
        table,
        ingest_date,
        full_refresh=full_refresh,
        chunk_size=chunk_size,
        lake_prefix=lake_prefix,
        database=database,
        safety_lag_s=safety_lag_s,
        lake=lake,
    )
    v = validate(settings, e, max_fraction=max_fraction, lake=lake)
    w = write(settings, e, v, on_part=on_part, lake=lake)
    c = commit(settings, e, v, w, lake=lake)
    c["seconds"] = {
        "extract": e["seconds"],
        "validate": v["seconds"],
        "write": w["seconds"],
        "total": round(time.perf_counter() - t0, 3),
    }
    return c
