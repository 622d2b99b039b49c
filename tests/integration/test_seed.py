"""Seed a small sample into a real MariaDB test database (``catalogues_test``, created as root).

Needs the local stack (`make up`); skipped with a clear reason when MariaDB is unreachable.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from radiostars.config import get_settings
from radiostars.sample import dirty as dirty_mod
from radiostars.sample.errors import SampleError

pytestmark = pytest.mark.integration
TEST_DB = "catalogues_test"
T0 = dt.datetime(2025, 1, 1, 12, 0, 0, 123456)


@pytest.fixture(scope="module")
def settings():
    return get_settings()


@pytest.fixture(scope="module")
def seeded(settings, tmp_path_factory):
    from radiostars.sample.loader import create_database
    from radiostars.sample.seed import seed

    try:
        create_database(settings.mysql_url(root=True, database=""), TEST_DB)
    except SampleError as exc:
        pytest.skip(f"MariaDB not reachable: {exc}")
    truth = tmp_path_factory.mktemp("truth")
    m = seed(
        settings,
        seed=11,
        profile="easy",
        dirty=True,
        area_deg2=0.5,
        faint_density_per_deg2=2000.0,
        database=TEST_DB,
        root=True,
        truth_dir=truth,
        updated_at=T0,
    )
    return m, truth


@pytest.fixture()
def conn(settings, seeded):
    from radiostars.sample.loader import connect

    with connect(settings.mysql_url(root=True, database=TEST_DB)) as c:
        yield c


def _q(conn, sql, args=()):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def test_counts_per_table(seeded, conn):
    m, _ = seeded
    for table, n in m["rows"].items():
        assert _q(conn, f"SELECT COUNT(*) FROM `{table}`")[0][0] == n > 0
    dirty_total = sum(dirty_mod.DIRTY_COUNTS["hipparcos2"].values())
    assert m["rows"]["hipparcos2"] == 117_955 + dirty_total
    # real Gaia rows (the package's 70 "-HIP" rows dropped) + dirty copies of real rows
    assert _q(conn, "SELECT COUNT(*) FROM gaia_dr3 WHERE is_synthetic = 0")[0][0] == 482_106 + sum(
        dirty_mod.DIRTY_COUNTS["gaia_dr3"].values()
    )


def test_values_round_trip_exactly(seeded, conn):
    ((ra, dec, g),) = _q(
        conn, "SELECT ra, `dec`, phot_g_mean_mag FROM gaia_dr3 WHERE source_id = %s", (1576683529448755328,)
    )
    assert (ra, dec) == (193.50817846782095, 55.959784778923755)
    ((pmra, pmdec, plx, ts),) = _q(
        conn, "SELECT pmra_mas_yr, pmdec_mas_yr, plx_mas, updated_at FROM hipparcos2 WHERE hip = 87937"
    )
    assert (pmra, pmdec, plx, ts) == (-798.58, 10328.12, 548.31, T0)
    assert (
        _q(
            conn,
            "SELECT COUNT(*) FROM gaia_dr3 WHERE is_synthetic = 0 AND pmra IS NOT NULL "
            "AND source_id < 7000000000000000000",
        )[0][0]
        == 0
    )


def test_dirty_counts_in_database(seeded, conn):
    _, truth = seeded
    counts = json.loads((truth / "dirty_counts.json").read_text())
    assert counts == dirty_mod.DIRTY_COUNTS
    r = counts["radio_sources"]
    assert (
        _q(conn, "SELECT COUNT(*) FROM radio_sources WHERE ra_deg IS NULL OR dec_deg IS NULL")[0][0]
        == r["null_position"]
    )
    assert (
        _q(conn, "SELECT COUNT(*) FROM radio_sources WHERE ra_deg < 0 OR ra_deg >= 360")[0][0] == r["ra_out_of_range"]
    )
    assert _q(conn, "SELECT COUNT(*) FROM radio_sources WHERE ABS(dec_deg) > 90")[0][0] == r["dec_out_of_range"]
    assert (
        _q(conn, "SELECT COUNT(*) FROM radio_sources WHERE ra_err_arcsec <= 0 OR dec_err_arcsec <= 0")[0][0]
        == r["nonpositive_error"]
    )
    assert _q(conn, "SELECT COUNT(*) FROM radio_sources WHERE int_flux_mjy IS NULL")[0][0] == r["nonfinite_flux"]
    assert _q(conn, "SELECT COUNT(*) - COUNT(DISTINCT source_name) FROM radio_sources")[0][0] == r["duplicate_id"]
    assert (
        _q(conn, "SELECT COUNT(*) FROM radio_sources WHERE obs_epoch_mjd < 33282 OR obs_epoch_mjd > 70000")[0][0]
        == r["impossible_epoch"]
    )
    assert (
        _q(conn, "SELECT COUNT(*) FROM known_objects WHERE object_type NOT IN ('AGN','Pulsar','PN','HII','Star')")[0][0]
        == counts["known_objects"]["unparsable_type"]
    )
    dirty_rows = pd.read_parquet(truth / "dirty_rows.parquet")
    assert len(dirty_rows) == sum(sum(v.values()) for v in counts.values())


def test_keyset_pagination_reads_every_row_once(seeded, conn):
    m, _ = seeded
    seen, wm = 0, (dt.datetime.min, 0)
    last = None
    while True:
        rows = _q(
            conn,
            "SELECT updated_at, row_id FROM radio_sources WHERE (updated_at, row_id) > (%s, %s) "
            "ORDER BY updated_at, row_id LIMIT 500",
            wm,
        )
        if not rows:
            break
        seen += len(rows)
        assert last is None or rows[0] > last
        wm = last = rows[-1]
    assert seen == m["rows"]["radio_sources"]
    plan = _q(
        conn,
        "EXPLAIN SELECT updated_at, row_id FROM gaia_dr3 WHERE updated_at > %s ORDER BY updated_at, row_id LIMIT 500",
        (T0,),
    )
    assert "ix_gaia_dr3_updated_at_row_id" in str(plan)


def test_update_changes_exactly_the_requested_rows(settings, seeded, conn):
    from radiostars.sample.seed import seed

    _, truth = seeded
    before = {
        t: _q(conn, f"SELECT COUNT(*) FROM `{t}` WHERE deleted = 0")[0][0]
        for t in ("radio_sources", "gaia_dr3", "hipparcos2", "known_objects")
    }
    total_before = {t: _q(conn, f"SELECT COUNT(*) FROM `{t}`")[0][0] for t in before}
    summary = seed(settings, seed=11, update_fraction=0.01, database=TEST_DB, root=True, truth_dir=truth)
    conn.commit()  # fresh snapshot
    ts = dt.datetime.fromisoformat(summary["updated_at"])
    assert ts > T0
    for t, n_live in before.items():
        s = summary["tables"][t]
        assert s["changed"] == round(0.01 * n_live) == s["correct"] + s["delete"] + s["insert"]
        assert _q(conn, f"SELECT COUNT(*) FROM `{t}` WHERE updated_at = %s", (ts,))[0][0] == s["changed"]
        assert _q(conn, f"SELECT COUNT(*) FROM `{t}` WHERE updated_at > %s AND updated_at <> %s", (T0, ts))[0][0] == 0
        assert _q(conn, f"SELECT COUNT(*) FROM `{t}`")[0][0] == total_before[t] + s["insert"]
        assert _q(conn, f"SELECT COUNT(*) FROM `{t}` WHERE deleted = 1")[0][0] == s["delete"]
    recorded = pd.concat([pd.read_parquet(p) for p in (truth / "updates").glob("*.parquet")])
    assert len(recorded) == sum(s["changed"] for s in summary["tables"].values())
    assert recorded.groupby("table")["row_id"].nunique().sum() == len(recorded)


def test_unknown_table_and_bad_update_are_clear(settings, seeded):
    from radiostars.sample.seed import seed

    with pytest.raises(SampleError, match="unknown table"):
        seed(settings, tables=["nope"], database=TEST_DB, root=True)
    with pytest.raises(SampleError, match="fraction"):
        seed(settings, update_fraction=1.5, database=TEST_DB, root=True, truth_dir=seeded[1])
