"""The cross-match on Spark: HEALPix partitions with margins, one pandas call per partition.

Radio rows go to their home pixel; optical rows go to their home pixel *and* every neighbouring pixel
they lie within a margin of (margin ≥ search radius + density annulus + proper-motion reach over the
radio epochs). Each partition is matched by :func:`radiostars.crossmatch.run.crossmatch_partition`,
which emits pairs only for radio rows whose home pixel is the partition — so every pair is found
exactly once across pixel edges, the RA 0/360 seam and the poles. The join is a co-group on the pixel
key: no cartesian product, cost ~ linear in rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from radiostars.crossmatch.params import CrossmatchParams

# numpy/pandas dtype -> Spark SQL type name, for applyInPandas output schemas
_SPARK_TYPE = {"object": "string", "int64": "bigint", "int32": "int", "float64": "double", "bool": "boolean"}

RADIO_COLUMNS = ["radio_id", "ra_deg", "dec_deg", "sigma_radio_arcsec", "epoch_yr", "healpix"]
OPTICAL_COLUMNS = ["optical_id", "ra_deg", "dec_deg", "ref_epoch_yr", "ra_error_mas", "dec_error_mas",
                   "pmra_mas_yr", "pmdec_mas_yr", "parallax_mas", "pmra_error_mas_yr", "pmdec_error_mas_yr",
                   "catalogue"]


_NULLABLE = {"int64": "Int64", "int32": "Int32", "bool": "boolean", "float64": "float64", "object": "object"}


def spark_schema(columns: dict[str, str]) -> str:
    return ", ".join(f"`{name}` {_SPARK_TYPE[dtype]}" for name, dtype in columns.items())


def partition_output_columns() -> dict[str, str]:
    """One schema for both outputs of a partition: `record` = 'pair' or 'radio' (per-source summary)."""
    from radiostars.crossmatch.run import FULL_PAIR_SCHEMA, RADIO_SUMMARY_SCHEMA

    columns = {"record": "object", **FULL_PAIR_SCHEMA}
    for name, dtype in RADIO_SUMMARY_SCHEMA.items():
        columns.setdefault(name, dtype)
    return columns


def with_home_pixel(radio_df, order: int):
    """Add `healpix`: the radio source's home pixel (nested) at `order`."""
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("long")
    def home(ra: pd.Series, dec: pd.Series) -> pd.Series:
        from radiostars.crossmatch.partition import home_pixel

        return pd.Series(home_pixel(ra.to_numpy(float), dec.to_numpy(float), order))

    return radio_df.withColumn("healpix", home(F.col("ra_deg"), F.col("dec_deg")))


def control_radio(radio_df, params: CrossmatchParams):
    """Shifted copies of the radio sources (several offsets ≫ radius), re-partitioned."""
    offsets = [(arcmin * 60.0, pa) for arcmin in params.control_offsets_arcmin
               for pa in params.control_position_angles_deg]
    base = radio_df.select("radio_id", "ra_deg", "dec_deg", "sigma_radio_arcsec", "epoch_yr")
    schema = "radio_id string, ra_deg double, dec_deg double, sigma_radio_arcsec double, epoch_yr double, control_offset int"

    def shift(batches):
        from radiostars.crossmatch.control import control_radio_frame

        for pdf in batches:
            if len(pdf):
                out = control_radio_frame(pdf, offsets)
                yield out[["radio_id", "ra_deg", "dec_deg", "sigma_radio_arcsec", "epoch_yr", "control_offset"]]

    return with_home_pixel(base.mapInPandas(shift, schema), params.healpix_order), len(offsets)


def optical_with_margins(optical_df, params: CrossmatchParams, epoch_lo_yr: float, epoch_hi_yr: float):
    """Each optical row once per pixel it must be visible from (home + margin copies)."""
    columns = OPTICAL_COLUMNS
    schema = ("optical_id bigint, ra_deg double, dec_deg double, ref_epoch_yr double, ra_error_mas double, "
              "dec_error_mas double, pmra_mas_yr double, pmdec_mas_yr double, parallax_mas double, "
              "pmra_error_mas_yr double, pmdec_error_mas_yr double, catalogue string, healpix bigint")

    def explode(batches):
        from radiostars.crossmatch.match import optical_partition_membership

        for pdf in batches:
            if not len(pdf):
                continue
            pdf = pdf.reset_index(drop=True)
            rows, pixels = optical_partition_membership(pdf, params, epoch_lo_yr, epoch_hi_yr)
            out = pdf.iloc[rows].reset_index(drop=True)
            out["healpix"] = pixels.astype(np.int64)
            yield out

    return optical_df.select(*columns).mapInPandas(explode, schema)


def match_partitions(radio_df, optical_df, params: CrossmatchParams, catalogue: str):
    """Co-group by pixel and run the per-partition match; returns the combined record frame."""
    columns = partition_output_columns()
    schema = spark_schema(columns)

    def match(key, radio: pd.DataFrame, optical: pd.DataFrame) -> pd.DataFrame:
        from radiostars.crossmatch.run import crossmatch_partition

        if radio.empty:
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
        pixel = int(key[0])
        result = crossmatch_partition(radio, optical, params, partition_pixel=pixel, catalogue=catalogue,
                                      density_seed=pixel)
        # give both record kinds every column, in nullable dtypes, *before* concatenating: a plain
        # concat would turn int64 ids (Gaia source_ids ~ 6e18 > 2**53) into float64 and round them
        frames = []
        for frame, record in ((result.pairs, "pair"), (result.radio, "radio")):
            frame = frame.assign(record=record)
            for column, dtype in columns.items():
                nullable = _NULLABLE.get(dtype, dtype)
                frame[column] = (frame[column].astype(nullable) if column in frame.columns
                                 else pd.Series(pd.array([None] * len(frame), dtype=nullable), index=frame.index))
            frames.append(frame[list(columns)])
        out = pd.concat(frames, ignore_index=True)
        return out[list(columns)]

    grouped_radio = radio_df.select(*RADIO_COLUMNS).groupBy("healpix")
    grouped_optical = optical_df.groupBy("healpix")
    return grouped_radio.cogroup(grouped_optical).applyInPandas(match, schema)
