"""The realistic profile seeded into a real MariaDB test database, and the evaluation profile written
straight into the lake (MinIO) — both CI-sized. Needs the local stack (`radiostars stack up core`);
skipped with a clear reason when a service is unreachable."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid

import pandas as pd
import pytest

from radiostars.config import get_settings
from radiostars.sample.errors import SampleError

pytestmark = pytest.mark.integration
TEST_DB = "catalogues_realistic_test"
T0 = dt.datetime(2025, 2, 1, 12, 0, 0)


@pytest.fixture(scope="module")
def settings():
    return get_settings()


def _q(conn, sql, args=()):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def test_realistic_seed_into_mariadb(settings, tmp_path):
    """1 deg² of plane + Barnard's star's pointing: ~0.27 M Gaia-model rows, NULL pm for 2p solutions."""
    from radiostars.sample.loader import connect, create_database
    from radiostars.sample.seed import seed

    try:
        create_database(settings.mysql_url(root=True, database=""), TEST_DB)
    except SampleError as exc:
        pytest.skip(f"MariaDB not reachable: {exc}")
    m = seed(
        settings,
        seed=3,
        profile="realistic",
        area_deg2=1.0,
        n_hpm_pointings=0,
        database=TEST_DB,
        root=True,
        truth_dir=tmp_path,
        updated_at=T0,
        tables=None,
    )
    assert m["profile"] == "realistic" and m["area_deg2"]["plane"] == pytest.approx(1.0, rel=1e-6)
    assert m["radio_stars_by_field_kind"]["hpm"] == 1  # Barnard's star
    assert m["faint_density_per_deg2_plane_median"] > 1e5
    truth = pd.read_parquet(tmp_path / "radio_truth.parquet")
    fields = pd.read_parquet(tmp_path / "fields_truth.parquet")
    assert len(truth) == m["rows"]["radio_sources"] and set(fields["name"]) >= {"F262", "HPM87937"}
    with connect(settings.mysql_url(root=True, database=TEST_DB)) as conn:
        n_syn, n_2p = _q(conn, "SELECT COUNT(*), SUM(pmra IS NULL) FROM gaia_dr3 WHERE is_synthetic = 1")[0]
        assert n_syn == m["rows"]["gaia_dr3"] - 482_106 and 0.02 < n_2p / n_syn < 0.6
        # quoted radio errors: statistical only
        ((worst,),) = _q(conn, "SELECT MAX(ABS(ra_err_arcsec - 4.0 / (peak_flux_mjy / rms_mjy))) FROM radio_sources")
        assert worst < 1e-9
        ((n_plx,),) = _q(
            conn,
            "SELECT COUNT(*) FROM gaia_dr3 WHERE is_synthetic = 1 AND parallax IS NOT NULL AND parallax_error IS NULL",
        )
        assert n_plx == 0


def test_evaluation_profile_into_the_lake(settings, tmp_path):
    """A CI-sized evaluation sample (1 deg² tile + Barnard's pointing) under a private lake prefix: every
    table committed with a full-refresh manifest the readers take, Parquet in the ingestion's types."""
    from radiostars.catalogues.arrow import expected_schema
    from radiostars.lake.client import lake_client
    from radiostars.lake.raw import effective_manifests
    from radiostars.lake.store import Lake
    from radiostars.sample.generate import SampleParams
    from radiostars.sample.scale import write_sample_to_lake

    prefix = f"tests/sample-{uuid.uuid4().hex[:8]}/"
    client = lake_client(settings)
    try:
        client.bucket_exists(settings.lake_bucket)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"MinIO not reachable: {exc}")
    try:
        out = write_sample_to_lake(
            settings,
            SampleParams(seed=4, profile="evaluation", area_deg2=1.0, n_hpm_pointings=0),
            lake_prefix=prefix,
            truth_dir=tmp_path,
            part_rows=200_000,
            updated_at=T0,
        )
        assert set(out["manifests"]) == {"hipparcos2", "gaia_dr3", "radio_sources", "known_objects"}
        lake = Lake(settings)
        for table, n in out["rows"].items():
            eff = effective_manifests(settings, table, prefix, lake)
            assert len(eff) == 1 and eff[0]["rows"] == n and eff[0]["full_refresh"] is True
            first = eff[0]["files"][0]["key"]
            import pyarrow.parquet as pq

            t = pq.read_table(io.BytesIO(lake.get_bytes(first)))
            assert t.schema.equals(expected_schema(table), check_metadata=False), table
        truth = pd.read_parquet(tmp_path / "radio_truth.parquet")
        assert len(truth) == out["rows"]["radio_sources"]
        assert json.loads((tmp_path / "seed_manifest.json").read_text())["profile"] == "evaluation"
        assert out["radio_stars_by_field_kind"]["hpm"] == 1
    finally:
        Lake(settings).remove_prefix(prefix)
