"""load_run against the real MinIO + Postgres, in a scratch bucket and a scratch database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pyarrow as pa
import pytest

from radiostars.benchmark import derive, sandbox
from radiostars.lake.client import lake_client
from radiostars.lake.errors import InvalidRunIdError, RunIncompleteError, RunNotCommittedError, RunNotFoundError
from radiostars.warehouse import ConsistencyError, LoadError, SchemaMismatchError, WarehouseUnavailableError
from radiostars.warehouse.load import latest_loaded_run, load_run
from tests.warehouse_fixtures import generate_run, write_known_objects_manifest, write_run

pytestmark = pytest.mark.integration

RAW_TABLES = (
    "radio_sources",
    "optical_sources",
    "crossmatch_pairs",
    "crossmatch_control",
    "known_objects",
    "crossmatch_runs",
)


@pytest.fixture(scope="module")
def wh(stack):
    with sandbox(stack) as settings:
        yield settings


@pytest.fixture(scope="module")
def client(wh):
    return lake_client(wh)


def counts(settings, run_id: str) -> dict[str, int]:
    with psycopg.connect(settings.postgres_dsn()) as conn:
        if conn.execute("SELECT to_regclass('raw.crossmatch_pairs')").fetchone()[0] is None:
            return {t: 0 for t in RAW_TABLES}
        return {
            t: conn.execute(f"SELECT count(*) FROM raw.{t} WHERE run_id = %s", (run_id,)).fetchone()[0]
            for t in RAW_TABLES
        }


def log_rows(settings, run_id: str) -> list[tuple]:
    with psycopg.connect(settings.postgres_dsn()) as conn:
        if conn.execute("SELECT to_regclass('raw.load_log')").fetchone()[0] is None:
            return []
        return conn.execute(
            "SELECT status, rows, error FROM raw.load_log WHERE run_id = %s ORDER BY load_id", (run_id,)
        ).fetchall()


def test_load_counts_match_the_lake_and_reload_is_idempotent(wh, client):
    run = generate_run(seed=1)
    write_run(client, wh.lake_bucket, run)
    first = load_run(wh, run.run_id)
    expected = {
        "radio_sources": 300,
        "optical_sources": run.tables["optical"].num_rows,
        "crossmatch_pairs": run.tables["pairs"].num_rows,
        "crossmatch_control": 4,
        "known_objects": run.tables["known_objects"].num_rows,
        "crossmatch_runs": 1,
    }
    assert first.rows == expected
    assert counts(wh, run.run_id) == expected
    second = load_run(wh, run.run_id)
    assert second.rows == expected
    assert counts(wh, run.run_id) == expected  # delete-and-insert: no duplicates
    assert [r[0] for r in log_rows(wh, run.run_id)] == ["succeeded", "succeeded"]
    assert latest_loaded_run(wh) == run.run_id

    with psycopg.connect(wh.postgres_dsn()) as conn:
        row = conn.execute(
            "SELECT n_pairs, n_best, far_analytic, far_control, parameters ->> 'n_sigma', "
            "known_objects_source FROM raw.crossmatch_runs WHERE run_id = %s",
            (run.run_id,),
        ).fetchone()
        hand = conn.execute(
            "SELECT parallax_mas, parallax_error_mas FROM raw.optical_sources "
            "WHERE run_id = %s AND optical_id = 4100000000000000001",
            (run.run_id,),
        ).fetchone()
        # values survive the Parquet -> CSV -> COPY trip bit for bit
        seps = [
            r[0]
            for r in conn.execute(
                "SELECT sep_arcsec FROM raw.crossmatch_pairs WHERE run_id = %s ORDER BY radio_source_name, rank",
                (run.run_id,),
            )
        ]
    assert row[0] == expected["crossmatch_pairs"] and row[1] == run.tables["best"].num_rows
    assert row[2] == pytest.approx(run.metrics["far_analytic"], rel=1e-15)
    assert row[3] == pytest.approx(run.metrics["far_control"], rel=1e-15)
    assert row[4] == "5.0" and row[5].startswith("run:")
    assert hand == (100.0, 0.1)
    pairs = run.tables["pairs"].to_pandas().sort_values(["radio_source_name", "rank"])
    assert seps == pairs["sep_arcsec"].tolist()


def test_unknown_run_is_refused(wh):
    with pytest.raises(RunNotFoundError, match="not found: nothing under"):
        load_run(wh, "no-such-run-123")


def test_invalid_run_id_is_refused(wh):
    with pytest.raises(InvalidRunIdError):
        load_run(wh, "../raw")


def test_uncommitted_run_is_refused_and_nothing_is_written(wh, client):
    run = generate_run()
    write_run(client, wh.lake_bucket, run, commit=False)
    with pytest.raises(RunNotCommittedError, match=r"_SUCCESS is missing"):
        load_run(wh, run.run_id)
    assert set(counts(wh, run.run_id).values()) == {0}
    assert log_rows(wh, run.run_id) == []


def test_marker_listing_a_missing_file_is_refused(wh, client):
    run = generate_run()
    keys = write_run(client, wh.lake_bucket, run)
    client.remove_object(wh.lake_bucket, keys[0])  # pairs/part-00000.parquet
    with pytest.raises(RunIncompleteError, match="missing from the lake"):
        load_run(wh, run.run_id)


def test_a_listed_file_rewritten_after_the_commit_is_refused(wh, client):
    """The marker lists each file with its size: a part replaced after the commit is not loaded."""
    import io

    run = generate_run(seed=5)
    keys = write_run(client, wh.lake_bucket, run)
    body = b"PAR1 not the committed bytes PAR1"
    client.put_object(wh.lake_bucket, keys[0], io.BytesIO(body), len(body))  # pairs/part-00000.parquet
    with pytest.raises(
        RunIncompleteError, match=rf"differ from what the marker lists .*{keys[0]} has {len(body)} bytes"
    ):
        load_run(wh, run.run_id)
    assert set(counts(wh, run.run_id).values()) == {0}


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda t: t.drop_columns(["p_chance"]), r"pairs/part-00000.parquet: missing column\(s\) p_chance"),
        (
            lambda t: t.append_column("colour_of_the_sky", pa.array(["blue"] * t.num_rows)),
            r"unexpected column\(s\) colour_of_the_sky",
        ),
        (
            lambda t: t.set_column(
                t.schema.get_field_index("sep_arcsec"),
                "sep_arcsec",
                pa.array([str(v) for v in t["sep_arcsec"].to_pylist()]),
            ),
            r"wrong type: sep_arcsec is string, expected float64",
        ),
    ],
)
def test_schema_mismatch_is_refused_before_anything_is_written(wh, client, mutate, message):
    run = generate_run()
    run.tables["pairs"] = mutate(run.tables["pairs"])
    write_run(client, wh.lake_bucket, run)
    with pytest.raises(SchemaMismatchError, match=message):
        load_run(wh, run.run_id)
    assert set(counts(wh, run.run_id).values()) == {0}


def test_failed_reload_rolls_back_and_keeps_the_previous_load(wh, client):
    run = generate_run(seed=2)
    write_run(client, wh.lake_bucket, run)
    load_run(wh, run.run_id)
    before = counts(wh, run.run_id)
    # same run id rewritten with a NULL key in the last part to be copied: Postgres rejects it mid-load
    control = run.tables["control"]
    names = control["offset_name"].to_pylist()
    names[-1] = None
    run.tables["control"] = control.set_column(0, "offset_name", pa.array(names, pa.string()))
    write_run(client, wh.lake_bucket, run)
    with pytest.raises(LoadError, match=r"copying control/ .*offset_name.*\(rolled back\)"):
        load_run(wh, run.run_id)
    assert counts(wh, run.run_id) == before
    statuses = log_rows(wh, run.run_id)
    assert [s[0] for s in statuses] == ["succeeded", "failed"]
    assert "offset_name" in statuses[-1][2]


def test_best_that_is_not_the_rank_1_pairs_is_refused(wh, client):
    run = generate_run()
    run.tables["best"] = run.tables["best"].slice(0, run.tables["best"].num_rows - 1)
    write_run(client, wh.lake_bucket, run)
    with pytest.raises(ConsistencyError, match=r"best/ has \d+ rows but pairs/ has \d+ rank-1 rows"):
        load_run(wh, run.run_id)
    assert set(counts(wh, run.run_id).values()) == {0}


def test_known_objects_fall_back_to_the_raw_snapshot_as_of_the_run(wh, client):
    run = generate_run(seed=3)
    ko = run.tables["known_objects"]
    t0 = datetime(2025, 6, 1, tzinfo=UTC)
    base = ko.slice(0, 20)
    write_known_objects_manifest(
        client, wh.lake_bucket, base, ingest_date="2025-06-01", ingest_run_id="i1", committed_at=t0
    )
    # the next day: KO-00000 deleted, KO-00001 moved (newer updated_at), KO-00020.. new
    changed = ko.slice(0, 2)
    changed = changed.set_column(changed.schema.get_field_index("deleted"), "deleted", pa.array([True, False]))
    changed = changed.set_column(changed.schema.get_field_index("ra_deg"), "ra_deg", pa.array([0.0, 123.0]))
    changed = changed.set_column(
        changed.schema.get_field_index("updated_at"),
        "updated_at",
        pa.array([t0 + timedelta(days=1)] * 2, pa.timestamp("us", tz="UTC")),
    )
    later = pa.concat_tables([changed, ko.slice(20)])
    write_known_objects_manifest(
        client, wh.lake_bucket, later, ingest_date="2025-06-02", ingest_run_id="i2", committed_at=t0 + timedelta(days=1)
    )
    # a rerun of 2025-06-01 replaces that date's first ingestion (which wrongly had only 5 rows)
    write_known_objects_manifest(
        client,
        wh.lake_bucket,
        ko.slice(0, 5),
        ingest_date="2025-06-01",
        ingest_run_id="i0-old",
        committed_at=t0 - timedelta(hours=1),
    )
    # committed after the run: must not be seen
    write_known_objects_manifest(
        client,
        wh.lake_bucket,
        ko.slice(0, 1).set_column(ko.schema.get_field_index("name"), "name", pa.array(["KO-FUTURE"])),
        ingest_date="2025-06-05",
        ingest_run_id="i3",
        committed_at=t0 + timedelta(days=30),
    )
    write_run(client, wh.lake_bucket, run, known_objects_in_run=False, committed_at=t0 + timedelta(days=2))

    result = load_run(wh, run.run_id)
    assert result.known_objects_source.startswith("raw:2 manifest(s)")
    with psycopg.connect(wh.postgres_dsn()) as conn:
        rows = dict(
            conn.execute("SELECT name, ra_deg FROM raw.known_objects WHERE run_id = %s", (run.run_id,)).fetchall()
        )
    expected = set(ko["name"].to_pylist()) - {"KO-00000"}
    assert set(rows) == expected
    assert rows["KO-00001"] == 123.0
    assert "KO-FUTURE" not in rows


def test_unreachable_postgres_is_one_clear_error(wh, client):
    run = generate_run()
    write_run(client, wh.lake_bucket, run)
    broken = derive(wh, POSTGRES_PORT="1")
    with pytest.raises(WarehouseUnavailableError, match=r"cannot reach PostgreSQL at 127\.0\.0\.1:1/") as err:
        load_run(broken, run.run_id)
    assert "\n" not in str(err.value)


def test_a_run_shaped_like_the_spark_job_output_loads(wh, client):
    """An older (format 1) marker listing folders, Spark part names + per-folder _SUCCESS, the job's extra
    columns and generic optical names (catalogue, mag, colour), metrics `params`."""
    from tests.warehouse_fixtures import spark_shaped

    run = spark_shaped(generate_run(seed=4))
    write_run(client, wh.lake_bucket, run, spark_layout=True)
    result = load_run(wh, run.run_id)
    assert result.rows["crossmatch_pairs"] == run.tables["pairs"].num_rows
    with psycopg.connect(wh.postgres_dsn()) as conn:
        got = conn.execute(
            "SELECT count(*), count(o.mag), count(p.p_single), bool_or(p.pm_missing) "
            "FROM raw.optical_sources o JOIN raw.crossmatch_pairs p "
            "USING (run_id, optical_catalogue, optical_id) WHERE run_id = %s",
            (run.run_id,),
        ).fetchone()
        params = conn.execute(
            "SELECT parameters ->> 'radius_arcsec' FROM raw.crossmatch_runs WHERE run_id = %s", (run.run_id,)
        ).fetchone()[0]
    assert got == (run.tables["pairs"].num_rows, run.tables["pairs"].num_rows, run.tables["pairs"].num_rows, False)
    assert params == "10.0"


def test_binary_copy_round_trips_every_type(wh):
    """NULLs, empty and non-ASCII text, NaN, -0.0, extreme ints, pre-1970 and pre-2000 timestamps, slices."""
    import math
    from datetime import datetime as dt

    from radiostars.warehouse.pgbinary import HEADER, TRAILER, encode

    utc = UTC
    t = pa.table(
        {
            "k": pa.array([0, 1, 2, 3, 4], pa.int64()),
            "s": pa.array(["a,b", "", None, 'q"x\\n', "ünï ✓"]),
            "f": pa.array([0.1 + 0.2, float("nan"), None, 1e-300, -0.0]),
            "b": pa.array([True, False, None, True, False]),
            "ts": pa.array(
                [
                    dt(2024, 1, 1, 1, 2, 3, 456789, tzinfo=utc),
                    dt(1999, 12, 31, 23, 59, 59, tzinfo=utc),
                    None,
                    dt(1969, 12, 31, 23, 59, 59, 1, tzinfo=utc),
                    dt(2000, 1, 1, tzinfo=utc),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "i": pa.array([1, None, 3, 2**62, -5], pa.int64()),
            "j": pa.array([1, 2, None, -7, 2**31 - 1], pa.int32()),
        }
    )
    kinds = ["int64", "string", "float64", "bool", "timestamp", "int64", "int32"]
    with psycopg.connect(wh.postgres_dsn(), autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE rt (k int8, s text, f float8, b bool, ts timestamptz, i int8, j int4)")
        with conn.cursor().copy("COPY rt FROM STDIN (FORMAT binary)") as copy:
            copy.write(HEADER)
            copy.write(encode(t, kinds))
            copy.write(encode(t.slice(2).set_column(0, "k", pa.array([5, 6, 7], pa.int64())), kinds))
            copy.write(TRAILER)
        rows = conn.execute("SELECT * FROM rt ORDER BY k").fetchall()
    expected = [tuple(r.values()) for r in t.to_pylist()]
    expected += [(5 + i, *row[1:]) for i, row in enumerate(expected[2:])]
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected):
        for g, w in zip(got, want):
            if isinstance(w, float) and math.isnan(w):
                assert math.isnan(g)
            else:
                assert g == w and (not isinstance(w, float) or math.copysign(1, g) == math.copysign(1, w))
