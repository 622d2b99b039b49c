"""Benchmark ``radiostars load``: a Gaia-archive-like FITS file of N rows (gaia_source names and units,
written once by astropy and cached under .local/bench/) into an empty ``gaia_dr3`` of a scratch database
(``catalogues_bench_load``), in a child process: wall time, rows/s and peak RSS of the loader's process
tree (MariaDB's own memory is not in it). ``--reload`` also times loading the same file again (the
idempotent merge: nothing changes). Target: >= 100k rows/s with bounded memory at 1e6 rows.

    .venv/bin/python scripts/bench_load.py [--rows 1000000] [--reload] [--chunk-rows 100000]

Writes .local/bench/load-latest.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from radiostars.benchmark import machine_info, run_measured  # noqa: E402
from radiostars.config import get_settings  # noqa: E402

DB = "catalogues_bench_load"


def write_fits(path: Path, rows: int, seed: int = 3) -> None:
    """A gaia_source-like binary table written by astropy: the archive's names and units, ids above
    2**53, NaN where the archive has nulls (30 % two-parameter solutions), float32 magnitudes. Built in
    memory in this process (not the measured one): ~120 MB per 1e6 rows."""
    import astropy.units as u
    import numpy as np
    from astropy.table import Table

    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = rows
    nan = np.where(rng.random(n) < 0.3, np.nan, 1.0)
    t = Table()
    t["source_id"] = 5_000_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 7
    t["ra"] = rng.uniform(250, 260, n) * u.deg
    t["dec"] = rng.uniform(-45, -40, n) * u.deg
    t["ra_error"] = rng.uniform(0.02, 2, n) * u.mas
    t["dec_error"] = rng.uniform(0.02, 2, n) * u.mas
    t["parallax"] = rng.normal(0.5, 1, n) * nan * u.mas
    t["parallax_error"] = rng.uniform(0.02, 2, n) * nan * u.mas
    t["pmra"] = rng.normal(-2, 5, n) * nan * u.mas / u.yr
    t["pmdec"] = rng.normal(-3, 5, n) * nan * u.mas / u.yr
    t["pmra_error"] = rng.uniform(0.02, 2, n) * nan * u.mas / u.yr
    t["pmdec_error"] = rng.uniform(0.02, 2, n) * nan * u.mas / u.yr
    t["phot_g_mean_mag"] = rng.uniform(12, 21, n).astype(np.float32) * u.mag
    t["bp_rp"] = rng.uniform(0.3, 3, n).astype(np.float32) * u.mag
    t["ref_epoch"] = np.full(n, 2016.0) * u.yr
    tmp = path.with_suffix(".tmp.fits")
    t.write(tmp, overwrite=True)
    tmp.rename(path)


def mariadb_process(settings):
    """The stack's mariadbd (its CPU seconds during a load: what bounds rows/s apart from the machine's load)."""
    import psutil

    port = f"--port={settings.mysql_port}"
    for p in psutil.process_iter(["name", "cmdline"]):
        if p.info["name"] and "mariadbd" in p.info["name"] and port in (p.info["cmdline"] or []):
            return p
    return None


def server_cpu_s(proc) -> float:
    if proc is None:
        return float("nan")
    t = proc.cpu_times()
    return t.user + t.system


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=float, default=1e6)
    ap.add_argument("--chunk-rows", type=int, default=100_000)
    ap.add_argument("--wire", choices=("binary", "text"), default="binary", help="radiostars load --wire")
    ap.add_argument("--streams", type=int, default=2, help="radiostars load --streams")
    ap.add_argument("--reload", action="store_true", help="also time a second, idempotent load")
    args = ap.parse_args()
    rows = int(args.rows)
    settings = get_settings()
    out_dir = settings.state_dir / "bench"
    path = out_dir / f"gaia_source_{rows}.fits"
    if not path.exists():
        t0 = time.perf_counter()
        write_fits(path, rows)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
    from radiostars.sample.loader import connect, create_database

    create_database(settings.mysql_url(root=True, database=""), DB)
    with connect(settings.mysql_url(root=True, database=DB)) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS gaia_dr3")
        conn.commit()
    cmd = [
        sys.executable,
        "-m",
        "radiostars.catalogue_load.cli",
        "--table",
        "gaia_dr3",
        str(path),
        "--database",
        DB,
        "--root",
        "--chunk-rows",
        str(args.chunk_rows),
        "--json",
        "--wire",
        args.wire,
        "--streams",
        str(args.streams),
    ]
    runs = {}
    before = machine_info()
    server = mariadb_process(settings)
    for name in ["first_load"] + (["reload"] if args.reload else []):
        cpu0 = server_cpu_s(server)
        m = run_measured(cmd, interval=0.05)
        server_cpu = server_cpu_s(server) - cpu0
        if m.returncode != 0:
            raise SystemExit(f"load failed ({m.returncode}): {m.stderr.strip()[-500:]}")
        s = json.loads(m.stdout)
        runs[name] = {
            "wall_s": round(m.wall_s, 2),
            "rows_per_s": round(rows / m.wall_s),
            "load_seconds": s["seconds"],
            "load_rows_per_s": s["rows_per_s"],
            "peak_rss_mb": round(m.peak_rss_bytes / 2**20),
            "cpu_s": round(m.cpu_s, 1),
            "server_cpu_s": round(server_cpu, 1),
            "inserted": s["inserted"],
            "updated": s["updated"],
            "unchanged": s["unchanged"],
            "write": s["write"],
        }
        r = runs[name]
        print(
            f"{name}: {rows:,} rows in {r['wall_s']} s wall = {r['rows_per_s']:,} rows/s "
            f"(in-process {r['load_seconds']} s = {r['load_rows_per_s']:,} rows/s, {r['write']}); "
            f"peak RSS {r['peak_rss_mb']} MiB; CPU loader {r['cpu_s']} s, MariaDB {r['server_cpu_s']} s; inserted {r['inserted']:,} updated {r['updated']:,} "
            f"unchanged {r['unchanged']:,}"
        )
    result = {
        "rows": rows,
        "file": str(path),
        "file_mb": round(path.stat().st_size / 1e6),
        "chunk_rows": args.chunk_rows,
        "wire": args.wire,
        "streams": args.streams,
        "runs": runs,
        "machine_before": before,
        "machine_after": machine_info(),
        "target": {"rows_per_s": 100_000},
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    print(f"load average before {before['loadavg']}, after {result['machine_after']['loadavg']}")
    (out_dir / "load-latest.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {out_dir / 'load-latest.json'}")


if __name__ == "__main__":
    main()
