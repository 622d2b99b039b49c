"""The binary prepared-INSERT encoding (radiostars.sample.binary_insert), checked against the
client/server protocol written out by hand with struct: NULL bitmap bit order, the values of only the
non-NULL parameters in statement (row-major) order, statement splitting, and the types it refuses."""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd

from radiostars.sample.binary_insert import (
    MAX_PARAMS,
    TYPE_DATETIME,
    TYPE_DOUBLE,
    TYPE_LONGLONG,
    TYPE_TINY,
    encode,
)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": np.array([2**53 + 1, -(2**63), 2**63 - 1], dtype=np.int64),
            "x": [0.1, np.nan, -0.0],
            "n": pd.array([7, None, 9], dtype="Int64"),
            "flag": [True, False, True],
            "ts": pd.to_datetime(["2026-12-02 15:00:00.123456", None, "1999-01-31 23:59:59.000000"]),
        }
    )


def test_types_bitmap_and_values_are_the_protocol_by_hand():
    types, parts = encode(_frame(), rows_per_statement=10)
    assert types.tolist() == [TYPE_LONGLONG, TYPE_DOUBLE, TYPE_LONGLONG, TYPE_TINY, TYPE_DATETIME]
    ((m, bitmap, values),) = list(parts)
    assert m == 3
    # 15 parameters, row-major; NULL: row 1's x, n and ts = parameters 6, 7 and 9 (bit p of byte p//8)
    assert bitmap == bytes([0b1100_0000, 0b0000_0010])
    expect = (
        struct.pack("<qdqB", 2**53 + 1, 0.1, 7, 1)
        + struct.pack("<BHBBBBBI", 11, 2026, 12, 2, 15, 0, 0, 123456)
        + struct.pack("<qB", -(2**63), 0)
        + struct.pack("<qdqB", 2**63 - 1, -0.0, 9, 1)
        + struct.pack("<BHBBBBBI", 11, 1999, 1, 31, 23, 59, 59, 0)
    )
    assert values == expect


def test_statements_split_the_rows_in_order_with_a_shorter_last_one():
    n = 1000
    df = pd.DataFrame({"a": np.arange(n, dtype=np.int64), "b": np.where(np.arange(n) % 3 == 0, np.nan, 1.5)})
    _, parts = encode(df, rows_per_statement=128)
    parts = list(parts)
    assert [m for m, _, _ in parts] == [128] * 7 + [104]
    got_a, got_b = [], []
    for m, bitmap, values in parts:
        nulls = np.unpackbits(np.frombuffer(bitmap, np.uint8), bitorder="little")[: 2 * m].reshape(m, 2)
        assert not nulls[:, 0].any()
        off = 0
        for row in range(m):
            got_a.append(struct.unpack_from("<q", values, off)[0])
            off += 8
            if nulls[row, 1]:
                got_b.append(np.nan)
            else:
                got_b.append(struct.unpack_from("<d", values, off)[0])
                off += 8
        assert off == len(values)
    assert got_a == list(range(n))
    np.testing.assert_array_equal(np.array(got_b), df["b"].to_numpy())


def test_statement_size_respects_the_parameter_limit_and_text_is_refused():
    wide = pd.DataFrame({f"c{i}": np.zeros(3) for i in range(40_000)})
    _, parts = encode(wide, rows_per_statement=128)
    assert [m for m, _, _ in parts] == [1, 1, 1]  # 40 000 parameters a row: one row per statement
    assert 2 * 40_000 > MAX_PARAMS
    assert encode(pd.DataFrame({"name": ["a", "b"]})) is None
    assert encode(pd.DataFrame({"u": np.array([2**64 - 1], dtype=np.uint64)})) is None
