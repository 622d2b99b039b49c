"""Benchmark the ingestion MySQL -> MinIO end to end (extract + validate + write + commit), issue #17.

1. full ingest of N (1e6) Gaia-like rows: rows/s and peak RSS (targets >= 200k rows/s, < 500 MB);
2. ``--reps`` (3) incremental runs, each after a 1 % update: time as a fraction of the full run
   (target <= 10 % every time; min/median/max reported);
3. the extraction alone (no lake) in both orders, to split the full run's cost;
4. unless ``--skip-big``: a full ingest of a 1e7-row table (rate and peak RSS: memory must not grow
   with the rows);
5. a projection to a 1.8e9-row first load and a nightly 0.1 % update, on this 2-core machine and on
   one worker per row_id key range.

Uses its own databases (catalogues_ingest_bench, catalogues_ingest_bench_big) and bucket
(lake-ingest-bench): never the demo's. Each ingest runs in a fresh child process so that its peak RSS
is the ingestion's alone; the child imports its modules before the clock starts (a worker imports
once; without a bytecode cache the imports cost ~1-2 s per process, reported as ``import_s``).
Writes .local/bench/ingest-latest.json.

    .venv/bin/python scripts/bench_ingest.py [--rows 1000000] [--big-rows 10000000] [--skip-big] [--reuse]
        [--keep-big] [--reps 3] [--chunk-size 50000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from radiostars.config import Settings, get_settings  # noqa: E402

DB, BIG_DB, BUCKET = "catalogues_ingest_bench", "catalogues_ingest_bench_big", "lake-ingest-bench"
T0 = dt.datetime(2026, 1, 1, 0, 0, 0)
GAIA_ROWS, NIGHTLY_FRACTION = 1.8e9, 0.001
TARGET_RATE, TARGET_RSS_MB, TARGET_FRACTION = 200_000, 500, 0.10


def bench_settings(database: str = DB) -> Settings:
    return Settings({**get_settings().values, "MYSQL_DATABASE": database, "LAKE_BUCKET": BUCKET})


def load(s: Settings, rows: int, chunk: int = 100_000) -> float:
    """N Gaia-like rows into the settings' database (indexes built after the load)."""
    import numpy as np
    import pandas as pd

    from radiostars.catalogues.schema import column_names
    from radiostars.sample.loader import MySQLLoader, build_indexes, connect, create_database, recreate_tables

    db = s["MYSQL_DATABASE"]
    create_database(s.mysql_url(root=True, database=""), db)
    url = s.mysql_url(database=db)
    recreate_tables(url, ["gaia_dr3"], defer_indexes=True)
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    with connect(url) as conn:
        loader = MySQLLoader(conn)
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            i = np.arange(start, start + n)
            err = rng.uniform(0.05, 2, n)
            df = pd.DataFrame(
                {
                    "row_id": i + 1,
                    "source_id": 7_000_000_000_000_000_000 + i,
                    "ra": rng.uniform(250, 260, n),
                    "dec": rng.uniform(-45, -40, n),
                    "ra_error": err,
                    "dec_error": err,
                    "parallax": np.nan,
                    "parallax_error": np.nan,
                    "pmra": np.nan,
                    "pmdec": np.nan,
                    "pmra_error": np.nan,
                    "pmdec_error": np.nan,
                    "phot_g_mean_mag": rng.uniform(15, 21, n),
                    "bp_rp": rng.uniform(0.5, 3, n),
                    "ref_epoch": 2016.0,
                    "is_synthetic": True,
                    "deleted": False,
                    "updated_at": pd.Timestamp(T0),
                }
            )
            loader.load("gaia_dr3", df[column_names("gaia_dr3")])
    build_indexes(url, ["gaia_dr3"])
    return time.perf_counter() - t0


def row_count(s: Settings) -> int:
    from radiostars.sample.loader import connect

    try:
        with connect(s.mysql_url(database=s["MYSQL_DATABASE"])) as conn, conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM gaia_dr3")
            return cur.fetchone()[0]
    except Exception:  # noqa: BLE001 - no database / no table yet
        return -1


def change_fraction(s: Settings, fraction: float, offset: int) -> int:
    """Update every round(1/fraction)-th row (shifted by ``offset``) with a new, later updated_at."""
    from radiostars.sample.loader import connect

    with connect(s.mysql_url(database=s["MYSQL_DATABASE"])) as conn, conn.cursor() as cur:
        cur.execute("SELECT MAX(updated_at) FROM gaia_dr3")
        latest = cur.fetchone()[0]
        step = round(1 / fraction)
        cur.execute(
            "UPDATE gaia_dr3 SET phot_g_mean_mag = phot_g_mean_mag + 0.01, updated_at = %s WHERE row_id %% %s = %s",
            (latest + dt.timedelta(seconds=1), step, offset % step),
        )
        conn.commit()
        return cur.rowcount


def _warm_imports() -> float:
    t0 = time.perf_counter()
    import connectorx  # noqa: F401
    import MySQLdb  # noqa: F401
    import numpy  # noqa: F401
    import pyarrow.compute  # noqa: F401
    import pyarrow.dataset  # noqa: F401
    import pyarrow.ipc  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    from radiostars.catalogues.arrow import expected_schema
    from radiostars.ingest import pipeline  # noqa: F401
    from radiostars.ingest.extract import connect, live_columns
    from radiostars.lake.store import Lake

    expected_schema("gaia_dr3")  # the schema module (SQLAlchemy metadata; an Airflow worker has it loaded)
    Lake(bench_settings()).ensure_bucket()  # the minio SDK and its HTTP pool
    with connect(bench_settings().mysql_url()) as src:  # MySQLdb's codecs
        live_columns(src, "gaia_dr3")
    return time.perf_counter() - t0


def child(mode: str, database: str, date: str, prefix: str, chunk_size: int) -> None:
    """One measurement in this (fresh) process; prints a RESULT JSON line.

    mode ``full`` / ``incremental``: ``ingest_table``; ``extract-pk`` / ``extract-key``: the extraction
    alone (no lake) of the whole table in primary-key / (updated_at, row_id) order."""
    import_s = _warm_imports()
    s = bench_settings(database)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    if mode in ("full", "incremental"):
        from radiostars.ingest.pipeline import ingest_table

        r = ingest_table(s, "gaia_dr3", date, full_refresh=mode == "full", chunk_size=chunk_size, lake_prefix=prefix)
        out = {"rows_in": r["rows_in"], "rows": r["rows"], "steps": r["seconds"]}
    else:
        from radiostars.ingest.extract import Key, connect, stream_window, upper_bound

        with connect(s.mysql_url(database=database)) as src:
            top, _ = upper_bound(src, "gaia_dr3", 0)
            after = None if mode == "extract-pk" else Key(dt.datetime(1970, 1, 1), 0)
            n = sum(b.num_rows for b in stream_window(src, "gaia_dr3", after, top, chunk_size))
        out = {"rows_in": n}
    out["seconds"] = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)  # this process only (MariaDB and MinIO not included)
    out["cpu_s"] = round(cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime, 2)
    out["import_s"] = round(import_s, 2)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(out))


def service_cpu_s(services_: tuple[str, ...] = ("mariadb", "minio")) -> dict[str, float]:
    """CPU seconds (user + system, with children) used so far by this stack's MariaDB and MinIO."""
    import psutil

    from radiostars.stack.supervisor import supervisorctl

    out = {}
    for name in services_:
        try:
            t = psutil.Process(int(supervisorctl(get_settings(), "pid", name).strip())).cpu_times()
            out[name] = t.user + t.system + t.children_user + t.children_system
        except (ValueError, psutil.Error):
            out[name] = float("nan")
    return out


def run_child(mode: str, database: str, date: str, prefix: str, chunk_size: int) -> dict:
    before = service_cpu_s()
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            mode,
            "--database",
            database,
            "--date",
            date,
            "--prefix",
            prefix,
            "--chunk-size",
            str(chunk_size),
        ],
        capture_output=True,
        text=True,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"{mode} ingest failed:\n{proc.stderr[-3000:]}")
    out = json.loads(lines[-1][len("RESULT ") :])
    after = service_cpu_s()
    out["service_cpu_s"] = {k: round(after[k] - before[k], 2) for k in before}
    # load-independent: CPU seconds of the whole ingest (client + MariaDB + MinIO) per million rows
    total = out.get("cpu_s", 0) + sum(out["service_cpu_s"].values())
    out["cpu_s_per_mrow"] = round(total / max(out["rows_in"], 1) * 1e6, 2)
    return out


def projection(full_rate: float, inc: list[dict], extract_rate: float) -> dict:
    """1.8e9 rows: first load and a nightly 0.1 % update, on 2 cores and on W workers (one per row_id
    key range, each like this machine).

    Model: a run costs ``t = o + n / r``. ``r`` = the measured full-run rate (the largest table's);
    ``o`` (fixed cost per run: connections, listing manifests, commit) = the incremental runs'
    median time minus their rows at rate ``r``. W workers divide ``n``; MySQL must then serve
    ``W · r`` rows/s, which this machine cannot show (one extract stream here reached
    ``extract_rate`` while sharing 2 cores with the client)."""
    inc_rows = statistics.median(i["rows_in"] for i in inc)
    overhead = max(0.0, statistics.median(i["seconds"] for i in inc) - inc_rows / full_rate)
    nightly_rows = GAIA_ROWS * NIGHTLY_FRACTION
    out = {
        "model": "t = o + n / r",
        "rate_rows_per_s": round(full_rate),
        "overhead_s": round(overhead, 2),
        "first_load_rows": GAIA_ROWS,
        "nightly_rows": nightly_rows,
        "workers": {},
    }
    for w in (1, 4, 16):
        out["workers"][w] = {
            "first_load_h": round((overhead + GAIA_ROWS / w / full_rate) / 3600, 2),
            "nightly_s": round(overhead + nightly_rows / w / full_rate, 1),
            "mysql_rows_per_s_needed": round(w * full_rate),
        }
    out["extract_only_rows_per_s"] = round(extract_rate)
    return out


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--big-rows", type=int, default=10_000_000)
    ap.add_argument("--skip-big", action="store_true", help="no 1e7-row run (rows_per_s_1e7: null)")
    ap.add_argument("--reps", type=int, default=3, help="incremental repetitions (>= 3)")
    ap.add_argument("--keep-big", action="store_true", help="keep the 1e7-row database (else dropped after use)")
    ap.add_argument("--chunk-size", type=int, default=50_000)
    ap.add_argument("--fraction", type=float, default=0.01)
    ap.add_argument("--reuse", action="store_true", help="keep a loaded database that has the right row count")
    ap.add_argument("--out", type=Path, default=None, help="default .local/bench/ingest-latest.json")
    ap.add_argument("--child", metavar="MODE")
    ap.add_argument("--database", default=DB)
    ap.add_argument("--date", default="2026-01-01")
    ap.add_argument("--prefix", default="")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.database, args.date, args.prefix, args.chunk_size)
        return 0
    from radiostars.lake.store import Lake

    started = dt.datetime.now(dt.UTC)
    print(f"load average at start: {loadavg()} (on a shared machine the figures are indicative)", flush=True)
    s = bench_settings()
    if not (args.reuse and row_count(s) == args.rows):
        print(f"loading {args.rows:,} Gaia-like rows into MySQL {DB} ...", flush=True)
        print(f"  loaded in {load(s, args.rows):.1f} s", flush=True)
    lake = Lake(s)
    lake.ensure_bucket()
    lake.remove_prefix("")
    full = run_child("full", DB, "2026-01-01", "", args.chunk_size)
    rate = full["rows_in"] / full["seconds"]
    print(
        f"full:        {full['rows_in']:,} rows in {full['seconds']:.2f} s = {rate:,.0f} rows/s, peak RSS "
        f"{full['peak_rss_mb']:.0f} MB, steps {full['steps']}; CPU: ingest process {full['cpu_s']} s, "
        f"{', '.join(f'{k} {v} s' for k, v in full['service_cpu_s'].items())} (= {full['cpu_s_per_mrow']} CPU s "
        f"per 1e6 rows; imports before the clock: {full['import_s']} s)",
        flush=True,
    )
    incs = []
    for rep in range(args.reps):
        changed = change_fraction(s, args.fraction, rep)
        inc = run_child("incremental", DB, f"2026-01-{2 + rep:02d}", "", args.chunk_size)
        inc["fraction"] = inc["seconds"] / full["seconds"]
        inc["updated"] = changed
        incs.append(inc)
        print(
            f"incremental {rep + 1}: {inc['rows_in']:,} changed rows ({changed:,} updated) in {inc['seconds']:.2f} s "
            f"= {inc['fraction']:.1%} of the full run, peak RSS {inc['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    fr = [i["fraction"] for i in incs]
    print(f"incremental / full: min {min(fr):.1%}, median {statistics.median(fr):.1%}, max {max(fr):.1%}", flush=True)
    ext = {m: run_child(m, DB, "", "", args.chunk_size) for m in ("extract-pk", "extract-key")}
    for m, e in ext.items():
        print(
            f"{m}: {e['rows_in']:,} rows in {e['seconds']:.2f} s = {e['rows_in'] / e['seconds']:,.0f} rows/s "
            f"(MySQL -> Arrow only), peak RSS {e['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    big = None
    if not args.skip_big:
        bs = bench_settings(BIG_DB)
        if not (args.reuse and row_count(bs) == args.big_rows):
            print(f"loading {args.big_rows:,} Gaia-like rows into MySQL {BIG_DB} ...", flush=True)
            print(f"  loaded in {load(bs, args.big_rows):.1f} s", flush=True)
        big = run_child("full", BIG_DB, "2026-01-01", "big/", args.chunk_size)
        big["rows_per_s"] = big["rows_in"] / big["seconds"]
        print(
            f"full {args.big_rows:.0e}:   {big['rows_in']:,} rows in {big['seconds']:.1f} s = {big['rows_per_s']:,.0f} rows/s, "
            f"peak RSS {big['peak_rss_mb']:.0f} MB, steps {big['steps']}",
            flush=True,
        )
        lake.remove_prefix("big/")
        if not args.keep_big:  # ~2 GB of MariaDB files
            from radiostars.sample.loader import connect

            with connect(bs.mysql_url(root=True, database="")) as conn, conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{BIG_DB}`")
    extract_rate = ext["extract-pk"]["rows_in"] / ext["extract-pk"]["seconds"]
    proj = projection(big["rows_per_s"] if big else rate, incs, extract_rate)
    w1 = proj["workers"][1]
    print(
        f"projection to {GAIA_ROWS:.1e} rows at {proj['rate_rows_per_s']:,} rows/s + {proj['overhead_s']} s per run: "
        f"first load {w1['first_load_h']} h on 2 cores, nightly 0.1 % ({proj['nightly_rows']:.1e} rows) "
        f"{w1['nightly_s']} s; "
        + "; ".join(
            f"{w} workers (one per row_id range): {p['first_load_h']} h / {p['nightly_s']} s if MySQL serves "
            f"{p['mysql_rows_per_s_needed']:,} rows/s"
            for w, p in proj["workers"].items()
            if w > 1
        ),
        flush=True,
    )
    ok = [rate >= TARGET_RATE, full["peak_rss_mb"] < TARGET_RSS_MB, max(fr) <= TARGET_FRACTION]
    print(
        f"targets: >= {TARGET_RATE // 1000}k rows/s {'OK' if ok[0] else 'MISSED'}; < {TARGET_RSS_MB} MB "
        f"{'OK' if ok[1] else 'MISSED'}; every incremental <= {TARGET_FRACTION:.0%} {'OK' if ok[2] else 'MISSED'}"
        + (
            ""
            if big is None
            else f"; {args.big_rows:.0e} rows at {big['rows_per_s'] / rate:.0%} of the "
            f"{args.rows:.0e} rate, peak RSS "
            f"{big['peak_rss_mb']:.0f} MB"
        )
    )
    record = {
        "full_rows_per_s": round(rate),
        "peak_rss_mb": round(full["peak_rss_mb"], 1),
        "incremental_fraction_max": round(max(fr), 4),
        "rows_per_s_1e7": None if big is None else round(big["rows_per_s"]),
        "peak_rss_mb_1e7": None if big is None else round(big["peak_rss_mb"], 1),
        "incremental_fraction": {
            "min": round(min(fr), 4),
            "median": round(statistics.median(fr), 4),
            "max": round(max(fr), 4),
        },
        "rows": args.rows,
        "big_rows": None if big is None else args.big_rows,
        "chunk_size": args.chunk_size,
        "full": full,
        "incremental": incs,
        "extract_only": ext,
        "big": big,
        "projection": proj,
        "started": started.isoformat(timespec="seconds"),
        "loadavg_end": loadavg(),
        "cpus": os.cpu_count(),
    }
    out = args.out or get_settings().state_dir / "bench" / "ingest-latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, default=str))
    print(f"load average at end: {loadavg()}; wrote {out}")
    print(
        "RESULT "
        + json.dumps(
            {k: record[k] for k in ("full_rows_per_s", "peak_rss_mb", "incremental_fraction_max", "rows_per_s_1e7")}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
