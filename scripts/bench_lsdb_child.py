"""LSDB side of scripts/bench_crossmatch.py; runs in the separate venv .local/bench-venv (lsdb's
dependency pins differ from the project's). Standalone: no radiostars import.

stdin: JSON {"endpoint", "access_key", "secret_key", "region", "radio": [bucket/key…],
"optical": [bucket/key…], "radius_arcsec", "n_neighbors"}; stdout: one JSON line with timings and
the pair count. Proper motions are ignored (LSDB's crossmatch has no epoch propagation).
"""

from __future__ import annotations

import json
import sys
import time


def main() -> int:
    cfg = json.loads(sys.stdin.read())
    t_start = time.perf_counter()
    import lsdb
    import pyarrow.parquet as pq
    from pyarrow import fs as pafs

    t_import = time.perf_counter() - t_start
    fs = pafs.S3FileSystem(
        endpoint_override=cfg["endpoint"],
        access_key=cfg["access_key"],
        secret_key=cfg["secret_key"],
        scheme="http",
        region=cfg["region"],
    )
    t0 = time.perf_counter()
    radio = pq.read_table(cfg["radio"], filesystem=fs, columns=["source_name", "ra_deg", "dec_deg"]).to_pandas()
    optical = pq.read_table(cfg["optical"], filesystem=fs, columns=["source_id", "ra", "dec"]).to_pandas()
    t1 = time.perf_counter()
    radio_cat = lsdb.from_dataframe(radio, ra_column="ra_deg", dec_column="dec_deg", catalog_name="radio")
    optical_cat = lsdb.from_dataframe(optical, ra_column="ra", dec_column="dec", catalog_name="optical")
    t2 = time.perf_counter()
    pairs = radio_cat.crossmatch(
        optical_cat, radius_arcsec=cfg["radius_arcsec"], n_neighbors=cfg["n_neighbors"], suffixes=("_radio", "_optical")
    ).compute()
    t3 = time.perf_counter()
    per_radio = pairs.groupby("source_name_radio").size()
    print(
        json.dumps(
            {
                "lsdb_version": lsdb.__version__,
                "import_s": t_import,
                "read_s": t1 - t0,
                "from_dataframe_s": t2 - t1,
                "crossmatch_s": t3 - t2,
                "wall_s": t3 - t0,
                "pairs": int(len(pairs)),
                "max_candidates_per_radio": int(per_radio.max()) if len(per_radio) else 0,
                "radio_rows": int(len(radio)),
                "optical_rows": int(len(optical)),
                "radio_partitions": int(radio_cat.npartitions),
                "optical_partitions": int(optical_cat.npartitions),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
