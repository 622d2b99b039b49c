"""Row-level validation rules per table. A row failing any rule goes to quarantine with ``reason``
= the failed rule codes joined by ``;`` (in the order of :data:`REASONS`).

Soft-deleted rows (``deleted = 1``) are tombstones: only their keys are checked (they must reach
the lake so that readers drop the row), never their measurements. Duplicate catalogue ids are
judged among live rows of the batch: the row with the smallest ``row_id`` is kept, the others are
``duplicate_id`` (readers apply the same rule across batches, see docs/lake.md).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from radiostars.catalogues.tables import ID_COLUMN, OBJECT_TYPES

MJD_1950 = 33282.0  # 1950-01-01: earliest plausible radio epoch
_MJD_UNIX_EPOCH = 40587.0

REASONS: tuple[str, ...] = (
    "null_key",
    "null_position",
    "ra_out_of_range",
    "dec_out_of_range",
    "nonpositive_error",
    "nonfinite_value",
    "nonfinite_flux",
    "impossible_epoch",
    "unparsable_type",
    "duplicate_id",
)

POSITION = {
    "radio_sources": ("ra_deg", "dec_deg"),
    "gaia_dr3": ("ra", "dec"),
    "hipparcos2": ("ra_deg", "dec_deg"),
    "known_objects": ("ra_deg", "dec_deg"),
}
# uncertainties: when present they must be finite and > 0 (NULL = not measured)
ERRORS = {
    "radio_sources": ("ra_err_arcsec", "dec_err_arcsec", "int_flux_err_mjy", "rms_mjy"),
    "gaia_dr3": ("ra_error", "dec_error", "parallax_error", "pmra_error", "pmdec_error"),
    "hipparcos2": ("e_ra_mas", "e_dec_mas", "e_plx_mas", "e_pmra", "e_pmdec"),
    "known_objects": (),
}
FLUXES = {"radio_sources": ("peak_flux_mjy", "int_flux_mjy")}  # required and finite
# epoch column -> a constant it must equal, or None for the radio observation window
EPOCHS = {
    "radio_sources": ("obs_epoch_mjd", None),
    "gaia_dr3": ("ref_epoch", 2016.0),
    "hipparcos2": ("ref_epoch", 1991.25),
}
KEYS = ("row_id", "updated_at", "deleted")


def mjd(when: dt.datetime) -> float:
    """Modified Julian Date of a naive-UTC (or aware) datetime."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return (when - dt.datetime(1970, 1, 1)).total_seconds() / 86400.0 + _MJD_UNIX_EPOCH


def _np(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Float column -> numpy with NaN for NULL."""
    return pc.fill_null(pc.cast(col, pa.float64()), float("nan")).to_numpy(zero_copy_only=False)


def _nulls(col) -> np.ndarray:
    return pc.is_null(col).to_numpy(zero_copy_only=False)


def row_failures(table: str, batch: pa.RecordBatch | pa.Table, now: dt.datetime) -> dict[str, np.ndarray]:
    """{reason: bool mask} of the per-row rules (everything but duplicate_id)."""
    n = batch.num_rows
    live = ~pc.fill_null(batch.column("deleted"), False).to_numpy(zero_copy_only=False)
    out: dict[str, np.ndarray] = {}

    null_key = np.zeros(n, bool)
    for c in (*KEYS, ID_COLUMN[table]):
        null_key |= _nulls(batch.column(c))
    out["null_key"] = null_key

    ra_c, dec_c = POSITION[table]
    ra, dec = _np(batch.column(ra_c)), _np(batch.column(dec_c))
    out["null_position"] = live & ~(np.isfinite(ra) & np.isfinite(dec))
    with np.errstate(invalid="ignore"):
        out["ra_out_of_range"] = live & np.isfinite(ra) & ~((ra >= 0.0) & (ra < 360.0))
        out["dec_out_of_range"] = live & np.isfinite(dec) & ~((dec >= -90.0) & (dec <= 90.0))

    bad_err = np.zeros(n, bool)
    for c in ERRORS[table]:
        v, missing = _np(batch.column(c)), _nulls(batch.column(c))
        with np.errstate(invalid="ignore"):
            bad_err |= ~missing & ~(np.isfinite(v) & (v > 0))
    out["nonpositive_error"] = live & bad_err

    nonfinite = np.zeros(n, bool)  # any other float present but NaN/Inf (a source that can hold them)
    skip = {ra_c, dec_c, *ERRORS[table], *FLUXES.get(table, ())}
    for f in batch.schema:
        if pa.types.is_floating(f.type) and f.name not in skip:
            v, missing = _np(batch.column(f.name)), _nulls(batch.column(f.name))
            nonfinite |= ~missing & ~np.isfinite(v)
    out["nonfinite_value"] = live & nonfinite

    flux_bad = np.zeros(n, bool)
    for c in FLUXES.get(table, ()):
        flux_bad |= ~np.isfinite(_np(batch.column(c)))
    out["nonfinite_flux"] = live & flux_bad

    epoch_bad = np.zeros(n, bool)
    if table in EPOCHS:
        c, const = EPOCHS[table]
        v = _np(batch.column(c))
        with np.errstate(invalid="ignore"):
            if const is None:
                epoch_bad = ~(np.isfinite(v) & (v >= MJD_1950) & (v <= mjd(now) + 1.0))
            else:
                epoch_bad = ~(np.isfinite(v) & (np.abs(v - const) < 1e-9))
    out["impossible_epoch"] = live & epoch_bad

    type_bad = np.zeros(n, bool)
    if table == "known_objects":
        col = batch.column("object_type")
        type_bad = ~_nulls(col) & ~pc.fill_null(pc.is_in(col, pa.array(OBJECT_TYPES)), False).to_numpy(
            zero_copy_only=False
        )
    out["unparsable_type"] = live & type_bad
    return out


def duplicate_row_ids(table: str, ids: pa.Table) -> pa.Array:
    """row_ids of live rows whose catalogue id also belongs to a live row with a smaller row_id.

    ``ids`` has columns row_id, <id column>, deleted (a few bytes per row) of the whole batch, or of
    one hash partition of it (:class:`DuplicateFinder`): every row of one catalogue id is in the
    same partition, so the partitions' answers are the batch's. Sort by (id, row_id); a row whose
    id equals its predecessor's is a duplicate (memory ~ 3 words per row, no hash table).
    """
    idc = ID_COLUMN[table]
    live = ids.filter(pc.invert(pc.fill_null(ids.column("deleted"), False)))
    live = live.filter(pc.is_valid(live.column(idc))).select([idc, "row_id"])
    n = live.num_rows
    if n < 2:
        return pa.array([], pa.int64())
    order = pc.sort_indices(live, sort_keys=[(idc, "ascending"), ("row_id", "ascending")])
    s = live.take(order).combine_chunks()
    sid = s.column(idc).chunk(0)
    repeat = np.zeros(n, bool)
    repeat[1:] = pc.equal(sid.slice(1), sid.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    return s.column("row_id").chunk(0).filter(pa.array(repeat))


def id_buckets(ids: pa.Array | pa.ChunkedArray, partitions: int) -> np.ndarray:
    """Hash partition (0 … partitions-1) of each catalogue id; equal ids -> equal partitions.

    Integer ids: Fibonacci hashing, ``(id · 0x9E3779B97F4A7C15 mod 2^64) >> 32 mod partitions``
    (Knuth, TAOCP vol. 3 §6.4), in numpy. String ids: pandas' vectorised SipHash
    (``pandas.util.hash_array``), used by the small radio and known-object tables only.
    """
    if partitions == 1:
        return np.zeros(len(ids), np.int64)
    if pa.types.is_integer(ids.type):
        v = pc.fill_null(ids, 0).to_numpy(zero_copy_only=False).astype(np.int64).view(np.uint64)
        h = (v * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32)
    else:
        import pandas as pd

        h = pd.util.hash_array(np.asarray(pc.fill_null(ids, "").to_numpy(zero_copy_only=False), dtype=object))
    return (h % np.uint64(partitions)).astype(np.int64)


class DuplicateFinder:
    """The ``duplicate_id`` rule over a batch of any size in bounded memory.

    Feed it the ``(row_id, <id>, deleted)`` columns chunk by chunk (:meth:`add`); :meth:`finish`
    returns the row_ids to flag. Up to ``partition_rows`` live rows it works in memory, as
    :func:`duplicate_row_ids` on the whole batch. Above that, each chunk's live rows are spilled to
    ``partitions = ceil(rows / partition_rows)`` local Arrow IPC files by the hash of their id, and
    the partitions are judged one at a time: memory ~ ``partition_rows`` × ~50 bytes (the pairs, the
    sort order, the sorted copy), whatever the batch size — up to ``max_partitions`` open files
    (512 × 2e6 = 1e9 rows; a larger batch makes the partitions larger). The answer (the duplicates'
    row_ids) is in memory: 8 bytes per flagged row.
    """

    def __init__(
        self,
        table: str,
        rows_in: int,
        partition_rows: int = 2_000_000,
        spill_dir: str | None = None,
        max_partitions: int = 512,
    ):
        self.table, self.idc = table, ID_COLUMN[table]
        self.partitions = min(max_partitions, max(1, -(-int(rows_in) // int(partition_rows))))
        self._parts: list[pa.Table] = []
        self._tmp = None
        self._writers: list = []
        if self.partitions > 1:
            import tempfile

            self._tmp = tempfile.TemporaryDirectory(prefix="radiostars-dups-", dir=spill_dir)

    def add(self, ids: pa.Table) -> None:
        live = ids.filter(pc.invert(pc.fill_null(ids.column("deleted"), False)))
        live = live.filter(pc.is_valid(live.column(self.idc))).combine_chunks()
        if self.partitions == 1:
            self._parts.append(live)
            return
        import pyarrow.ipc as ipc

        if not self._writers:
            self._writers = [
                ipc.new_file(f"{self._tmp.name}/part-{p:05d}.arrow", live.schema) for p in range(self.partitions)
            ]
        bucket = id_buckets(live.column(self.idc), self.partitions)
        order = np.argsort(bucket, kind="stable")
        ends = np.cumsum(np.bincount(bucket, minlength=self.partitions))
        sorted_rows = live.take(pa.array(order))
        start = 0
        for p, end in enumerate(ends):
            if end > start:
                self._writers[p].write_table(sorted_rows.slice(start, end - start))
            start = end

    def finish(self) -> pa.Array:
        try:
            if self.partitions == 1:
                if not self._parts:
                    return pa.array([], pa.int64())
                return duplicate_row_ids(self.table, pa.concat_tables(self._parts))
            import pyarrow.ipc as ipc

            found = []
            for p, w in enumerate(self._writers):
                w.close()
                with ipc.open_file(f"{self._tmp.name}/part-{p:05d}.arrow") as reader:
                    found.append(duplicate_row_ids(self.table, reader.read_all()))
            return pa.concat_arrays(found) if found else pa.array([], pa.int64())
        finally:
            self._parts = []
            if self._tmp is not None:
                self._tmp.cleanup()


def reason_masks(table: str, batch: pa.RecordBatch, now: dt.datetime, duplicates: pa.Array) -> dict[str, np.ndarray]:
    """{reason: bool mask} of every rule, ``duplicate_id`` included (row_ids from :class:`DuplicateFinder`)."""
    fails = row_failures(table, batch, now)
    if len(duplicates):
        live = ~pc.fill_null(batch.column("deleted"), False).to_numpy(zero_copy_only=False)
        fails["duplicate_id"] = live & pc.is_in(batch.column("row_id"), duplicates).to_numpy(zero_copy_only=False)
    return fails


def join_reasons(fails: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Per row: '' when valid, else 'rule;rule' in the order of :data:`REASONS` (object array; the
    strings are built for the failing rows only)."""
    out = np.full(n, "", dtype=object)
    for r in REASONS:
        mask = fails.get(r)
        if mask is None or not mask.any():
            continue
        idx = np.flatnonzero(mask)
        out[idx] = [f"{o};{r}" if o else r for o in out[idx]]
    return out


def reasons(table: str, batch: pa.RecordBatch, now: dt.datetime, duplicates: pa.Array) -> np.ndarray:
    """Per row: '' when valid, else 'rule;rule' (object array)."""
    return join_reasons(reason_masks(table, batch, now, duplicates), batch.num_rows)
