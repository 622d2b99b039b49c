"""Load one committed cross-match run from the lake into the ``raw`` schema of the warehouse.

``load_run(settings, run_id)``:

1. reads ``crossmatch/<run_id>/_SUCCESS`` (refuses a missing or uncommitted run, or one whose listed
   files are missing or differ in size: :func:`radiostars.lake.runs.read_committed_run`) and only the
   files it lists, plus ``metrics.json``;
2. checks every Parquet footer against :mod:`radiostars.warehouse.schema` *before* touching Postgres
   (a mismatch names the file and the missing / extra / mistyped columns);
3. in **one transaction**: drops the partitions an earlier load of the same run id left, streams each part
   row group by row group (pyarrow ``iter_batches`` → binary ``COPY … FROM STDIN``,
   :mod:`radiostars.warehouse.pgbinary`) into a fresh partition of the run, builds the
   known-objects snapshot, checks ``best`` against the rank-1 pairs, writes ``raw.crossmatch_runs``,
   and marks the ``raw.load_log`` row succeeded. Any error rolls all of it back and marks the log row
   failed with the message: nothing is ever half-loaded.

Known objects: ``crossmatch/<run_id>/known_objects/`` when the run commits it, else the snapshot of
``raw/known_objects/`` built from the effective manifests committed at or before the run's commit
(latest version per name by (updated_at, row_id), deleted rows dropped) — see docs/warehouse.md.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from radiostars.config import Settings
from radiostars.errors import RadiostarsError
from radiostars.lake.keys import check_run_id
from radiostars.lake.raw import effective_manifests, manifest_file_sizes
from radiostars.lake.runs import read_committed_run, run_calibration
from radiostars.lake.store import Lake

from . import pgbinary
from .db import connect, pg_message
from .errors import ConsistencyError, LoadError, SchemaMismatchError, WarehouseUnavailableError
from .schema import (
    ALL_SPECS,
    BEST,
    CONTROL,
    FILE_RUN_ID,
    KNOWN_OBJECTS,
    OPTICAL,
    PAIRS,
    RADIO,
    RAW_SCHEMA,
    REQUIRED_PARTS,
    RUNS_CALIBRATION_COLUMNS,
    PartSpec,
    all_ddl,
)

BATCH_ROWS = 65_536


@dataclass
class LoadResult:
    run_id: str
    load_id: int
    rows: dict[str, int]
    known_objects_source: str
    seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class _PartFiles:
    spec: PartSpec
    files: list[tuple[str, object, dict]] = field(default_factory=list)  # (key, ParquetFile, plan)

    @property
    def rows(self) -> int:
        return sum(pf.metadata.num_rows for _, pf, _ in self.files)


def ensure_raw_schema(conn: psycopg.Connection) -> None:
    """Create the raw schema, its tables and indexes when missing (idempotent)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('radiostars.raw_ddl'))")
        for stmt in all_ddl():
            conn.execute(stmt)


def _inspect(lake: Lake, spec: PartSpec, files: list[tuple[str, int]]) -> _PartFiles:
    out = _PartFiles(spec)
    for key, size in files:
        try:
            pf = lake.open_parquet(key, size)
        except (pa.ArrowInvalid, OSError) as exc:
            if isinstance(exc, RadiostarsError):
                raise
            raise SchemaMismatchError(f"{key} is not a readable Parquet file: {exc}") from None
        plan = spec.plan(pf.schema_arrow, key)
        out.files.append((key, pf, plan))
    return out


def _conform(batch: pa.RecordBatch, spec: PartSpec, plan: dict, run_id: str, where: str) -> pa.Table:
    """Our columns in our order with our types, run_id first; absent optional columns as NULL."""
    n = batch.num_rows
    if FILE_RUN_ID in plan:
        values = pc.unique(batch.column(plan[FILE_RUN_ID])).to_pylist()
        if any(v != run_id for v in values):
            raise ConsistencyError(f"{where}: run_id column holds {values[:3]}, not {run_id!r}")
    arrays = [pa.repeat(pa.scalar(run_id, pa.string()), n)]
    for col in spec.columns:
        src = plan[col.name]
        if src is None:
            arrays.append(pa.nulls(n, col.arrow_type))
            continue
        arr = batch.column(src)
        if arr.type != col.arrow_type:
            try:
                arr = arr.cast(col.arrow_type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SchemaMismatchError(f"{where}: column {src} does not convert to {col.kind}: {exc}") from None
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, names=["run_id", *spec.names])


def _copy_part(
    cur: psycopg.Cursor, part: _PartFiles, run_id: str, target: str, batch_rows: int, freeze: bool = False
) -> int:
    """Stream every file of a part into ``target``: row group by row group, Arrow → binary COPY."""
    cols = ", ".join(["run_id", *part.spec.names])
    kinds = ["string", *(c.kind for c in part.spec.columns)]
    rows = 0
    options = "FORMAT binary, FREEZE" if freeze else "FORMAT binary"
    # the queued writer sends from a worker thread, so encoding the next batch overlaps the server's work
    with cur.copy(f"COPY {target} ({cols}) FROM STDIN ({options})", writer=QueuedLibpqWriter(cur)) as copy:
        copy.write(pgbinary.HEADER)
        for key, pf, plan in part.files:
            wanted = sorted({v for k, v in plan.items() if v is not None})
            for batch in pf.iter_batches(batch_size=batch_rows, columns=wanted):
                table = _conform(batch, part.spec, plan, run_id, key)
                for chunk in pgbinary.encode_chunks(table, kinds):
                    copy.write(chunk)
                rows += table.num_rows
        copy.write(pgbinary.TRAILER)
    return rows


def _new_partition(cur: psycopg.Cursor, spec: PartSpec, run_id: str) -> str:
    """Drop the run's previous partition (an earlier load) and create an empty, index-free one."""
    name = f"{RAW_SCHEMA}.{spec.partition(run_id)}"
    cur.execute(f"DROP TABLE IF EXISTS {name}")
    cur.execute(f"CREATE TABLE {name} (LIKE {RAW_SCHEMA}.{spec.table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    return name


def _attach(cur: psycopg.Cursor, spec: PartSpec, run_id: str, name: str) -> None:
    cur.execute(
        sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(
            sql.Identifier(RAW_SCHEMA, spec.table),
            sql.Identifier(RAW_SCHEMA, spec.partition(run_id)),
            sql.Literal(run_id),
        )
    )


def _check_partitioned(cur: psycopg.Cursor) -> None:
    for spec in (RADIO, OPTICAL, PAIRS, CONTROL, KNOWN_OBJECTS):
        kind = cur.execute(
            "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s",
            (RAW_SCHEMA, spec.table),
        ).fetchone()
        if kind and kind[0] != "p":
            raise LoadError(
                f"raw.{spec.table} is not partitioned by run_id (created by an older version): "
                "drop schema raw and reload the runs"
            )


def _float(value) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def calibration_columns(metrics: dict) -> dict:
    """The ``raw.crossmatch_runs`` calibration columns from metrics.json ``calibration``
    (:func:`radiostars.lake.runs.run_calibration`): all NULL for a run written before the job recorded one; a value of
    the wrong type or a non-finite number is NULL too (the whole metrics.json is kept anyway)."""
    cal = run_calibration(metrics) or {}
    out = {c: cal.get(c) for c, _ in RUNS_CALIBRATION_COLUMNS if c != "calibration_curve"}
    out["calibration_curve"] = json.dumps(cal["curve"]) if cal.get("curve") is not None else None
    return out


def latest_loaded_run(settings: Settings) -> str | None:
    """The run id of the most recent successful load (what the marts show by default)."""
    with connect(settings) as conn:
        exists = conn.execute("SELECT to_regclass('raw.load_log')").fetchone()[0]
        if exists is None:
            return None
        row = conn.execute(
            "SELECT run_id FROM raw.load_log WHERE status = 'succeeded' ORDER BY finished_at DESC, load_id DESC LIMIT 1"
        ).fetchone()
    return row[0] if row else None


def load_run(settings: Settings, run_id: str, *, batch_rows: int = BATCH_ROWS) -> LoadResult:
    """Load the committed cross-match run ``run_id`` into ``raw.*`` (idempotent per run id)."""
    started = time.perf_counter()
    check_run_id(run_id)
    lake = Lake(settings)
    run = read_committed_run(lake, run_id, required=REQUIRED_PARTS)

    # 1. every footer checked before anything is written
    parts = {spec.part: _inspect(lake, spec, run.parts.get(spec.part, [])) for spec in (RADIO, OPTICAL, PAIRS, CONTROL)}
    best = _inspect(lake, BEST, run.parts["best"]) if "best" in run.parts else None
    if "known_objects" in run.parts:
        ko_source = f"run:{run.prefix}known_objects/"
        ko_files = run.parts["known_objects"]
    else:
        manifests = effective_manifests(settings, "known_objects", lake=lake, committed_before=run.committed_at)
        ko_files = [f for m in manifests for f in manifest_file_sizes(lake, m)]
        ko_source = (
            f"raw:{len(manifests)} manifest(s) of raw/known_objects/ committed <= "
            f"{run.committed_at.isoformat() if run.committed_at else 'now'}"
            if manifests
            else "none"
        )
    known = _inspect(lake, KNOWN_OBJECTS, ko_files)

    # 2. one transaction
    with connect(settings) as conn:
        ensure_raw_schema(conn)
        load_id = conn.execute(
            "INSERT INTO raw.load_log (run_id, status, known_objects_source) VALUES (%s, 'running', %s) "
            "RETURNING load_id",
            (run_id, ko_source),
        ).fetchone()[0]
        step = "starting"
        try:
            rows: dict[str, int] = {}
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext('radiostars.load'), hashtext(%s))", (run_id,))
                _check_partitioned(cur)
                cur.execute("DELETE FROM raw.crossmatch_runs WHERE run_id = %s", (run_id,))
                for part in ("radio", "optical", "pairs", "control"):
                    spec = ALL_SPECS[part]
                    step = f"copying {part}/ into raw.{spec.table}"
                    name = _new_partition(cur, spec, run_id)
                    rows[spec.table] = _copy_part(cur, parts[part], run_id, name, batch_rows, freeze=True)
                    _attach(cur, spec, run_id, name)
                step = "building the known_objects snapshot"
                cur.execute(
                    "CREATE TEMP TABLE _known_objects_stage (LIKE raw.known_objects INCLUDING DEFAULTS) ON COMMIT DROP"
                )
                _copy_part(cur, known, run_id, "_known_objects_stage", batch_rows)
                name = _new_partition(cur, KNOWN_OBJECTS, run_id)
                cols = ", ".join(["run_id", *KNOWN_OBJECTS.names])
                cur.execute(f"""
                    INSERT INTO {name} ({cols})
                    SELECT {cols} FROM (
                      SELECT DISTINCT ON (name) * FROM _known_objects_stage
                      ORDER BY name, updated_at DESC NULLS LAST, row_id DESC NULLS LAST) latest
                    WHERE NOT coalesce(deleted, false)""")
                rows["known_objects"] = cur.rowcount
                _attach(cur, KNOWN_OBJECTS, run_id, name)

                step = "checking best/ against the rank-1 pairs"
                n_rank1 = cur.execute(
                    f"SELECT count(*) FROM {RAW_SCHEMA}.{PAIRS.partition(run_id)} WHERE rank = 1"
                ).fetchone()[0]
                if best is not None and best.rows != n_rank1:
                    raise ConsistencyError(
                        f"run {run_id!r}: best/ has {best.rows} rows but pairs/ has {n_rank1} rank-1 rows"
                    )
                step = "writing raw.crossmatch_runs"
                metrics = run.metrics
                params = metrics.get("parameters", metrics.get("params")) or {}
                cal = calibration_columns(metrics)
                cur.execute(
                    """INSERT INTO raw.crossmatch_runs (run_id, committed_at, parameters, metrics, marker,
                         far_analytic, far_control, n_radio, n_optical, n_pairs, n_best, n_control_offsets,
                         n_known_objects, known_objects_source, target_false_rate, p_any_cut, false_rate_at_cut,
                         n_selected_at_cut, n_control_sources, calibration_curve)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                    (
                        run_id,
                        run.committed_at,
                        json.dumps(params),
                        json.dumps(metrics),
                        json.dumps(run.marker),
                        _float(metrics.get("far_analytic")),
                        _float(metrics.get("far_control")),
                        rows["radio_sources"],
                        rows["optical_sources"],
                        rows["crossmatch_pairs"],
                        n_rank1,
                        rows["crossmatch_control"],
                        rows["known_objects"],
                        ko_source,
                        *(cal[c] for c, _ in RUNS_CALIBRATION_COLUMNS),
                    ),
                )
                rows["crossmatch_runs"] = 1
                step = "recording the load"
                cur.execute(
                    "UPDATE raw.load_log SET status = 'succeeded', finished_at = clock_timestamp(), "
                    "rows = %s WHERE load_id = %s",
                    (json.dumps(rows), load_id),
                )
        except BaseException as exc:
            message = _message(exc, run_id, step)
            try:
                conn.execute(
                    "UPDATE raw.load_log SET status = 'failed', finished_at = clock_timestamp(), "
                    "error = %s WHERE load_id = %s",
                    (message, load_id),
                )
            except psycopg.Error:
                pass  # the connection itself is gone; the row stays 'running'
            if isinstance(exc, RadiostarsError) or not isinstance(exc, Exception):
                raise
            if isinstance(exc, psycopg.OperationalError):
                raise WarehouseUnavailableError(message) from None
            if isinstance(exc, psycopg.Error):
                raise LoadError(message) from None
            raise
    return LoadResult(run_id, load_id, rows, ko_source, time.perf_counter() - started)


def _message(exc: BaseException, run_id: str, step: str) -> str:
    if isinstance(exc, RadiostarsError):
        return str(exc)
    if isinstance(exc, psycopg.Error):
        return f"loading run {run_id!r} failed while {step}: {pg_message(exc)} (rolled back)"
    return f"loading run {run_id!r} failed while {step}: {type(exc).__name__}: {exc} (rolled back)"
