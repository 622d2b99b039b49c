"""Scale benchmark (issue 9): 1e5 radio × N optical Gaia-like rows on one machine, Spark ``local[2]``.

For each size N (default 1e6, 1e7, 1e8):

* data: ``generate_scale`` under ``bench/o<N>_r<R>_s<seed>/`` — reused when its manifests already hold
  these row counts (``bench_crossmatch.ensure_data``);
* radiostars: ``run_crossmatch`` with the parameters of ``make bench`` (``bench_crossmatch.bench_params``:
  r = 5″ fixed, one control offset), Gaia only, in its own child process (``bench_crossmatch``'s
  radiostars child): wall time, peak RSS of the child's process tree (JVM + Python workers, sampled every
  0.2 s by ``radiostars.benchmark``), shuffle read/write and spill (memory/disk) summed over the
  application's stages from the Spark UI REST API, pairs, partition sizes (rows with margins);
* astropy: ``bench_crossmatch``'s astropy child (apply_space_motion + search_around_sky, in memory) for
  sizes ≤ ``--astropy-max`` (default 1e7); above it, the peak memory it would need is extrapolated
  linearly from the sizes it ran at and compared with the machine's RAM;
* the time exponent log(t₂/t₁)/log(N₂/N₁) between consecutive sizes.

Targets (issue 9, at 1e8 optical rows): wall ≤ 15 min, peak RSS ≤ 8 GB, time exponent ≤ 1.1.

Usage: .venv/bin/python scripts/bench_scale.py [--sizes 1e6,1e7,1e8] [--radio-rows 1e5] [--seed 42]
       [--astropy-max 1e7] [--driver-memory 4g] [--root bench/] [--out FILE] [--no-doc]
Results: .local/bench/scale-<date>.json and a section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_crossmatch as bx  # noqa: E402  (data reuse, parameters, the measured children)

DOC_HEADER = "## Scale on one machine — `make bench-scale` (`scripts/bench_scale.py`)"
TARGET_ROWS = 100_000_000
TARGET_WALL_S = 15 * 60.0
TARGET_PEAK_GB = 8.0
TARGET_EXPONENT = 1.1
STAGE_SUMS = (
    "input_mb",
    "shuffle_read_mb",
    "shuffle_write_mb",
    "memory_spilled_mb",
    "disk_spilled_mb",
    "output_mb",
    "executor_run_s",
    "executor_cpu_s",
)


def stage_totals(stages: list[dict]) -> dict:
    """Sums over every stage of the application (Spark UI REST API, ``bench_crossmatch._spark_stages``)."""
    out = {key: round(sum(s.get(key) or 0 for s in stages), 2) for key in STAGE_SUMS}
    out["stages"] = len(stages)
    out["tasks"] = sum(s.get("tasks") or 0 for s in stages)
    return out


def pipeline_stages(stages: list[dict], optical_rows: int) -> dict:
    """The two stages whose cost grows with the optical rows, found by their record counts (not by call
    site): *scan* reads the optical Parquet (input records = optical rows) and writes the exploded rows
    (home pixel + margin copies) to the shuffle; *match* reads exactly those shuffled rows (group by pixel,
    KD-tree match). Executor run time is task time summed over cores (it includes waiting for a CPU on
    a shared machine); Python-worker CPU is not in Spark's executorCpuTime."""
    done = [s for s in stages if s.get("duration_s") is not None]

    def summary(s):
        return {
            k: s.get(k)
            for k in (
                "stage",
                "tasks",
                "duration_s",
                "executor_run_s",
                "executor_cpu_s",
                "input_mb",
                "shuffle_read_mb",
                "shuffle_write_mb",
                "memory_spilled_mb",
                "disk_spilled_mb",
            )
        }

    scan = [s for s in done if s.get("input_records") == optical_rows and s.get("shuffle_write_records")]
    if not scan:
        # curated layout: one stage reads the stored rows (with margin copies) of the target pixels and
        # matches them per pixel, no shuffle
        read = [
            s
            for s in done
            if (s.get("input_records") or 0) >= optical_rows
            and not s.get("shuffle_read_records")
            and not s.get("shuffle_write_records")
        ]
        if not read:
            return {}
        m = max(read, key=lambda s: s["input_records"])
        run_s = m["executor_run_s"]
        return {
            "optical_rows": optical_rows,
            "layout": "curated",
            "exploded_rows": m["input_records"],
            "margin_factor": m["input_records"] / optical_rows,
            "match": summary(m),
            "executor_run_s": run_s,
            "rows_per_core_s": optical_rows / run_s if run_s else None,
        }
    exploded = scan[0]["shuffle_write_records"]
    match = [s for s in done if s.get("shuffle_read_records") == exploded and s is not scan[0]]

    out = {
        "optical_rows": optical_rows,
        "exploded_rows": exploded,
        "margin_factor": exploded / optical_rows,
        "scan": summary(scan[0]),
    }
    if match:
        out["match"] = summary(match[0])
        run_s = scan[0]["executor_run_s"] + match[0]["executor_run_s"]
        out["executor_run_s"] = run_s
        # rows per core-second through read + explode + shuffle + per-pixel match
        out["rows_per_core_s"] = optical_rows / run_s if run_s else None
    return out


def exponent(t1: float | None, t2: float | None, n1: int, n2: int) -> float | None:
    if not t1 or not t2 or n1 == n2:
        return None
    return math.log(t2 / t1) / math.log(n2 / n1)


def bench_size(
    settings, optical_rows: int, radio_rows: int, seed: int, *, run_astropy: bool, root: str = "bench/", log=print
) -> dict:
    from radiostars.benchmark import machine_info

    t_size = time.perf_counter()
    res = bx.size_result(settings, optical_rows, radio_rows, seed, log=log, root=root)
    prefix = res["prefix"]
    log(f"[{optical_rows:.0e}] radiostars one-off curation (HEALPix layout of the optical snapshot) …")
    res["curate"] = bx.run_child("curate", prefix)
    if "stages" in res["curate"]:
        res["curate"]["stage_totals"] = stage_totals(res["curate"]["stages"])
    log(f"[{optical_rows:.0e}] radiostars run_crossmatch (Spark local[2]) …")
    rs = bx.run_child("radiostars", prefix)  # cpu_s: the child's process tree (radiostars.benchmark)
    if "optical_rows_read" in rs and rs.get("cpu_s"):
        rs["optical_rows_per_cpu_s"] = rs["optical_rows_read"] / rs["cpu_s"]
    if "stages" in rs:
        rs["stage_totals"] = stage_totals(rs["stages"])
        rs["pipeline"] = pipeline_stages(rs["stages"], rs.get("optical_rows_read", optical_rows))
    res["radiostars"] = rs
    if run_astropy:
        log(f"[{optical_rows:.0e}] astropy (in memory) …")
        res["astropy"] = bx.run_child("astropy", prefix)
    else:
        res["astropy"] = {"skipped": "above --astropy-max"}
    res["machine_at_end"] = machine_info()
    res["bench_total_s"] = time.perf_counter() - t_size
    return res


def astropy_projection(results: list[dict], ram_gb: float) -> dict | None:
    """Peak RSS astropy would need at the sizes it was not run at (and at 1e8 when no size reached it):
    linear in rows through the measured points (one point: proportional). A projection, labelled as such."""
    ran = [(r["optical_rows"], r["astropy"]["peak_rss_gb"]) for r in results if "wall_s" in r["astropy"]]
    skipped = [r["optical_rows"] for r in results if "wall_s" not in r["astropy"]]
    if results and max(r["optical_rows"] for r in results) < TARGET_ROWS:
        skipped.append(TARGET_ROWS)
    if not ran or not skipped:
        return None
    if len(ran) >= 2:
        (n1, p1), (n2, p2) = ran[-2], ran[-1]
        slope = (p2 - p1) / (n2 - n1)
        base = p2 - slope * n2
    else:
        (n2, p2), base = ran[-1], 0.0
        slope = p2 / n2
    bytes_per_row = slope * 1e9
    out = {
        "from_sizes": [n for n, _ in ran],
        "bytes_per_row": round(bytes_per_row, 1),
        "ram_gb": ram_gb,
        "projected_peak_gb": {},
    }
    for n in skipped:
        peak = base + slope * n
        out["projected_peak_gb"][str(n)] = {"peak_gb": round(peak, 1), "fits_in_ram": peak < ram_gb}
    # the largest size that would fit in RAM (what "the largest size it fits in memory" means here)
    out["max_rows_in_ram"] = int((ram_gb - base) / slope) if slope > 0 else None
    return out


def radiostars_projection(results: list[dict]) -> dict | None:
    """Wall time at 1e8 when the largest size run is smaller: the row-proportional stages (scan+explode and
    match, or the one read+match stage of the curated layout) scaled linearly in rows, everything else (session start, radio side, outputs) kept. A projection."""
    big = results[-1] if results else None
    if not big or big["optical_rows"] >= TARGET_ROWS or "match" not in (big["radiostars"].get("pipeline") or {}):
        return None
    r, p = big["radiostars"], big["radiostars"]["pipeline"]
    stages = sum(p[name]["duration_s"] for name in ("scan", "match") if name in p)  # no scan stage when curated
    fixed = r["wall_with_session_s"] - stages
    scale = TARGET_ROWS / big["optical_rows"]
    return {
        "from_rows": big["optical_rows"],
        "to_rows": TARGET_ROWS,
        "fixed_s": round(fixed, 1),
        "row_stages_s": round(stages, 1),
        "wall_s": round(fixed + stages * scale, 1),
        "exponent": exponent(r["wall_s"], r["wall_s"] - stages + stages * scale, big["optical_rows"], TARGET_ROWS),
    }


def targets(results: list[dict]) -> dict:
    """Issue 9 targets, evaluated at the largest size run (they are stated for 1e8)."""
    big = results[-1]
    rs = big["radiostars"]
    out: dict = {
        "at_optical_rows": big["optical_rows"],
        "target_rows": TARGET_ROWS,
        "at_target_size": big["optical_rows"] >= TARGET_ROWS,
    }

    def check(name, value, limit):
        out[name] = {"value": value, "limit": limit, "met": None if value is None else value <= limit}

    ok = "error" not in rs  # a failed child's peak RSS says nothing about the job
    check("wall_s", rs.get("wall_with_session_s") if ok else None, TARGET_WALL_S)
    check("peak_rss_gb", rs.get("peak_rss_gb") if ok else None, TARGET_PEAK_GB)
    if not ok:
        out["error"] = f"radiostars failed at {big['optical_rows']:.0e}: {rs['error'][:300]}"
    exps = [r.get("exponent_from_previous") for r in results[1:]]
    check("time_exponent", exps[-1] if exps and exps[-1] is not None else None, TARGET_EXPONENT)
    out["time_exponents"] = [
        {"from": a["optical_rows"], "to": b["optical_rows"], "value": b.get("exponent_from_previous")}
        for a, b in zip(results, results[1:])
    ]
    return out


def add_exponents(results: list[dict]) -> None:
    for prev, cur in zip(results, results[1:]):
        cur["exponent_from_previous"] = exponent(
            prev["radiostars"].get("wall_s"), cur["radiostars"].get("wall_s"), prev["optical_rows"], cur["optical_rows"]
        )
        cur["exponent_from_previous_incl_session"] = exponent(
            prev["radiostars"].get("wall_with_session_s"),
            cur["radiostars"].get("wall_with_session_s"),
            prev["optical_rows"],
            cur["optical_rows"],
        )


def _f(x, nd=1):
    return "—" if x is None else f"{x:,.{nd}f}"


def table_md(report: dict) -> str:
    lines = [
        "| optical rows | pairs (= astropy?) | wall s (run) | incl. session start | peak RSS GB | shuffle read MB "
        "| shuffle write MB | spilled memory / disk MB | partitions: n, median / p95 / max rows | exponent "
        "| astropy wall s | astropy peak GB | one-off curation s (peak GB, shuffle write MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for res in report["results"]:
        r, a = res["radiostars"], res["astropy"]
        if "error" in r:
            lines.append(f"| {res['optical_rows']:.0e} | radiostars failed: {r['error'][:200]} |||||||||||")
            continue
        st, p = r.get("stage_totals", {}), r.get("partitions", {})
        same = "" if "pairs" not in a else " (=)" if a["pairs"] == r["pairs"] else f" (astropy {a['pairs']:,})"
        lines.append(
            f"| {res['optical_rows']:.0e} | {r['pairs']:,}{same} | {_f(r['wall_s'])} | {_f(r['wall_with_session_s'])} "
            f"| {_f(r['peak_rss_gb'], 2)} | {_f(st.get('shuffle_read_mb'))} | {_f(st.get('shuffle_write_mb'))} "
            f"| {_f(st.get('memory_spilled_mb'))} / {_f(st.get('disk_spilled_mb'))} "
            f"| {p.get('partitions', 0)}, {p.get('median', 0):,} / {p.get('p95', 0):,} / {p.get('max', 0):,} "
            f"| {_f(res.get('exponent_from_previous'), 2)} "
            f"| {_f(a.get('wall_s'), 1) if 'wall_s' in a else a.get('skipped') or a.get('error', '')[:80]} "
            f"| {_f(a.get('peak_rss_gb'), 2)} | {_curate_cell(res.get('curate') or {})} |"
        )
    return "\n".join(lines)


def _curate_cell(c: dict) -> str:
    if "wall_s" not in c:
        return (c.get("error") or c.get("skipped") or "not run")[:80]
    return (
        f"{_f(c['wall_s'])} ({_f(c.get('peak_rss_gb'), 2)} GB, "
        f"{_f(c.get('stage_totals', {}).get('shuffle_write_mb'))} MB)"
    )


def _pipeline_md(p: dict) -> str:
    if "match" not in p:
        return ""
    if p.get("layout") == "curated":
        return (
            f"; read+match stage from the curated layout {p['match']['duration_s']} s "
            f"({p['match']['executor_run_s']} s executor, {p['match']['tasks']} tasks, no shuffle), margin copies "
            f"× {p['margin_factor']:.2f} → **{p['rows_per_core_s']:,.0f} optical rows per core-second**"
        )
    return (
        f"; scan+explode stage {p['scan']['duration_s']} s ({p['scan']['executor_run_s']} s executor), match stage "
        f"{p['match']['duration_s']} s ({p['match']['executor_run_s']} s executor), margin copies × "
        f"{p['margin_factor']:.2f} → **{p['rows_per_core_s']:,.0f} optical rows per core-second**"
    )


def details_md(report: dict) -> list[str]:
    out = []
    for res in report["results"]:
        r = res["radiostars"]
        if "timings" in r:
            out.append(
                f"- {res['optical_rows']:.0e}: session start {r['session_start_s']:.1f} s; metrics.json timings "
                + ", ".join(f"{k} {v:.1f}" for k, v in r["timings"].items())
                + (
                    f"; CPU of the process tree {r['cpu_s']:.0f} s = {r['optical_rows_per_cpu_s']:,.0f} optical "
                    "rows per CPU-second (whole job)"
                    if r.get("optical_rows_per_cpu_s")
                    else ""
                )
                + f"; {r.get('stage_totals', {}).get('stages', '?')} stages, Σ executor run "
                f"{_f(r.get('stage_totals', {}).get('executor_run_s'))} s, JVM CPU {_f(r.get('stage_totals', {}).get('executor_cpu_s'))} s"
                + _pipeline_md(r.get("pipeline") or {})
                + (f"; data generated in {res['data']['generate_s']:.0f} s" if res["data"].get("generated") else "")
                + f"; load average {res['machine_at_start']['loadavg']} → {res['machine_at_end']['loadavg']}"
            )
        if r.get("stages_error"):
            out.append(f"  - Spark REST stages unavailable: {r['stages_error']}")
    return out


def report_lines(report: dict) -> list[str]:
    t = report["targets"]
    lines = []
    where = (
        ""
        if t["at_target_size"]
        else f" — **measured at {t['at_optical_rows']:.0e} only; the targets are stated for 1e8** "
        f"(`make bench-scale` runs 1e6,1e7,1e8 by default; run it on a quiet machine)"
    )
    lines.append(f"Targets (issue 9) at {t['at_optical_rows']:.0e} optical rows{where}:")
    lines.append("")
    for name, label, fmt in (
        ("wall_s", "wall time incl. Spark session start, s", 1),
        ("peak_rss_gb", "peak RSS of the process tree, GB", 2),
        ("time_exponent", "time exponent (last two sizes, run wall)", 2),
    ):
        v = t.get(name) or {}
        met = {True: "met", False: "**missed**", None: "not measured"}[v.get("met")]
        if v.get("met") is not None and not t["at_target_size"]:
            met += f" at {t['at_optical_rows']:.0e} (not the target size)"
        lines.append(f"- {label}: {_f(v.get('value'), fmt)} (target ≤ {v.get('limit')}) — {met}")
    for e in t.get("time_exponents", []):
        lines.append(f"  - exponent {e['from']:.0e} → {e['to']:.0e}: {_f(e['value'], 2)}")
    return lines


def write_doc(report: dict, doc: Path) -> None:
    m = report["machine"]
    proj = report.get("astropy_projection")
    parts = [
        DOC_HEADER,
        "",
        f"Measured {report['date']} on `{m['host']}`: {m['nproc']} cores, {m['ram_gb']} GB RAM, load average at "
        f"start {m['loadavg']} (other jobs share the machine: times are pessimistic; one repetition each). "
        f"Spark `local[2]`, driver memory {report['spark']['driver_memory']}.",
        "",
        f"Data: `generate_scale`, {report['radio_rows']:.0e} radio rows over "
        f"{report['results'][0]['data'].get('area_deg2') or report['radio_rows'] / 1000:.0f} deg² of the plane "
        "(|b| ≤ 1.5°), N Gaia-like rows in the same area, under `bench/o<N>_r<R>_s42/`. Parameters: those of "
        "`make bench` (r = 5″ fixed, one control offset, HEALPix order from the 180″ margin), Gaia only. Each "
        "measurement in its own child process; peak RSS is the child's process tree (driver JVM + Python "
        "workers) sampled every 0.2 s; shuffle and spill summed over the application's stages (Spark UI "
        "REST API, `memoryBytesSpilled` / `diskBytesSpilled`). Wall (run) excludes the Spark session start; "
        "the exponent is log(t₂/t₁)/log(N₂/N₁) on the run wall. Partition sizes are optical rows per "
        "HEALPix pixel including margin copies (metrics.json). The run matches against the optical "
        "snapshot's curated HEALPix layout (docs/crossmatch.md §7); building that layout — the explode "
        "into pixels with margins and one shuffle of the optical side — is a one-off per snapshot "
        "(per ingestion), measured in its own child process and shown in the last column, like the "
        "import of a catalogue into LSDB/HATS or AXS.",
        "",
        table_md(report),
        "",
        *details_md(report),
        "",
        *report_lines(report),
    ]
    rp = radiostars_projection(report["results"])
    if rp:
        parts += [
            "",
            f"Projection to 1e8 (not a measurement): the scan+explode and match stages took {rp['row_stages_s']:.0f} s "
            f"at {rp['from_rows']:.0e} and grow with the rows; the rest ({rp['fixed_s']:.0f} s: session start, "
            f"radio side, outputs) does not. × {rp['to_rows'] / rp['from_rows']:.0f} → ≈ {rp['wall_s']:.0f} s "
            f"(≈ {rp['wall_s'] / 60:.0f} min, exponent ≈ {rp['exponent']:.2f}) on this machine at this load; "
            f"`make bench-scale` measures it (the 1e8 data, `bench/o100000000_r100000_s42/`, is reused once generated).",
        ]
    astro = [r for r in report["results"] if "wall_s" in r["astropy"]]
    if astro:
        parts += ["", f"astropy ran at sizes ≤ {report['astropy_max']:.0e} (`--astropy-max`)."]
    if proj:
        fits = "; ".join(
            f"{int(n):.0e}: ≈ {v['peak_gb']} GB ({'fits' if v['fits_in_ram'] else 'does not fit'} in "
            f"{proj['ram_gb']} GB)"
            for n, v in proj["projected_peak_gb"].items()
        )
        parts.append(
            f"Projected astropy peak RSS above that (linear in rows through {proj['from_sizes']}, "
            f"≈ {proj['bytes_per_row']:.0f} B/row; not measured): {fits}; largest size that fits in RAM ≈ "
            f"{proj['max_rows_in_ram']:.2e} rows."
        )
    if report.get("notes"):
        parts += ["", *report["notes"]]
    section = "\n".join(parts).rstrip() + "\n"
    doc.write_text(bx.replace_doc_section(doc.read_text() if doc.exists() else "", DOC_HEADER, section))


def run(
    settings,
    sizes: list[int],
    radio_rows: int,
    seed: int,
    astropy_max: int,
    root: str = "bench/",
    out_json: Path | None = None,
    doc: Path | None = None,
    log=print,
) -> dict:
    """The whole benchmark; writes ``out_json`` (and the ``doc`` section) after every size."""
    from radiostars.benchmark import machine_info

    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    report = {
        "date": date,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "sizes": sizes,
        "radio_rows": radio_rows,
        "seed": seed,
        "root": root,
        "astropy_max": astropy_max,
        "master": "local[2]",
        "spark": {"driver_memory": settings["SPARK_DRIVER_MEMORY"]},
        "params": bx.bench_params().to_dict(),
        "results": [],
        "notes": [],
    }

    def save():
        add_exponents(report["results"])
        report["targets"] = targets(report["results"])
        report["astropy_projection"] = astropy_projection(report["results"], report["machine"]["ram_gb"])
        if out_json:
            out_json.parent.mkdir(parents=True, exist_ok=True)
            out_json.write_text(json.dumps(report, indent=2, default=str))
        if doc:
            write_doc(report, doc)

    for n in sizes:
        res = bench_size(settings, n, radio_rows, seed, run_astropy=n <= astropy_max, root=root, log=log)
        report["results"].append(res)
        save()
        r, a = res["radiostars"], res["astropy"]
        if "error" in r:
            log(f"[{n:.0e}] radiostars FAILED: {r['error'][:120]} … {r['error'][-1200:]}")
        else:
            st = r.get("stage_totals", {})
            log(
                f"[{n:.0e}] radiostars: {r['pairs']:,} pairs, wall {r['wall_s']:.1f} s (+ {r['session_start_s']:.1f} s "
                f"session start), peak RSS {r['peak_rss_gb']:.2f} GB, shuffle read {_f(st.get('shuffle_read_mb'))} MB / "
                f"write {_f(st.get('shuffle_write_mb'))} MB, spilled {_f(st.get('memory_spilled_mb'))} MB memory / "
                f"{_f(st.get('disk_spilled_mb'))} MB disk, partitions {r['partitions']}, exponent from previous "
                f"{_f(res.get('exponent_from_previous'), 2)}"
            )
        if "wall_s" in a:
            log(
                f"[{n:.0e}] astropy: {a['pairs']:,} pairs, wall {a['wall_s']:.1f} s, peak RSS {a['peak_rss_gb']:.2f} GB"
                + (
                    ""
                    if "pairs" not in r
                    else " — same pair count"
                    if a["pairs"] == r["pairs"]
                    else " — PAIR COUNTS DIFFER"
                )
            )
        elif "error" in a:
            log(f"[{n:.0e}] astropy failed (out of memory?): {a['error'][-300:]}")
    if any("wall_s" not in r["astropy"] for r in report["results"]):
        report["notes"].append(f"astropy not run above {astropy_max:.0e} optical rows (`--astropy-max`).")
        save()
    for line in report_lines(report):
        log(line)
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e6,1e7,1e8", help="optical rows, comma-separated (default 1e6,1e7,1e8)")
    ap.add_argument("--radio-rows", type=float, default=1e5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--astropy-max",
        type=float,
        default=1e7,
        help="run the in-memory astropy child only up to this many optical rows (default 1e7)",
    )
    ap.add_argument("--driver-memory", help="SPARK_DRIVER_MEMORY for the Spark child (default: .env)")
    ap.add_argument("--root", default="bench/", help="lake folder of the data sets (default bench/)")
    ap.add_argument("--out", type=Path, help="JSON record (default .local/bench/scale-<date>.json)")
    ap.add_argument("--no-doc", action="store_true", help="do not write the docs/benchmarks.md section")
    ap.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="measure nothing: rewrite the docs/benchmarks.md section from a saved record",
    )
    args = ap.parse_args(argv)
    if args.render:
        report = json.loads(args.render.read_text())
        report["astropy_projection"] = astropy_projection(report["results"], report["machine"]["ram_gb"])
        write_doc(report, ROOT / "docs" / "benchmarks.md")
        print(f"rewrote the docs/benchmarks.md section from {args.render}")
        return 0
    if args.driver_memory:
        os.environ["SPARK_DRIVER_MEMORY"] = args.driver_memory  # the children read it (env > .env)
    from radiostars.config import load_settings

    settings = load_settings()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    out_json = args.out or ROOT / ".local" / "bench" / f"scale-{date}.json"
    doc = None if args.no_doc else ROOT / "docs" / "benchmarks.md"
    run(
        settings,
        sizes,
        int(args.radio_rows),
        args.seed,
        int(args.astropy_max),
        root=args.root,
        out_json=out_json,
        doc=doc,
        log=lambda m: print(m, flush=True),
    )
    print(f"wrote {out_json}" + ("" if doc is None else " and docs/benchmarks.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
