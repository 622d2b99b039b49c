"""Small-model tests: geometry, error model, flux law, propagation vs astropy, manifest, CLI."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

pytestmark = pytest.mark.unit


def test_field_area_and_layout():
    from radiostars.sample.fields import SMGPS_L_RANGES_DEG, demo_fields

    fields = demo_fields(20.0)
    assert len(fields) == 5
    assert sum(f.area_deg2 for f in fields) == pytest.approx(20.0, rel=1e-9)
    for f in fields:
        assert abs(f.b_min_deg) <= 1.5 and f.b_max_deg <= 1.5
        assert any(a <= f.l_min_deg and f.l_max_deg <= b for a, b in SMGPS_L_RANGES_DEG)
    assert demo_fields(0.05)[0].area_deg2 == pytest.approx(0.01, rel=1e-9)


def test_offset_and_separation_are_consistent():
    from radiostars.sample.fields import offset_radec, sep_arcsec

    rng = np.random.default_rng(0)
    ra, dec = rng.uniform(0, 360, 1000), rng.uniform(-89, 89, 1000)
    dx, dy = rng.normal(0, 2, 1000), rng.normal(0, 2, 1000)
    ra2, dec2 = offset_radec(ra, dec, dx, dy)
    assert np.allclose(sep_arcsec(ra, dec, ra2, dec2), np.hypot(dx, dy), rtol=1e-6, atol=1e-9)
    # against astropy
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    s = SkyCoord(ra * u.deg, dec * u.deg).separation(SkyCoord(ra2 * u.deg, dec2 * u.deg)).arcsec
    assert np.allclose(s, sep_arcsec(ra, dec, ra2, dec2), atol=1e-6)


def test_position_error_formula():
    from radiostars.sample.radio_errors import position_error_arcsec

    # θ/(2 S/N): 8"/(2·5) = 0.8" ⊕ 0.6" = 1.0"
    assert position_error_arcsec(np.array([5.0]), 0.6)[0] == pytest.approx(1.0)
    assert position_error_arcsec(np.array([1e6]), 0.4)[0] == pytest.approx(0.4, abs=1e-5)
    with pytest.raises(ValueError):
        position_error_arcsec(np.array([0.0]), 0.4)


def test_power_law_slope_recovered():
    from radiostars.sample.radio_flux import sample_power_law

    s = sample_power_law(np.random.default_rng(3), 200_000, 0.05, slope=1.5)
    gamma = len(s) / np.log(s / 0.05).sum()
    assert gamma == pytest.approx(1.5, abs=4 * 1.5 / np.sqrt(len(s)))
    # N(>2 S_min) / N(>S_min) = 2^-1.5
    assert (s > 0.1).mean() == pytest.approx(2**-1.5, abs=0.005)


def test_detected_background_exact_count():
    from radiostars.sample.radio_flux import detected_background

    obs = detected_background(np.random.default_rng(1), 0.02, 10.0, n_target=1234)
    assert len(obs["peak_flux_mjy"]) == 1234
    assert (obs["peak_flux_mjy"] >= 5 * 0.02).all()


def test_linear_propagation_matches_astropy_apply_space_motion():
    """Barnard's star and random fast movers: closed form vs SkyCoord.apply_space_motion."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord
    from astropy.time import Time

    from radiostars.crossmatch.epoch import mjd_to_jyear
    from radiostars.sample.fields import sep_arcsec
    from radiostars.sample.propagate import propagate_astropy, propagate_linear

    rng = np.random.default_rng(5)
    n = 200
    ra, dec = rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-0.99, 0.99, n)))
    pmra, pmdec = rng.normal(0, 3000, n), rng.normal(0, 3000, n)
    plx = rng.uniform(1, 500, n)
    ra[0], dec[0], pmra[0], pmdec[0], plx[0] = 269.45402305, 4.66828815, -798.58, 10328.12, 548.31
    epoch = rng.uniform(58119, 59215, n)
    c = SkyCoord(
        ra=ra * u.deg,
        dec=dec * u.deg,
        distance=(1000 / plx) * u.pc,
        pm_ra_cosdec=pmra * u.mas / u.yr,
        pm_dec=pmdec * u.mas / u.yr,
        radial_velocity=np.zeros(n) * u.km / u.s,
        obstime=Time(1991.25, format="jyear", scale="tcb"),
    )
    ref = c.apply_space_motion(new_obstime=Time(epoch, format="mjd", scale="utc"))
    ra_a, dec_a = propagate_astropy(ra, dec, pmra, pmdec, plx, 1991.25, epoch)
    assert sep_arcsec(ra_a, dec_a, ref.ra.deg, ref.dec.deg).max() < 1e-6
    ra_l, dec_l = propagate_linear(ra, dec, pmra, pmdec, mjd_to_jyear(epoch) - 1991.25)
    assert sep_arcsec(ra_l, dec_l, ref.ra.deg, ref.dec.deg).max() < 1e-3  # < 1 mas after ~28 yr
    # and the motion is real: Barnard moves ~290" in 28 yr
    assert sep_arcsec(ra[0], dec[0], ra_l[0], dec_l[0]) > 250


def test_injected_truth_is_catalogue_row_moved_with_astropy():
    """The truth position of every injected Hipparcos star = apply_space_motion of its table row."""
    import datetime as dt

    import pandas as pd
    from astropy import units as u
    from astropy.coordinates import SkyCoord
    from astropy.time import Time

    from radiostars.sample.fields import sep_arcsec
    from radiostars.sample.generate import SampleGenerator, SampleParams

    gen = SampleGenerator(
        SampleParams(seed=3, profile="easy", area_deg2=0.2, faint_density_per_deg2=100.0), dt.datetime(2025, 1, 1)
    )
    hip = pd.concat([c for t, c in gen.generate() if t == "hipparcos2"]).set_index("hip")
    t = gen.truth_radio[gen.truth_radio["catalogue"] == "hipparcos2"]
    rows = hip.loc[t["star_id"].astype(int).to_numpy()]
    c = SkyCoord(
        ra=rows["ra_deg"].to_numpy() * u.deg,
        dec=rows["dec_deg"].to_numpy() * u.deg,
        distance=(1000 / np.clip(rows["plx_mas"].to_numpy(), 0.1, None)) * u.pc,
        pm_ra_cosdec=rows["pmra_mas_yr"].to_numpy() * u.mas / u.yr,
        pm_dec=rows["pmdec_mas_yr"].to_numpy() * u.mas / u.yr,
        radial_velocity=np.zeros(len(rows)) * u.km / u.s,
        obstime=Time(1991.25, format="jyear", scale="tcb"),
    )
    moved = c.apply_space_motion(new_obstime=Time(t["obs_epoch_mjd"].to_numpy(), format="mjd", scale="utc"))
    assert len(t) >= 41
    assert sep_arcsec(moved.ra.deg, moved.dec.deg, t["true_ra_deg"], t["true_dec_deg"]).max() < 1e-3


def test_manifest_contract():
    from radiostars.lake.raw import PartFile, write_manifest

    class FakeMinio:
        def __init__(self):
            self.objects = {}

        def put_object(self, bucket, key, data, length, content_type=None):
            self.objects[(bucket, key)] = data.read()
            assert len(self.objects[(bucket, key)]) == length

    client = FakeMinio()
    key = write_manifest(
        client,
        "lake",
        "gaia_dr3",
        "r1",
        "2025-01-02",
        [PartFile("raw/gaia_dr3/ingest_date=2025-01-02/run_id=r1/part-00000.parquet", 10, "ab")],
        ["row_id", "source_id"],
    )
    assert key == "raw/gaia_dr3/ingest_date=2025-01-02/run_id=r1/_manifest.json"
    m = json.loads(client.objects[("lake", key)])
    assert m == {
        "table": "gaia_dr3",
        "run_id": "r1",
        "ingest_date": "2025-01-02",
        "files": [
            {"key": "raw/gaia_dr3/ingest_date=2025-01-02/run_id=r1/part-00000.parquet", "rows": 10, "sha256": "ab"}
        ],
        "rows": 10,
        "schema_version": 1,
        "columns": ["row_id", "source_id"],
    }


def test_generate_scale_with_fake_minio():
    import hashlib

    import pyarrow.parquet as pq

    from radiostars.catalogues.schema import column_names
    from radiostars.config import get_settings
    from radiostars.sample.scale import generate_scale

    class FakeMinio:
        def __init__(self):
            self.objects = {}

        def bucket_exists(self, b):
            return True

        def put_object(self, bucket, key, data, length, content_type=None):
            self.objects[key] = data.read()

    client = FakeMinio()
    out = generate_scale(
        get_settings(),
        optical_rows=25_000,
        radio_rows=3_000,
        seed=1,
        run_id="t1",
        ingest_date="2025-01-02",
        part_rows=10_000,
        client=client,
    )
    assert out["optical_density_per_deg2"] == pytest.approx(25_000 / 3.0, rel=1e-6)
    for table, rows, parts in (("gaia_dr3", 25_000, 3), ("radio_sources", 3_000, 1)):
        m = json.loads(client.objects[out["manifests"][table]])
        assert m["rows"] == rows and len(m["files"]) == parts and m["columns"] == column_names(table)
        total = 0
        for f in m["files"]:
            body = client.objects[f["key"]]
            assert hashlib.sha256(body).hexdigest() == f["sha256"]
            t = pq.read_table(io.BytesIO(body))
            assert t.column_names == column_names(table) and t.num_rows == f["rows"]
            total += t.num_rows
        assert total == rows
    ids = (
        pq.read_table(
            io.BytesIO(client.objects[json.loads(client.objects[out["manifests"]["gaia_dr3"]])["files"][1]["key"]])
        )
        .column("source_id")
        .to_numpy()
    )
    assert ids.min() >= 7 * 10**18


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["seed", "--tables", "nope"], "unknown table"),
        (["seed", "--seed", "abc"], "not an integer"),
        (["seed", "--update", "2"], "fraction"),
        (["seed", "--area-deg2", "5000"], "too large"),
        (["generate-scale", "--optical-rows", "x"], "not an integer"),
    ],
)
def test_cli_bad_input_one_line_exit_2(argv, needle, capsys):
    from radiostars.sample.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_scale_patches_fill_the_footprint():
    from radiostars.sample.errors import SampleError
    from radiostars.sample.scale import scale_patches

    p = scale_patches(500_000 / 1000.0 * 0.99)  # 5e5 radio rows at 1000 deg^-2
    assert len(p) == 2 and sum(f.area_deg2 for f in p) == pytest.approx(495.0, rel=1e-9)
    assert len(scale_patches(10.0)) == 1
    with pytest.raises(SampleError, match="footprint"):
        scale_patches(1000.0)
