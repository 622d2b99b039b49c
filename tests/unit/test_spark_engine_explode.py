"""The optical explode step of the Spark engine, run on pandas batches without Spark."""

import numpy as np
import pandas as pd
import pytest

from radiostars.crossmatch import CrossmatchParams
from radiostars.crossmatch.partition import home_pixel
from radiostars.crossmatch.separation import usable_position_mask
from radiostars.spark_engine import partitioned_match as pm

pytestmark = pytest.mark.unit


class _Capture:
    """Stands in for a DataFrame: records the function mapInPandas would run."""

    def select(self, *names):
        return self

    def mapInPandas(self, func, schema):  # noqa: N802 - pyspark's name
        self.func = func
        return self


def _batch(ra, dec):
    n = len(ra)
    return pd.DataFrame(
        {
            "optical_id": np.arange(n, dtype=np.int64),
            "ra_deg": ra,
            "dec_deg": dec,
            "ref_epoch_yr": 2016.0,
            "ra_error_mas": 0.1,
            "dec_error_mas": 0.1,
            "pmra_mas_yr": 1.0,
            "pmdec_mas_yr": 1.0,
            "parallax_mas": 1.0,
            "parallax_error_mas": 0.1,
            "pmra_error_mas_yr": 0.1,
            "pmdec_error_mas_yr": 0.1,
            "mag": 12.0,
            "colour": 1.0,
            "is_synthetic": False,
        }
    )


def test_usable_position_mask():
    mask = usable_position_mask([10.0, np.nan, 360.0, -1.0, 10.0, 0.0], [0.0, 0.0, 0.0, 0.0, 91.0, -90.0])
    assert mask.tolist() == [True, False, False, False, False, True]


def test_explode_keeps_target_pixels_only_and_counts_every_row():
    params = CrossmatchParams()
    rng = np.random.default_rng(5)
    ra, dec = rng.uniform(40, 60, 5000), rng.uniform(-10, 10, 5000)
    ra[:3], dec[:3] = [np.nan, 400.0, 10.0], [0.0, 0.0, np.nan]
    home = home_pixel(ra[3:], dec[3:], params.healpix_order)
    wanted = np.unique(home)[:5]
    capture = _Capture()
    pm.explode_optical(capture, wanted, params, 2020.0, 2022.0)
    out = pd.concat(list(capture.func(iter([_batch(ra[:2500], dec[:2500]), _batch(ra[2500:], dec[2500:])]))))
    counts = out[out["healpix"] < 0].groupby("healpix")["optical_id"].sum()
    assert counts[pm.TALLY_KEY] == 5000 and counts[pm.SKIPPED_KEY] == 3
    rows = out[out["healpix"] >= 0]
    assert set(rows["healpix"]) <= set(wanted)
    # every usable row homed in a wanted pixel is there (plus margin copies from neighbours)
    assert int(np.isin(home, wanted).sum()) <= len(rows)


def test_explode_without_targets_keeps_every_pixel_a_superset_of_any_targeted_explode():
    """The curated layout is the explode with no target filter: every usable row in its home pixel, and
    the targeted explode of any pixel set is exactly its restriction (same rows, same margin copies)."""
    params = CrossmatchParams()
    rng = np.random.default_rng(6)
    ra, dec = rng.uniform(40, 60, 4000), rng.uniform(-10, 10, 4000)
    batch = _batch(ra, dec)
    everything, targeted = _Capture(), _Capture()
    pm.explode_optical(everything, None, params, 2020.0, 2022.0)
    wanted = np.unique(home_pixel(ra, dec, params.healpix_order))[:7]
    pm.explode_optical(targeted, wanted, params, 2020.0, 2022.0)
    full = pd.concat(list(everything.func(iter([batch]))))
    part = pd.concat(list(targeted.func(iter([batch]))))
    rows = full[full["healpix"] >= 0]
    assert set(home_pixel(ra, dec, params.healpix_order)) <= set(rows["healpix"])
    assert len(rows) > len(ra)  # margin copies
    key = ["healpix", "optical_id"]
    restricted = rows[rows["healpix"].isin(wanted)].sort_values(key).reset_index(drop=True)
    assert restricted[key].equals(part[part["healpix"] >= 0].sort_values(key).reset_index(drop=True)[key])
    counts = full[full["healpix"] < 0].groupby("healpix")["optical_id"].sum()
    assert counts[pm.TALLY_KEY] == 4000 and counts[pm.SKIPPED_KEY] == 0
