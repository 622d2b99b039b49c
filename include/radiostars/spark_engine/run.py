"""One cross-match run: snapshots → partitioned match (+ shifted control) → outputs → commit marker.

Layout and columns: docs/lake.md (`crossmatch/<run_id>/…`). The `_SUCCESS` marker
(:func:`radiostars.lake.runs.commit_run`: every file of the run with its size and ETag) is written last;
a run without it is invisible to readers and is cleared before a retry of the same run id.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from radiostars.catalogues.tables import OPTICAL_CATALOGUES
from radiostars.config import Settings
from radiostars.crossmatch.params import CrossmatchParams
from radiostars.errors import RadiostarsError
from radiostars.lake.errors import InvalidKeyError
from radiostars.lake.keys import MARKER, METRICS, check_prefix, check_run_id, crossmatch_run_prefix
from radiostars.lake.runs import commit_run, is_committed
from radiostars.lake.store import Lake
from radiostars.spark_engine import OPTICAL_LAYOUTS
from radiostars.spark_engine.curated import curated_frame, ensure_layout
from radiostars.spark_engine.inputs import optical_snapshot, radio_snapshot
from radiostars.spark_engine.partitioned_match import (
    OPTICAL_COLUMNS,
    PARTITION_COLUMNS,
    density_cells,
    explode_optical,
    match_pixels,
    prune_to_targets,
    radio_targets,
    targets_by_pixel,
)


class RunError(RadiostarsError):
    """The run cannot proceed (already committed, bad parameters); the message says what to do."""


@dataclass
class RunRequest:
    run_id: str
    params: CrossmatchParams = field(default_factory=CrossmatchParams)
    catalogues: tuple[str, ...] = OPTICAL_CATALOGUES
    lake_prefix: str = ""  # tests and benchmarks use their own prefix in the same bucket
    overwrite: bool = False
    # a run already committed under this id is kept as it is (the call returns its metrics, nothing is rewritten):
    # an Airflow retry of a task whose earlier attempt committed and was then killed (fault 5, docs/reliability.md)
    keep_committed: bool = False
    # "curated": read the HEALPix-partitioned layout of each optical snapshot (built once when missing,
    # spark_engine/curated.py) — no shuffle of the optical side; "shuffle": explode + shuffle the raw snapshot
    optical_layout: str = "curated"

    def validate(self) -> None:
        try:
            check_run_id(self.run_id)
        except InvalidKeyError as exc:
            raise RunError(str(exc)) from None
        unknown = [c for c in self.catalogues if c not in OPTICAL_CATALOGUES]
        if unknown or not self.catalogues:
            raise RunError(f"catalogues {list(self.catalogues)}: choose one or more of {', '.join(OPTICAL_CATALOGUES)}")
        if self.optical_layout not in OPTICAL_LAYOUTS:
            raise RunError(f"optical_layout {self.optical_layout!r}: choose one of {', '.join(OPTICAL_LAYOUTS)}")
        if self.lake_prefix and not self.lake_prefix.endswith("/"):
            raise RunError("lake_prefix must end with '/'")
        try:
            check_prefix(self.lake_prefix)
        except InvalidKeyError as exc:
            raise RunError(str(exc)) from None


def _distribution(values: list[int]) -> dict:
    if not values:
        return {"partitions": 0}
    ordered = sorted(values)
    return {
        "partitions": len(ordered),
        "min": ordered[0],
        "median": ordered[len(ordered) // 2],
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max": ordered[-1],
        "total": sum(ordered),
    }


def _union(frames):
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out


def run_crossmatch(spark, settings: Settings, request: RunRequest, log=print) -> dict:
    """Execute one run end to end and commit it; returns metrics (also written to metrics.json).

    Steps: :func:`_start` (refuse or clear an earlier run) → :func:`_read_radio` (one read of the radio
    catalogue, to the driver: real and control targets by pixel) → :func:`_match` (per optical catalogue one
    pass over the pixels holding targets — from the curated layout, bucketed by pixel: no shuffle, built once
    per snapshot when missing and timed apart as ``curate_s``; or, with ``optical_layout="shuffle"``, explode
    with margins → shuffle by pixel — pruned to the rows within reach of a target, matched per pixel and cached
    as records) → :func:`_write_outputs` (the pairs scored once by the run posterior; pairs/ best/ radio/
    optical/ control/) → :func:`_commit` (metrics.json, then the marker)."""
    request.validate()
    lake = Lake(settings)
    prefix = crossmatch_run_prefix(request.run_id, request.lake_prefix)
    kept = _start(lake, settings, request, prefix, log)
    if kept is not None:
        return kept
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    radio = _read_radio(spark, settings, request, log)
    timings["radio_s"] = time.monotonic() - t0
    records, summary, metrics = _match(spark, settings, request, radio, timings, log)
    t2 = time.monotonic()
    _write_outputs(spark, settings, lake, request, prefix, radio, records, summary, metrics, timings)
    timings["outputs_s"] = time.monotonic() - t2
    timings["total_s"] = time.monotonic() - t0
    metrics["timings"] = timings
    metrics["master"] = spark.sparkContext.master
    _commit(lake, request, prefix, metrics, log)
    return metrics


def _start(lake: Lake, settings: Settings, request: RunRequest, prefix: str, log) -> dict | None:
    """A committed run is refused (or, with ``keep_committed``, kept: its metrics returned); an overwritten
    run's or a killed attempt's objects are cleared."""
    if is_committed(lake, request.run_id, request.lake_prefix):
        if request.keep_committed and not request.overwrite:
            from radiostars.lake.runs import read_committed_run

            committed = read_committed_run(lake, request.run_id, request.lake_prefix)  # complete, or refused
            log(f"run {request.run_id} is already committed (an earlier attempt): kept as it is, nothing rewritten")
            return committed.metrics
        if not request.overwrite:
            raise RunError(
                f"run {request.run_id} is already committed (s3://{settings.lake_bucket}/{prefix}{MARKER}); "
                "pass --overwrite to replace it or choose another run id"
            )
    cleared = lake.remove_prefix(prefix)  # an overwritten run, or a killed attempt's leftovers
    if cleared:
        log(f"cleared {cleared} objects left under {prefix}")
    return None


@dataclass
class _RadioSide:
    """The radio snapshot on the driver and its real + control targets, by pixel (broadcast to the executors)."""

    snapshot: Any
    targets: pd.DataFrame
    by_pixel: dict
    broadcast: Any
    epoch_lo: float
    epoch_hi: float

    @property
    def n_radio(self) -> int:
        return len(self.snapshot.frame)


def _read_radio(spark, settings: Settings, request: RunRequest, log) -> _RadioSide:
    params = request.params
    radio = radio_snapshot(spark, settings, request.lake_prefix)
    n_radio = len(radio.frame)
    targets = radio_targets(radio.frame, params)
    n_offsets = len(params.control_offsets())
    epoch_lo, epoch_hi = (
        (float(radio.frame["epoch_yr"].min()), float(radio.frame["epoch_yr"].max())) if n_radio else (2016.0, 2016.0)
    )
    by_pixel = targets_by_pixel(targets)
    broadcast = spark.sparkContext.broadcast(by_pixel)
    log(
        f"radio snapshot: {n_radio} usable sources, {radio.rows_skipped_no_position} skipped "
        f"(no usable position/error/epoch); {len(targets) - n_radio} control copies ({n_offsets} offsets); "
        f"{len(by_pixel)} order-{params.healpix_order} pixels hold targets; epochs {epoch_lo:.3f}–{epoch_hi:.3f}"
    )
    return _RadioSide(radio, targets, by_pixel, broadcast, epoch_lo, epoch_hi)


def _match(spark, settings: Settings, request: RunRequest, radio: _RadioSide, timings: dict, log):
    """One pass per optical catalogue; returns (records cached, the per-pixel summary, the metrics so far)."""
    from pyspark.sql import functions as F

    params = request.params
    t1 = time.monotonic()
    per_catalogue = []
    target_pixels = np.fromiter(radio.by_pixel, np.int64, len(radio.by_pixel))
    layouts: dict[str, dict] = {}
    timings["curate_s"] = 0.0
    for catalogue in request.catalogues:
        if request.optical_layout == "curated":
            tc = time.monotonic()
            layout, built = ensure_layout(
                spark, settings, catalogue, params, radio.epoch_lo, radio.epoch_hi, request.lake_prefix, log
            )
            if built:  # the one-off partitioning is reported apart from the match
                timings["curate_s"] += time.monotonic() - tc
            layouts[catalogue] = {
                "prefix": layout.prefix,
                "built_in_this_run": built,
                "buckets": layout.buckets,
                "rows_with_margins": layout.rows_with_margins,
                "build_s": layout.build_s,
                "spec": asdict(layout.spec),
            }
            optical_rows = curated_frame(spark, settings, layout, target_pixels)
        else:
            optical = optical_snapshot(spark, settings, catalogue, request.lake_prefix)
            optical_rows = explode_optical(optical, target_pixels, params, radio.epoch_lo, radio.epoch_hi).unionByName(
                density_cells(optical, target_pixels, params)
            )
        # only the rows within reach of a real or control target (+ the count map) leave the JVM
        optical_rows = prune_to_targets(spark, optical_rows, radio.targets, params, radio.epoch_lo, radio.epoch_hi)
        per_catalogue.append(match_pixels(optical_rows, radio.broadcast, params, catalogue))
    records = _union(per_catalogue).cache()
    summary = (
        records.filter(F.col("record").isin("partition", "skipped", "tally"))
        .select("record", "catalogue", "healpix", *PARTITION_COLUMNS)
        .toPandas()
    )
    timings["match_s"] = time.monotonic() - t1 - timings["curate_s"]  # a layout built in this run is not the match
    parts = summary[summary["record"] == "partition"]
    snap = radio.snapshot
    metrics: dict = {
        "run_id": request.run_id,
        "params": params.to_dict(),
        "catalogues": list(request.catalogues),
        "radio": {
            "rows": snap.rows_total,
            "usable": radio.n_radio,
            "skipped_no_position": snap.rows_skipped_no_position,
        },
        "optical": {catalogue: {} for catalogue in request.catalogues},
    }
    _attribute_counts(summary, request.catalogues, metrics)
    metrics["optical_layout"] = request.optical_layout
    for catalogue, layout in layouts.items():
        metrics["optical"][catalogue]["layout"] = layout
    for catalogue in request.catalogues:
        mine = parts[parts["catalogue"] == catalogue]
        # rows per pixel that reached Python: the star rows within reach of a target (after the pruning)
        metrics["optical"][catalogue]["partition_rows_with_margins"] = _distribution(
            [int(v) for v in mine["part_optical_rows"]]
        )
        metrics["optical"][catalogue]["partition_density_cells"] = _distribution(
            [int(v) for v in mine["part_density_cells"]]
        )
        log(
            f"{catalogue}: {metrics['optical'][catalogue]['rows']} rows read "
            f"({metrics['optical'][catalogue]['skipped_no_position']} skipped: no usable position); "
            f"{int(mine['part_optical_rows'].sum())} rows within reach of a target and "
            f"{int(mine['part_density_cells'].sum())} count-map cells reached Python in {len(mine)} pixels"
        )
    return records, summary, metrics


def _write_outputs(spark, settings, lake, request, prefix, radio: _RadioSide, records, summary, metrics, timings):
    """Every real and control pair to the driver (pairs within the match radius only: small), scored once by the
    run posterior (spark_engine/scoring.py, docs/crossmatch.md §6.2); pairs/, best/, control/ from it; radio/ and
    optical/ beside; the metrics completed."""
    from pyspark.sql import functions as F

    from radiostars.spark_engine.scoring import RECORD_COLUMNS, arrow_table, score_pairs, write_table

    params = request.params
    n_radio = radio.n_radio
    n_offsets = len(params.control_offsets())
    uri = lambda name: settings.lake_uri(prefix + name)  # noqa: E731
    t2 = time.monotonic()
    n_control_sources = n_radio * n_offsets
    collected = records.filter(F.col("record").isin("pair", "control_pair")).select(*RECORD_COLUMNS).toPandas()
    scored = score_pairs(collected, n_radio, n_control_sources, params)
    del collected
    timings["score_s"] = time.monotonic() - t2
    write_table(lake, prefix + "pairs/", arrow_table(scored.pairs, request.run_id))
    write_table(lake, prefix + "best/", arrow_table(scored.best, request.run_id))

    targets = radio.targets
    radio_out = radio.snapshot.frame.drop(columns=["radio_id"]).merge(
        targets.loc[targets["control_offset"] < 0, ["radio_id", "healpix"]].rename(columns={"radio_id": "source_name"}),
        on="source_name",
        how="left",
    )
    _write_frame(spark, radio_out, uri("radio"))
    optical_rows = (
        records.filter("record = 'optical'")
        .dropDuplicates(["catalogue", "optical_id"])
        .select(
            "optical_id",
            *[F.col(f"opt_{c}").alias(c) for c in OPTICAL_COLUMNS if c != "optical_id"],
            "catalogue",
            "healpix",
        )
    )
    optical_rows.coalesce(2).write.mode("overwrite").parquet(uri("optical"))

    # control: matches per shifted source and offset
    per_offset = scored.control_matches_per_offset
    control_rows = []
    for k, (d_arcsec, pa) in enumerate(params.control_offsets()):
        matches = int(per_offset.get(k, 0))
        control_rows.append(
            (
                f"c{k}",
                float(d_arcsec * math.sin(math.radians(pa))),
                float(d_arcsec * math.cos(math.radians(pa))),
                n_radio,
                matches,
                (matches / n_radio) if n_radio else 0.0,
            )
        )
    spark.createDataFrame(
        control_rows,
        "offset_name string, offset_ra_arcsec double, offset_dec_arcsec double, "
        "n_radio long, n_matches long, far_per_source double",
    ).coalesce(1).write.mode("overwrite").parquet(uri("control"))

    parts = summary[summary["record"] == "partition"]
    n_control_pairs = int(sum(per_offset.values()))
    radio_sizes = [len(frame[frame["control_offset"] < 0]) for frame in radio.by_pixel.values()]
    metrics.update(
        {
            "pairs": len(scored.pairs),
            "radio_with_candidates": len(scored.best),
            "p_chance_sum": float(scored.pairs["p_chance"].sum()),
            # expected chance matches per radio source (Σ π R² ρ over catalogues / N): analytic FAR
            "far_analytic": (float(parts["expected_chance_sum"].sum()) / n_radio) if n_radio else 0.0,
            "far_analytic_control_positions": (float(parts["control_expected_chance_sum"].sum()) / n_control_sources)
            if n_control_sources
            else 0.0,
            "far_control": (n_control_pairs / n_control_sources) if n_control_sources else 0.0,
            "far_control_err": (math.sqrt(n_control_pairs) / n_control_sources) if n_control_sources else 0.0,
            "control": {
                "offsets": n_offsets,
                "pairs": n_control_pairs,
                "per_offset": {f"c{k}": int(v) for k, v in sorted(per_offset.items())},
            },
            **scored.metrics,  # calibration (the reliability cut), scoring, posterior, false_rate_calibration
            "radio_partitions": _distribution([n for n in radio_sizes if n]),
        }
    )
    records.unpersist()
    radio.broadcast.unpersist()


def _commit(lake: Lake, request: RunRequest, prefix: str, metrics: dict, log) -> None:
    """metrics.json, then the commit marker (written last: readers trust only a committed run)."""
    lake.put_json(prefix + METRICS, metrics)
    commit_run(lake, request.run_id, request.lake_prefix)
    timings = metrics["timings"]
    sc = metrics["scoring"]
    rel = sc["reliability_estimated"]
    cut = (
        f", {sc['n_candidates']} candidates at p_any >= {sc['p_any_cut']:.3g} (estimated reliability "
        f"{'n/a' if rel is None else f'{rel:.3f}'}, target {sc['target_reliability']:g}, cut {sc['cut_status']}"
        f"{'' if sc['reached'] else ', target not reached'}); fitted c {sc['c']:.3g}"
        + (f"; fallbacks: {'; '.join(sc['fallbacks'])}" if sc["fallbacks"] else "")
    )
    log(
        f"committed crossmatch run {request.run_id}: {metrics['pairs']} pairs, {metrics['radio_with_candidates']} radio "
        f"sources with a candidate, FAR analytic {metrics['far_analytic']:.4g} vs control {metrics['far_control']:.4g} "
        f"per source{cut}; radio {timings['radio_s']:.1f} s, match {timings['match_s']:.1f} s, "
        f"scoring {timings['score_s']:.1f} s, outputs {timings['outputs_s']:.1f} s, one-off curation "
        f"{timings['curate_s']:.1f} s, total {timings['total_s']:.1f} s"
    )


def curate(spark, settings: Settings, request: RunRequest, log=print, rebuild: bool = False) -> dict[str, dict]:
    """Build (or confirm) the curated layout of each requested catalogue for the default epoch window:
    the one-off partitioning apart from any match. Returns {catalogue: layout dict}."""
    from radiostars.spark_engine.curated import DEFAULT_EPOCH_WINDOW_YR

    request.validate()
    out = {}
    for catalogue in request.catalogues:
        t0 = time.monotonic()
        layout, built = ensure_layout(
            spark,
            settings,
            catalogue,
            request.params,
            *DEFAULT_EPOCH_WINDOW_YR,
            request.lake_prefix,
            log,
            rebuild=rebuild,
        )
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
