"""``--dirty``: extra bad rows of known kinds, appended to the clean tables.

Each bad row is a copy of a random clean row of the same table (so every other column looks
normal), with a fresh catalogue id (except ``duplicate_id``) and exactly one defect:

==================  ==========================================================================
kind                defect (how it is stored in MariaDB)
==================  ==========================================================================
null_position       ra or dec NULL (MariaDB DOUBLE cannot hold NaN: upstream NaN arrives as NULL)
ra_out_of_range     ra ∉ [0, 360): one of 360.0, 361.5, −0.5, 720.25
dec_out_of_range    dec ∉ [−90, 90]: ±(90 + U(0.01, 10))
nonpositive_error   a position error ≤ 0 (0.0 or negative)
nonfinite_flux      int_flux_mjy NULL (radio only; NaN/Inf → NULL as above)
duplicate_id        same catalogue id as an existing clean row, one value slightly different;
                    the bad row is the one with the larger row_id
impossible_epoch    obs_epoch_mjd ∉ [33282 (1950-01-01), today] or ref_epoch not its constant
unparsable_type     known_objects.object_type not in the vocabulary (AGN, Pulsar, PN, HII, Star)
==================  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

DIRTY_COUNTS: dict[str, dict[str, int]] = {
    "radio_sources": {
        "null_position": 7,
        "ra_out_of_range": 5,
        "dec_out_of_range": 4,
        "nonpositive_error": 6,
        "nonfinite_flux": 5,
        "duplicate_id": 3,
        "impossible_epoch": 4,
    },
    "gaia_dr3": {
        "null_position": 6,
        "ra_out_of_range": 4,
        "dec_out_of_range": 3,
        "nonpositive_error": 5,
        "duplicate_id": 4,
        "impossible_epoch": 3,
    },
    "hipparcos2": {"null_position": 2, "nonpositive_error": 3, "duplicate_id": 2, "impossible_epoch": 2},
    "known_objects": {"null_position": 3, "duplicate_id": 2, "unparsable_type": 5},
}

_POS = {
    "radio_sources": ("ra_deg", "dec_deg"),
    "gaia_dr3": ("ra", "dec"),
    "hipparcos2": ("ra_deg", "dec_deg"),
    "known_objects": ("ra_deg", "dec_deg"),
}
_ERR = {
    "radio_sources": ("ra_err_arcsec", "dec_err_arcsec"),
    "gaia_dr3": ("ra_error", "dec_error"),
    "hipparcos2": ("e_ra_mas", "e_dec_mas"),
}
_EPOCH = {"radio_sources": "obs_epoch_mjd", "gaia_dr3": "ref_epoch", "hipparcos2": "ref_epoch"}
_BAD_EPOCHS = {
    "radio_sources": (-1.0, 0.0, 99999.0, 1.0e7),
    "gaia_dr3": (0.0, 2116.0, -2016.0),
    "hipparcos2": (0.0, 3000.0),
}
_DUP_TWEAK = {
    "radio_sources": "int_flux_mjy",
    "gaia_dr3": "phot_g_mean_mag",
    "hipparcos2": "hp_mag",
    "known_objects": "ra_deg",
}
BAD_TYPES = ("St@r?", "Rad io", "12.5", "HII??", "<unknown>")


def make_dirty_rows(
    table: str,
    templates: pd.DataFrame,
    rng: np.random.Generator,
    new_ids: Callable[[int], np.ndarray],
    id_column: str,
    counts: dict[str, int] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Bad rows for ``table`` (schema columns of ``templates``) and the kind of each row."""
    counts = DIRTY_COUNTS[table] if counts is None else counts
    total = sum(counts.values())
    if total == 0:
        return templates.iloc[:0].copy(), []
    if len(templates) == 0:
        raise ValueError(f"no clean {table} rows to copy dirty rows from; generate a larger sample")
    rows = templates.iloc[rng.integers(0, len(templates), total)].reset_index(drop=True).copy()
    kinds = [k for k, n in counts.items() for _ in range(n)]
    fresh = [i for i, k in enumerate(kinds) if k != "duplicate_id"]
    if fresh:
        rows.loc[fresh, id_column] = new_ids(len(fresh))
    ra_c, dec_c = _POS[table]
    for i, kind in enumerate(kinds):
        j = rows.columns.get_loc
        if kind == "null_position":
            rows.iat[i, j(ra_c if i % 2 == 0 else dec_c)] = np.nan
        elif kind == "ra_out_of_range":
            rows.iat[i, j(ra_c)] = (360.0, 361.5, -0.5, 720.25)[i % 4]
        elif kind == "dec_out_of_range":
            rows.iat[i, j(dec_c)] = (1 if i % 2 else -1) * (90.0 + rng.uniform(0.01, 10.0))
        elif kind == "nonpositive_error":
            rows.iat[i, j(_ERR[table][i % 2])] = 0.0 if i % 2 == 0 else -rng.uniform(0.01, 1.0)
        elif kind == "nonfinite_flux":
            rows.iat[i, j("int_flux_mjy")] = np.nan
        elif kind == "duplicate_id":
            c = _DUP_TWEAK[table]
            rows.iat[i, j(c)] = rows.iat[i, j(c)] * 1.1 if c != "ra_deg" else (rows.iat[i, j(c)] + 1e-4) % 360
        elif kind == "impossible_epoch":
            bad = _BAD_EPOCHS[table]
            rows.iat[i, j(_EPOCH[table])] = bad[i % len(bad)]
        elif kind == "unparsable_type":
            rows.iat[i, j("object_type")] = BAD_TYPES[i % len(BAD_TYPES)]
        else:
            raise ValueError(f"unknown dirty kind {kind!r}")
    return rows, kinds
