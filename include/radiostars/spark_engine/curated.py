"""Curated optical catalogues: the snapshot stored HEALPix-partitioned, with margins, once.

Why: a cross-match then needs no shuffle of the big side (the AXS / LSDB-HATS idea). The one-off
partitioning pays the explode + shuffle once per catalogue snapshot; every run after it reads the
pixels holding radio sources straight from storage, one Spark task per bucket, grouped by pixel
without an exchange.

Layout (docs/lake.md): ``curated/<catalogue>/snapshot=<fingerprint>/healpix_order=<k>/`` holds
Parquet files bucketed by ``healpix`` — exactly the rows :func:`partitioned_match.explode_optical`
produces (home + margin copies of every usable row, all pixels, plus the count pseudo-rows) — and
``_LAYOUT.json``, written last: the layout's contract (order, margin, epoch window, buckets, counts).
A layout without it does not exist for readers.

* ``fingerprint`` = hash of the effective manifests' file keys: a new ingestion gives a new
  snapshot, so a stale layout is never read (it is rebuilt next to it, and older ones pruned).
* A layout serves a run when its order equals the run's, its margin ≥ the run's match radius, its
  count map has the run's cell order and reaches the run's density annulus, and its epoch window
  covers the run's radio epochs (the proper-motion reach of every row is bounded for that window,
  :func:`radiostars.crossmatch.match.optical_margin_arcsec`). Extra margin rows are harmless: pairs
  are emitted only from a radio source's home pixel, and the density comes from the count map.
* Buckets: Spark's own bucketed tables (hash of ``healpix``), registered per session as an external
  table over the stored files; ``groupBy("healpix")`` on it needs no exchange (nor a sort: one
  sorted file per bucket) and an ``IN`` filter on the target pixels prunes buckets.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from dataclasses import asdict, dataclass, replace

import numpy as np

from radiostars.config import Settings
from radiostars.crossmatch.density import density_cell_order
from radiostars.crossmatch.params import CrossmatchParams
from radiostars.errors import RadiostarsError
from radiostars.lake.store import Lake
from radiostars.spark_engine.partitioned_match import SKIPPED_KEY, TALLY_KEY, density_cells, explode_optical

LAYOUT_MARKER = "_LAYOUT.json"
LAYOUT_VERSION = 2  # 2: + fine (order-29 index), kind, the density count map; star margin = match radius (issue 16)
# Radio epochs the layout serves by default: every survey from Hipparcos' 1991.25 to 2040. A wider
# window only widens the margins of fast movers (reach = μ·Δt: 50 yr × 5 mas/yr = 0.25″ next to a
# 180″ margin for a typical star).
DEFAULT_EPOCH_WINDOW_YR = (1990.0, 2040.0)
# Rows (with margin copies) per bucket = per match task: ~70 MB of optical columns, so a Python
# worker holds one bucket's pixel comfortably and 10^8 rows make a few hundred tasks.
ROWS_PER_BUCKET = 500_000
MIN_BUCKETS = 8
MAX_BUCKETS = 4096
KEEP_LAYOUTS = 2  # per catalogue: the current snapshot's and the one before (a run may still read it)


class LayoutError(RadiostarsError):
    """A curated layout cannot be read or built; the message says what to do."""


@dataclass(frozen=True)
class LayoutSpec:
    """What a layout guarantees: every row is present in every order-k pixel within
    ``margin_arcsec`` (≥ the match radius of the runs it serves) + its proper-motion reach over
    [epoch_lo_yr, epoch_hi_yr] of it, and every count-map cell (order ``density_order``) in every pixel
    within ``density_outer_arcsec`` + h of its centre."""

    catalogue: str
    healpix_order: int
    margin_arcsec: float
    epoch_lo_yr: float
    epoch_hi_yr: float
    # the count map (DENSITY_CELL rows): cells at this order, in every pixel within density_outer + h
    density_order: int = -1
    density_outer_arcsec: float = 0.0

    def serves(self, params: CrossmatchParams, epoch_lo_yr: float, epoch_hi_yr: float) -> str | None:
        """None when this layout can serve the run, else why not (logged)."""
        if self.healpix_order != params.healpix_order:
            return f"order {self.healpix_order} ≠ the run's {params.healpix_order}"
        if self.margin_arcsec < params.radius_arcsec:
            return f"margin {self.margin_arcsec:g}″ < the run's match radius {params.radius_arcsec:g}″"
        want_order = density_cell_order(params.density_inner_arcsec, params.density_outer_arcsec)
        if self.density_order != want_order:
            return f"count-map order {self.density_order} ≠ the run's {want_order}"
        if self.density_outer_arcsec < params.density_outer_arcsec:
            return f"count-map reach {self.density_outer_arcsec:g}″ < the run's density annulus {params.density_outer_arcsec:g}″"
        if epoch_lo_yr < self.epoch_lo_yr or epoch_hi_yr > self.epoch_hi_yr:
            return (
                f"epoch window {self.epoch_lo_yr:g}–{self.epoch_hi_yr:g} does not cover the radio epochs "
                f"{epoch_lo_yr:.3f}–{epoch_hi_yr:.3f}"
            )
        return None


def spec_for_run(catalogue: str, params: CrossmatchParams, epoch_lo_yr: float, epoch_hi_yr: float) -> LayoutSpec:
    """The layout a run builds when none serves it: its order and margin, the default epoch window
    widened to the run's epochs."""
    lo, hi = DEFAULT_EPOCH_WINDOW_YR
    return LayoutSpec(
        catalogue,
        params.healpix_order,
        float(params.radius_arcsec),
        float(min(lo, math.floor(epoch_lo_yr))),
        float(max(hi, math.ceil(epoch_hi_yr))),
        density_cell_order(params.density_inner_arcsec, params.density_outer_arcsec),
        float(params.density_outer_arcsec),
    )


def snapshot_fingerprint(manifests: list[dict]) -> str:
    """16 hex digits identifying a snapshot: the sorted file keys of its effective manifests."""
    keys = sorted(f["key"] for m in manifests for f in m.get("files", []))
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]


def bucket_count(rows_with_margins: int) -> int:
    """Buckets for a layout: ~``ROWS_PER_BUCKET`` rows each, within [MIN_BUCKETS, MAX_BUCKETS]."""
    if rows_with_margins < 0:
        raise ValueError(f"rows_with_margins: must be >= 0, got {rows_with_margins}")
    return int(min(MAX_BUCKETS, max(MIN_BUCKETS, math.ceil(rows_with_margins / ROWS_PER_BUCKET))))


def layout_prefix(lake_prefix: str, catalogue: str, fingerprint: str, order: int) -> str:
    return f"{lake_prefix}curated/{catalogue}/snapshot={fingerprint}/healpix_order={order}/"


@dataclass(frozen=True)
class Layout:
    """A committed layout (the content of its ``_LAYOUT.json``)."""

    spec: LayoutSpec
    prefix: str
    fingerprint: str
    buckets: int
    rows: int
    skipped_no_position: int
    rows_with_margins: int
    build_s: float
    built_at: str

    def to_dict(self) -> dict:
        return {"version": LAYOUT_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, payload: dict) -> Layout:
        if payload.get("version") != LAYOUT_VERSION:
            raise LayoutError(f"layout version {payload.get('version')!r} is not {LAYOUT_VERSION}: rebuild it")
        fields = {k: v for k, v in payload.items() if k != "version"}
        return cls(**{**fields, "spec": LayoutSpec(**fields["spec"])})

    def table_name(self) -> str:
        safe = re.sub(r"[^0-9A-Za-z_]", "_", f"{self.spec.catalogue}_{self.fingerprint}_o{self.spec.healpix_order}")
        return f"curated_{safe}_{self.buckets}"


def read_layout(settings: Settings, lake_prefix: str, catalogue: str, fingerprint: str, order: int) -> Layout | None:
    payload = Lake(settings).get_json(layout_prefix(lake_prefix, catalogue, fingerprint, order) + LAYOUT_MARKER)
    if payload is None:
        return None
    try:
        return Layout.from_dict(payload)
    except (LayoutError, TypeError, KeyError):
        return None  # an older format: treated as absent and rebuilt


def curated_frame(spark, settings: Settings, layout: Layout, target_pixels: np.ndarray):
    """The layout's rows in pixels holding targets (+ the count pseudo-rows), bucketed by ``healpix``.

    Registered as an external bucketed table so that ``groupBy("healpix")`` needs no exchange;
    Spark wants the column list spelled out to accept the bucket clause on an existing location."""
    from pyspark.sql import functions as F

    uri = settings.lake_uri(layout.prefix + "data/")
    name = layout.table_name()
    if not spark.catalog.tableExists(name):
        schema = spark.read.parquet(uri).schema
        columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in schema.fields)
        spark.sql(
            f"CREATE TABLE {name} ({columns}) USING parquet CLUSTERED BY (healpix) SORTED BY (healpix) "
            f"INTO {layout.buckets} BUCKETS LOCATION '{uri}'"
        )
    # each bucket is one file sorted by pixel (build_layout: repartition + sortBy), so the scan may report
    # that order and the group-by needs no sort of its own (at 10^8 rows that sort spilled ~8 GB)
    spark.conf.set("spark.sql.legacy.bucketedTableScan.outputOrdering", "true")
    wanted = [int(p) for p in np.unique(np.asarray(target_pixels, dtype=np.int64))] + [SKIPPED_KEY, TALLY_KEY]
    return spark.table(name).filter(F.col("healpix").isin(wanted))


def build_layout(
    spark,
    settings: Settings,
    spec: LayoutSpec,
    manifests: list[dict],
    params: CrossmatchParams,
    lake_prefix: str = "",
    log=print,
) -> Layout:
    """Partition the committed snapshot of ``spec.catalogue`` into a curated layout and commit it.

    One read of the snapshot, the explode into home + margin pixels (all pixels), one shuffle by
    bucket, one bucketed write (a file per bucket); then the counts from the stored pseudo-rows."""
    from pyspark.sql import functions as F

    from radiostars.spark_engine.inputs import optical_snapshot

    t0 = time.monotonic()
    fingerprint = snapshot_fingerprint(manifests)
    prefix = layout_prefix(lake_prefix, spec.catalogue, fingerprint, spec.healpix_order)
    cleared = Lake(settings).remove_prefix(prefix)
    if cleared:
        log(f"curate {spec.catalogue}: cleared {cleared} objects of an uncommitted or replaced layout under {prefix}")
    optical = optical_snapshot(spark, settings, spec.catalogue, lake_prefix, manifests)
    # the manifests' row counts size the buckets (an upper bound when several manifests stack versions)
    rows_estimate = sum(int(f.get("rows") or 0) for m in manifests for f in m.get("files", []))
    # the copied fraction is ≈ 4·(4 m / pixel size) ≤ 40 % at the smallest allowed pixel-to-margin ratio
    buckets = bucket_count(int(rows_estimate * 1.4))
    # the run's parameters with the layout's order; the star rows' margin is the layout's (≥ a match radius)
    layout_params = replace(params, healpix_order=spec.healpix_order)
    exploded = explode_optical(
        optical, None, layout_params, spec.epoch_lo_yr, spec.epoch_hi_yr, spec.margin_arcsec
    ).unionByName(density_cells(optical, None, layout_params, spec.density_order, spec.density_outer_arcsec))
    uri = settings.lake_uri(prefix + "data/")
    table = f"curated_write_{spec.catalogue}_{fingerprint}"
    log(
        f"curate {spec.catalogue}: {rows_estimate} snapshot rows → {buckets} buckets at order {spec.healpix_order}, "
        f"margin {spec.margin_arcsec:g}″ + reach over {spec.epoch_lo_yr:g}–{spec.epoch_hi_yr:g} → {uri}"
    )
    spark.sql(f"DROP TABLE IF EXISTS {table}")
    (
        exploded.repartition(buckets, "healpix")
        .write.mode("overwrite")
        .bucketBy(buckets, "healpix")
        .sortBy("healpix")
        .option("path", uri)
        .saveAsTable(table)
    )
    spark.sql(f"DROP TABLE IF EXISTS {table}")  # external: the files stay
    # one pass over the stored pixel and id columns: the count pseudo-rows and the rows with margins
    hp = F.col("healpix")
    counts = (
        spark.read.parquet(uri)
        .agg(
            F.sum(F.when(hp == TALLY_KEY, F.col("optical_id"))).alias("rows"),
            F.sum(F.when(hp == SKIPPED_KEY, F.col("optical_id"))).alias("skipped"),
            F.count(F.when((hp >= 0) & (F.col("kind") == 0), 1)).alias("with_margins"),
        )
        .first()
    )
    layout = Layout(
        spec=spec,
        prefix=prefix,
        fingerprint=fingerprint,
        buckets=buckets,
        rows=int(counts["rows"] or 0),
        skipped_no_position=int(counts["skipped"] or 0),
        rows_with_margins=int(counts["with_margins"] or 0),
        build_s=round(time.monotonic() - t0, 3),
        built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    Lake(settings).put_json(prefix + LAYOUT_MARKER, layout.to_dict())
    log(
        f"curate {spec.catalogue}: committed {layout.rows} rows ({layout.skipped_no_position} skipped: no usable "
        f"position) as {layout.rows_with_margins} rows with margin copies in {buckets} buckets in {layout.build_s:.1f} s"
    )
    pruned = prune_layouts(settings, lake_prefix, spec.catalogue, keep=prefix)
    if pruned:
        log(f"curate {spec.catalogue}: removed {pruned} older layouts")
    return layout


def prune_layouts(settings: Settings, lake_prefix: str, catalogue: str, keep: str) -> int:
    """Delete all but the newest ``KEEP_LAYOUTS`` committed layouts of ``catalogue`` (``keep`` always
    stays) and every uncommitted one other than ``keep``; returns how many were removed."""
    lake = Lake(settings)
    root = f"{lake_prefix}curated/{catalogue}/"
    found = []
    for snap in lake.folders(root):
        for order_dir in lake.folders(snap):
            marker = lake.get_json(order_dir + LAYOUT_MARKER)
            found.append(((marker or {}).get("built_at") or "", order_dir))
    committed = sorted((entry for entry in found if entry[0]), reverse=True)
    stale = [p for _, p in committed if p != keep][max(0, KEEP_LAYOUTS - 1) :]
    stale += [p for built, p in found if not built and p != keep]
    for p in stale:
        lake.remove_prefix(p)
    return len(stale)


def ensure_layout(
    spark,
    settings: Settings,
    catalogue: str,
    params: CrossmatchParams,
    epoch_lo_yr: float,
    epoch_hi_yr: float,
    lake_prefix: str = "",
    log=print,
    rebuild: bool = False,
) -> tuple[Layout, bool]:
    """The committed layout of the current snapshot that serves this run, built first if needed
    (or always, with ``rebuild``: benchmarks time the one-off partitioning). Returns (layout, built_now)."""
    from radiostars.lake.raw import effective_manifests
    from radiostars.spark_engine.inputs import InputError

    manifests = effective_manifests(settings, catalogue, lake_prefix)
    if not manifests:
        raise InputError(
            f"no committed data for {catalogue} in s3://{settings.lake_bucket}/{lake_prefix}raw/"
            f"{catalogue}/: run the catalogue_ingestion DAG (or `radiostars generate-scale`) first"
        )
    fingerprint = snapshot_fingerprint(manifests)
    layout = read_layout(settings, lake_prefix, catalogue, fingerprint, params.healpix_order)
    if layout is not None and rebuild:
        log(f"{catalogue}: rebuilding the curated layout {layout.prefix} (asked to)")
        spec = layout.spec
    elif layout is not None:
        why_not = layout.spec.serves(params, epoch_lo_yr, epoch_hi_yr)
        if why_not is None:
            log(
                f"{catalogue}: curated layout {layout.prefix} ({layout.rows_with_margins} rows with margins, "
                f"{layout.buckets} buckets, built {layout.built_at})"
            )
            return layout, False
        log(f"{catalogue}: curated layout {layout.prefix} cannot serve this run ({why_not}): rebuilding it")
        wanted = spec_for_run(catalogue, params, epoch_lo_yr, epoch_hi_yr)
        same_map = wanted.density_order == layout.spec.density_order
        spec = replace(
            wanted,
            margin_arcsec=max(wanted.margin_arcsec, layout.spec.margin_arcsec),
            density_outer_arcsec=max(
                wanted.density_outer_arcsec, layout.spec.density_outer_arcsec if same_map else 0.0
            ),
            epoch_lo_yr=min(wanted.epoch_lo_yr, layout.spec.epoch_lo_yr),
            epoch_hi_yr=max(wanted.epoch_hi_yr, layout.spec.epoch_hi_yr),
        )
    else:
        log(
            f"{catalogue}: no curated layout for snapshot {fingerprint} at order {params.healpix_order}: building it "
            "(one-off per snapshot)"
        )
        spec = spec_for_run(catalogue, params, epoch_lo_yr, epoch_hi_yr)
    return build_layout(spark, settings, spec, manifests, params, lake_prefix, log), True
