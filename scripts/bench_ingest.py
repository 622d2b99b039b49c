"""Benchmark the ingestion: N Gaia-like rows MySQL -> MinIO (rows/s, peak RSS), then 1 % changed
rows -> incremental run (time ratio). Targets: >= 100k rows/s, < 500 MB peak RSS, ratio <= 10 %.

Uses its own database (catalogues_ingest_bench) and bucket (lake-ingest-bench): never the demo's.
Each ingest runs in a fresh child process so its peak RSS is the ingestion's alone.

    .venv/bin/python scripts/bench_ingest.py [--rows 1000000] [--reuse]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from radiostars.config import Settings, get_settings  # noqa: E402

DB, BUCKET = "catalogues_ingest_bench", "lake-ingest-bench"
T0 = dt.datetime(2026, 1, 1, 0, 0, 0)


def bench_settings() -> Settings:
    return Settings({**get_settings().values, "MYSQL_DATABASE": DB, "LAKE_BUCKET": BUCKET})


def load(s: Settings, rows: int, chunk: int = 100_000) -> float:
    import numpy as np
    import pandas as pd

    from radiostars.sample.loader import MySQLLoader, build_indexes, connect, create_database, recreate_tables
    from radiostars.sample.schema import column_names

    create_database(s.mysql_url(root=True, database=""), DB)
    url = s.mysql_url(database=DB)
    recreate_tables(url, ["gaia_dr3"], defer_indexes=True)
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    with connect(url) as conn:
        loader = MySQLLoader(conn)
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            i = np.arange(start, start + n)
            err = rng.uniform(0.05, 2, n)
            df = pd.DataFrame({"row_id": i + 1, "source_id": 7_000_000_000_000_000_000 + i,
                               "ra": rng.uniform(250, 260, n), "dec": rng.uniform(-45, -40, n),
                               "ra_error": err, "dec_error": err, "parallax": np.nan, "parallax_error": np.nan,
                               "pmra": np.nan, "pmdec": np.nan, "pmra_error": np.nan, "pmdec_error": np.nan,
                               "phot_g_mean_mag": rng.uniform(15, 21, n), "bp_rp": rng.uniform(0.5, 3, n),
                               "ref_epoch": 2016.0, "is_synthetic": True, "deleted": False,
                               "updated_at": pd.Timestamp(T0)})
            loader.load("gaia_dr3", df[column_names("gaia_dr3")])
    build_indexes(url, ["gaia_dr3"])
    return time.perf_counter() - t0


def change_fraction(s: Settings, fraction: float) -> int:
    from radiostars.sample.loader import connect

    with connect(s.mysql_url(database=DB)) as conn, conn.cursor() as cur:
        cur.execute("SELECT MAX(updated_at), COUNT(*) FROM gaia_dr3")
        latest, total = cur.fetchone()
        step = round(1 / fraction)
        cur.execute("UPDATE gaia_dr3 SET phot_g_mean_mag = phot_g_mean_mag + 0.01, updated_at = %s "
                    "WHERE row_id %% %s = 0", (latest + dt.timedelta(seconds=1), step))
        conn.commit()
        return cur.rowcount


def child(date: str, full_refresh: bool, chunk_size: int) -> None:
    """One ingest of gaia_dr3 in this (fresh) process; prints a JSON line."""
    from radiostars.ingest.pipeline import ingest_table

    t0 = time.perf_counter()
    r = ingest_table(bench_settings(), "gaia_dr3", date, full_refresh=full_refresh, chunk_size=chunk_size)
    seconds = time.perf_counter() - t0
    print("RESULT " + json.dumps({"rows_in": r["rows_in"], "rows": r["rows"], "seconds": seconds,
                                  "steps": r["seconds"], "peak_rss_mb": resource.getrusage(
                                      resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_child(date: str, full_refresh: bool, chunk_size: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", date, "--chunk-size", str(chunk_size),
                           *(["--full-refresh"] if full_refresh else [])], capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"ingest failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunk-size", type=int, default=50_000)
    ap.add_argument("--fraction", type=float, default=0.01)
    ap.add_argument("--reuse", action="store_true", help="keep the loaded database if it has --rows rows")
    ap.add_argument("--child", metavar="DATE")
    ap.add_argument("--full-refresh", action="store_true")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.full_refresh, args.chunk_size)
        return 0
    s = bench_settings()
    from radiostars.ingest.lake_io import Lake

    if not args.reuse:
        print(f"loading {args.rows:,} Gaia-like rows into MySQL {DB} ...", flush=True)
        print(f"  loaded in {load(s, args.rows):.1f} s", flush=True)
    lake = Lake(s)
    lake.ensure_bucket()
    lake.remove_prefix("")
    full = run_child("2026-01-01", True, args.chunk_size)
    print(f"full:        {full['rows_in']:,} rows in {full['seconds']:.1f} s = {full['rows_in'] / full['seconds']:,.0f} "
          f"rows/s, peak RSS {full['peak_rss_mb']:.0f} MB, steps {full['steps']}", flush=True)
    changed = change_fraction(s, args.fraction)
    inc = run_child("2026-01-02", False, args.chunk_size)
    ratio = inc["seconds"] / full["seconds"]
    print(f"incremental: {inc['rows_in']:,} changed rows ({changed:,} updated) in {inc['seconds']:.2f} s = "
          f"{ratio:.1%} of the full run, peak RSS {inc['peak_rss_mb']:.0f} MB", flush=True)
    ok = full["rows_in"] / full["seconds"] >= 100_000, full["peak_rss_mb"] < 500, ratio <= 0.10
    print(f"targets: >=100k rows/s {'OK' if ok[0] else 'MISSED'}; <500 MB {'OK' if ok[1] else 'MISSED'}; "
          f"incremental <=10% {'OK' if ok[2] else 'MISSED'}")
    print("RESULT " + json.dumps({"full": full, "incremental": inc, "ratio": ratio}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
