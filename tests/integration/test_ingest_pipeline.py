"""Ingestion against the real MariaDB and MinIO: a small catalogue database of our own
(``catalogues_ingest_test``) and our own bucket (``lake-ingest-test``, one prefix per test), so the
demo data is never touched. Clean rows are made here; dirty rows come from the sample's own dirty-row
maker (radiostars.sample.dirty), so every defect kind of the seeder is exercised."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from radiostars.catalogues.tables import TABLE_NAMES
from radiostars.config import Settings
from radiostars.ingest import pipeline
from radiostars.ingest.errors import QuarantineThresholdExceeded, SchemaDriftError, SourceUnavailable
from radiostars.lake import keys
from radiostars.lake.errors import LakeUnavailable
from radiostars.lake.raw import effective_manifests, list_manifests, read_files, read_snapshot
from radiostars.lake.store import Lake

pytestmark = pytest.mark.integration

DB = "catalogues_ingest_test"
BUCKET = "lake-ingest-test"
T0 = dt.datetime(2026, 1, 1, 0, 0, 0, 123456)
N = {"radio_sources": 400, "gaia_dr3": 3000, "hipparcos2": 300, "known_objects": 200}
DAY1, DAY2 = "2026-01-01", "2026-01-02"


# ---- data ------------------------------------------------------------------------------------
def clean_rows(table: str, n: int, rng: np.random.Generator) -> pd.DataFrame:
    ra, dec = rng.uniform(0, 360, n), rng.uniform(-80, 80, n)
    i = np.arange(n)
    if table == "radio_sources":
        df = pd.DataFrame(
            {
                "source_name": [f"G{k:05d}" for k in i],
                "ra_deg": ra,
                "dec_deg": dec,
                "ra_err_arcsec": rng.uniform(0.2, 2, n),
                "dec_err_arcsec": rng.uniform(0.2, 2, n),
                "peak_flux_mjy": rng.uniform(0.1, 10, n),
                "int_flux_mjy": rng.uniform(0.1, 10, n),
                "int_flux_err_mjy": rng.uniform(0.01, 0.1, n),
                "rms_mjy": np.full(n, 0.02),
                "obs_epoch_mjd": rng.uniform(58000, 59000, n),
                "field": "F1",
            }
        )
    elif table == "gaia_dr3":
        df = pd.DataFrame(
            {
                "source_id": 7_000_000_000_000_000_000 + i,
                "ra": ra,
                "dec": dec,
                "ra_error": rng.uniform(0.05, 2, n),
                "dec_error": rng.uniform(0.05, 2, n),
                "parallax": np.where(i % 3 == 0, np.nan, rng.normal(1, 1, n)),
                "parallax_error": np.where(i % 3 == 0, np.nan, 0.1),
                "pmra": np.nan,
                "pmdec": np.nan,
                "pmra_error": np.nan,
                "pmdec_error": np.nan,
                "phot_g_mean_mag": rng.uniform(10, 21, n),
                "bp_rp": rng.uniform(0, 3, n),
                "ref_epoch": 2016.0,
                "is_synthetic": True,
            }
        )
    elif table == "hipparcos2":
        df = pd.DataFrame(
            {
                "hip": (i + 1).astype(np.int32),
                "ra_deg": ra,
                "dec_deg": dec,
                "plx_mas": rng.normal(5, 3, n),
                "e_plx_mas": 0.5,
                "pmra_mas_yr": rng.normal(0, 20, n),
                "pmdec_mas_yr": rng.normal(0, 20, n),
                "e_ra_mas": 0.4,
                "e_dec_mas": 0.4,
                "e_pmra": 0.5,
                "e_pmdec": 0.5,
                "hp_mag": rng.uniform(2, 12, n),
                "b_v": rng.uniform(-0.2, 2, n),
                "ref_epoch": 1991.25,
            }
        )
    else:
        df = pd.DataFrame(
            {
                "name": [f"OBJ {k}" for k in i],
                "ra_deg": ra,
                "dec_deg": dec,
                "object_type": np.array(["Star", "AGN", "PN", "HII", "Pulsar"])[i % 5],
            }
        )
    df.insert(0, "row_id", np.arange(1, n + 1, dtype=np.int64))
    df["deleted"] = False
    df["updated_at"] = pd.Timestamp(T0)
    return df


def load_database(settings: Settings, dirty: bool) -> dict[str, dict[int, str]]:
    """(Re)create the four tables in DB with N clean rows each (+ the seeder's dirty rows);
    returns {table: {row_id: dirty kind}}."""
    from radiostars.catalogues.schema import column_names
    from radiostars.catalogues.tables import ID_COLUMN
    from radiostars.sample.dirty import make_dirty_rows
    from radiostars.sample.loader import MySQLLoader, connect, create_database, recreate_tables

    create_database(settings.mysql_url(root=True, database=""), DB)
    url = settings.mysql_url(database=DB)
    recreate_tables(url, list(TABLE_NAMES))
    rng = np.random.default_rng(7)
    kinds: dict[str, dict[int, str]] = {}
    with connect(url) as conn:
        loader = MySQLLoader(conn)
        for table in TABLE_NAMES:
            df = clean_rows(table, N[table], rng)
            kinds[table] = {}
            if dirty:
                fresh = iter(range(10**6, 10**7))
                idc = ID_COLUMN[table]

                def new_ids(k: int, table=table):
                    vals = [next(fresh) for _ in range(k)]  # noqa: B023
                    if table in ("radio_sources", "known_objects"):
                        return np.array([f"DIRTY {v}" for v in vals], dtype=object)
                    return np.array(vals, dtype=np.int64 if table == "gaia_dr3" else np.int32)

                bad, bad_kinds = make_dirty_rows(table, df.drop(columns=["row_id"]), rng, new_ids, idc)
                bad.insert(0, "row_id", np.arange(len(df) + 1, len(df) + len(bad) + 1, dtype=np.int64))
                kinds[table] = dict(zip(bad["row_id"].tolist(), bad_kinds))
                df = pd.concat([df, bad[df.columns]], ignore_index=True)
            loader.load(table, df[column_names(table)])
    return kinds


def mysql_exec(settings: Settings, *sql: str) -> None:
    from radiostars.sample.loader import connect

    with connect(settings.mysql_url(database=DB)) as conn, conn.cursor() as cur:
        for s in sql:
            cur.execute(s)
        conn.commit()


def mysql_count(settings: Settings, table: str) -> int:
    from radiostars.sample.loader import connect

    with connect(settings.mysql_url(database=DB)) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{table}`")
        return cur.fetchone()[0]


# ---- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tsettings(stack) -> Settings:
    return Settings({**stack.values, "LAKE_BUCKET": BUCKET, "MYSQL_DATABASE": DB})


@pytest.fixture
def prefix(tsettings):
    p = f"t-{uuid.uuid4().hex[:10]}/"
    yield p
    Lake(tsettings).remove_prefix(p)


@pytest.fixture(scope="module")
def dirty_db(tsettings):
    return load_database(tsettings, dirty=True)


@pytest.fixture
def clean_db(tsettings):
    load_database(tsettings, dirty=False)
    return tsettings


def ingest(settings, table, date, prefix, **kw):
    return pipeline.ingest_table(settings, table, date, lake_prefix=prefix, **kw)


def state(settings, table, prefix):
    return Lake(settings).get_json(keys.watermark_key(table, prefix))


# ---- tests --------------------------------------------------------------------------------------
def test_full_ingest_of_dirty_data_quarantines_every_bad_row_with_its_reason(tsettings, dirty_db, prefix):
    lake = Lake(tsettings)
    for table in TABLE_NAMES:
        r = ingest(tsettings, table, DAY1, prefix, max_fraction=0.2, chunk_size=1000)
        kinds = dirty_db[table]
        total = mysql_count(tsettings, table)
        assert r["rows_in"] == total and r["rows"] + r["quarantined"] == total
        assert r["quarantined"] == len(kinds) and r["rows"] == total - len(kinds)
        (m,) = effective_manifests(tsettings, table, prefix)
        assert m["rows"] == r["rows"] and m["quarantined"] == len(kinds) and m["rows_in"] == total
        assert [c["name"] for c in m["columns"]][:1] == ["row_id"] and m["schema_version"] == 1
        assert m["watermark"]["from"] is None and m["watermark"]["to"]["row_id"] == total
        assert m["watermark"]["to"]["updated_at"] == T0.isoformat(timespec="microseconds")
        assert all(f["sha256"] and f["bytes"] > 0 for f in m["files"] + m["quarantine_files"])
        assert state(tsettings, table, prefix)["watermark"] == m["watermark"]["to"]
        # lake rows = MySQL rows - quarantined, and good + bad = all row_ids exactly once
        good = pa.concat_tables(read_files(lake, m["files"]))
        bad = pa.concat_tables(read_files(lake, m["quarantine_files"]))
        assert good.num_rows == total - len(kinds)
        ids = good.column("row_id").to_pylist() + bad.column("row_id").to_pylist()
        assert sorted(ids) == list(range(1, total + 1))
        why = dict(zip(bad.column("row_id").to_pylist(), bad.column("reason").to_pylist()))
        assert set(why) == set(kinds)
        for row_id, kind in kinds.items():
            assert kind in why[row_id].split(";"), (table, row_id, kind, why[row_id])
        assert sum(m["quarantine_reasons"].values()) >= len(kinds)
        # staging is gone after the commit
        assert list(lake.list(f"{prefix}_staging/{table}/")) == []
        # the snapshot: every good row, once
        snap = read_snapshot(tsettings, table, prefix)
        assert snap.num_rows == total - len(kinds)
        assert str(snap.schema.field("updated_at").type) == "timestamp[us, tz=UTC]"


def test_threshold_exceeded_fails_loudly_and_commits_nothing(tsettings, dirty_db, prefix):
    # known_objects: 10 dirty rows of 210 = 4.8 %; a 1 % threshold must stop it
    with pytest.raises(QuarantineThresholdExceeded, match=r"known_objects: 10 of 210 rows \(4.8%\).*nothing committed"):
        ingest(tsettings, "known_objects", DAY1, prefix, max_fraction=0.01)
    assert list_manifests(Lake(tsettings), "known_objects", prefix) == []
    assert state(tsettings, "known_objects", prefix) is None


def test_incremental_moves_only_changed_rows(clean_db, prefix):
    s = clean_db
    first = ingest(s, "gaia_dr3", DAY1, prefix)
    assert first["rows"] == N["gaia_dr3"] and first["quarantined"] == 0
    # 1 % of the rows change: 27 corrections + 3 soft deletes, strictly later
    t1 = T0 + dt.timedelta(hours=1)
    changed = list(range(100, 3000, 100))  # 29 rows + 1 below
    mysql_exec(
        s,
        f"UPDATE gaia_dr3 SET phot_g_mean_mag = 5.5, updated_at = '{t1}' WHERE row_id IN "
        f"({', '.join(map(str, changed[:27]))})",
        f"UPDATE gaia_dr3 SET deleted = 1, updated_at = '{t1}' WHERE row_id IN (1, 2, 3)",
    )
    t0 = time.perf_counter()
    second = ingest(s, "gaia_dr3", DAY2, prefix)
    assert time.perf_counter() - t0 < 60
    assert second["rows_in"] == 30 and second["rows"] == 30
    assert second["watermark"]["from"] == first["watermark"]["to"]
    assert second["watermark"]["to"]["updated_at"].startswith("2026-01-01T01:00:00")
    snap = read_snapshot(s, "gaia_dr3", prefix)
    assert snap.num_rows == N["gaia_dr3"] - 3
    g = dict(zip(snap.column("row_id").to_pylist(), snap.column("phot_g_mean_mag").to_pylist()))
    assert all(g[r] == 5.5 for r in changed[:27]) and not {1, 2, 3} & set(g)
    # nothing changed -> an empty, committed run; the watermark stays
    third = ingest(s, "gaia_dr3", "2026-01-03", prefix)
    assert third["rows_in"] == 0 and third["watermark"]["from"] == third["watermark"]["to"] == second["watermark"]["to"]
    assert read_snapshot(s, "gaia_dr3", prefix).num_rows == N["gaia_dr3"] - 3


def test_rerun_of_a_date_is_idempotent_and_deterministic(clean_db, prefix):
    s = clean_db
    a = ingest(s, "hipparcos2", DAY1, prefix)
    b = ingest(s, "hipparcos2", DAY1, prefix, chunk_size=1000)  # other chunking, same bytes
    assert a["run_id"] != b["run_id"]
    ms = {m["run_id"]: m for m in list_manifests(Lake(s), "hipparcos2", prefix)}
    ma, mb = ms[a["run_id"]], ms[b["run_id"]]
    for key in ("rows", "rows_in", "quarantined", "watermark"):
        assert ma[key] == mb[key]
    assert [(f["rows"], f["bytes"], f["sha256"]) for f in ma["files"]] == [
        (f["rows"], f["bytes"], f["sha256"]) for f in mb["files"]
    ]
    (eff,) = effective_manifests(s, "hipparcos2", prefix)
    assert eff["run_id"] == b["run_id"]  # the rerun replaced the date
    snap = read_snapshot(s, "hipparcos2", prefix)
    assert snap.num_rows == N["hipparcos2"] and len(set(snap.column("row_id").to_pylist())) == N["hipparcos2"]


def test_schema_drift_is_reported(clean_db, prefix):
    s = clean_db
    mysql_exec(s, "ALTER TABLE known_objects ADD COLUMN magnitude DOUBLE NULL")
    r = ingest(s, "known_objects", DAY1, prefix)
    (m,) = effective_manifests(s, "known_objects", prefix)
    assert r["rows"] == N["known_objects"] and m["schema_drift"]["added"] == ["magnitude"]
    mysql_exec(s, "ALTER TABLE known_objects DROP COLUMN object_type")
    with pytest.raises(SchemaDriftError, match="schema drift in known_objects: missing column.s. object_type"):
        ingest(s, "known_objects", DAY2, prefix)
    assert len(list_manifests(Lake(s), "known_objects", prefix)) == 1


def test_mysql_unreachable_is_one_clear_error(tsettings, prefix):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bad = Settings({**tsettings.values, "MYSQL_PORT": str(port)})
    with pytest.raises(SourceUnavailable, match=rf"cannot connect to MySQL at 127.0.0.1:{port} .*is it running") as exc:
        ingest(bad, "known_objects", DAY1, prefix)
    assert "\n" not in str(exc.value) and exc.value.retryable
    assert list(Lake(tsettings).list(prefix)) == []


def test_minio_stopped_mid_write_then_rerun_completes(clean_db, prefix):
    from radiostars.stack.probes import minio_ready
    from radiostars.stack.process import wait_for
    from radiostars.stack.supervisor import supervisorctl

    s = clean_db
    lake = Lake(s)
    before = ingest(s, "radio_sources", DAY1, prefix)  # a committed first date
    mysql_exec(
        s,
        f"UPDATE radio_sources SET int_flux_mjy = 9.9, updated_at = '{T0 + dt.timedelta(hours=2)}' WHERE row_id <= 300",
    )
    e = pipeline.extract(s, "radio_sources", DAY2, lake_prefix=prefix, chunk_size=1000)
    v = pipeline.validate(s, e)
    stopped = []

    def stop_minio(part):
        if not stopped:
            supervisorctl(s, "stop", "minio")
            stopped.append(part.key)

    try:
        with pytest.raises(LakeUnavailable, match=r"cannot write s3://lake-ingest-test/.*part-00001.parquet .*MinIO"):
            pipeline.write(s, e, v, on_part=stop_minio, row_group_rows=100, rows_per_file=100)
    finally:
        supervisorctl(s, "start", "minio", check=False)
        wait_for(lambda: minio_ready(s), "MinIO", 60)
    assert stopped, "the fault was never injected"
    # nothing committed: the watermark and the effective manifests are those of day 1
    assert state(s, "radio_sources", prefix)["watermark"] == before["watermark"]["to"]
    assert [m["run_id"] for m in effective_manifests(s, "radio_sources", prefix)] == [before["run_id"]]
    assert lake.size(stopped[0]) is not None  # the orphan part exists but no manifest lists it
    # rerun the date: complete, no duplicates
    again = ingest(s, "radio_sources", DAY2, prefix)
    assert again["rows"] == 300 and again["watermark"]["from"] == before["watermark"]["to"]
    snap = read_snapshot(s, "radio_sources", prefix)
    assert snap.num_rows == N["radio_sources"] == len(set(snap.column("row_id").to_pylist()))
    flux = dict(zip(snap.column("row_id").to_pylist(), snap.column("int_flux_mjy").to_pylist()))
    assert all(flux[r] == 9.9 for r in range(1, 301)) and all(flux[r] != 9.9 for r in range(301, 401))
