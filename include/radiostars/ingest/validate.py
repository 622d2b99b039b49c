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

from radiostars.ingest.schema import id_column

MJD_1950 = 33282.0  # 1950-01-01: earliest plausible radio epoch
_MJD_UNIX_EPOCH = 40587.0

REASONS: tuple[str, ...] = (
    "null_key", "null_position", "ra_out_of_range", "dec_out_of_range", "nonpositive_error",
    "nonfinite_value", "nonfinite_flux", "impossible_epoch", "unparsable_type", "duplicate_id",
)

POSITION = {"radio_sources": ("ra_deg", "dec_deg"), "gaia_dr3": ("ra", "dec"),
            "hipparcos2": ("ra_deg", "dec_deg"), "known_objects": ("ra_deg", "dec_deg")}
# uncertainties: when present they must be finite and > 0 (NULL = not measured)
ERRORS = {
    "radio_sources": ("ra_err_arcsec", "dec_err_arcsec", "int_flux_err_mjy", "rms_mjy"),
    "gaia_dr3": ("ra_error", "dec_error", "parallax_error", "pmra_error", "pmdec_error"),
    "hipparcos2": ("e_ra_mas", "e_dec_mas", "e_plx_mas", "e_pmra", "e_pmdec"),
    "known_objects": (),
}
FLUXES = {"radio_sources": ("peak_flux_mjy", "int_flux_mjy")}  # required and finite
# epoch column -> a constant it must equal, or None for the radio observation window
EPOCHS = {"radio_sources": ("obs_epoch_mjd", None), "gaia_dr3": ("ref_epoch", 2016.0),
          "hipparcos2": ("ref_epoch", 1991.25)}
KEYS = ("row_id", "updated_at", "deleted")


def mjd(when: dt.datetime) -> float:
    """Modified Julian Date of a naive-UTC (or aware) datetime."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
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
    for c in (*KEYS, id_column(table)):
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
        from radiostars.sample.schema import OBJECT_TYPES

        col = batch.column("object_type")
        type_bad = ~_nulls(col) & ~pc.fill_null(pc.is_in(col, pa.array(OBJECT_TYPES)), False).to_numpy(
            zero_copy_only=False)
    out["unparsable_type"] = live & type_bad
    return out


def duplicate_row_ids(table: str, ids: pa.Table) -> pa.Array:
    """row_ids of live rows whose catalogue id also belongs to a live row with a smaller row_id.

    ``ids`` has columns row_id, <id column>, deleted for the whole batch (a few bytes per row).
    """
    idc = id_column(table)
    live = ids.filter(pc.invert(pc.fill_null(ids.column("deleted"), False)))
    live = live.filter(pc.is_valid(live.column(idc)))
    first = live.group_by(idc).aggregate([("row_id", "min"), ("row_id", "count")])
    dup_ids = first.filter(pc.greater(first.column("row_id_count"), 1))
    if dup_ids.num_rows == 0:
        return pa.array([], pa.int64())
    candidates = live.filter(pc.is_in(live.column(idc), dup_ids.column(idc)))
    keep = pc.is_in(candidates.column("row_id"), dup_ids.column("row_id_min"))
    return pc.unique(candidates.filter(pc.invert(keep)).column("row_id").combine_chunks())


def reasons(table: str, batch: pa.RecordBatch, now: dt.datetime, duplicates: pa.Array) -> np.ndarray:
    """Per row: '' when valid, else 'rule;rule' (object array)."""
    fails = row_failures(table, batch, now)
    if len(duplicates):
        live = ~pc.fill_null(batch.column("deleted"), False).to_numpy(zero_copy_only=False)
        fails["duplicate_id"] = live & pc.is_in(batch.column("row_id"), duplicates).to_numpy(
            zero_copy_only=False)
    out = np.full(batch.num_rows, "", dtype=object)
    any_bad = np.zeros(batch.num_rows, bool)
    for r in REASONS:
        mask = fails.get(r)
        if mask is None or not mask.any():
            continue
        any_bad |= mask
        idx = np.flatnonzero(mask)
        out[idx] = [f"{o};{r}" if o else r for o in out[idx]]
    return out
