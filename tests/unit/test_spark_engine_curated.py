"""The curated-layout contract (spark_engine/curated.py), without Spark."""

import pytest

from radiostars.crossmatch import CrossmatchParams
from radiostars.spark_engine import curated

pytestmark = pytest.mark.unit


def _spec(**over):
    from radiostars.crossmatch.density import density_cell_order

    base = dict(
        catalogue="gaia_dr3",
        healpix_order=6,
        margin_arcsec=CrossmatchParams().radius_arcsec,
        epoch_lo_yr=1990.0,
        epoch_hi_yr=2040.0,
        density_order=density_cell_order(30.0, 180.0),
        density_outer_arcsec=180.0,
    )
    return curated.LayoutSpec(**{**base, **over})


def test_layout_serves_a_run_only_with_its_order_enough_margin_and_the_epochs_covered():
    params = CrossmatchParams()
    assert _spec().serves(params, 2018.1, 2020.4) is None
    assert "order" in _spec(healpix_order=5).serves(params, 2018.1, 2020.4)
    # the star rows' margin only needs the match radius (the density comes from the count map)
    assert "margin" in _spec(margin_arcsec=0.5 * params.radius_arcsec).serves(params, 2018.1, 2020.4)
    assert _spec(margin_arcsec=240.0).serves(params, 2018.1, 2020.4) is None  # wider margin: harmless
    assert "epoch" in _spec(epoch_hi_yr=2019.0).serves(params, 2018.1, 2020.4)
    assert "epoch" in _spec(epoch_lo_yr=2019.0).serves(params, 2018.1, 2020.4)
    # the count map: same cell order, cells shipped at least as far as the run's density annulus
    assert "count-map order" in _spec(density_order=_spec().density_order + 1).serves(params, 2018.1, 2020.4)
    assert "count-map reach" in _spec(density_outer_arcsec=120.0).serves(params, 2018.1, 2020.4)


def test_spec_for_run_widens_the_default_window_to_the_radio_epochs():
    params = CrossmatchParams()
    assert curated.spec_for_run("gaia_dr3", params, 2018.2, 2020.3) == _spec()
    wide = curated.spec_for_run("gaia_dr3", params, 1985.5, 2051.2)
    assert (wide.epoch_lo_yr, wide.epoch_hi_yr) == (1985.0, 2052.0)
    assert wide.serves(params, 1985.5, 2051.2) is None


def test_fingerprint_follows_the_files_not_their_order():
    a = [{"files": [{"key": "raw/g/1.parquet"}, {"key": "raw/g/2.parquet"}]}, {"files": [{"key": "raw/g/3.parquet"}]}]
    b = [{"files": [{"key": "raw/g/3.parquet"}]}, {"files": [{"key": "raw/g/2.parquet"}, {"key": "raw/g/1.parquet"}]}]
    c = a + [{"files": [{"key": "raw/g/4.parquet"}]}]  # a new ingestion: a new snapshot
    assert curated.snapshot_fingerprint(a) == curated.snapshot_fingerprint(b)
    assert curated.snapshot_fingerprint(a) != curated.snapshot_fingerprint(c)
    assert len(curated.snapshot_fingerprint(a)) == 16


def test_bucket_count_is_bounded_and_grows_with_rows():
    assert curated.bucket_count(0) == curated.MIN_BUCKETS
    assert curated.bucket_count(100 * curated.ROWS_PER_BUCKET) == 100
    assert curated.bucket_count(10**13) == curated.MAX_BUCKETS
    with pytest.raises(ValueError):
        curated.bucket_count(-1)


def test_layout_marker_round_trip_and_table_name():
    layout = curated.Layout(
        spec=_spec(),
        prefix="bench/x/curated/gaia_dr3/snapshot=ab/healpix_order=6/",
        fingerprint="ab12-cd",
        buckets=16,
        rows=10,
        skipped_no_position=1,
        rows_with_margins=12,
        build_s=1.5,
        built_at="2026-11-26T06:00:00Z",
    )
    assert curated.Layout.from_dict(layout.to_dict()) == layout
    assert curated.Layout.from_dict(layout.to_dict()).table_name().isidentifier()
    with pytest.raises(curated.LayoutError, match="version"):
        curated.Layout.from_dict({**layout.to_dict(), "version": 0})
