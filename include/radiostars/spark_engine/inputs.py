"""Catalogue snapshots as Spark DataFrames in the column names the match library expects.

A snapshot is built from the committed raw data only (through the ingestion manifests): the latest
version of every row, soft-deleted rows dropped, one row per catalogue id (smallest row_id wins —
the rule ingestion validation applies). Rows without a usable position are skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from radiostars.catalogues.tables import ID_COLUMN, OPTICAL_CATALOGUES
from radiostars.config import Settings
from radiostars.crossmatch.epoch import DAYS_PER_JULIAN_YEAR, MJD_J2000
from radiostars.errors import RadiostarsError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


class InputError(RadiostarsError, ValueError):
    """The requested input cannot be read (no committed data, unknown catalogue)."""


def read_committed(spark, settings: Settings, table: str, lake_prefix: str = "", manifests: list[dict] | None = None):
    """Current state of ``table`` from the Parquet files of its effective manifests.

    Several effective manifests (incremental ingests on top of a full refresh) stack versions of
    a row: keep the latest version per row_id, drop soft-deleted rows, one row per catalogue id
    (smallest row_id). One manifest alone needs no window (two shuffles of the whole table at
    10^8 rows): a batch is extracted by keyset on the primary key (row_ids unique) and ingestion
    validation quarantines a second live row with the same catalogue id (``duplicate_id``), so only
    the soft-delete filter applies. ``manifests``: the effective manifests when the caller listed
    them already (the curated layout fingerprints exactly the files it reads).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from radiostars.lake.raw import effective_manifests, snapshot_uris

    if manifests is None:
        manifests = effective_manifests(settings, table, lake_prefix)
    uris = snapshot_uris(settings, table, lake_prefix, manifests=manifests)
    if not uris:
        raise InputError(
            f"no committed data for {table} in s3://{settings.lake_bucket}/{lake_prefix}raw/{table}/: "
            "run the catalogue_ingestion DAG (or `radiostars generate-scale`) first"
        )
    raw = spark.read.parquet(*uris)
    live = ~F.coalesce(F.col("deleted").cast("boolean"), F.lit(False)) if "deleted" in raw.columns else F.lit(True)
    if len(manifests) == 1:
        return raw.filter(live)
    latest = Window.partitionBy("row_id").orderBy(F.col("updated_at").desc())
    current = raw.withColumn("_v", F.row_number().over(latest)).filter("_v = 1").drop("_v").filter(live)
    one_per_id = Window.partitionBy(ID_COLUMN[table]).orderBy("row_id")
    return current.withColumn("_k", F.row_number().over(one_per_id)).filter("_k = 1").drop("_k")


# Position error assumed for optical rows that have none (the real bright Gaia stars of the sample
# package carry no errors): conservative next to Gaia's ~0.02 mas at G < 10, negligible next to radio σ.
MISSING_POSITION_ERROR_MAS = 1.0


def _finite(column: str):
    from pyspark.sql import functions as F

    return F.col(column).isNotNull() & ~F.isnan(column)


@dataclass
class RadioSnapshot:
    """The usable radio rows on the driver (a radio catalogue is small: 10^5–10^6 rows)."""

    frame: pd.DataFrame  # radio_sources columns + radio_id, sigma_radio_arcsec, epoch_yr
    rows_total: int
    rows_skipped_no_position: int


def usable_radio_mask(frame) -> np.ndarray:
    """Rows with a position on the sphere, a positive finite circularised σ and a finite epoch."""
    import numpy as np

    from radiostars.crossmatch.separation import usable_position_mask

    sig = frame["sigma_radio_arcsec"].to_numpy(float, na_value=np.nan)
    ep = frame["epoch_yr"].to_numpy(float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return (
            usable_position_mask(
                frame["ra_deg"].to_numpy(float, na_value=np.nan), frame["dec_deg"].to_numpy(float, na_value=np.nan)
            )
            & np.isfinite(sig)
            & (sig > 0)
            & np.isfinite(ep)
        )


def radio_snapshot(spark, settings: Settings, lake_prefix: str = "") -> RadioSnapshot:
    """Read the committed radio catalogue once and bring it to the driver; skipped rows are counted."""
    from pyspark.sql import functions as F

    df = read_committed(spark, settings, "radio_sources", lake_prefix)
    df = (
        df.withColumn("radio_id", F.col("source_name"))
        .withColumn("sigma_radio_arcsec", F.sqrt((F.col("ra_err_arcsec") ** 2 + F.col("dec_err_arcsec") ** 2) / 2.0))
        .withColumn("epoch_yr", 2000.0 + (F.col("obs_epoch_mjd") - MJD_J2000) / DAYS_PER_JULIAN_YEAR)
    )
    frame = df.toPandas()
    ok = usable_radio_mask(frame)
    return RadioSnapshot(frame[ok].reset_index(drop=True), len(frame), int((~ok).sum()))


def optical_snapshot(
    spark, settings: Settings, catalogue: str, lake_prefix: str = "", manifests: list[dict] | None = None
):
    """Lazy DataFrame in the match library's column names (``OPTICAL_COLUMNS`` of
    :mod:`radiostars.spark_engine.partitioned_match`): optical_id, ra_deg, dec_deg, ref_epoch_yr, errors
    (mas), pm (mas/yr), parallax (mas), mag, colour, is_synthetic. Missing position errors become
    ``MISSING_POSITION_ERROR_MAS``; rows without a usable position are counted in the match pass."""
    from pyspark.sql import functions as F

    if catalogue not in OPTICAL_CATALOGUES:
        raise InputError(f"unknown optical catalogue {catalogue!r}; choose from {', '.join(OPTICAL_CATALOGUES)}")
    df = read_committed(spark, settings, catalogue, lake_prefix, manifests)
    if catalogue == "gaia_dr3":
        df = df.select(
            F.col("source_id").cast("long").alias("optical_id"),
            F.col("ra").alias("ra_deg"),
            F.col("dec").alias("dec_deg"),
            F.col("ref_epoch").alias("ref_epoch_yr"),
            F.col("ra_error").alias("ra_error_mas"),
            F.col("dec_error").alias("dec_error_mas"),
            F.col("pmra").alias("pmra_mas_yr"),
            F.col("pmdec").alias("pmdec_mas_yr"),
            F.col("parallax").alias("parallax_mas"),
            F.col("parallax_error").alias("parallax_error_mas"),
            F.col("pmra_error").alias("pmra_error_mas_yr"),
            F.col("pmdec_error").alias("pmdec_error_mas_yr"),
            F.col("phot_g_mean_mag").alias("mag"),
            F.col("bp_rp").alias("colour"),
            F.col("is_synthetic").cast("boolean").alias("is_synthetic"),
        )
    else:
        df = df.select(
            F.col("hip").cast("long").alias("optical_id"),
            "ra_deg",
            "dec_deg",
            F.col("ref_epoch").alias("ref_epoch_yr"),
            F.col("e_ra_mas").alias("ra_error_mas"),
            F.col("e_dec_mas").alias("dec_error_mas"),
            "pmra_mas_yr",
            "pmdec_mas_yr",
            F.col("plx_mas").alias("parallax_mas"),
            F.col("e_plx_mas").alias("parallax_error_mas"),
            F.col("e_pmra").alias("pmra_error_mas_yr"),
            F.col("e_pmdec").alias("pmdec_error_mas_yr"),
            F.col("hp_mag").alias("mag"),
            F.col("b_v").alias("colour"),
            F.lit(False).alias("is_synthetic"),
        )
    for column in ("ra_error_mas", "dec_error_mas"):
        df = df.withColumn(
            column,
            F.when(_finite(column) & (F.col(column) > 0), F.col(column)).otherwise(F.lit(MISSING_POSITION_ERROR_MAS)),
        )
    return df
