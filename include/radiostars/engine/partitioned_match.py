"""The cross-match on Spark in one pass over each optical catalogue: HEALPix partitions with margins.

Shape (why: the radio catalogue is small — 10^5–10^6 rows — and the optical one is huge):

1. The radio rows and their shifted-control copies are prepared on the driver (home pixel at
   ``params.healpix_order``) and broadcast, grouped by home pixel ("targets").
2. ``mapInPandas`` over the optical rows: each row goes to its home pixel *and* every neighbouring
   pixel it lies within a margin of (margin ≥ search radius + density annulus + proper-motion reach
   over the radio epochs, :func:`radiostars.crossmatch.match.optical_partition_membership`); copies
   into pixels without a target are dropped here, before the shuffle. Rows without a usable
   position are counted, not matched (pseudo-rows with ``healpix`` = ``SKIPPED_KEY``), and every
   batch reports its row count (``TALLY_KEY``) — exact counts from the same single pass.
3. ``groupBy(healpix).applyInPandas``: per pixel, the optical rows are prepared once (tracks over
   the radio epochs, one KD-tree) and matched with the pixel's real radio rows and with its control
   rows (:func:`radiostars.crossmatch.run.crossmatch_partition`); pairs are emitted only for radio
   rows whose home pixel is this pixel, so every pair is found exactly once across pixel edges, the
   RA 0/360 seam and the poles. No cartesian product: one shuffle of the optical rows that fall in
   pixels holding radio sources, cost ~ linear in rows.

The group function returns one frame in :func:`record_columns` whose ``record`` column says what a row is:
``pair``, ``control_pair``, ``optical`` (a matched optical row with its catalogue columns),
``partition`` (per-pixel sizes and chance-match sums), ``skipped`` / ``tally`` (counts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from radiostars.crossmatch.params import CrossmatchParams

# numpy/pandas dtype -> Spark SQL type name, for mapInPandas/applyInPandas output schemas
_SPARK_TYPE = {"object": "string", "int64": "bigint", "int32": "int", "float64": "double", "bool": "boolean"}
_NULLABLE = {"int64": "Int64", "int32": "Int32", "bool": "boolean", "float64": "float64", "object": "object"}

SKIPPED_KEY = -1  # pseudo-pixel of the per-batch count of rows without a usable position
TALLY_KEY = -2  # pseudo-pixel of the per-batch count of rows read

TARGET_COLUMNS = ["radio_id", "ra_deg", "dec_deg", "sigma_radio_arcsec", "epoch_yr", "healpix", "control_offset"]

# optical columns carried through the shuffle (the match needs the astrometry; mag/colour/is_synthetic
# and parallax_error go to the run's optical/ output for the matched rows)
OPTICAL_COLUMNS: dict[str, str] = {
    "optical_id": "int64", "ra_deg": "float64", "dec_deg": "float64", "ref_epoch_yr": "float64",
    "ra_error_mas": "float64", "dec_error_mas": "float64", "pmra_mas_yr": "float64", "pmdec_mas_yr": "float64",
    "parallax_mas": "float64", "parallax_error_mas": "float64", "pmra_error_mas_yr": "float64",
    "pmdec_error_mas_yr": "float64", "mag": "float64", "colour": "float64", "is_synthetic": "bool",
}
EXPLODED_COLUMNS: dict[str, str] = {**OPTICAL_COLUMNS, "healpix": "int64"}

# per-pixel summary columns of `partition` records
PARTITION_COLUMNS: dict[str, str] = {
    "part_radio_rows": "int64", "part_control_rows": "int64", "part_optical_rows": "int64",
    "expected_chance_sum": "float64", "control_expected_chance_sum": "float64", "count": "int64",
}


def spark_schema(columns: dict[str, str]) -> str:
    return ", ".join(f"`{name}` {_SPARK_TYPE[dtype]}" for name, dtype in columns.items())


def record_columns() -> dict[str, str]:
    """The one output schema of the group function (see module docstring)."""
    from radiostars.crossmatch.run import FULL_PAIR_SCHEMA

    columns = {"record": "object", **FULL_PAIR_SCHEMA, "radio_ra_deg": "float64", "radio_dec_deg": "float64",
               "control_offset": "int32"}
    columns.update({f"opt_{name}": dtype for name, dtype in OPTICAL_COLUMNS.items() if name != "optical_id"})
    columns.update(PARTITION_COLUMNS)
    return columns


def radio_targets(radio: pd.DataFrame, params: CrossmatchParams) -> pd.DataFrame:
    """Real radio rows (``control_offset`` = −1) and their shifted copies (k ≥ 0), with home pixels."""
    from radiostars.crossmatch.control import control_radio_frame
    from radiostars.crossmatch.partition import home_pixel

    base = radio[["radio_id", "ra_deg", "dec_deg", "sigma_radio_arcsec", "epoch_yr"]].copy()
    base["radio_id"] = base["radio_id"].astype(str)
    base["control_offset"] = np.int32(-1)
    if len(base):
        control = control_radio_frame(base.drop(columns="control_offset"), params.control_offsets())
        targets = pd.concat([base, control[base.columns]], ignore_index=True)
    else:
        targets = base
    targets["healpix"] = (home_pixel(targets["ra_deg"].to_numpy(float), targets["dec_deg"].to_numpy(float),
                                     params.healpix_order) if len(targets) else np.zeros(0, np.int64))
    return targets[TARGET_COLUMNS]


def targets_by_pixel(targets: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """{pixel: its targets} — the broadcast the group function looks its radio rows up in."""
    return {int(pixel): frame.reset_index(drop=True) for pixel, frame in targets.groupby("healpix", sort=True)}


def explode_optical(optical_df, target_pixels: np.ndarray | None, params: CrossmatchParams,
                    epoch_lo_yr: float, epoch_hi_yr: float):
    """Each usable optical row once per pixel it must be visible from (home + margins): only pixels
    with targets, or every pixel when ``target_pixels`` is None (the curated layout)."""
    keep_all = target_pixels is None
    wanted = np.zeros(0, np.int64) if keep_all else np.unique(np.asarray(target_pixels, dtype=np.int64))
    names = list(OPTICAL_COLUMNS)

    def explode(batches):
        from radiostars.crossmatch.match import optical_partition_membership
        from radiostars.crossmatch.separation import usable_position_mask

        for pdf in batches:
            n = len(pdf)
            if not n:
                continue
            pdf = pdf.reset_index(drop=True)
            ok = (usable_position_mask(pdf["ra_deg"].to_numpy(float, na_value=np.nan),
                                       pdf["dec_deg"].to_numpy(float, na_value=np.nan))
                  & np.isfinite(pdf["ref_epoch_yr"].to_numpy(float, na_value=np.nan)))
            usable = pdf if ok.all() else pdf[ok].reset_index(drop=True)
            if len(usable) and (keep_all or wanted.size):
                rows, pixels = optical_partition_membership(usable, params, epoch_lo_yr, epoch_hi_yr)
                if not keep_all:
                    keep = np.isin(pixels, wanted)
                    rows, pixels = rows[keep], pixels[keep]
                out = usable.take(rows)
                out.index = pd.RangeIndex(len(out))
                out["healpix"] = pixels
                yield out
            # separately: concatenating would turn every column into a nullable extension array
            yield _count_rows([(TALLY_KEY, n), (SKIPPED_KEY, int(n - ok.sum()))], names)

    return optical_df.select(*names).mapInPandas(explode, spark_schema(EXPLODED_COLUMNS))


def _count_rows(counts: list[tuple[int, int]], names: list[str]) -> pd.DataFrame:
    """Pseudo-rows carrying a count in ``optical_id`` under a negative pseudo-pixel key."""
    frame = pd.DataFrame({name: pd.Series([None] * len(counts), dtype=_NULLABLE[OPTICAL_COLUMNS[name]])
                          for name in names})
    frame["optical_id"] = pd.array([c for _, c in counts], dtype="Int64")
    frame["healpix"] = np.array([k for k, _ in counts], dtype=np.int64)
    return frame


def _as_records(frame: pd.DataFrame, record: str, columns: dict[str, str]) -> pd.DataFrame:
    """``frame`` in the record schema: every column present, in nullable dtypes — a plain concat
    would turn int64 ids (Gaia source_ids ~ 6e18 > 2**53) into float64 and round them."""
    out = {}
    for column, dtype in columns.items():
        nullable = _NULLABLE.get(dtype, dtype)
        if column == "record":
            out[column] = pd.Series([record] * len(frame), dtype=object)
        elif column in frame.columns:
            out[column] = frame[column].astype(nullable).reset_index(drop=True)
        else:
            out[column] = pd.Series(pd.array([None] * len(frame), dtype=nullable))
    return pd.DataFrame(out)


def match_pixels(exploded_df, targets_broadcast, params: CrossmatchParams, catalogue: str):
    """Group the exploded optical rows by pixel and match each group with the pixel's targets."""
    columns = record_columns()

    def match(key, optical):
        from radiostars.crossmatch.match import prepare_optical
        from radiostars.crossmatch.run import crossmatch_partition

        pixel = int(key[0])
        if pixel in (SKIPPED_KEY, TALLY_KEY):
            total = int(optical["optical_id"].sum())
            return _as_records(pd.DataFrame({"healpix": [pixel], "count": [total], "catalogue": [catalogue]}),
                               "skipped" if pixel == SKIPPED_KEY else "tally", columns)
        targets = targets_broadcast.value.get(pixel)
        if targets is None or targets.empty:  # cannot happen: explode keeps only target pixels
            return _as_records(pd.DataFrame(), "pair", columns)
        opt = prepare_optical(optical, float(targets["epoch_yr"].min()), float(targets["epoch_yr"].max()), catalogue)
        # real and shifted-control rows in one call: they share the optical tracks, the KD-tree and
        # the density pilot; pairs and densities are per radio row, so nothing mixes
        result = crossmatch_partition(targets, opt, params, partition_pixel=pixel, catalogue=catalogue,
                                      density_seed=pixel)
        lookup = targets.set_index("radio_id")
        summary_is_real = lookup["control_offset"].reindex(result.radio["radio_id"]).to_numpy() < 0
        is_real = targets["control_offset"].to_numpy() < 0
        sums = {"pair": float(result.radio["expected_chance"][summary_is_real].sum()),
                "control_pair": float(result.radio["expected_chance"][~summary_is_real].sum())}
        frames = []
        pairs = result.pairs
        if len(pairs):
            pairs = pairs.assign(radio_ra_deg=lookup["ra_deg"].reindex(pairs["radio_id"]).to_numpy(),
                                 radio_dec_deg=lookup["dec_deg"].reindex(pairs["radio_id"]).to_numpy(),
                                 control_offset=lookup["control_offset"].reindex(pairs["radio_id"]).to_numpy())
            real_pairs = pairs[pairs["control_offset"] < 0]
            frames.append(_as_records(real_pairs, "pair", columns))
            frames.append(_as_records(pairs[pairs["control_offset"] >= 0], "control_pair", columns))
            matched = optical[optical["optical_id"].isin(real_pairs["optical_id"])].drop_duplicates("optical_id")
            matched = matched.rename(columns={c: f"opt_{c}" for c in OPTICAL_COLUMNS if c != "optical_id"})
            matched["catalogue"] = catalogue
            frames.append(_as_records(matched, "optical", columns))
        partition = pd.DataFrame({
            "healpix": [pixel], "part_radio_rows": [int(is_real.sum())], "part_control_rows": [int((~is_real).sum())],
            "part_optical_rows": [len(optical)], "expected_chance_sum": [sums["pair"]],
            "control_expected_chance_sum": [sums["control_pair"]], "catalogue": [catalogue],
        })
        frames.append(_as_records(partition, "partition", columns))
        return pd.concat(frames, ignore_index=True)

    return exploded_df.groupBy("healpix").applyInPandas(match, spark_schema(columns))
