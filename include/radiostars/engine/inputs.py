"""Catalogue snapshots as Spark DataFrames in the column names the match library expects.

A snapshot is built from the committed raw data only (through the ingestion manifests): the latest
version of every row, soft-deleted rows dropped, one row per catalogue id (smallest row_id wins —
the rule ingestion validation applies). Rows without a usable position are skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from radiostars.config import Settings

# Julian year of MJD: J2000.0 = MJD 51544.5, 365.25 days per Julian year
MJD_J2000 = 51544.5
DAYS_PER_JULIAN_YEAR = 365.25

OPTICAL_CATALOGUES = ("gaia_dr3", "hipparcos2")

ID_COLUMN = {"radio_sources": "source_name", "gaia_dr3": "source_id", "hipparcos2": "hip",
             "known_objects": "name"}


class InputError(ValueError):
    """The requested input cannot be read (no committed data, unknown catalogue)."""


@dataclass
class Snapshot:
    df: object  # pyspark DataFrame
    rows_total: int
    rows_skipped_no_position: int


def read_committed(spark, settings: Settings, table: str, lake_prefix: str = ""):
    """Union of the Parquet files listed by the table's effective manifests, as current state."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from radiostars.ingest.manifest import snapshot_uris

    uris = snapshot_uris(settings, table, lake_prefix)
    if not uris:
        raise InputError(f"no committed data for {table} in s3://{settings.lake_bucket}/{lake_prefix}raw/{table}/: "
                         "run the catalogue_ingestion DAG (or `radiostars generate-scale`) first")
    raw = spark.read.parquet(*uris)
    latest = Window.partitionBy("row_id").orderBy(F.col("updated_at").desc())
    current = (raw.withColumn("_v", F.row_number().over(latest)).filter("_v = 1").drop("_v")
               .filter(~F.coalesce(F.col("deleted").cast("boolean"), F.lit(False))))
    one_per_id = Window.partitionBy(ID_COLUMN[table]).orderBy("row_id")
    return current.withColumn("_k", F.row_number().over(one_per_id)).filter("_k = 1").drop("_k")


# Position error assumed for optical rows that have none (the real bright Gaia stars of the sample
# package carry no errors): conservative next to Gaia's ~0.02 mas at G < 10, negligible next to radio σ.
MISSING_POSITION_ERROR_MAS = 1.0


def _finite(column: str):
    from pyspark.sql import functions as F

    return F.col(column).isNotNull() & ~F.isnan(column)


def _split_usable(df, usable) -> tuple[object, int, int]:
    """Keep rows where `usable` holds; return (kept, rows in, rows skipped) — nothing dropped silently."""
    from pyspark.sql import functions as F

    df = df.withColumn("_ok", F.coalesce(usable, F.lit(False))).cache()
    counts = {row["_ok"]: row["count"] for row in df.groupBy("_ok").count().collect()}
    return df.filter("_ok").drop("_ok"), sum(counts.values()), counts.get(False, 0)


def _position_ok(ra: str, dec: str):
    from pyspark.sql import functions as F

    return (_finite(ra) & _finite(dec) & (F.col(ra) >= 0) & (F.col(ra) < 360)
            & (F.col(dec) >= -90) & (F.col(dec) <= 90))


def radio_snapshot(spark, settings: Settings, lake_prefix: str = "") -> Snapshot:
    """radio_id, ra_deg, dec_deg, sigma_radio_arcsec (circularised), epoch_yr + the catalogue columns."""
    from pyspark.sql import functions as F

    df = read_committed(spark, settings, "radio_sources", lake_prefix)
    df = (df.withColumn("radio_id", F.col("source_name"))
            .withColumn("sigma_radio_arcsec",
                        F.sqrt((F.col("ra_err_arcsec") ** 2 + F.col("dec_err_arcsec") ** 2) / 2.0))
            .withColumn("epoch_yr", 2000.0 + (F.col("obs_epoch_mjd") - MJD_J2000) / DAYS_PER_JULIAN_YEAR))
    usable = (_position_ok("ra_deg", "dec_deg") & _finite("sigma_radio_arcsec")
              & (F.col("sigma_radio_arcsec") > 0) & _finite("epoch_yr"))
    df, total, skipped = _split_usable(df, usable)
    return Snapshot(df, total, skipped)


def optical_snapshot(spark, settings: Settings, catalogue: str, lake_prefix: str = "") -> Snapshot:
    """optical_id, ra_deg, dec_deg, ref_epoch_yr, errors (mas), pm (mas/yr), parallax (mas), catalogue."""
    from pyspark.sql import functions as F

    if catalogue not in OPTICAL_CATALOGUES:
        raise InputError(f"unknown optical catalogue {catalogue!r}; choose from {', '.join(OPTICAL_CATALOGUES)}")
    df = read_committed(spark, settings, catalogue, lake_prefix)
    if catalogue == "gaia_dr3":
        df = df.select(
            F.col("source_id").cast("long").alias("optical_id"), F.col("ra").alias("ra_deg"),
            F.col("dec").alias("dec_deg"), F.col("ref_epoch").alias("ref_epoch_yr"),
            F.col("ra_error").alias("ra_error_mas"), F.col("dec_error").alias("dec_error_mas"),
            F.col("pmra").alias("pmra_mas_yr"), F.col("pmdec").alias("pmdec_mas_yr"),
            F.col("parallax").alias("parallax_mas"), F.col("parallax_error").alias("parallax_error_mas"),
            F.col("pmra_error").alias("pmra_error_mas_yr"), F.col("pmdec_error").alias("pmdec_error_mas_yr"),
            F.col("phot_g_mean_mag").alias("mag"), F.col("bp_rp").alias("colour"),
            F.col("is_synthetic").cast("boolean").alias("is_synthetic"))
    else:
        df = df.select(
            F.col("hip").cast("long").alias("optical_id"), "ra_deg", "dec_deg",
            F.col("ref_epoch").alias("ref_epoch_yr"),
            F.col("e_ra_mas").alias("ra_error_mas"), F.col("e_dec_mas").alias("dec_error_mas"),
            "pmra_mas_yr", "pmdec_mas_yr", F.col("plx_mas").alias("parallax_mas"),
            F.col("e_plx_mas").alias("parallax_error_mas"),
            F.col("e_pmra").alias("pmra_error_mas_yr"), F.col("e_pmdec").alias("pmdec_error_mas_yr"),
            F.col("hp_mag").alias("mag"), F.col("b_v").alias("colour"),
            F.lit(False).alias("is_synthetic"))
    for column in ("ra_error_mas", "dec_error_mas"):
        df = df.withColumn(column, F.when(_finite(column) & (F.col(column) > 0), F.col(column))
                           .otherwise(F.lit(MISSING_POSITION_ERROR_MAS)))
    df = df.withColumn("catalogue", F.lit(catalogue))
    df, total, skipped = _split_usable(df, _position_ok("ra_deg", "dec_deg") & _finite("ref_epoch_yr"))
    return Snapshot(df, total, skipped)
