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
   rows (:func:`radiostars.crossmatch.per_partition.crossmatch_partition`); pairs are emitted only for radio
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
from radiostars.crossmatch.properties import OPTICAL_PROPERTY_COLUMNS

# numpy/pandas dtype -> Spark SQL type name, for mapInPandas/applyInPandas output schemas
_SPARK_TYPE = {"object": "string", "int64": "bigint", "int32": "int", "float64": "double", "bool": "boolean"}
_NULLABLE = {"int64": "Int64", "int32": "Int32", "bool": "boolean", "float64": "float64", "object": "object"}

SKIPPED_KEY = -1  # pseudo-pixel of the per-batch count of rows without a usable position
TALLY_KEY = -2  # pseudo-pixel of the per-batch count of rows read

TARGET_COLUMNS = ["radio_id", "ra_deg", "dec_deg", "sigma_radio_arcsec", "epoch_yr", "healpix", "control_offset"]

# optical columns carried through the shuffle (the match needs the astrometry; mag/colour/is_synthetic
# and parallax_error go to the run's optical/ output for the matched rows)
OPTICAL_COLUMNS: dict[str, str] = {
    "optical_id": "int64",
    "ra_deg": "float64",
    "dec_deg": "float64",
    "ref_epoch_yr": "float64",
    "ra_error_mas": "float64",
    "dec_error_mas": "float64",
    "pmra_mas_yr": "float64",
    "pmdec_mas_yr": "float64",
    "parallax_mas": "float64",
    "parallax_error_mas": "float64",
    "pmra_error_mas_yr": "float64",
    "pmdec_error_mas_yr": "float64",
    "mag": "float64",
    "colour": "float64",
    "is_synthetic": "bool",
}
# healpix: the partition pixel (order k); fine: the order-29 nested index of the row's catalogue place (a
# count-map cell: of its first order-29 child), any coarser index is a right shift (as HATS' _healpix_29);
# kind: STAR_ROW, or DENSITY_CELL (optical_id = rows in the cell, ra/dec = its centre, other columns null)
EXPLODED_COLUMNS: dict[str, str] = {**OPTICAL_COLUMNS, "healpix": "int64", "fine": "int64", "kind": "int32"}
FINE_ORDER = 29
STAR_ROW = 0
DENSITY_CELL = 1
PRUNE_ALWAYS_KEY = -7  # join key of rows that pass the pruning unconditionally (cells, counts, fast movers)
# above this many (pixel, target) rows the pruning table keeps only the distinct pixels (8 bytes a row, no chord
# test): 2.7M targets x 9 pixels with coordinates (32 B) overflowed a 2 GB driver heap (evaluation profile, 50 deg²)
PRUNE_EXACT_MAX_ROWS = 4_000_000
# rows whose proper-motion reach over the run's radio epochs exceeds this pass the pruning whatever their
# place; the others are kept when their catalogue place is within radius + this of a target
PRUNE_SLACK_ARCSEC = 2.0

# per-pixel summary columns of `partition` records
PARTITION_COLUMNS: dict[str, str] = {
    "part_radio_rows": "int64",
    "part_control_rows": "int64",
    "part_optical_rows": "int64",
    "part_density_cells": "int64",
    "expected_chance_sum": "float64",
    "control_expected_chance_sum": "float64",
    "count": "int64",
}


def spark_schema(columns: dict[str, str]) -> str:
    return ", ".join(f"`{name}` {_SPARK_TYPE[dtype]}" for name, dtype in columns.items())


def record_columns() -> dict[str, str]:
    """The one output schema of the group function (see module docstring)."""
    from radiostars.crossmatch.per_partition import FULL_PAIR_SCHEMA

    columns = {
        "record": "object",
        **FULL_PAIR_SCHEMA,
        "radio_ra_deg": "float64",
        "radio_dec_deg": "float64",
        "control_offset": "int32",
    }
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
    targets["healpix"] = (
        home_pixel(targets["ra_deg"].to_numpy(float), targets["dec_deg"].to_numpy(float), params.healpix_order)
        if len(targets)
        else np.zeros(0, np.int64)
    )
    return targets[TARGET_COLUMNS]


def targets_by_pixel(targets: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """{pixel: its targets} — the broadcast the group function looks its radio rows up in."""
    return {int(pixel): frame.reset_index(drop=True) for pixel, frame in targets.groupby("healpix", sort=True)}


def explode_optical(
    optical_df,
    target_pixels: np.ndarray | None,
    params: CrossmatchParams,
    epoch_lo_yr: float,
    epoch_hi_yr: float,
    star_margin_arcsec: float | None = None,
):
    """Each usable optical row once per pixel it must be visible from (home + margins): only pixels
    with targets, or every pixel when ``target_pixels`` is None (the curated layout).

    The margin is the match radius (``star_margin_arcsec``, default ``params.radius_arcsec``) + the row's
    proper-motion reach: a pair is emitted from its radio row's home pixel, and the density annulus
    comes from the count map (:func:`density_cells`), not from the rows — so no row is copied for the
    3′ annulus (×1.57 rows at the default 180″ margin, ×1.0x at 5–10″)."""
    keep_all = target_pixels is None
    star_margin = params.radius_arcsec if star_margin_arcsec is None else float(star_margin_arcsec)
    wanted = np.zeros(0, np.int64) if keep_all else np.unique(np.asarray(target_pixels, dtype=np.int64))
    names = list(OPTICAL_COLUMNS)

    def explode(batches):
        from radiostars.crossmatch.match import optical_partition_membership
        from radiostars.crossmatch.partition import home_pixel
        from radiostars.crossmatch.separation import usable_position_mask

        for pdf in batches:
            n = len(pdf)
            if not n:
                continue
            pdf = pdf.reset_index(drop=True)
            ok = usable_position_mask(
                pdf["ra_deg"].to_numpy(float, na_value=np.nan), pdf["dec_deg"].to_numpy(float, na_value=np.nan)
            ) & np.isfinite(pdf["ref_epoch_yr"].to_numpy(float, na_value=np.nan))
            usable = pdf if ok.all() else pdf[ok].reset_index(drop=True)
            if len(usable) and (keep_all or wanted.size):
                rows, pixels = optical_partition_membership(usable, params, epoch_lo_yr, epoch_hi_yr, star_margin)
                if not keep_all:
                    keep = np.isin(pixels, wanted)
                    rows, pixels = rows[keep], pixels[keep]
                fine = home_pixel(usable["ra_deg"].to_numpy(float), usable["dec_deg"].to_numpy(float), FINE_ORDER)
                out = usable.take(rows)
                out.index = pd.RangeIndex(len(out))
                out["healpix"] = pixels
                out["fine"] = fine[rows]
                out["kind"] = np.int32(STAR_ROW)
                yield out
            # separately: concatenating would turn every column into a nullable extension array
            yield _count_rows([(TALLY_KEY, n), (SKIPPED_KEY, int(n - ok.sum()))], names)

    return optical_df.select(*names).mapInPandas(explode, spark_schema(EXPLODED_COLUMNS))


def _count_rows(counts: list[tuple[int, int]], names: list[str]) -> pd.DataFrame:
    """Pseudo-rows carrying a count in ``optical_id`` under a negative pseudo-pixel key."""
    frame = _null_rows(len(counts), names)
    frame["optical_id"] = pd.array([c for _, c in counts], dtype="Int64")
    frame["healpix"] = np.array([k for k, _ in counts], dtype=np.int64)
    frame["fine"] = pd.array([None] * len(counts), dtype="Int64")
    frame["kind"] = np.full(len(counts), STAR_ROW, np.int32)
    return frame


def _null_rows(n: int, names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([None] * n, dtype=_NULLABLE[OPTICAL_COLUMNS[name]]) for name in names})


def density_cells(
    optical_df,
    target_pixels: np.ndarray | None,
    params: CrossmatchParams,
    cell_order: int | None = None,
    outer_arcsec: float | None = None,
):
    """The count map of the usable optical rows (:mod:`radiostars.crossmatch.density`) as ``DENSITY_CELL``
    rows of the exploded schema, each cell in every order-k pixel within r_out + h of its centre (only
    pixels with targets, or every pixel when ``target_pixels`` is None: the curated layout).

    Two small passes in the JVM-side shape: per batch the (cell, n) partial counts (one row per
    non-empty cell of the batch), summed per cell by Spark, then each cell exploded into its pixels."""
    from pyspark.sql import functions as F

    from radiostars.crossmatch.density import cell_half_width_arcsec, density_cell_order

    order = (
        density_cell_order(params.density_inner_arcsec, params.density_outer_arcsec)
        if cell_order is None
        else int(cell_order)
    )
    outer = params.density_outer_arcsec if outer_arcsec is None else float(outer_arcsec)
    margin = outer + cell_half_width_arcsec(order) + 1e-3
    keep_all = target_pixels is None
    wanted = np.zeros(0, np.int64) if keep_all else np.unique(np.asarray(target_pixels, dtype=np.int64))
    names = list(OPTICAL_COLUMNS)

    def partial_counts(batches):
        from radiostars.crossmatch.density import count_map
        from radiostars.crossmatch.separation import usable_position_mask

        for pdf in batches:
            ra = pdf["ra_deg"].to_numpy(float, na_value=np.nan)
            dec = pdf["dec_deg"].to_numpy(float, na_value=np.nan)
            ok = usable_position_mask(ra, dec) & np.isfinite(pdf["ref_epoch_yr"].to_numpy(float, na_value=np.nan))
            cell, n = count_map(ra[ok], dec[ok], order)
            yield pd.DataFrame({"cell": cell, "n": n})

    def explode_cells(batches):
        from radiostars.crossmatch.density import cell_centres_xyz
        from radiostars.crossmatch.partition import margin_pixels
        from radiostars.crossmatch.separation import xyz_to_radec

        for pdf in batches:
            if not len(pdf) or not (keep_all or wanted.size):
                continue
            cell = pdf["cell"].to_numpy(np.int64)
            ra, dec = xyz_to_radec(cell_centres_xyz(cell, order))
            rows, pixels = margin_pixels(ra, dec, margin, params.healpix_order)
            if not keep_all:
                keep = np.isin(pixels, wanted)
                rows, pixels = rows[keep], pixels[keep]
            out = _null_rows(rows.size, names)
            out["optical_id"] = pdf["n"].to_numpy(np.int64)[rows]
            out["ra_deg"], out["dec_deg"] = ra[rows], dec[rows]
            out["healpix"] = pixels
            out["fine"] = cell[rows] << np.int64(2 * (FINE_ORDER - order))
            out["kind"] = np.int32(DENSITY_CELL)
            yield out

    counts = (
        optical_df.select("ra_deg", "dec_deg", "ref_epoch_yr")
        .mapInPandas(partial_counts, "cell bigint, n bigint")
        .groupBy("cell")
        .agg(F.sum("n").alias("n"))
    )
    return counts.mapInPandas(explode_cells, spark_schema(EXPLODED_COLUMNS))


def prune_to_targets(
    spark, rows_df, targets: pd.DataFrame, params: CrossmatchParams, epoch_lo_yr: float, epoch_hi_yr: float
):
    """Keep only the star rows that can pair with a target (real or control), plus every cell and count
    row — a broadcast left-semi join in Spark SQL (codegen, no Python), before any row reaches Python.

    Exact: a row pairs with target t only if ψ(t, row at the radio epoch) ≤ r_max, and the row moves at
    most its reach ρ_i = μ·Δt (:func:`radiostars.crossmatch.epoch.reach_bound_arcsec`, the same bound
    written in SQL) from its catalogue place, so ψ(t, catalogue place) ≤ r_max + ρ_i. Rows with
    ρ_i > ``PRUNE_SLACK_ARCSEC`` are always kept; the others are kept when their catalogue place is
    within R = r_max + slack of some target: the target's order-P pixel and its 8 neighbours contain
    every point within the safe width w(P) ≥ R (:mod:`radiostars.crossmatch.partition`), so the join on
    the row's order-P pixel (``fine >> 2(29 − P)``) meets every such target, and the exact chord test
    ‖x_row − x_t‖² ≤ chord(R)² decides. A broadcast hash join keeps the bucketed scan's partitioning
    and order: the group-by after it still needs no exchange."""
    from pyspark.sql import functions as F

    from radiostars.crossmatch.epoch import REACH_BOUND_SLACK
    from radiostars.crossmatch.match import COARSE_SAFETY_ARCSEC
    from radiostars.crossmatch.partition import _hp, fine_order_for_margin
    from radiostars.crossmatch.separation import chord_from_arcsec, radec_to_xyz

    reach_arcsec = params.radius_arcsec + PRUNE_SLACK_ARCSEC + COARSE_SAFETY_ARCSEC
    order = int(min(FINE_ORDER, fine_order_for_margin(reach_arcsec)))
    if order < 0:
        return rows_df  # a reach beyond w(0) ≈ 29°: nothing to prune
    t_ra, t_dec = targets["ra_deg"].to_numpy(float), targets["dec_deg"].to_numpy(float)
    import warnings

    import astropy.units as u

    hp = _hp(order)
    home = np.asarray(hp.lonlat_to_healpix(t_ra * u.deg, t_dec * u.deg), dtype=np.int64)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        nb = np.asarray(hp.neighbours(home), dtype=np.int64).reshape(8, -1) if home.size else np.zeros((8, 0), np.int64)
    pix = np.vstack([home[None, :], nb])
    xyz = radec_to_xyz(t_ra, t_dec).reshape(-1, 3)
    which = np.broadcast_to(np.arange(home.size), pix.shape)
    ok = pix >= 0
    pixels_only = int(ok.sum()) > PRUNE_EXACT_MAX_ROWS
    if pixels_only:  # a superset of the chord test's rows: exactness is kept by the per-pair match after it
        frame = pd.DataFrame({"t_pp": np.unique(np.append(pix[ok], PRUNE_ALWAYS_KEY))})
        near = spark.createDataFrame(frame, "t_pp bigint")
    else:
        frame = pd.DataFrame(
            {
                "t_pp": np.append(pix[ok], PRUNE_ALWAYS_KEY),
                "tx": np.append(xyz[which[ok], 0], 0.0),
                "ty": np.append(xyz[which[ok], 1], 0.0),
                "tz": np.append(xyz[which[ok], 2], 0.0),
            }
        ).drop_duplicates()
        near = spark.createDataFrame(frame, "t_pp bigint, tx double, ty double, tz double")

    def pm(column: str):
        return F.nanvl(F.coalesce(F.col(column), F.lit(0.0)), F.lit(0.0))

    ref = F.col("ref_epoch_yr")
    reach = (
        F.lit(REACH_BOUND_SLACK)
        * F.hypot(pm("pmra_mas_yr"), pm("pmdec_mas_yr"))
        * F.greatest(F.abs(F.lit(float(epoch_lo_yr)) - ref), F.abs(F.lit(float(epoch_hi_yr)) - ref))
        / 1000.0
    )
    always = (
        (F.col("kind") != STAR_ROW) | (F.col("healpix") < 0) | (F.coalesce(reach, F.lit(1e30)) > PRUNE_SLACK_ARCSEC)
    )
    ra, dec = F.radians("ra_deg"), F.radians("dec_deg")
    keyed = (
        rows_df.withColumn(
            "_pp",
            F.when(always, F.lit(PRUNE_ALWAYS_KEY)).otherwise(F.shiftright(F.col("fine"), 2 * (FINE_ORDER - order))),
        )
        .withColumn("_x", F.cos(dec) * F.cos(ra))
        .withColumn("_y", F.cos(dec) * F.sin(ra))
        .withColumn("_z", F.sin(dec))
    )
    chord2 = float(chord_from_arcsec(reach_arcsec)) ** 2
    near_b = F.broadcast(near)
    if pixels_only:
        cond = keyed["_pp"] == near_b["t_pp"]
    else:
        dist2 = (
            (keyed["_x"] - near_b["tx"]) ** 2 + (keyed["_y"] - near_b["ty"]) ** 2 + (keyed["_z"] - near_b["tz"]) ** 2
        )
        cond = (keyed["_pp"] == near_b["t_pp"]) & ((near_b["t_pp"] == PRUNE_ALWAYS_KEY) | (dist2 <= chord2))
    return keyed.join(near_b, cond, "left_semi").drop("_pp", "_x", "_y", "_z")


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
    from radiostars.crossmatch.density import cell_half_width_arcsec, density_cell_order

    columns = record_columns()
    cell_order = density_cell_order(params.density_inner_arcsec, params.density_outer_arcsec)

    def match(key, optical):
        from radiostars.crossmatch.match import prepare_optical
        from radiostars.crossmatch.per_partition import DensityCells, crossmatch_partition
        from radiostars.crossmatch.separation import radec_to_xyz

        pixel = int(key[0])
        if pixel in (SKIPPED_KEY, TALLY_KEY):
            total = int(optical["optical_id"].sum())
            return _as_records(
                pd.DataFrame({"healpix": [pixel], "count": [total], "catalogue": [catalogue]}),
                "skipped" if pixel == SKIPPED_KEY else "tally",
                columns,
            )
        targets = targets_broadcast.value.get(pixel)
        if targets is None or targets.empty:  # cannot happen: explode keeps only target pixels
            return _as_records(pd.DataFrame(), "pair", columns)
        with_cells = "kind" in optical.columns  # the engine's rows; a bare optical frame has no count map
        kind = optical["kind"].to_numpy(np.int32) if with_cells else np.zeros(len(optical), np.int32)
        cells = optical[kind == DENSITY_CELL].sort_values("fine")  # a fixed order: the same sums on every path
        optical = optical[kind == STAR_ROW].reset_index(drop=True)
        opt = prepare_optical(optical, float(targets["epoch_yr"].min()), float(targets["epoch_yr"].max()), catalogue)
        density = None
        if with_cells:
            fine = cells["fine"].to_numpy(np.int64)
            home_rows = int(
                cells["optical_id"]
                .to_numpy(np.int64)[(fine >> np.int64(2 * (FINE_ORDER - params.healpix_order))) == pixel]
                .sum()
            )
            density = DensityCells(
                xyz=radec_to_xyz(cells["ra_deg"].to_numpy(float), cells["dec_deg"].to_numpy(float)).reshape(-1, 3),
                counts=cells["optical_id"].to_numpy(np.float64),
                half_width_arcsec=cell_half_width_arcsec(cell_order),
                home_rows=home_rows,
            )
        # real and shifted-control rows in one call: they share the optical tracks and the KD-tree;
        # pairs and densities are per radio row, so nothing mixes
        result = crossmatch_partition(
            targets, opt, params, partition_pixel=pixel, catalogue=catalogue, density_seed=pixel, density_cells=density
        )
        lookup = targets.set_index("radio_id")
        summary_is_real = lookup["control_offset"].reindex(result.radio["radio_id"]).to_numpy() < 0
        is_real = targets["control_offset"].to_numpy() < 0
        sums = {
            "pair": float(result.radio["expected_chance"][summary_is_real].sum()),
            "control_pair": float(result.radio["expected_chance"][~summary_is_real].sum()),
        }
        frames = []
        pairs = result.pairs
        if len(pairs):
            pairs = pairs.assign(
                radio_ra_deg=lookup["ra_deg"].reindex(pairs["radio_id"]).to_numpy(),
                radio_dec_deg=lookup["dec_deg"].reindex(pairs["radio_id"]).to_numpy(),
                control_offset=lookup["control_offset"].reindex(pairs["radio_id"]).to_numpy(),
            )
            # the optical properties the run posterior needs, on real and control pairs alike (opt_<name>)
            props = optical.drop_duplicates("optical_id").set_index("optical_id")
            pairs = pairs.assign(
                **{
                    f"opt_{c}": props[c].reindex(pairs["optical_id"]).to_numpy(float, na_value=np.nan)
                    for c in OPTICAL_PROPERTY_COLUMNS
                }
            )
            real_pairs = pairs[pairs["control_offset"] < 0]
            frames.append(_as_records(real_pairs, "pair", columns))
            frames.append(_as_records(pairs[pairs["control_offset"] >= 0], "control_pair", columns))
            matched = optical[optical["optical_id"].isin(real_pairs["optical_id"])].drop_duplicates("optical_id")
            matched = matched.rename(columns={c: f"opt_{c}" for c in OPTICAL_COLUMNS if c != "optical_id"})
            matched["catalogue"] = catalogue
            frames.append(_as_records(matched, "optical", columns))
        partition = pd.DataFrame(
            {
                "healpix": [pixel],
                "part_radio_rows": [int(is_real.sum())],
                "part_control_rows": [int((~is_real).sum())],
                "part_optical_rows": [len(optical)],
                "part_density_cells": [len(cells)],
                "expected_chance_sum": [sums["pair"]],
                "control_expected_chance_sum": [sums["control_pair"]],
                "catalogue": [catalogue],
            }
        )
        frames.append(_as_records(partition, "partition", columns))
        return pd.concat(frames, ignore_index=True)

    return exploded_df.groupBy("healpix").applyInPandas(match, spark_schema(columns))
