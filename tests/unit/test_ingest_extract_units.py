"""Unit tests of the binary extraction's SQL and Arrow conversion, the safety-lag parameter, and the
bounded duplicate finder (no service needed)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from radiostars.catalogues.arrow import expected_schema
from radiostars.ingest import spec
from radiostars.ingest.errors import ParamsError
from radiostars.ingest.extract import Key, _conn_kwargs, arrow_url, page_sql, to_batch
from radiostars.ingest.validate import DuplicateFinder, duplicate_row_ids, id_buckets

pytestmark = pytest.mark.unit
TS = dt.datetime(2026, 1, 1, 12, 0, 0, 123456)


def test_page_sql_by_primary_key_and_by_key():
    upto = Key(TS, 99)
    first = page_sql("gaia_dr3", ["row_id", "dec"], None, upto, 1000, by_pk=True)
    assert first == (
        "SELECT `row_id`, `dec` FROM `gaia_dr3` FORCE INDEX (PRIMARY) WHERE "
        "(updated_at < '2026-01-01 12:00:00.123456' OR "
        "(updated_at = '2026-01-01 12:00:00.123456' AND row_id <= 99)) ORDER BY row_id LIMIT 1000"
    )
    nxt = page_sql("gaia_dr3", ["row_id"], None, upto, 1000, by_pk=True, last_row_id=2**63 - 2)
    assert "WHERE row_id > 9223372036854775806 AND (updated_at <" in nxt and nxt.endswith("ORDER BY row_id LIMIT 1000")
    inc = page_sql("gaia_dr3", ["row_id"], Key(dt.datetime(2025, 5, 6), 7), upto, 50)
    assert (
        "WHERE (updated_at > '2025-05-06 00:00:00.000000' OR (updated_at = '2025-05-06 00:00:00.000000' AND "
        "row_id > 7)) AND (updated_at < '2026-01-01 12:00:00.123456'"
    ) in inc
    assert inc.endswith("ORDER BY updated_at, row_id LIMIT 50")


def test_connection_url_is_parsed_and_reencoded():
    kw = _conn_kwargs("mysql+pymysql://u%40x:p%3Aw%2F@127.0.0.1:14306/catalogues")
    assert kw == {"host": "127.0.0.1", "port": 14306, "user": "u@x", "password": "p:w/", "database": "catalogues"}
    assert arrow_url(kw) == "mysql://u%40x:p%3Aw%2F@127.0.0.1:14306/catalogues"


def test_connectorx_types_become_the_expected_schema():
    """TINYINT(1) arrives as int8 and DATETIME(6) as naive timestamp[us]: both cast, values kept."""
    schema = expected_schema("known_objects")
    raw = pa.table(
        {
            "row_id": pa.array([2**62 + 1], pa.int64()),
            "name": ["Ω ☉"],
            "ra_deg": [None],
            "dec_deg": [-0.5],
            "object_type": pa.array([None], pa.string()),
            "deleted": pa.array([1], pa.int8()),
            "updated_at": pa.array([TS], pa.timestamp("us")),
        }
    )
    batch = to_batch(raw, schema)
    assert batch.schema == schema.remove_metadata()
    assert batch.to_pylist() == [
        {
            "row_id": 2**62 + 1,
            "name": "Ω ☉",
            "ra_deg": None,
            "dec_deg": -0.5,
            "object_type": None,
            "deleted": True,
            "updated_at": TS.replace(tzinfo=dt.UTC),
        }
    ]


def test_safety_lag_parameter():
    assert spec.parse_params({}).safety_lag_s is None  # the setting INGEST_SAFETY_LAG_S applies
    assert spec.parse_params({"safety_lag_s": "0"}).safety_lag_s == 0
    assert spec.parse_params({"safety_lag_s": 600}).safety_lag_s == 600
    for bad, match in [
        (-1, r"safety_lag_s=-1 must be in \[0, 604800\]"),
        ("5m", "whole number of seconds"),
        (1.5, "whole number of seconds"),
        (True, "whole number of seconds"),
    ]:
        with pytest.raises(ParamsError, match=match):
            spec.parse_params({"safety_lag_s": bad})


def _ids(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "row_id": pa.array(rng.permutation(n) + 1, pa.int64()),
            "source_id": pa.array(rng.integers(0, n // 2, n), pa.int64()),
            "deleted": pa.array(rng.random(n) < 0.1),
        }
    )


def _rule_by_hand(t: pa.Table) -> set[int]:
    """All live rows of an id but the one with the smallest row_id."""
    live: dict[int, list[int]] = {}
    for r, i, d in zip(t["row_id"].to_pylist(), t["source_id"].to_pylist(), t["deleted"].to_pylist()):
        if not d:
            live.setdefault(i, []).append(r)
    return {r for rows in live.values() for r in sorted(rows)[1:]}


@pytest.mark.parametrize("partition_rows", [10**9, 3000, 25])
def test_duplicate_finder_in_memory_and_spilled_agree_with_the_rule(partition_rows, tmp_path):
    t = _ids(20_000, 3)
    expected = _rule_by_hand(t)
    assert set(duplicate_row_ids("gaia_dr3", t).to_pylist()) == expected
    finder = DuplicateFinder("gaia_dr3", t.num_rows, partition_rows=partition_rows, spill_dir=str(tmp_path))
    assert finder.partitions == min(512, max(1, -(-t.num_rows // partition_rows)))
    for b in t.to_batches(max_chunksize=1500):
        finder.add(pa.Table.from_batches([b]))
    got = finder.finish().to_pylist()
    assert len(got) == len(set(got)) and set(got) == expected
    assert list(tmp_path.iterdir()) == []  # the spill files are gone


def test_id_buckets_keep_equal_ids_together_and_spread_them():
    ints = pa.array([5, 5, 2**63 - 1, -(2**63), 7, 5], pa.int64())
    b = id_buckets(ints, 7)
    assert b[0] == b[1] == b[5] and ((0 <= b) & (b < 7)).all()
    strings = pa.array(["a", "b", "a", None])
    s = id_buckets(strings, 5)
    assert s[0] == s[2]
    spread = np.bincount(id_buckets(pa.array(np.arange(70_000), pa.int64()), 7), minlength=7)
    assert spread.min() > 9_000  # ~10 000 each


def test_prefetched_keeps_order_raises_the_producers_error_and_stops_early():
    import threading
    import time

    from radiostars.ingest.pipeline import prefetched

    assert list(prefetched(iter(range(100)), depth=2)) == list(range(100))

    def failing():
        yield 1
        raise LakeUnavailableLike("MinIO went away")

    got = []
    with pytest.raises(LakeUnavailableLike, match="MinIO went away"):
        for x in prefetched(failing()):
            got.append(x)
    assert got == [1]

    produced = []

    def endless():
        for i in range(10**6):
            produced.append(i)
            yield i

    gen = prefetched(endless(), depth=1)
    assert next(gen) == 0
    gen.close()  # the consumer stops: the producer stops too
    n = len(produced)
    time.sleep(0.3)
    assert len(produced) == n <= 3
    assert not any(t.name == "radiostars-ingest-prefetch" and t.is_alive() for t in threading.enumerate())


class LakeUnavailableLike(RuntimeError):
    pass
