"""Warehouse benchmark: (1) load a ~1e6-pair committed run from MinIO into Postgres raw (COPY),
(2) q3c cone-search latency on a 1e6-row marts-like table (p50/p95 over random cones).

Runs in a scratch bucket + scratch database (dropped at the end): never touches the real lake or
warehouse. Usage: .venv/bin/python scripts/bench_warehouse.py [--pairs 1000000] [--cones 1000]
Targets: load >= 100k rows/s; cone p95 < 10 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from radiostars.benchmark import sandbox  # noqa: E402
from radiostars.config import get_settings  # noqa: E402
from radiostars.lake.client import lake_client  # noqa: E402
from radiostars.sample.crossmatch_runs import write_large_run  # noqa: E402
from radiostars.warehouse.load import load_run  # noqa: E402

PAIRS_PER_RADIO = 0.5 * (0.6 * 1 + 0.3 * 2 + 0.1 * 3)  # the generator's candidate mix


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=float, default=1e6, help="approximate pairs in the run (default 1e6)")
    ap.add_argument("--cones", type=int, default=1000)
    ap.add_argument("--radius-arcsec", type=float, nargs="+", default=[10.0, 60.0])
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    import psycopg

    settings = get_settings()
    report: dict = {}
    with sandbox(settings) as s:
        client = lake_client(s)
        run_id = "bench-warehouse"
        n_radio = int(args.pairs / PAIRS_PER_RADIO)
        t = time.perf_counter()
        sizes = write_large_run(client, s.lake_bucket, run_id, n_radio, seed=args.seed)
        report["write_run_s"] = round(time.perf_counter() - t, 1)
        report["run"] = sizes
        print(f"wrote synthetic run: {sizes} in {report['write_run_s']} s", flush=True)

        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result = load_run(s, run_id)
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        report["load"] = {
            "seconds": round(result.seconds, 2),
            "rows": result.rows,
            "total_rows": result.total_rows,
            "rows_per_s_total": round(result.rows_per_second),
            "pairs_per_s": round(result.rows["crossmatch_pairs"] / result.seconds),
            "max_rss_mb_before": round(rss0 / 1024),
            "max_rss_mb_after": round(rss1 / 1024),
        }
        print(
            f"load_run: {result.total_rows} rows in {result.seconds:.2f} s = {result.rows_per_second:,.0f} rows/s "
            f"(pairs alone {result.rows['crossmatch_pairs']:,}); max RSS {rss1 / 1024:.0f} MB",
            flush=True,
        )

        # a marts-like 1e6-row table: the loaded pairs, q3c-indexed and clustered like the marts
        with psycopg.connect(s.postgres_dsn(), autocommit=True) as conn:
            t = time.perf_counter()
            conn.execute("CREATE SCHEMA bench")
            conn.execute(
                "CREATE TABLE bench.candidates AS SELECT * FROM raw.crossmatch_pairs WHERE run_id = %s", (run_id,)
            )
            conn.execute("CREATE INDEX ON bench.candidates (q3c_ang2ipix(radio_ra_deg, radio_dec_deg))")
            conn.execute("CLUSTER bench.candidates USING candidates_q3c_ang2ipix_idx")
            conn.execute("ANALYZE bench.candidates")
            n_rows, ra_lo, ra_hi, dec_lo, dec_hi = conn.execute(
                "SELECT count(*), percentile_cont(0.01) WITHIN GROUP (ORDER BY radio_ra_deg), "
                "percentile_cont(0.99) WITHIN GROUP (ORDER BY radio_ra_deg), min(radio_dec_deg), max(radio_dec_deg) "
                "FROM bench.candidates WHERE radio_ra_deg > 180"
            ).fetchone()
            report["index_build_s"] = round(time.perf_counter() - t, 1)
            n_total = conn.execute("SELECT count(*) FROM bench.candidates").fetchone()[0]
            report["cone"] = {"table_rows": n_total}
            rng = random.Random(args.seed)
            sql = (
                "SELECT radio_source_name, optical_id, sep_arcsec, p_chance FROM bench.candidates "
                "WHERE q3c_radial_query(radio_ra_deg, radio_dec_deg, %s, %s, %s)"
            )
            for radius in args.radius_arcsec:
                with conn.cursor() as cur:
                    for _ in range(20):  # warm-up (plan cache, buffers)
                        cur.execute(
                            sql, (rng.uniform(ra_lo, ra_hi), rng.uniform(dec_lo, dec_hi), radius / 3600), prepare=True
                        )
                        cur.fetchall()
                    lat, hits = [], []
                    for _ in range(args.cones):
                        ra, dec = rng.uniform(ra_lo, ra_hi), rng.uniform(dec_lo, dec_hi)
                        t = time.perf_counter()
                        cur.execute(sql, (ra, dec, radius / 3600), prepare=True)
                        rows = cur.fetchall()
                        lat.append((time.perf_counter() - t) * 1000)
                        hits.append(len(rows))
                report["cone"][f"r={radius:g}arcsec"] = {
                    "p50_ms": round(_pct(lat, 0.5), 3),
                    "p95_ms": round(_pct(lat, 0.95), 3),
                    "max_ms": round(max(lat), 3),
                    "mean_rows": round(statistics.mean(hits), 1),
                }
                print(
                    f'cone r={radius:g}": p50 {_pct(lat, 0.5):.2f} ms, p95 {_pct(lat, 0.95):.2f} ms, '
                    f"{statistics.mean(hits):.1f} rows/cone over {args.cones} cones on {n_total:,} rows",
                    flush=True,
                )
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
