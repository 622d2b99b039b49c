"""Binary prepared INSERTs (radiostars.sample.binary_insert) against the real MariaDB: every value
read back bit-exact and identical to what LOAD DATA stores, NULLs where the frame has NaN/NA, a text
column left to LOAD DATA, and a value the column cannot hold a one-line SampleError with nothing
committed. Own database (``catalogues_binary_test``); a few thousand rows (~2 s)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.integration

DB = "catalogues_binary_test"
DDL = (
    "CREATE TABLE `{t}` (row_id BIGINT NOT NULL PRIMARY KEY, source_id BIGINT NOT NULL, x DOUBLE NULL, "
    "n BIGINT NULL, small INT NULL, flag TINYINT(1) NOT NULL DEFAULT 0, ts DATETIME(6) NULL, "
    "name VARCHAR(32) NULL) ENGINE=InnoDB"
)


@pytest.fixture(scope="module")
def url(stack) -> str:
    from radiostars.sample.loader import create_database

    create_database(stack.mysql_url(root=True, database=""), DB)
    return stack.mysql_url(root=True, database=DB)


def _table(url: str, name: str) -> None:
    from radiostars.sample.loader import connect

    with connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS `{name}`")
        cur.execute(DDL.format(t=name))
        conn.commit()


def _rows(url: str, name: str) -> list[tuple]:
    from radiostars.sample.loader import connect

    with connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT * FROM `{name}` ORDER BY row_id")
        return list(cur.fetchall())


def _frame(n: int = 3001) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, n) * 10.0 ** rng.integers(-300, 300, n)
    x[:6] = [np.nan, -0.0, 5e-324, 1.7976931348623157e308, 0.1, -2.2250738585072014e-308]
    x[rng.random(n) < 0.3] = np.nan
    nn = pd.array(rng.integers(-(2**62), 2**62, n), dtype="Int64")
    nn[rng.random(n) < 0.2] = pd.NA
    ts = pd.Series(pd.Timestamp("2026-12-02 15:00:00.000001") + pd.to_timedelta(rng.integers(0, 10**12, n), "us"))
    ts[rng.random(n) < 0.1] = pd.NaT
    return pd.DataFrame(
        {
            "row_id": np.arange(1, n + 1, dtype=np.int64),
            "source_id": np.int64(2**62) + np.arange(n, dtype=np.int64) * 4_294_967_297,  # > 2**53
            "x": x,
            "n": nn,
            "small": pd.array(rng.integers(-1000, 1000, n), dtype="Int64"),
            "flag": rng.random(n) < 0.5,
            "ts": ts,
        }
    )


def test_binary_rows_read_back_exact_and_equal_to_load_data(url):
    from radiostars.sample.loader import MySQLLoader, connect

    df = _frame()
    for name, binary in (("t_binary", True), ("t_text", False)):
        _table(url, name)
        with connect(url) as conn:
            loader = MySQLLoader(conn, binary=binary)
            for start in range(0, len(df), 1000):  # several chunks on one connection: statements reused
                loader.load(name, df.iloc[start : start + 1000])
            loader.close()
    got = _rows(url, "t_binary")
    assert got == _rows(url, "t_text")
    assert len(got) == len(df)
    back = pd.DataFrame(got, columns=["row_id", "source_id", "x", "n", "small", "flag", "ts", "name"])
    assert back["source_id"].tolist() == df["source_id"].tolist()
    x = back["x"].astype(float).to_numpy()
    np.testing.assert_array_equal(np.isnan(x), np.isnan(df["x"].to_numpy()))
    ok = ~np.isnan(x)
    want = df["x"].to_numpy()[ok] + 0.0  # MariaDB stores -0.0 as 0.0 (LOAD DATA too); + 0.0 does the same
    assert (x[ok].view(np.int64) == want.view(np.int64)).all()  # bit-exact: no decimal round trip
    assert [r[3] for r in got] == [None if v is pd.NA else int(v) for v in df["n"]]
    assert back["flag"].tolist() == df["flag"].astype(int).tolist()
    want_ts = [None if pd.isna(t) else t.to_pydatetime() for t in df["ts"]]
    assert [r[6] for r in got] == want_ts
    assert back["name"].isna().all()


def test_text_columns_fall_back_to_load_data_and_bad_values_fail_cleanly(url):
    from radiostars.sample.errors import SampleError
    from radiostars.sample.loader import MySQLLoader, connect

    _table(url, "t_mixed")
    df = _frame(10)[["row_id", "source_id", "x"]].assign(name=[f"star {i}" for i in range(10)])
    with connect(url) as conn:
        MySQLLoader(conn, binary=True).load("t_mixed", df)
    assert [r[7] for r in _rows(url, "t_mixed")] == df["name"].tolist()

    _table(url, "t_bad")
    bad = _frame(300)[["row_id", "source_id", "small"]]
    bad.loc[250, "small"] = 2**40  # does not fit INT: strict mode refuses the statement
    with connect(url) as conn:
        loader = MySQLLoader(conn, binary=True)
        with pytest.raises(SampleError, match="loading t_bad failed: Out of range"):
            loader.load("t_bad", bad)
        conn.rollback()
    assert _rows(url, "t_bad") == []
