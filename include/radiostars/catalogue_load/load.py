"""``radiostars load``: one published file into one catalogue table, all or nothing.

read (chunked, :mod:`readers`) -> map columns and units (:mod:`plan`) -> judge every row with the
ingestion's own validation rules (only to count what the next ingestion will quarantine; bad rows are
loaded, the ingestion quarantines them with their reasons) -> write (:mod:`writer`, the seeder's bulk
path) in one transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from radiostars.catalogue_load import columns as cols
from radiostars.catalogue_load.errors import LoadError
from radiostars.catalogue_load.plan import ChunkStats, convert_chunk, parse_overrides, resolve
from radiostars.catalogue_load.readers import detect_format, open_reader
from radiostars.catalogue_load.writer import FreshWriter, MergeWriter, ensure_table, is_empty, next_updated_at, utc_now

DEFAULT_CHUNK_ROWS = 100_000
DEFAULT_STREAMS = 2  # LOAD DATA streams into a fresh table (2 cores)
MODES = ("upsert", "replace")


def row_reasons() -> list[str]:
    """The per-row validation rules, in the ingestion's order (duplicates are judged in SQL)."""
    from radiostars.ingest.validate import REASONS

    return [r for r in REASONS if r != "duplicate_id"]


def reason_bits(table: str, df: pd.DataFrame, now: dt.datetime) -> np.ndarray:
    """Per row, a bit mask of the validation rules it fails (bit i = row_reasons()[i]), computed by
    the ingestion's own :func:`radiostars.ingest.validate.row_failures` on the row as it will be stored."""
    from radiostars.catalogues.arrow import expected_schema
    from radiostars.ingest.validate import row_failures

    n = len(df)
    arrays = []
    for f in expected_schema(table):
        if f.name == "row_id":
            arrays.append(pa.array(np.arange(1, n + 1, dtype=np.int64)))
        elif f.name == "deleted":
            arrays.append(pa.array(np.zeros(n, bool)))
        elif f.name == "updated_at":
            arrays.append(pa.array(np.full(n, np.datetime64(now.replace(tzinfo=None), "us"))).cast(f.type))
        elif f.name in df.columns:
            arrays.append(pa.array(df[f.name], type=f.type, from_pandas=True))
        else:
            arrays.append(pa.nulls(n, f.type))
    batch = pa.RecordBatch.from_arrays(arrays, names=[f.name for f in expected_schema(table)])
    fails = row_failures(table, batch, now)
    bits = np.zeros(n, np.int64)
    for i, r in enumerate(row_reasons()):
        bits |= fails[r].astype(np.int64) << i
    return bits


class RoundRobin:
    """Chunks dealt in turn to one or more seeder loaders (each on its own connection, each in its own
    background thread when ``background``: reading and converting overlap the server's work)."""

    def __init__(self, loaders: list, background: bool):
        from radiostars.sample.loader import BackgroundLoader

        self.base = loaders
        self.loaders = [BackgroundLoader(x) if background else x for x in loaders]
        self.background = background
        self.turn = 0

    def load(self, table: str, df: pd.DataFrame) -> None:
        self.loaders[self.turn % len(self.loaders)].load(table, df)
        self.turn += 1

    def close(self) -> None:
        errors = []
        for x in self.loaders:
            if self.background:
                try:
                    x.close()
                except BaseException as exc:  # noqa: BLE001 - every thread is stopped before raising
                    errors.append(exc)
        for x in self.base:  # the threads are done: release their prepared statements
            with contextlib.suppress(Exception):  # cleanup only: they also end with the connection
                x.close()
        if errors:
            raise errors[0]


def load_file(
    settings,
    table: str,
    path: str | Path,
    *,
    fmt: str | None = None,
    maps: list[str] | None = None,
    catalogue: str | None = None,
    mode: str = "upsert",
    database: str | None = None,
    root: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    background: bool = True,
    streams: int = DEFAULT_STREAMS,
    binary: bool = True,
) -> dict:
    """Load ``path`` into ``table``; returns the summary. Raises LoadError (nothing written) on bad input.

    ``binary``: numeric chunks go as binary prepared INSERTs (about half the server CPU of LOAD DATA's
    text parsing); False = LOAD DATA for every chunk (the seeder's path; for comparison)."""
    from radiostars.sample.errors import SampleError
    from radiostars.sample.loader import MySQLLoader, connect

    t0 = time.perf_counter()
    if table not in cols.tables():
        raise LoadError(f"unknown table {table!r}; choose from {', '.join(cols.tables())}")
    if mode not in MODES:
        raise LoadError(f"mode {mode!r} must be upsert or replace")
    if chunk_rows < 1:
        raise LoadError(f"chunk size {chunk_rows} must be >= 1")
    if streams < 1:
        raise LoadError(f"streams {streams} must be >= 1")
    path = Path(path)
    fmt = detect_format(path, fmt)
    reader = open_reader(path, fmt)
    plan = resolve(table, reader.columns, map_key=catalogue, overrides=parse_overrides(maps))
    file_cols = {c.name: c for c in reader.columns}
    names = plan.source_columns
    now = utc_now()
    url = settings.mysql_url(root=root, database=database)
    stats = ChunkStats()
    try:
        ensure_table(url, table)
        with connect(url) as conn, contextlib.ExitStack() as extra:
            with conn.cursor() as cur:
                fresh = is_empty(cur, table)
                ts = next_updated_at(cur, table) if fresh else None
            conn.commit()
            writer = (
                FreshWriter(conn, table, ts, None)
                if fresh
                else MergeWriter(conn, table, None, [c for c in plan.targets], replace=(mode == "replace"))
            )
            # a fresh copy is a real table: it can be filled over several connections at once (the server
            # runs each connection's statements on one core); the merge stage is TEMPORARY: one connection
            conns = [conn] + ([extra.enter_context(connect(url)) for _ in range(streams - 1)] if fresh else [])
            loader = RoundRobin([MySQLLoader(c, binary=binary) for c in conns], background)
            writer.loader = loader
            try:
                kwargs = {"types": plan.csv_types(file_cols)} if fmt == "csv" else {}
                for chunk in reader.iter_chunks(names, chunk_rows, **kwargs):
                    n = len(next(iter(chunk.values()))) if chunk else 0
                    df = convert_chunk(plan, chunk, n, stats)
                    if len(df):
                        writer.write(df, reason_bits(table, df, now))
                loader.close()
                if stats.rows_in == 0:
                    raise LoadError(f"{path.name}: no rows to load")
                result = writer.finish(row_reasons())
                conn.commit()
            except BaseException:
                try:
                    loader.close()
                except Exception:  # noqa: BLE001 - the first error is the one to report
                    pass
                conn.rollback()
                raise
            finally:
                writer.drop()
    except SampleError as exc:
        raise LoadError(str(exc)) from None
    seconds = time.perf_counter() - t0
    written = result.inserted + result.updated
    batch = written + result.deleted  # what the next ingestion extracts: changed rows and tombstones
    limit = settings.ingest_quarantine_max_fraction
    return {
        "table": table,
        "file": str(path),
        "format": fmt,
        "map": plan.map.key,
        "map_title": plan.map.title,
        "mode": mode,
        "write": result.mode,
        "database": url.rsplit("/", 1)[-1],
        "columns": [c.describe(table) for c in plan.columns],
        "null_columns": plan.unmapped,
        "notes": plan.notes,
        "rows_read": stats.rows_in,
        "skipped_no_id": stats.no_id,
        "nonfinite_to_null": stats.nonfinite,
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "soft_deleted": result.deleted,
        "updated_at": result.updated_at,
        "expected_quarantine": {
            "rows": result.quarantine_rows,
            "reasons": result.reasons,
            "fraction": round(result.quarantine_rows / batch, 6) if batch else 0.0,
            "max_fraction": limit,
        },
        "object_types": {
            "mapped": stats.types_mapped,
            "kept": dict(sorted(stats.types_kept.items(), key=lambda kv: -kv[1])[:10]),
        }
        if table == "known_objects"
        else None,
        "seconds": round(seconds, 3),
        "rows_per_s": round(stats.rows_in / seconds) if seconds else None,
    }


def format_summary(s: dict) -> str:
    """The human report printed by the CLI."""
    lines = [
        f"{s['table']} <- {Path(s['file']).name} ({s['format']}, map {s['map']}: {s['map_title']}) "
        f"into database {s['database']}, {s['mode']}"
    ]
    lines += [f"  {c}" for c in s["columns"]]
    if s["null_columns"]:
        lines.append(f"  not in the file (NULL): {', '.join(s['null_columns'])}")
    lines += [f"  note: {n}" for n in s["notes"]]
    lines.append(
        f"  rows read {s['rows_read']:,}: {s['inserted']:,} new, {s['updated']:,} changed, "
        f"{s['unchanged']:,} unchanged"
        + (f", {s['soft_deleted']:,} soft-deleted (not in the file)" if s["mode"] == "replace" else "")
        + f" in {s['seconds']:.1f} s ({s['rows_per_s'] or 0:,} rows/s)"
    )
    if s["skipped_no_id"]:
        lines.append(f"  skipped {s['skipped_no_id']:,} row(s) without a catalogue id (the schema requires one)")
    if s["nonfinite_to_null"]:
        lines.append(f"  {s['nonfinite_to_null']:,} infinite value(s) stored as NULL")
    if s.get("object_types"):
        o = s["object_types"]
        kept = ", ".join(f"{k} {v}" for k, v in o["kept"].items())
        lines.append(
            f"  object types: {o['mapped']:,} SIMBAD code(s) translated to the vocabulary (Psr -> Pulsar, "
            f"QSO -> AGN, PM* -> Star …)" + (f"; outside it, kept as they are: {kept}" if kept else "")
        )
    q = s["expected_quarantine"]
    if q["rows"]:
        why = ", ".join(f"{k} {v:,}" for k, v in q["reasons"].items())
        lines.append(
            f"  expect {q['rows']:,} of the {s['inserted'] + s['updated']:,} written row(s) to be "
            f"quarantined by the next ingestion ({why})"
        )
        if q["fraction"] > q["max_fraction"]:
            lines.append(
                f"  WARNING: that is {q['fraction']:.1%} of the rows this load changed (what the next "
                f"incremental ingestion extracts), above "
                f"INGEST_QUARANTINE_MAX_FRACTION = {q['max_fraction']:.1%}: the ingestion run will fail "
                f"unless you fix the file or raise the limit in .env"
            )
    else:
        lines.append("  expect no row to be quarantined by the next ingestion")
    if s["inserted"] + s["updated"] + s["soft_deleted"]:
        lines.append(
            f"  updated_at {s['updated_at']} (UTC): the next `catalogue_ingestion` run (nightly, or "
            f"Trigger in the Airflow UI) picks up exactly these rows once they are older than its "
            f"safety lag (INGEST_SAFETY_LAG_S, default 5 min)"
        )
    else:
        lines.append("  nothing changed: the next ingestion has nothing new from this table")
    return "\n".join(lines)
