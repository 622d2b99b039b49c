"""One cross-match run: snapshots → partitioned match (+ shifted control) → outputs → commit marker.

Layout and columns: docs/lake.md (`crossmatch/<run_id>/…`). The `_SUCCESS` marker is written last;
a run without it is invisible to readers and is cleared before a retry of the same run id.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

from radiostars.config import Settings
from radiostars.crossmatch.params import CrossmatchParams
import numpy as np

from radiostars.engine import OPTICAL_LAYOUTS
from radiostars.engine.curated import curated_frame, ensure_layout
from radiostars.ingest.lake_io import Lake
from radiostars.engine.inputs import OPTICAL_CATALOGUES, optical_snapshot, radio_snapshot
from radiostars.engine.partitioned_match import (OPTICAL_COLUMNS, PARTITION_COLUMNS, explode_optical, match_pixels,
                                                 radio_targets, targets_by_pixel)

MARKER = "_SUCCESS"


class RunError(RuntimeError):
    """The run cannot proceed (already committed, bad parameters); the message says what to do."""


@dataclass
class RunRequest:
    run_id: str
    params: CrossmatchParams = field(default_factory=CrossmatchParams)
    catalogues: tuple[str, ...] = OPTICAL_CATALOGUES
    lake_prefix: str = ""  # tests and benchmarks use their own prefix in the same bucket
    overwrite: bool = False
    # "curated": read the HEALPix-partitioned layout of each optical snapshot (built once when missing,
    # engine/curated.py) — no shuffle of the optical side; "shuffle": explode + shuffle the raw snapshot
    optical_layout: str = "curated"

    def validate(self) -> None:
        if not self.run_id or "/" in self.run_id or self.run_id.startswith("."):
            raise RunError(f"run id {self.run_id!r} is not a valid object-name segment")
        unknown = [c for c in self.catalogues if c not in OPTICAL_CATALOGUES]
        if unknown or not self.catalogues:
            raise RunError(f"catalogues {list(self.catalogues)}: choose one or more of {', '.join(OPTICAL_CATALOGUES)}")
        if self.optical_layout not in OPTICAL_LAYOUTS:
            raise RunError(f"optical_layout {self.optical_layout!r}: choose one of {', '.join(OPTICAL_LAYOUTS)}")
        if self.lake_prefix and not self.lake_prefix.endswith("/"):
            raise RunError("lake_prefix must end with '/'")


def run_prefix(request: RunRequest) -> str:
    return f"{request.lake_prefix}crossmatch/{request.run_id}/"


def is_committed(settings: Settings, run_id: str, lake_prefix: str = "") -> bool:
    return Lake(settings).size(f"{lake_prefix}crossmatch/{run_id}/{MARKER}") is not None


def committed_runs(settings: Settings, lake_prefix: str = "") -> list[str]:
    """Run ids with a commit marker, oldest commit first (by the marker's `committed_at`: Airflow run
    ids — manual__…, asset_triggered__…, scheduled__… — do not sort by time)."""
    lake = Lake(settings)
    runs = []
    for obj in lake.client.list_objects(settings.lake_bucket, prefix=f"{lake_prefix}crossmatch/"):
        if not obj.is_dir:
            continue
        run_id = obj.object_name.rstrip("/").split("/")[-1]
        marker = lake.get_json(f"{lake_prefix}crossmatch/{run_id}/{MARKER}")
        if marker is not None:  # no marker: not committed
            runs.append((str(marker.get("committed_at") or ""), run_id))
    return [run_id for _, run_id in sorted(runs)]


def _distribution(values: list[int]) -> dict:
    if not values:
        return {"partitions": 0}
    ordered = sorted(values)
    return {"partitions": len(ordered), "min": ordered[0], "median": ordered[len(ordered) // 2],
            "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], "max": ordered[-1],
            "total": sum(ordered)}


def _union(frames):
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out


def run_crossmatch(spark, settings: Settings, request: RunRequest, log=print) -> dict:
    """Execute one run end to end and commit it; returns metrics (also written to metrics.json).

    Spark work: one read of the radio catalogue (to the driver), then per optical catalogue one pass
    over the pixels holding targets — from the curated layout (bucketed by pixel: no shuffle; built
    once per snapshot when missing, timed apart as ``curate_s``) or, with ``optical_layout="shuffle"``,
    explode with margins → shuffle by pixel — matching real and control rows per pixel, cached as
    records; the outputs and metrics are small derivations of those records.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from radiostars.crossmatch.calibration import calibrate_p_any_cut

    request.validate()
    params = request.params
    prefix = run_prefix(request)
    if is_committed(settings, request.run_id, request.lake_prefix):
        if not request.overwrite:
            raise RunError(f"run {request.run_id} is already committed (s3://{settings.lake_bucket}/{prefix}{MARKER}); "
                           "pass --overwrite to replace it or choose another run id")
    cleared = Lake(settings).remove_prefix(prefix)  # an overwritten run, or a killed attempt's leftovers
    if cleared:
        log(f"cleared {cleared} objects left under {prefix}")
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    uri = lambda name: settings.lake_uri(prefix + name)  # noqa: E731

    # -- radio side, on the driver
    radio = radio_snapshot(spark, settings, request.lake_prefix)
    n_radio = len(radio.frame)
    targets = radio_targets(radio.frame, params)
    n_offsets = len(params.control_offsets())
    epoch_lo, epoch_hi = ((float(radio.frame["epoch_yr"].min()), float(radio.frame["epoch_yr"].max()))
                          if n_radio else (2016.0, 2016.0))
    by_pixel = targets_by_pixel(targets)
    broadcast = spark.sparkContext.broadcast(by_pixel)
    log(f"radio snapshot: {n_radio} usable sources, {radio.rows_skipped_no_position} skipped "
        f"(no usable position/error/epoch); {len(targets) - n_radio} control copies ({n_offsets} offsets); "
        f"{len(by_pixel)} order-{params.healpix_order} pixels hold targets; epochs {epoch_lo:.3f}–{epoch_hi:.3f}")
    timings["radio_s"] = time.monotonic() - t0

    # -- one pass per optical catalogue; everything downstream reads the cached records
    t1 = time.monotonic()
    per_catalogue = []
    target_pixels = np.fromiter(by_pixel, np.int64, len(by_pixel))
    layouts: dict[str, dict] = {}
    timings["curate_s"] = 0.0
    for catalogue in request.catalogues:
        if request.optical_layout == "curated":
            tc = time.monotonic()
            layout, built = ensure_layout(spark, settings, catalogue, params, epoch_lo, epoch_hi,
                                          request.lake_prefix, log)
            if built:  # the one-off partitioning is reported apart from the match
                timings["curate_s"] += time.monotonic() - tc
            layouts[catalogue] = {"prefix": layout.prefix, "built_in_this_run": built, "buckets": layout.buckets,
                                  "rows_with_margins": layout.rows_with_margins, "build_s": layout.build_s,
                                  "spec": asdict(layout.spec)}
            optical_rows = curated_frame(spark, settings, layout, target_pixels)
        else:
            optical = optical_snapshot(spark, settings, catalogue, request.lake_prefix)
            optical_rows = explode_optical(optical, target_pixels, params, epoch_lo, epoch_hi)
        per_catalogue.append(match_pixels(optical_rows, broadcast, params, catalogue))
    records = _union(per_catalogue).cache()
    summary = records.filter(F.col("record").isin("partition", "skipped", "tally")).select(
        "record", "catalogue", "healpix", *PARTITION_COLUMNS).toPandas()
    timings["match_s"] = time.monotonic() - t1 - timings["curate_s"]  # a layout built in this run is not the match
    parts = summary[summary["record"] == "partition"]
    metrics: dict = {"run_id": request.run_id, "params": params.to_dict(), "catalogues": list(request.catalogues),
                     "radio": {"rows": radio.rows_total, "usable": n_radio,
                               "skipped_no_position": radio.rows_skipped_no_position},
                     "optical": {catalogue: {} for catalogue in request.catalogues}}
    _attribute_counts(summary, request.catalogues, metrics)
    metrics["optical_layout"] = request.optical_layout
    for catalogue, layout in layouts.items():
        metrics["optical"][catalogue]["layout"] = layout
    for catalogue in request.catalogues:
        mine = parts[parts["catalogue"] == catalogue]
        metrics["optical"][catalogue]["partition_rows_with_margins"] = _distribution(
            [int(v) for v in mine["part_optical_rows"]])
        log(f"{catalogue}: {metrics['optical'][catalogue]['rows']} rows read "
            f"({metrics['optical'][catalogue]['skipped_no_position']} skipped: no usable position), "
            f"{int(mine['part_optical_rows'].sum())} with margin copies in {len(mine)} pixels holding targets")

    # -- outputs
    t2 = time.monotonic()
    by_source = Window.partitionBy("radio_id").orderBy("sep_sigma", "sep_arcsec", "catalogue", "optical_id")
    pairs = (records.filter("record = 'pair'").withColumnRenamed("rank", "rank_in_catalogue")
             .withColumnRenamed("n_candidates", "n_candidates_in_catalogue")
             .withColumn("rank", F.row_number().over(by_source).cast("int"))
             .withColumn("n_candidates", F.count("*").over(Window.partitionBy("radio_id")).cast("int"))
             .select(F.lit(request.run_id).alias("run_id"), F.col("radio_id").alias("radio_source_name"),
                     F.col("catalogue").alias("optical_catalogue"), "optical_id", "radio_ra_deg", "radio_dec_deg",
                     "radio_epoch_yr", F.col("ra_opt_deg").alias("optical_ra_deg"),
                     F.col("dec_opt_deg").alias("optical_dec_deg"), "sep_arcsec", "sigma_arcsec", "sep_sigma",
                     "match_radius_arcsec", "rank", "n_candidates", "rank_in_catalogue",
                     "n_candidates_in_catalogue", F.col("rho_arcsec2").alias("local_density_per_arcsec2"),
                     "p_chance", "ln_bayes_factor", "prior", "p_any", "p_i", "p_single", "healpix",
                     "sigma_radio_arcsec", "sigma_opt_arcsec", "dt_yr", "pm_missing", "n_annulus"))
    pairs.coalesce(4).write.mode("overwrite").parquet(uri("pairs"))
    pairs = spark.read.parquet(uri("pairs"))
    pairs.filter("rank = 1").coalesce(2).write.mode("overwrite").parquet(uri("best"))

    radio_out = radio.frame.drop(columns=["radio_id"]).merge(
        targets.loc[targets["control_offset"] < 0, ["radio_id", "healpix"]].rename(columns={"radio_id": "source_name"}),
        on="source_name", how="left")
    _write_frame(spark, radio_out, uri("radio"))
    optical_rows = (records.filter("record = 'optical'").dropDuplicates(["catalogue", "optical_id"])
                    .select("optical_id", *[F.col(f"opt_{c}").alias(c) for c in OPTICAL_COLUMNS if c != "optical_id"],
                            "catalogue", "healpix"))
    optical_rows.coalesce(2).write.mode("overwrite").parquet(uri("optical"))

    # -- control: matches per shifted source and offset; p_any calibration on the control
    control = (records.filter("record = 'control_pair'")
               .groupBy("radio_id", "control_offset").agg(F.count("*").alias("n"), F.max("p_any").alias("p_any"))
               .toPandas())
    per_offset = control.groupby("control_offset")["n"].sum().to_dict() if len(control) else {}
    control_rows = []
    for k, (d_arcsec, pa) in enumerate(params.control_offsets()):
        matches = int(per_offset.get(k, 0))
        control_rows.append((f"c{k}", float(d_arcsec * math.sin(math.radians(pa))),
                             float(d_arcsec * math.cos(math.radians(pa))), n_radio, matches,
                             (matches / n_radio) if n_radio else 0.0))
    spark.createDataFrame(control_rows, "offset_name string, offset_ra_arcsec double, offset_dec_arcsec double, "
                                        "n_radio long, n_matches long, far_per_source double") \
        .coalesce(1).write.mode("overwrite").parquet(uri("control"))

    stats = pairs.agg(F.count("*").alias("n"), F.sum(F.when(F.col("rank") == 1, 1).otherwise(0)).alias("best"),
                      F.sum("p_chance").alias("p_chance_sum")).first()
    n_control_pairs = int(sum(per_offset.values()))
    n_control_sources = n_radio * n_offsets
    calibration = None
    if n_control_sources:
        calibration = calibrate_p_any_cut(control["p_any"].to_numpy(float), n_control_sources,
                                          params.target_false_rate).to_dict()
    radio_sizes = [len(frame[frame["control_offset"] < 0]) for frame in by_pixel.values()]
    metrics.update({
        "pairs": int(stats["n"] or 0), "radio_with_candidates": int(stats["best"] or 0),
        "p_chance_sum": float(stats["p_chance_sum"] or 0.0),
        # expected chance matches per radio source (Σ π R² ρ over catalogues / N): analytic FAR
        "far_analytic": (float(parts["expected_chance_sum"].sum()) / n_radio) if n_radio else 0.0,
        "far_analytic_control_positions": (float(parts["control_expected_chance_sum"].sum()) / n_control_sources)
        if n_control_sources else 0.0,
        "far_control": (n_control_pairs / n_control_sources) if n_control_sources else 0.0,
        "far_control_err": (math.sqrt(n_control_pairs) / n_control_sources) if n_control_sources else 0.0,
        "control": {"offsets": n_offsets, "pairs": n_control_pairs,
                    "per_offset": {f"c{k}": int(v) for k, v in sorted(per_offset.items())}},
        "calibration": calibration,
        "radio_partitions": _distribution([n for n in radio_sizes if n]),
    })
    records.unpersist()
    broadcast.unpersist()
    timings["outputs_s"] = time.monotonic() - t2
    timings["total_s"] = time.monotonic() - t0
    metrics["timings"] = timings
    metrics["master"] = spark.sparkContext.master
    Lake(settings).put_json(prefix + "metrics.json", metrics)
    Lake(settings).put_json(prefix + MARKER, {"run_id": request.run_id, "committed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                          "files": ["pairs/", "best/", "control/", "radio/", "optical/", "metrics.json"]})
    cut = f", p_any cut {calibration['p_any_cut']:.3g} for {params.target_false_rate:.2%} false selections" if calibration else ""
    log(f"committed crossmatch run {request.run_id}: {metrics['pairs']} pairs, {metrics['radio_with_candidates']} radio "
        f"sources with a candidate, FAR analytic {metrics['far_analytic']:.4g} vs control {metrics['far_control']:.4g} "
        f"per source{cut}; radio {timings['radio_s']:.1f} s, match {timings['match_s']:.1f} s, "
        f"outputs {timings['outputs_s']:.1f} s, one-off curation {timings['curate_s']:.1f} s, total {timings['total_s']:.1f} s")
    return metrics


def curate(spark, settings: Settings, request: RunRequest, log=print, rebuild: bool = False) -> dict[str, dict]:
    """Build (or confirm) the curated layout of each requested catalogue for the default epoch window:
    the one-off partitioning apart from any match. Returns {catalogue: layout dict}."""
    from radiostars.engine.curated import DEFAULT_EPOCH_WINDOW_YR

    request.validate()
    out = {}
    for catalogue in request.catalogues:
        t0 = time.monotonic()
        layout, built = ensure_layout(spark, settings, catalogue, request.params, *DEFAULT_EPOCH_WINDOW_YR,
                                      request.lake_prefix, log, rebuild=rebuild)
        out[catalogue] = {**layout.to_dict(), "built_now": built, "wall_s": round(time.monotonic() - t0, 3)}
    return out


def _attribute_counts(summary, catalogues, metrics: dict) -> None:
    """Rows read / rows skipped (no usable position) per catalogue, from the tally/skipped records."""
    for catalogue in catalogues:
        mine = summary[summary["catalogue"] == catalogue]
        metrics["optical"][catalogue]["rows"] = int(mine.loc[mine["record"] == "tally", "count"].sum())
        metrics["optical"][catalogue]["skipped_no_position"] = int(mine.loc[mine["record"] == "skipped", "count"].sum())


def _write_frame(spark, frame, target_uri: str) -> None:
    """A small driver-side pandas frame as a Parquet directory."""
    spark.createDataFrame(frame).coalesce(1).write.mode("overwrite").parquet(target_uri)
