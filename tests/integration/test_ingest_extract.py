"""The binary extraction path and the late-row guarantee, against the real MariaDB and MinIO.

Own database (``catalogues_ingest_extract_test``) and bucket prefix per test in ``lake-ingest-test``.
~30 s in all, most of it the 20 s safety lag the late-row test waits out."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from radiostars.catalogues.arrow import expected_schema
from radiostars.config import Settings
from radiostars.ingest import pipeline
from radiostars.ingest.extract import Key, connect, stream_window, upper_bound
from radiostars.lake.raw import effective_manifests, read_files, read_snapshot
from radiostars.lake.store import Lake
from tests.integration.test_ingest_pipeline import BUCKET, prefix, tsettings  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration

DB = "catalogues_ingest_extract_test"
EXTREMES = [
    0.30000000000000004,
    -90.0,
    5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    1 / 3,
    123456789.12345678,
    1e-300,
    9007199254740993.0,
    1.0000000000000002,
    359.99999999999994,
]
TIMES = [
    "1000-01-01T00:00:00.000000",
    "2026-01-01T00:00:00.000001",
    "1970-01-01T00:00:00.000000",
    "2001-09-09T01:46:40.500000",
    "1969-12-31T23:59:59.999999",
    "2025-06-30T12:34:56.999999",
]


@pytest.fixture(scope="module")
def xsettings(stack) -> Settings:
    from radiostars.sample.loader import create_database

    create_database(stack.mysql_url(root=True, database=""), DB)
    return Settings({**stack.values, "LAKE_BUCKET": BUCKET, "MYSQL_DATABASE": DB})


def _load(settings: Settings, table: str, df: pd.DataFrame) -> None:
    from radiostars.catalogues.schema import column_names
    from radiostars.sample.loader import MySQLLoader, recreate_tables
    from radiostars.sample.loader import connect as loader_connect

    url = settings.mysql_url(database=DB)
    recreate_tables(url, [table])
    with loader_connect(url) as conn:
        MySQLLoader(conn).load(table, df[column_names(table)])


def edge_gaia(n: int = 3000, seed: int = 5) -> pd.DataFrame:
    """Random finite doubles over the whole exponent range (bit patterns), the extremes, NaN (stored
    as NULL) in every column, ids above 2^53 up to ±2^63−1, microsecond timestamps from 1000 to 2026
    (all in the past: the extract stops at the server's clock)."""
    from radiostars.catalogues.schema import column_names

    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2**63 - 1, n * 2, dtype=np.int64).view(np.float64)
    bits = bits[np.isfinite(bits)][:n]
    df = pd.DataFrame(
        {
            "row_id": np.arange(1, n + 1, dtype=np.int64),
            "source_id": np.concatenate(
                [[2**53 + 1, 2**63 - 1, -(2**63), 2**53 - 1], rng.integers(2**53, 2**63 - 1, n - 4, dtype=np.int64)]
            ),
        }
    )
    for j, c in enumerate(column_names("gaia_dr3")[2:15]):
        v = np.roll(bits, 7 * j).copy()
        v[: len(EXTREMES)] = np.roll(EXTREMES, j)
        v[j::17] = np.nan
        df[c] = v
    df["is_synthetic"] = np.arange(n) % 3 == 0
    df["deleted"] = np.arange(n) % 5 == 0
    ts = (
        np.datetime64("1990-01-01T00:00:00")
        + rng.integers(-5 * 10**8, 5 * 10**8, n).astype("timedelta64[s]")
        + rng.integers(0, 10**6, n).astype("timedelta64[us]")
    )
    ts[: len(TIMES)] = np.array(TIMES, dtype="datetime64[us]")
    df["updated_at"] = ts
    return df


def text_protocol_table(settings: Settings, table: str, order: str) -> pa.Table:
    """The reference: MariaDB's text protocol through mysqlclient, one Python object per value (the
    former extraction path), converted column by column."""
    import MySQLdb

    schema = expected_schema(table)
    conn = MySQLdb.connect(
        host=settings["MYSQL_HOST"],
        port=settings.mysql_port,
        user=settings["MYSQL_USER"],
        passwd=settings["MYSQL_PASSWORD"],
        db=DB,
        charset="utf8mb4",
    )
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT {', '.join(f'`{c}`' for c in schema.names)} FROM `{table}` ORDER BY {order}")
        rows = cur.fetchall()
    finally:
        conn.close()
    cols = list(zip(*rows))
    arrays = []
    for f, values in zip(schema, cols):
        if pa.types.is_boolean(f.type):
            arrays.append(pa.array([None if v is None else bool(v) for v in values], pa.bool_()))
        elif pa.types.is_timestamp(f.type):
            arrays.append(pa.array(list(values), pa.timestamp("us")).cast(f.type))
        else:
            arrays.append(pa.array(list(values), f.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema([f.with_nullable(True) for f in schema]))


def assert_identical(got: pa.Table, ref: pa.Table) -> None:
    """Same schema, same nulls, same values; doubles compared bit for bit."""
    got = got.cast(ref.schema)
    assert got.num_rows == ref.num_rows
    for f in ref.schema:
        a, b = got.column(f.name), ref.column(f.name)
        assert pc.is_null(a).equals(pc.is_null(b)), f"{f.name}: NULLs differ"
        if pa.types.is_floating(f.type):
            x = pc.fill_null(a, 0.0).to_numpy().view(np.int64)
            y = pc.fill_null(b, 0.0).to_numpy().view(np.int64)
            assert (x == y).all(), f"{f.name}: {int((x != y).sum())} doubles differ in their bits"
        else:
            assert a.equals(b), f"{f.name} differs"


def test_binary_path_returns_exactly_the_text_values(xsettings):
    df = edge_gaia()
    _load(xsettings, "gaia_dr3", df)
    names = ["Ωmega ☉", "plain", "emoji 🌟", "quote ' \" \\", "a" * 64]
    ko = pd.DataFrame(
        {
            "row_id": np.arange(1, 6, dtype=np.int64),
            "name": names,
            "ra_deg": [1.0, np.nan, 2.0, 3.0, 4.0],
            "dec_deg": 0.5,
            "object_type": ["Star", None, "AGN", "x", "PN"],
            "deleted": [False, True, False, False, True],
            "updated_at": np.array(TIMES[:5], dtype="datetime64[us]"),
        }
    )
    _load(xsettings, "known_objects", ko)
    for table, n in (("gaia_dr3", len(df)), ("known_objects", len(ko))):
        with connect(xsettings.mysql_url(database=DB)) as src:
            top, _ = upper_bound(src, table, 0)
            # a first load pages by primary key, an incremental run by (updated_at, row_id): both
            by_pk = pa.Table.from_batches(list(stream_window(src, table, None, top, 1000)))
            after = Key(dt.datetime(1970, 1, 1), 0)
            by_key = pa.Table.from_batches(list(stream_window(src, table, after, top, 777)))
        assert by_pk.num_rows == n
        assert_identical(by_pk, text_protocol_table(xsettings, table, "row_id"))
        ref = text_protocol_table(xsettings, table, "updated_at, row_id")
        epoch = pa.scalar(dt.datetime(1970, 1, 1), pa.timestamp("us", tz="UTC"))
        assert_identical(by_key, ref.filter(pc.greater_equal(ref.column("updated_at"), epoch)))
        assert 0 < by_key.num_rows < n
        if table == "gaia_dr3":  # and both are the values written (NaN -> NULL, ids > 2^53 exact, µs kept)
            schema = by_pk.schema
            written = pa.Table.from_pandas(df, preserve_index=False)
            written = pa.table(
                [
                    written.column(f.name)
                    .cast(f.type if not pa.types.is_timestamp(f.type) else pa.timestamp("us"))
                    .cast(f.type)
                    for f in schema
                ],
                schema=pa.schema([f.with_nullable(True) for f in schema]),
            )
            assert_identical(by_pk, written)
            assert by_pk.column("source_id")[0].as_py() == 2**53 + 1 and by_pk.column("source_id")[2].as_py() == -(
                2**63
            )
            assert by_pk.column("ra").null_count == len(range(0, n, 17))


def _server_now(settings) -> dt.datetime:
    with connect(settings.mysql_url(database=DB)) as src:
        return src.query("SELECT UTC_TIMESTAMP(6)")[0][0]


def _mysql(settings, autocommit: bool = True):
    import pymysql

    return pymysql.connect(
        host=settings["MYSQL_HOST"],
        port=settings.mysql_port,
        user=settings["MYSQL_USER"],
        password=settings["MYSQL_PASSWORD"],
        database=DB,
        autocommit=autocommit,
    )


def _lake_ids(settings, prefix) -> tuple[list[int], int]:
    """(row_ids of the current snapshot, rows in all effective manifests' files)."""
    lake = Lake(settings)
    files = [f for m in effective_manifests(settings, "gaia_dr3", prefix) for f in m["files"]]
    stored = sum(t.num_rows for t in read_files(lake, files, ["row_id"]))
    return sorted(read_snapshot(settings, "gaia_dr3", prefix, columns=["row_id"]).column("row_id").to_pylist()), stored


def test_rows_committed_late_are_ingested_by_the_next_run(xsettings):
    """Rows written by a transaction that commits after an extract has started, with an updated_at
    older than rows that run could already see: the former bound (the table's greatest key) skips
    them for ever; with the safety lag the next run ingests them, once."""
    lag = 20  # > the time two small extracts take on a loaded CI machine
    s = xsettings
    base = edge_gaia(400, seed=9).assign(updated_at=np.datetime64(_server_now(s) - dt.timedelta(hours=1), "us"))
    base[[c for c in base.columns if c not in ("row_id", "source_id", "updated_at", "is_synthetic", "deleted")]] = 1.0
    base["deleted"], base["ref_epoch"] = False, 2016.0
    _load(s, "gaia_dr3", base)
    p_lag, p_zero = f"x-{uuid.uuid4().hex[:10]}/", f"x-{uuid.uuid4().hex[:10]}/"
    try:
        first = pipeline.ingest_table(s, "gaia_dr3", "2026-01-01", lake_prefix=p_lag, safety_lag_s=lag)
        pipeline.ingest_table(s, "gaia_dr3", "2026-01-01", lake_prefix=p_zero, safety_lag_s=0)
        assert first["rows"] == 400
        held, other = _mysql(s, autocommit=False), _mysql(s)
        try:
            with held.cursor() as cur:  # the open transaction: 5 rows stamped now, not committed
                cur.execute(
                    "INSERT INTO gaia_dr3 (row_id, source_id, ra, `dec`, ref_epoch, is_synthetic, deleted, "
                    "updated_at) SELECT 1000 + seq, 1000 + seq, 10, 10, 2016, 0, 0, UTC_TIMESTAMP(6) "
                    "FROM seq_1_to_5"
                )
                cur.execute("SELECT MAX(updated_at) FROM gaia_dr3 WHERE row_id > 1000")
                t_held = cur.fetchone()[0]
            time.sleep(0.01)
            with other.cursor() as cur:  # committed meanwhile, with a later updated_at
                cur.execute(
                    "INSERT INTO gaia_dr3 (row_id, source_id, ra, `dec`, ref_epoch, is_synthetic, deleted, "
                    "updated_at) SELECT 2000 + seq, 2000 + seq, 10, 10, 2016, 0, 0, UTC_TIMESTAMP(6) "
                    "FROM seq_1_to_5"
                )
            # extracts start while the transaction is open
            during_lag = pipeline.ingest_table(s, "gaia_dr3", "2026-01-02", lake_prefix=p_lag, safety_lag_s=lag)
            during_zero = pipeline.ingest_table(s, "gaia_dr3", "2026-01-02", lake_prefix=p_zero, safety_lag_s=0)
            held.commit()
            committed_after_s = (_server_now(s) - t_held).total_seconds()
        finally:
            held.close()
            other.close()
        assert committed_after_s < lag, f"test too slow: committed {committed_after_s:.1f} s after updated_at"
        assert during_lag["rows_in"] == 0  # the lag holds back everything younger than now - lag
        assert during_zero["rows_in"] == 5  # without it: the 5 committed rows, past the open ones
        while (_server_now(s) - t_held).total_seconds() <= lag + 0.1:  # let the lag pass
            time.sleep(0.5)
        after_lag = pipeline.ingest_table(s, "gaia_dr3", "2026-01-03", lake_prefix=p_lag, safety_lag_s=lag)
        after_zero = pipeline.ingest_table(s, "gaia_dr3", "2026-01-03", lake_prefix=p_zero, safety_lag_s=0)
        with _mysql(s) as conn, conn.cursor() as cur:
            cur.execute("SELECT row_id FROM gaia_dr3 ORDER BY row_id")
            mysql_ids = [r[0] for r in cur.fetchall()]
        assert len(mysql_ids) == 410
        # with the lag: every row once, the late ones included
        assert after_lag["rows_in"] == 10
        ids, stored = _lake_ids(s, p_lag)
        assert ids == mysql_ids and stored == len(mysql_ids)
        # the control run shows what the lag prevents: the late rows are lost for ever
        assert after_zero["rows_in"] == 0
        ids0, _ = _lake_ids(s, p_zero)
        assert sorted(set(mysql_ids) - set(ids0)) == [1001, 1002, 1003, 1004, 1005]
    finally:
        for p in (p_lag, p_zero):
            Lake(s).remove_prefix(p)


def test_future_dated_rows_wait_and_are_counted(xsettings, prefix):
    s = xsettings
    now = _server_now(s)
    df = edge_gaia(50, seed=11).assign(updated_at=np.datetime64(now - dt.timedelta(hours=2), "us"))
    df[[c for c in df.columns if c not in ("row_id", "source_id", "updated_at", "is_synthetic", "deleted")]] = 1.0
    df["deleted"], df["ref_epoch"] = False, 2016.0
    df.loc[df.index[-3:], "updated_at"] = np.datetime64(now + dt.timedelta(days=365), "us")
    _load(s, "gaia_dr3", df)
    r = pipeline.ingest_table(s, "gaia_dr3", "2026-01-01", lake_prefix=prefix, safety_lag_s=60)
    assert r["rows_in"] == 47
    (m,) = effective_manifests(s, "gaia_dr3", prefix)
    assert m["source"]["deferred_rows"] == 3 and m["source"]["future_rows"] == 3 and m["source"]["safety_lag_s"] == 60
    assert m["watermark"]["to"]["row_id"] == 47
