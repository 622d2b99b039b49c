"""The four steps of ingesting one table, each a plain function (the DAG runs one task per step;
tests, the benchmark and the CLI call :func:`ingest_table`). Steps exchange small JSON-able dicts.

1. :func:`extract`  — fix the window, stream it from MySQL into run-scoped staging Parquet chunks.
2. :func:`validate` — apply the rules; bad rows -> ``quarantine/``; fail above the threshold.
3. :func:`write`    — good rows -> deterministic ``raw/`` parts with sha256.
4. :func:`commit`   — ``_manifest.json`` (the commit), then the watermark; drop the staging.

Nothing is visible to readers before step 4 writes the manifest; the watermark moves only after it.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from radiostars.config import ConfigError
from radiostars.ingest import spec
from radiostars.ingest.errors import LakeIntegrityError, ParamsError, QuarantineThresholdExceeded
from radiostars.ingest.extract import Key, connect, live_columns, max_key, stream_window
from radiostars.ingest.lake_io import Lake, PartInfo, PartWriter, parquet_bytes
from radiostars.ingest.manifest import list_manifests, newest_manifest
from radiostars.ingest.schema import (check_drift, expected_schema, id_column, quarantine_schema,
                                      schema_version)
from radiostars.ingest.validate import REASONS, duplicate_row_ids, reasons

log = logging.getLogger("radiostars.ingest")
WRITER = "radiostars.ingest"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def new_run_id(now: dt.datetime | None = None) -> str:
    """Sortable, unique per attempt, safe in S3 keys and Hadoop paths: 20250101T020000123456Z-a1b2c3."""
    now = now or utc_now()
    return f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(3)}"


def _read_state(lake: Lake, table: str, lake_prefix: str) -> Key | None:
    state = lake.get_json(spec.watermark_key(table, lake_prefix))
    return Key.from_dict(state.get("watermark")) if state else None


def plan_window(state: Key | None, manifests: list[dict], ingest_date: str, full_refresh: bool,
                current: Key | None) -> tuple[Key | None, Key | None, bool]:
    """(from, to, full_refresh) of a run; rows with from < key <= to are extracted.

    * full refresh: from the beginning to the current maximum;
    * rerun of an already committed date: from that date's ``from`` (so its data is replaced),
      to the current maximum — or to its old ``to`` if later dates were committed since;
    * otherwise: from the committed watermark (the state file, or a newer manifest if a commit
      stopped between manifest and watermark) to the current maximum.
    """
    ours = [m for m in manifests if m.get("watermark")]
    committed = max((Key.from_dict(m["watermark"]["to"]) for m in ours if m["watermark"].get("to")),
                    default=None)
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


def extract(settings, table: str, ingest_date: str, *, run_id: str | None = None, full_refresh: bool = False,
            chunk_size: int = spec.DEFAULT_CHUNK_SIZE, lake_prefix: str = "", database: str | None = None,
            airflow_run_id: str | None = None, lake: Lake | None = None) -> dict:
    """Step 1: stream the window into ``_staging/<table>/run_id=<run>/chunk-NNNNN.parquet``."""
    if table not in spec.TABLES:
        raise ParamsError(f"unknown table {table!r}; choose from {', '.join(spec.TABLES)}")
    spec.check_ingest_date(ingest_date)
    lake_prefix = spec.check_prefix(lake_prefix)
    run_id = spec.check_run_id(run_id or new_run_id())
    chunk_size = spec.parse_params({"chunk_size": chunk_size}).chunk_size
    lake = lake or Lake(settings)
    lake.ensure_bucket()
    database = database or settings["MYSQL_DATABASE"]
    t0 = time.perf_counter()
    staging = spec.staging_prefix(table, run_id, lake_prefix)
    keys: list[str] = []
    rows_in = 0
    with connect(settings.mysql_url(database=database)) as src:
        drift = check_drift(table, live_columns(src, table), database)
        if drift.added:
            log.warning("%s", drift.describe())
        state = _read_state(lake, table, lake_prefix)
        start, end, full_refresh = plan_window(state, list_manifests(lake, table, lake_prefix), ingest_date,
                                               full_refresh, max_key(src, table))
        if end is not None and (start is None or end > start):
            for i, batch in enumerate(stream_window(src, table, start, end, chunk_size)):
                key = f"{staging}chunk-{i:05d}.parquet"
                lake.put_bytes(key, parquet_bytes(batch), "application/vnd.apache.parquet")
                keys.append(key)
                rows_in += batch.num_rows
    seconds = time.perf_counter() - t0
    log.info("%s: extracted %d rows in %.1f s (%s -> %s) into %d staging chunk(s)", table, rows_in, seconds,
             start.as_dict() if start else "beginning", end.as_dict() if end else "-", len(keys))
    return {"table": table, "run_id": run_id, "ingest_date": ingest_date, "lake_prefix": lake_prefix,
            "database": database, "full_refresh": full_refresh, "airflow_run_id": airflow_run_id,
            "from": start.as_dict() if start else None, "to": end.as_dict() if end else None,
            "rows_in": rows_in, "staging": keys, "schema_drift": drift.as_dict(),
            "seconds": round(seconds, 3)}


def validate(settings, extracted: dict, *, max_fraction: float | None = None, now: dt.datetime | None = None,
             lake: Lake | None = None) -> dict:
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
    idc = id_column(table)
    chunks = extracted["staging"]
    # pass 1: catalogue ids of the whole batch (a few bytes per row) -> duplicate row_ids
    ids = [lake.read_parquet(k, columns=["row_id", idc, "deleted"]) for k in chunks]
    dups = duplicate_row_ids(table, pa.concat_tables(ids)) if ids else pa.array([], pa.int64())
    del ids
    # pass 2: rules, chunk by chunk
    qschema = quarantine_schema(table)
    writer = PartWriter(lake, spec.quarantine_prefix(table, extracted["ingest_date"], run_id, prefix), qschema,
                        row_group_rows=spec.ROW_GROUP_ROWS, rows_per_file=spec.ROWS_PER_FILE)
    counts = dict.fromkeys(REASONS, 0)
    rejected_chunk, rejected_pos = [], []
    for i, key in enumerate(chunks):
        batch = lake.read_parquet(key)
        why = reasons(table, batch, now, dups)
        bad = np.flatnonzero(why != "")
        if len(bad):
            rows = batch.take(pa.array(bad)).cast(pa.schema([f for f in qschema if f.name != "reason"]))
            writer.write(rows.append_column(qschema.field("reason"), pa.array(why[bad].tolist(), pa.string())))
            rejected_chunk += [i] * len(bad)
            rejected_pos += bad.tolist()
            for text in why[bad]:
                for r in text.split(";"):
                    counts[r] += 1
    qfiles = writer.close()
    quarantined = len(rejected_pos)
    rejected_key = spec.staging_prefix(table, run_id, prefix) + "rejected.parquet"
    lake.put_bytes(rejected_key, parquet_bytes(pa.table({"chunk": pa.array(rejected_chunk, pa.int32()),
                                                         "pos": pa.array(rejected_pos, pa.int32())})))
    counts = {r: n for r, n in counts.items() if n}
    rows_in = extracted["rows_in"]
    summary = ", ".join(f"{r}={n}" for r, n in counts.items()) or "none"
    log.info("%s: %d of %d rows quarantined (%s) in %.1f s", table, quarantined, rows_in, summary,
             time.perf_counter() - t0)
    if rows_in and quarantined / rows_in > max_fraction:
        where = f"s3://{lake.bucket}/{spec.quarantine_prefix(table, extracted['ingest_date'], run_id, prefix)}"
        raise QuarantineThresholdExceeded(
            f"{table}: {quarantined} of {rows_in} rows ({quarantined / rows_in:.1%}) failed validation, above "
            f"INGEST_QUARANTINE_MAX_FRACTION={max_fraction:g} ({summary}); nothing committed — inspect {where}")
    return {"quarantined": quarantined, "reasons": counts, "quarantine_files": [q.as_dict() for q in qfiles],
            "rejected": rejected_key, "seconds": round(time.perf_counter() - t0, 3)}


def write(settings, extracted: dict, validated: dict, *, on_part: Callable[[PartInfo], None] | None = None,
          lake: Lake | None = None, row_group_rows: int = spec.ROW_GROUP_ROWS,
          rows_per_file: int = spec.ROWS_PER_FILE) -> dict:
    """Step 3: the rows validation kept -> ``raw/<table>/ingest_date=…/run_id=…/part-NNNNN.parquet``."""
    lake = lake or Lake(settings)
    table, run_id, prefix = extracted["table"], extracted["run_id"], extracted["lake_prefix"]
    t0 = time.perf_counter()
    rej = lake.read_parquet(validated["rejected"])
    chunk_of, pos_of = rej.column("chunk").to_numpy(), rej.column("pos").to_numpy()
    schema = expected_schema(table)
    writer = PartWriter(lake, spec.run_prefix(table, extracted["ingest_date"], run_id, prefix), schema,
                        row_group_rows=row_group_rows, rows_per_file=rows_per_file, on_part=on_part)
    try:
        for i, key in enumerate(extracted["staging"]):
            batch = lake.read_parquet(key)
            keep = np.ones(batch.num_rows, bool)
            keep[pos_of[chunk_of == i]] = False
            writer.write(batch.filter(pa.array(keep)).cast(schema))
        files = writer.close()
    except BaseException:
        writer.abort()
        raise
    rows = sum(f.rows for f in files)
    if rows + validated["quarantined"] != extracted["rows_in"]:
        raise LakeIntegrityError(f"{table}: {rows} written + {validated['quarantined']} quarantined != "
                                 f"{extracted['rows_in']} extracted; not committing")
    log.info("%s: wrote %d rows in %d part(s) in %.1f s", table, rows, len(files), time.perf_counter() - t0)
    return {"rows": rows, "files": [f.as_dict() for f in files], "seconds": round(time.perf_counter() - t0, 3)}


def build_manifest(extracted: dict, validated: dict, written: dict, committed_at: str) -> dict:
    schema = expected_schema(extracted["table"])
    return {
        "table": extracted["table"], "run_id": extracted["run_id"], "ingest_date": extracted["ingest_date"],
        "schema_version": schema_version(),
        "columns": [{"name": f.name, "type": str(f.type)} for f in schema],
        "files": written["files"], "rows": written["rows"], "rows_in": extracted["rows_in"],
        "quarantined": validated["quarantined"], "quarantine_reasons": validated["reasons"],
        "quarantine_files": validated["quarantine_files"],
        "watermark": {"from": extracted["from"], "to": extracted["to"]},
        "full_refresh": extracted["full_refresh"], "schema_drift": extracted["schema_drift"],
        "source": {"database": extracted["database"]}, "airflow_run_id": extracted.get("airflow_run_id"),
        "writer": WRITER, "committed_at": committed_at,
    }


def commit(settings, extracted: dict, validated: dict, written: dict, *, lake: Lake | None = None) -> dict:
    """Step 4: check the parts, write the manifest (the commit), then the watermark; drop staging."""
    lake = lake or Lake(settings)
    table, prefix = extracted["table"], extracted["lake_prefix"]
    for f in written["files"] + validated["quarantine_files"]:
        size = lake.size(f["key"])
        if size != f["bytes"]:
            raise LakeIntegrityError(f"s3://{lake.bucket}/{f['key']} is {'missing' if size is None else f'{size} bytes'}"
                                     f", expected {f['bytes']}; not committing")
    manifest = build_manifest(extracted, validated, written, utc_now().isoformat(timespec="microseconds"))
    key = spec.manifest_key(table, extracted["ingest_date"], extracted["run_id"], prefix)
    lake.put_json(key, manifest)
    state = _read_state(lake, table, prefix)
    to = Key.from_dict(extracted["to"])
    if to is not None and (state is None or to > state):
        lake.put_json(spec.watermark_key(table, prefix), {
            "table": table, "watermark": to.as_dict(), "ingest_date": extracted["ingest_date"],
            "run_id": extracted["run_id"], "manifest": key, "committed_at": manifest["committed_at"]})
    try:
        lake.remove_prefix(spec.staging_prefix(table, extracted["run_id"], prefix))
    except Exception as exc:  # noqa: BLE001 - staging is never read; a leftover is harmless
        log.warning("%s: could not remove staging: %s", table, exc)
    log.info("%s: committed %s (%d rows, %d quarantined)", table, key, manifest["rows"], manifest["quarantined"])
    return {"table": table, "run_id": extracted["run_id"], "ingest_date": extracted["ingest_date"],
            "manifest": key, "rows": manifest["rows"], "rows_in": manifest["rows_in"],
            "quarantined": manifest["quarantined"], "watermark": manifest["watermark"]}


def ingest_table(settings, table: str, ingest_date: str, *, full_refresh: bool = False,
                 chunk_size: int = spec.DEFAULT_CHUNK_SIZE, lake_prefix: str = "", database: str | None = None,
                 max_fraction: float | None = None, on_part: Callable[[PartInfo], None] | None = None,
                 lake: Lake | None = None) -> dict:
    """All four steps for one table, in-process; returns the commit summary (+ step timings)."""
    lake = lake or Lake(settings)
    t0 = time.perf_counter()
    e = extract(settings, table, ingest_date, full_refresh=full_refresh, chunk_size=chunk_size,
                lake_prefix=lake_prefix, database=database, lake=lake)
    v = validate(settings, e, max_fraction=max_fraction, lake=lake)
    w = write(settings, e, v, on_part=on_part, lake=lake)
    c = commit(settings, e, v, w, lake=lake)
    c["seconds"] = {"extract": e["seconds"], "validate": v["seconds"], "write": w["seconds"],
                    "total": round(time.perf_counter() - t0, 3)}
    return c
