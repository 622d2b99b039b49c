"""Cross-match benchmark (issue 6): radiostars (Spark, local[2]) vs astropy in memory vs LSDB vs the
I/O floor, side by side on the same data and machine.

Data: 1e5 radio × N optical in a Galactic-plane patch (|b| ≤ 1.5°, 100 deg²) written by
``generate_scale`` under the private lake prefix ``bench/o<N>_r<R>_s<seed>/`` (reused when its
manifests already hold the same row counts). Every tool runs in its own child process; its peak
memory is the RSS of the child's whole process tree (JVM and Python workers included) sampled every
0.2 s (radiostars.benchmark). Match radius r = 5″ fixed for all tools.

  (a) radiostars: spark_session(local[2]) + run_crossmatch (gaia_dr3 only, one control offset);
  (b) astropy: pyarrow read from MinIO, apply_space_motion to the radio epochs, search_around_sky;
      also search_around_sky without proper motions (the count LSDB must reproduce);
  (c) LSDB (separate venv .local/bench-venv, scripts/bench_lsdb_child.py): from_dataframe + crossmatch;
  (d) I/O floor: read both inputs (all columns) from MinIO, write a Parquet with as many rows × columns
      as radiostars' pairs output.

Usage: .venv/bin/python scripts/bench_crossmatch.py [--sizes 1e6,1e7] [--radio-rows 1e5] [--seed 42]
Results: .local/bench/crossmatch-<date>.json and a section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))

from radiostars.config import get_settings  # noqa: E402

RADIUS_ARCSEC = 5.0
RUN_ID = "bench"
INGEST_DATE = "2026-01-01"
LSDB_VENV_PY = ROOT / ".local" / "bench-venv" / "bin" / "python"
DOC_HEADER = "## Cross-match — `make bench` (`scripts/bench_crossmatch.py`: radiostars vs astropy vs LSDB vs I/O floor)"
# the output columns of crossmatch/<run>/pairs (spark_engine/run.py): the I/O floor writes a table this wide
PAIRS_OUTPUT_COLUMNS = 29


def replace_doc_section(text: str, header: str, section: str) -> str:
    """``text`` (a Markdown doc) with the ``## header`` section replaced by ``section`` (appended if absent)."""
    text = text or "# Benchmarks\n\nOne section per benchmark script; each is replaced when its script reruns.\n"
    if header not in text:
        return text.rstrip() + "\n\n" + section
    start = text.index(header)
    nxt = text.find("\n## ", start + len(header))
    return text[:start] + section + ("\n" + text[nxt + 1 :] if nxt >= 0 else "")


def bench_params():
    from radiostars.crossmatch.params import CrossmatchParams

    # R = min(radius, max(r_min, n_sigma·σ)) = 5″ whatever σ: a fixed radius like the peers'.
    # Density annulus 30″–180″ within the 180″ margin (the defaults); one control offset (the minimum).
    return CrossmatchParams(
        radius_arcsec=RADIUS_ARCSEC,
        r_min_arcsec=RADIUS_ARCSEC,
        n_sigma=1.0,
        sigma_sys_arcsec=0.0,
        density_inner_arcsec=30.0,
        density_outer_arcsec=180.0,
        margin_arcsec=180.0,
        control_position_angles_deg=(0.0,),
    )


def data_prefix(optical_rows: int, radio_rows: int, seed: int, root: str = "bench/") -> str:
    """root: the folder of the bench data sets (tests pass a private one and remove it afterwards)."""
    return f"{root}o{optical_rows}_r{radio_rows}_s{seed}/"


def input_paths(settings, prefix: str) -> dict[str, list[str]]:
    """bucket/key of every Parquet file of the effective manifests (what a pyarrow reader opens)."""
    from radiostars.lake.raw import effective_manifests

    return {
        table: [
            f"{settings.lake_bucket}/{f['key']}"
            for m in effective_manifests(settings, table, prefix)
            for f in m["files"]
        ]
        for table in ("radio_sources", "gaia_dr3")
    }


def ensure_data(
    settings, optical_rows: int, radio_rows: int, seed: int, log=print, root: str = "bench/"
) -> tuple[str, dict]:
    """Reuse <root>o<N>_r<R>_s<seed>/ when its manifests hold exactly these sizes, else (re)generate it."""
    from radiostars.lake.raw import effective_manifests
    from radiostars.lake.store import Lake
    from radiostars.sample.scale import generate_scale

    prefix = data_prefix(optical_rows, radio_rows, seed, root)
    want = {"gaia_dr3": optical_rows, "radio_sources": radio_rows}
    have = {t: [m for m in effective_manifests(settings, t, prefix)] for t in want}
    ok = all(
        len(have[t]) == 1 and have[t][0]["rows"] == n and have[t][0]["run_id"] == f"bench_seed{seed}"
        for t, n in want.items()
    )
    if ok:
        log(f"reusing {prefix} (manifests: {optical_rows} optical, {radio_rows} radio rows, seed {seed})")
        return prefix, {"generated": False, "generate_s": 0.0}
    cleared = Lake(settings).remove_prefix(prefix + "raw/")
    log(
        f"generating {prefix} ({optical_rows} optical × {radio_rows} radio, seed {seed}; cleared {cleared} stale objects)"
    )
    t = time.perf_counter()
    out = generate_scale(
        settings,
        optical_rows=optical_rows,
        radio_rows=radio_rows,
        seed=seed,
        run_id=f"bench_seed{seed}",
        ingest_date=INGEST_DATE,
        lake_prefix=prefix,
    )
    return prefix, {"generated": True, "generate_s": time.perf_counter() - t, "area_deg2": out["area_deg2"]}


# ------------------------------------------------------------------ children (one per tool)


def child_astropy(settings, prefix: str) -> dict:
    import warnings

    import astropy.units as u
    import numpy as np
    import pyarrow.parquet as pq
    from astropy.coordinates import SkyCoord, search_around_sky
    from astropy.time import Time

    from radiostars.crossmatch.epoch import mjd_to_jyear
    from radiostars.lake.client import s3_filesystem

    warnings.simplefilter("ignore")  # ErfaWarning: no distance -> astropy assumes a large one
    paths = input_paths(settings, prefix)
    fs = s3_filesystem(settings)
    out: dict = {}
    t0 = time.perf_counter()
    radio = pq.read_table(
        paths["radio_sources"], filesystem=fs, columns=["source_name", "ra_deg", "dec_deg", "obs_epoch_mjd"]
    )
    opt = pq.read_table(
        paths["gaia_dr3"], filesystem=fs, columns=["source_id", "ra", "dec", "pmra", "pmdec", "ref_epoch"]
    )
    r_ra, r_dec = radio["ra_deg"].to_numpy(), radio["dec_deg"].to_numpy()
    t_radio = mjd_to_jyear(radio["obs_epoch_mjd"].to_numpy())
    o_ra, o_dec = opt["ra"].to_numpy(), opt["dec"].to_numpy()
    pmra = opt["pmra"].to_numpy(zero_copy_only=False)
    pmdec = opt["pmdec"].to_numpy(zero_copy_only=False)
    ref_epochs = np.unique(opt["ref_epoch"].to_numpy())
    out["read_s"] = time.perf_counter() - t0
    assert len(ref_epochs) == 1, ref_epochs

    t1 = time.perf_counter()
    has_pm = np.isfinite(pmra) & np.isfinite(pmdec)
    pmra0, pmdec0 = np.where(has_pm, pmra, 0.0), np.where(has_pm, pmdec, 0.0)
    radio_c = SkyCoord(r_ra * u.deg, r_dec * u.deg)
    opt_c = SkyCoord(
        o_ra * u.deg,
        o_dec * u.deg,
        pm_ra_cosdec=pmra0 * u.mas / u.yr,
        pm_dec=pmdec0 * u.mas / u.yr,
        obstime=Time(float(ref_epochs[0]), format="jyear"),
    )
    t_mid = 0.5 * (t_radio.min() + t_radio.max())
    opt_mid = opt_c.apply_space_motion(new_obstime=Time(t_mid, format="jyear"))
    # rows move ≤ |pm|·(half the radio epoch span) from their mid-epoch place: widen, then refine
    pad_arcsec = float(np.hypot(pmra0, pmdec0).max()) * 1e-3 * 0.5 * (t_radio.max() - t_radio.min()) + 1e-3
    out["propagate_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    ir, io, _, _ = search_around_sky(radio_c, opt_mid, (RADIUS_ARCSEC + pad_arcsec) * u.arcsec)
    out["search_s"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    moved = opt_c[io].apply_space_motion(new_obstime=Time(t_radio[ir], format="jyear"))
    sep = radio_c[ir].separation(SkyCoord(moved.ra, moved.dec)).arcsec
    keep = sep <= RADIUS_ARCSEC
    out["refine_s"] = time.perf_counter() - t3
    out["wall_s"] = time.perf_counter() - t0
    out["pairs"] = int(keep.sum())
    out["candidates_padded"] = int(len(ir))
    out["pad_arcsec"] = pad_arcsec
    out["rows_with_pm"] = int(has_pm.sum())
    out["optical_rows"], out["radio_rows"] = int(len(o_ra)), int(len(r_ra))
    out["max_candidates_per_radio"] = int(np.bincount(ir[keep]).max()) if keep.any() else 0
    t4 = time.perf_counter()
    ir0, _, _, _ = search_around_sky(radio_c, SkyCoord(o_ra * u.deg, o_dec * u.deg), RADIUS_ARCSEC * u.arcsec)
    out["search_nopm_s"] = time.perf_counter() - t4
    out["pairs_nopm"] = int(len(ir0))
    out["wall_nopm_s"] = out["read_s"] + out["search_nopm_s"]  # read + build + search, no propagation
    return out


def _spark_stages(spark) -> list[dict]:
    """Stages of this application from the Spark UI REST API, slowest first."""
    import urllib.request

    sc = spark.sparkContext
    if not sc.uiWebUrl:
        return []
    url = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/stages"
    with urllib.request.urlopen(url, timeout=60) as resp:
        stages = json.load(resp)

    def ts(value):
        return dt.datetime.strptime(value.replace("GMT", ""), "%Y-%m-%dT%H:%M:%S.%f") if value else None

    out = []
    for s in stages:
        start, end = ts(s.get("submissionTime")), ts(s.get("completionTime"))
        out.append(
            {
                "stage": s["stageId"],
                "status": s["status"],
                "name": s["name"][:80],
                "tasks": s["numTasks"],
                "duration_s": round((end - start).total_seconds(), 2) if start and end else None,
                "executor_run_s": round(s.get("executorRunTime", 0) / 1000, 2),
                "executor_cpu_s": round(s.get("executorCpuTime", 0) / 1e9, 2),
                "input_mb": round(s.get("inputBytes", 0) / 1e6, 1),
                "shuffle_read_mb": round(s.get("shuffleReadBytes", 0) / 1e6, 1),
                "shuffle_write_mb": round(s.get("shuffleWriteBytes", 0) / 1e6, 1),
                "output_mb": round(s.get("outputBytes", 0) / 1e6, 1),
                "input_records": s.get("inputRecords", 0),
                "shuffle_read_records": s.get("shuffleReadRecords", 0),
                "shuffle_write_records": s.get("shuffleWriteRecords", 0),
                "memory_spilled_mb": round(s.get("memoryBytesSpilled", 0) / 1e6, 1),
                "disk_spilled_mb": round(s.get("diskBytesSpilled", 0) / 1e6, 1),
            }
        )
    return sorted(out, key=lambda s: -(s["duration_s"] or 0))


def child_radiostars(
    settings, prefix: str, master: str = "local[2]", run_id: str = RUN_ID, app_name: str = "bench-crossmatch"
) -> dict:
    """run_crossmatch on ``master`` (bench_scale.py and bench_workers.py reuse it with their own
    master / run id); the Spark UI's stage list is fetched before the session stops."""
    from radiostars.spark_engine.run import RunRequest, run_crossmatch
    from radiostars.spark_engine.session import spark_session

    out: dict = {}
    t0 = time.perf_counter()
    spark = spark_session(app_name, master=master, settings=settings, extra_conf={"spark.ui.enabled": "true"})
    out["session_start_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    metrics = run_crossmatch(
        spark,
        settings,
        RunRequest(run_id=run_id, params=bench_params(), catalogues=("gaia_dr3",), lake_prefix=prefix, overwrite=True),
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    out["run_s"] = time.perf_counter() - t1
    out["wall_s"] = out["run_s"]
    out["wall_with_session_s"] = out["session_start_s"] + out["run_s"]
    out["pairs"] = int(metrics["pairs"])
    out["timings"] = metrics["timings"]
    out["partitions"] = metrics["optical"]["gaia_dr3"]["partition_rows_with_margins"]
    out["radio_partitions"] = metrics["radio_partitions"]
    out["optical_rows_read"] = metrics["optical"]["gaia_dr3"]["rows"]
    out["radio_usable"] = metrics["radio"]["usable"]
    out["control_pairs"] = metrics["control"]["pairs"]
    out["master"] = metrics["master"]
    try:
        out["stages"] = _spark_stages(spark)
    except Exception as exc:  # noqa: BLE001 - profiling is best effort
        out["stages_error"] = f"{type(exc).__name__}: {exc}"
    out["spark_app_id"] = spark.sparkContext.applicationId
    spark.stop()
    return out


def child_curate(settings, prefix: str, master: str = "local[2]", app_name: str = "bench-curate") -> dict:
    """The one-off HEALPix partitioning of the optical snapshot into curated/ (rebuilt every time, so it
    is measured): like LSDB's/AXS's pre-partitioned catalogues, paid per snapshot, not per match."""
    from radiostars.spark_engine.run import RunRequest, curate
    from radiostars.spark_engine.session import spark_session

    out: dict = {}
    t0 = time.perf_counter()
    spark = spark_session(app_name, master=master, settings=settings, extra_conf={"spark.ui.enabled": "true"})
    out["session_start_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    layouts = curate(
        spark,
        settings,
        RunRequest(run_id="curate", params=bench_params(), catalogues=("gaia_dr3",), lake_prefix=prefix),
        log=lambda m: print(m, file=sys.stderr, flush=True),
        rebuild=True,
    )
    out["wall_s"] = time.perf_counter() - t1
    out["layout"] = layouts["gaia_dr3"]
    try:
        out["stages"] = _spark_stages(spark)
    except Exception as exc:  # noqa: BLE001 - profiling is best effort
        out["stages_error"] = f"{type(exc).__name__}: {exc}"
    spark.stop()
    return out


def child_iofloor(settings, prefix: str, pairs: int) -> dict:
    import io as _io

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from radiostars.lake.client import lake_client, s3_filesystem

    paths = input_paths(settings, prefix)
    fs = s3_filesystem(settings)
    t0 = time.perf_counter()
    radio = pq.read_table(paths["radio_sources"], filesystem=fs)
    opt = pq.read_table(paths["gaia_dr3"], filesystem=fs)
    t1 = time.perf_counter()
    rng = np.random.default_rng(0)
    table = pa.table({f"c{i}": rng.random(pairs) for i in range(PAIRS_OUTPUT_COLUMNS)})
    buf = _io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    key = f"{prefix}iofloor/pairs.parquet"
    client = lake_client(settings)
    client.put_object(settings.lake_bucket, key, _io.BytesIO(buf.getvalue()), buf.getbuffer().nbytes)
    t2 = time.perf_counter()
    client.remove_object(settings.lake_bucket, key)
    return {
        "read_s": t1 - t0,
        "write_s": t2 - t1,
        "wall_s": t2 - t0,
        "pairs": pairs,
        "rows_read": radio.num_rows + opt.num_rows,
        "bytes_read_in_memory": radio.nbytes + opt.nbytes,
        "bytes_written": buf.getbuffer().nbytes,
    }


# ------------------------------------------------------------------ parent


def run_child(kind: str, prefix: str, extra: list[str] | None = None) -> dict:
    from radiostars.benchmark import run_measured

    m = run_measured([sys.executable, __file__, "--child", kind, "--prefix", prefix, *(extra or [])])
    if m.returncode != 0:
        return {
            "error": f"exit {m.returncode}: {m.stderr.strip()[-2000:]}",
            "process_wall_s": m.wall_s,
            "peak_rss_gb": m.peak_rss_gb,
        }
    result = json.loads(m.stdout.strip().splitlines()[-1])
    result.update(
        {"process_wall_s": m.wall_s, "peak_rss_gb": m.peak_rss_gb, "rss_samples": m.samples, "cpu_s": m.cpu_s}
    )
    return result


def run_lsdb(settings, prefix: str, n_neighbors: int) -> dict:
    from radiostars.benchmark import run_measured

    if not LSDB_VENV_PY.exists():
        return {
            "error": f"{LSDB_VENV_PY.relative_to(ROOT)} is missing: run `make bench-peers` (or `make bench`, "
            "which installs lsdb 0.11.1 there first)"
        }
    paths = input_paths(settings, prefix)
    cfg = {
        "endpoint": settings.minio_url,
        "access_key": settings["MINIO_ROOT_USER"],
        "secret_key": settings["MINIO_ROOT_PASSWORD"],
        "region": settings["S3_REGION"],
        "radio": paths["radio_sources"],
        "optical": paths["gaia_dr3"],
        "radius_arcsec": RADIUS_ARCSEC,
        "n_neighbors": n_neighbors,
    }
    m = run_measured([str(LSDB_VENV_PY), str(ROOT / "scripts" / "bench_lsdb_child.py")], stdin_text=json.dumps(cfg))
    if m.returncode != 0:
        return {
            "error": f"exit {m.returncode}: {m.stderr.strip()[-2000:]}",
            "process_wall_s": m.wall_s,
            "peak_rss_gb": m.peak_rss_gb,
        }
    result = json.loads(m.stdout.strip().splitlines()[-1])
    result.update(
        {"process_wall_s": m.wall_s, "peak_rss_gb": m.peak_rss_gb, "rss_samples": m.samples, "n_neighbors": n_neighbors}
    )
    return result


def size_result(settings, optical_rows: int, radio_rows: int, seed: int, log=print, root: str = "bench/") -> dict:
    """The data of one size (:func:`ensure_data`) and the head of its result: sizes, prefix, machine at start."""
    from radiostars.benchmark import machine_info

    prefix, gen = ensure_data(settings, optical_rows, radio_rows, seed, log=log, root=root)
    return {
        "optical_rows": optical_rows,
        "radio_rows": radio_rows,
        "prefix": prefix,
        "data": gen,
        "machine_at_start": machine_info(),
    }


def bench_size(settings, optical_rows: int, radio_rows: int, seed: int, skip_lsdb: bool) -> dict:
    from radiostars.benchmark import machine_info

    t_size = time.perf_counter()
    res = size_result(settings, optical_rows, radio_rows, seed)
    prefix = res["prefix"]
    print(f"[{optical_rows:.0e}] astropy …", flush=True)
    res["astropy"] = run_child("astropy", prefix)
    print(f"[{optical_rows:.0e}] radiostars one-off curation (HEALPix layout, Spark local[2]) …", flush=True)
    res["curate"] = run_child("curate", prefix)
    print(f"[{optical_rows:.0e}] radiostars (Spark local[2]) …", flush=True)
    res["radiostars"] = run_child("radiostars", prefix)
    if skip_lsdb:
        res["lsdb"] = {"skipped": "--skip-lsdb"}
    else:
        print(f"[{optical_rows:.0e}] LSDB …", flush=True)
        n_nb = max(16, 2 * res["astropy"].get("max_candidates_per_radio", 8))
        res["lsdb"] = run_lsdb(settings, prefix, n_nb)
    pairs = res["radiostars"].get("pairs") or res["astropy"].get("pairs") or 0
    print(f"[{optical_rows:.0e}] I/O floor …", flush=True)
    res["io_floor"] = run_child("iofloor", prefix, ["--pairs", str(pairs)])
    res["machine_at_end"] = machine_info()
    res["bench_total_s"] = time.perf_counter() - t_size
    return res


def _fmt(x, nd=2):
    return "—" if x is None else f"{x:.{nd}f}"


def rows_for(res: dict) -> list[dict]:
    """Table rows: tool, wall, peak RSS, pairs; ratios filled by add_ratios."""
    a, r, lz, f = res["astropy"], res["radiostars"], res["lsdb"], res["io_floor"]
    c = res.get("curate", {})
    rows = []
    if "wall_s" in r:
        rows.append(
            {
                "tool": "radiostars run_crossmatch (Spark local[2], excl. session start)",
                "key": "radiostars",
                "wall_s": r["wall_s"],
                "peak_rss_gb": r["peak_rss_gb"],
                "pairs": r["pairs"],
            }
        )
        rows.append(
            {
                "tool": "  incl. Spark session start",
                "key": "radiostars_session",
                "wall_s": r["wall_with_session_s"],
                "peak_rss_gb": r["peak_rss_gb"],
                "pairs": r["pairs"],
            }
        )
    if "wall_s" in c:
        rows.append(
            {
                "tool": "radiostars one-off curation: HEALPix layout of the optical snapshot (per snapshot, "
                "not per match; excl. session start)",
                "key": "radiostars_curate",
                "wall_s": c["wall_s"],
                "peak_rss_gb": c["peak_rss_gb"],
                "pairs": 0,
            }
        )
    if "wall_s" in a:
        rows.append(
            {
                "tool": "astropy (read + apply_space_motion + search_around_sky)",
                "key": "astropy",
                "wall_s": a["wall_s"],
                "peak_rss_gb": a["peak_rss_gb"],
                "pairs": a["pairs"],
            }
        )
        rows.append(
            {
                "tool": "astropy, pm ignored (read + search_around_sky)",
                "key": "astropy_nopm",
                "wall_s": a["wall_nopm_s"],
                "peak_rss_gb": a["peak_rss_gb"],
                "pairs": a["pairs_nopm"],
            }
        )
    if "wall_s" in lz:
        rows.append(
            {
                "tool": f"LSDB {lz.get('lsdb_version', '')} (read + from_dataframe + crossmatch, pm ignored)",
                "key": "lsdb",
                "wall_s": lz["wall_s"],
                "peak_rss_gb": lz["peak_rss_gb"],
                "pairs": lz["pairs"],
            }
        )
    if "wall_s" in f:
        rows.append(
            {
                "tool": "I/O floor (read inputs + write pairs-sized output)",
                "key": "io_floor",
                "wall_s": f["wall_s"],
                "peak_rss_gb": f["peak_rss_gb"],
                "pairs": f["pairs"],
            }
        )
    ref = {row["key"]: row["wall_s"] for row in rows}
    for row in rows:
        for name in ("astropy", "lsdb", "io_floor"):
            row[f"x_{name}"] = row["wall_s"] / ref[name] if ref.get(name) else None
    return rows


# issue 16: radiostars vs its peers on the same data and machine (ratios of wall times, excl. session start
# unless said); name → (optical rows, row key, ratio column or "peak_rss", limit)
TARGETS: dict[str, tuple[int, str, str, float]] = {
    "x_astropy_1e7": (10**7, "radiostars", "x_astropy", 0.5),
    "x_lsdb_1e7": (10**7, "radiostars", "x_lsdb", 0.5),
    "x_io_floor_1e7": (10**7, "radiostars", "x_io_floor", 3.0),
    "x_astropy_1e7_incl_session": (10**7, "radiostars_session", "x_astropy", 1.0),
    "x_astropy_1e6": (10**6, "radiostars", "x_astropy", 1.0),
    "peak_rss_vs_astropy_1e7": (10**7, "radiostars", "peak_rss", 1.0),
}


def targets(results: list[dict]) -> dict:
    """{name: {"value", "target", "met"}} for every target of ``TARGETS`` (issue 16); a target whose size
    was not run, or whose tool failed, has value None, met False and a ``why``."""
    by_size = {res["optical_rows"]: {row["key"]: row for row in rows_for(res)} for res in results}
    out: dict = {}
    for name, (size, key, column, limit) in TARGETS.items():
        rows = by_size.get(size)
        value, why = None, None
        if rows is None:
            why = f"size {size:.0e} not run"
        elif key not in rows:
            why = f"{key} did not run at {size:.0e}"
        elif column == "peak_rss":
            value = rows[key]["peak_rss_gb"] / rows["astropy"]["peak_rss_gb"] if "astropy" in rows else None
            why = None if value is not None else "astropy did not run"
        else:
            value = rows[key].get(column)
            why = None if value is not None else f"{column.removeprefix('x_')} did not run at {size:.0e}"
        out[name] = {"value": value, "target": limit, "met": value is not None and value <= limit}
        if why:
            out[name]["why"] = why
    sizes = sorted(by_size)
    if len(sizes) >= 2 and all("radiostars" in by_size[n] for n in sizes[:1] + sizes[-1:]):
        t_lo, t_hi = by_size[sizes[0]]["radiostars"]["wall_s"], by_size[sizes[-1]]["radiostars"]["wall_s"]
        value = math.log(t_hi / t_lo) / math.log(sizes[-1] / sizes[0])
        out["time_exponent"] = {"value": value, "target": 1.0, "met": value <= 1.0}
    return out


def peer_failures(results: list[dict]) -> list[str]:
    """One line per tool that could not run (a failure of the benchmark, not a skip)."""
    return [
        f"{res['optical_rows']:.0e} {tool}: {res[tool]['error']}"
        for res in results
        for tool in ("astropy", "radiostars", "curate", "lsdb", "io_floor")
        if tool in res and "error" in res[tool]
    ]


def agreement(res: dict) -> dict:
    a, r, lz = res["astropy"], res["radiostars"], res["lsdb"]
    out = {}
    if "pairs" in a and "pairs" in r:
        out["radiostars_vs_astropy_pm"] = {
            "radiostars": r["pairs"],
            "astropy": a["pairs"],
            "diff": r["pairs"] - a["pairs"],
        }
    if "pairs" in a and "pairs" in lz:
        out["lsdb_vs_astropy_nopm"] = {
            "lsdb": lz["pairs"],
            "astropy_nopm": a["pairs_nopm"],
            "diff": lz["pairs"] - a["pairs_nopm"],
        }
    return out


def table_md(res: dict) -> str:
    lines = [
        f"**{res['radio_rows']:.0e} radio × {res['optical_rows']:.0e} optical** "
        f"(load average at start {res['machine_at_start']['loadavg']}, at end {res['machine_at_end']['loadavg']})",
        "",
        "| tool | wall s | peak RSS GB | pairs | × astropy | × LSDB | × I/O floor |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows_for(res):
        lines.append(
            f"| {row['tool']} | {_fmt(row['wall_s'])} | {_fmt(row['peak_rss_gb'])} | {row['pairs']:,} | "
            f"{_fmt(row['x_astropy'])} | {_fmt(row['x_lsdb'])} | {_fmt(row['x_io_floor'])} |"
        )
    for key in ("curate", "astropy", "radiostars", "lsdb", "io_floor"):
        if key in res and ("error" in res[key] or "skipped" in res[key]):
            lines.append(f"\n{key}: {res[key].get('error') or res[key].get('skipped')}")
    r = res["radiostars"]
    if "timings" in r:
        t = r["timings"]
        lines.append("")
        lines.append(
            f"radiostars: session start {r['session_start_s']:.1f} s; metrics.json timings: "
            + ", ".join(f"{k} {v:.1f}" for k, v in t.items())
            + " (match_s: the per-pixel match, run when its cached records are first used; outputs_s: the writes)"
        )
        if r.get("stages"):
            top = r["stages"][:5]
            lines.append(
                "slowest Spark stages: "
                + "; ".join(
                    f"#{s['stage']} {s['name'].split(' at ')[0]} ({s['name'].split(' at ')[-1]}) {s['duration_s']} s, "
                    f"{s['tasks']} tasks, CPU {s['executor_cpu_s']} s"
                    for s in top
                )
            )
    c = res.get("curate", {})
    if "layout" in c:
        lay = c["layout"]
        lines.append(
            f"curation: {lay['rows']:,} rows → {lay['rows_with_margins']:,} with margin copies in "
            f"{lay['buckets']} buckets (order {lay['spec']['healpix_order']}), {c['wall_s']:.1f} s; the match "
            "reads the pixels holding radio sources from it without a shuffle of the optical side"
        )
    a = res["astropy"]
    if "read_s" in a:
        lines.append(
            f"astropy: read {a['read_s']:.2f} s, apply_space_motion {a['propagate_s']:.2f} s, search "
            f"{a['search_s']:.2f} s (r = 5″ + {a['pad_arcsec']:.3f}″ pad), per-pair refine {a['refine_s']:.2f} s; "
            f"pm-ignored search {a['search_nopm_s']:.2f} s"
        )
    lz = res["lsdb"]
    if "read_s" in lz:
        lines.append(
            f"LSDB: read {lz['read_s']:.2f} s, from_dataframe {lz['from_dataframe_s']:.2f} s, crossmatch "
            f"{lz['crossmatch_s']:.2f} s (n_neighbors={lz['n_neighbors']}, {lz['optical_partitions']} optical partitions)"
        )
    return "\n".join(lines)


def write_doc(report: dict) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    m = report["machine"]
    parts = [
        DOC_HEADER,
        "",
        f"Measured {report['date']} on `{m['host']}`: {m['nproc']} cores, {m['ram_gb']} GB RAM, load average at "
        f"start {m['loadavg']} — **a shared, loaded machine**: other sessions' jobs ran at the same time, so "
        "absolute times are pessimistic and noisy (one repetition each); ratios are more meaningful than seconds.",
        "",
        "Data: `generate_scale` under `bench/o<N>_r<R>_s42/` (100 deg², |b| ≤ 1.5°). Each tool runs in its own child "
        "process; peak RSS is the process tree's (JVM + Python workers for Spark) sampled every 0.2 s "
        "(`radiostars.benchmark`). r = 5″ for every tool (radiostars: radius = r_min = 5″, n_sigma = 1, "
        "sigma_sys = 0, one control offset). radiostars and the first astropy row propagate the optical proper "
        "motions to each radio epoch; LSDB cannot, so it is compared with astropy with proper motions ignored.",
        "",
    ]
    for res in report["results"]:
        parts += [table_md(res), ""]
        ag = agreement(res)
        parts.append("Pair counts: " + "; ".join(f"{k}: {v}" for k, v in ag.items()))
        parts.append("")
    t = report["targets"]
    parts.append("Targets (issue 16; also in `.local/bench/crossmatch-latest.json`):")
    parts.append("")
    for name in [*TARGETS, "time_exponent"]:
        if name not in t:
            continue
        v = t[name]
        met = (
            "met"
            if v.get("met")
            else ("**missed**" if v.get("value") is not None else f"not measured ({v.get('why')})")
        )
        parts.append(f"- {name}: {_fmt(v.get('value'))} (target ≤ {v.get('target')}) — {met}")
    if report.get("notes"):
        parts += ["", *report["notes"]]
    section = "\n".join(parts).rstrip() + "\n"
    text = replace_doc_section(doc.read_text() if doc.exists() else "", DOC_HEADER, section)
    doc.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e6,1e7", help="optical rows, comma-separated (default 1e6,1e7)")
    ap.add_argument("--radio-rows", type=float, default=1e5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--skip-lsdb", action="store_true")
    ap.add_argument(
        "--max-previous-s",
        type=float,
        default=300.0,
        help="skip the next size when the previous size's benchmark took longer (default 300 s)",
    )
    ap.add_argument("--child", choices=["astropy", "curate", "radiostars", "iofloor"], help=argparse.SUPPRESS)
    ap.add_argument("--prefix", help=argparse.SUPPRESS)
    ap.add_argument("--pairs", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    settings = get_settings()

    if args.child:
        fn = {
            "astropy": lambda: child_astropy(settings, args.prefix),
            "curate": lambda: child_curate(settings, args.prefix),
            "radiostars": lambda: child_radiostars(settings, args.prefix),
            "iofloor": lambda: child_iofloor(settings, args.prefix, args.pairs),
        }[args.child]
        print(json.dumps(fn(), default=str))
        return 0

    from radiostars.benchmark import machine_info

    sizes = [int(float(s)) for s in args.sizes.split(",")]
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    report = {
        "date": date,
        "machine": machine_info(),
        "radius_arcsec": RADIUS_ARCSEC,
        "params": bench_params().to_dict(),
        "results": [],
        "notes": [],
    }
    out_json = ROOT / ".local" / "bench" / f"crossmatch-{date}.json"
    out_json.parent.mkdir(parents=True, exist_ok=True)
    for i, n in enumerate(sizes):
        if i and report["results"][-1]["bench_total_s"] > args.max_previous_s:
            note = (
                f"{n:.0e} not run: the {sizes[i - 1]:.0e} benchmark took {report['results'][-1]['bench_total_s']:.0f} s "
                f"> {args.max_previous_s:.0f} s (--max-previous-s)"
            )
            print(note)
            report["notes"].append(note)
            break
        res = bench_size(settings, n, int(args.radio_rows), args.seed, args.skip_lsdb)
        report["results"].append(res)
        print(table_md(res), flush=True)
        print("pair counts:", agreement(res), flush=True)
        report["targets"] = targets(report["results"])
        out_json.write_text(json.dumps(report, indent=2, default=str))
        write_doc(report)
    out_json.write_text(json.dumps(report, indent=2, default=str))
    write_doc(report)
    latest = out_json.parent / "crossmatch-latest.json"
    latest.write_text(
        json.dumps(
            {
                "date": date,
                "sizes": sizes,
                "targets": report.get("targets", {}),
                "failures": peer_failures(report["results"]),
            },
            indent=2,
            default=str,
        )
    )
    print(json.dumps(report.get("targets"), indent=2))
    print(f"wrote {out_json.relative_to(ROOT)}, {latest.relative_to(ROOT)} and docs/benchmarks.md")
    failures = peer_failures(report["results"])
    if failures:
        print("benchmark FAILED — a tool could not run:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
