"""Benchmark the sample seed: wall time, rows/s and peak RSS (psutil, sampled every 50 ms).

Usage: .venv/bin/python scripts/bench_seed.py [--area-deg2 20] [--faint-density 1e4] [--dirty]
       [--database catalogues_bench] [--root]
Seeds into ``--database`` (default: a separate ``catalogues_bench`` created as root, so the demo
database is untouched) and writes its truth under <state>/truth_bench.
"""

from __future__ import annotations

import argparse
import threading
import time

import psutil

from radiostars.config import get_settings
from radiostars.sample.loader import create_database
from radiostars.sample.seed import seed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--area-deg2", type=float, default=None, help="default: the profile's (easy 20 deg²)")
    ap.add_argument("--faint-density", type=float, default=None, help="easy profile only (default 1e4)")
    ap.add_argument(
        "--profile",
        default="easy",
        choices=("easy", "realistic"),
        help="sample profile (default easy: the recorded benchmark's uniform 1e4 deg^-2 sky)",
    )
    ap.add_argument("--dirty", action="store_true")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--database", default="catalogues_bench")
    args = ap.parse_args()
    settings = get_settings()
    create_database(settings.mysql_url(root=True, database=""), args.database)
    proc = psutil.Process()
    peak = [proc.memory_info().rss]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    t0 = time.perf_counter()
    m = seed(
        settings,
        seed=args.seed,
        dirty=args.dirty,
        area_deg2=args.area_deg2,
        profile=args.profile,
        faint_density_per_deg2=args.faint_density,
        database=args.database,
        root=True,
        truth_dir=settings.state_dir / "truth_bench",
    )
    wall = time.perf_counter() - t0
    done.set()
    rows = sum(m["rows"].values())
    print(f"rows={rows} per_table={m['rows']}")
    print(
        f"wall={wall:.1f}s (load+index {m['seconds']}s, index {m['index_seconds']}s) "
        f"rows/s={rows / wall:,.0f} (load+index {m['rows_per_s']:,})"
    )
    print(f"peak_rss={peak[0] / 2**20:.0f} MiB method={m['load_method']}")


if __name__ == "__main__":
    main()
