"""Faults on the ingestion's source (docs/reliability.md, issue #19): MariaDB killed mid-extract, and a query
that never returns because the table is locked upstream. The small catalogue database and bucket of
tests/integration/test_ingest_pipeline.py (gaia_dr3: 3000 clean + the seeder's dirty rows); ~1 minute.

Each test compares the rerun's committed lake files with an undisturbed baseline ingestion of the same
rows: row counts, quarantine counts and a sha256 of the snapshot's rows (sorted by row_id)."""

from __future__ import annotations

import hashlib
import time
import uuid

import pytest

from radiostars.config import Settings
from radiostars.ingest import extract as extract_module
from radiostars.ingest import pipeline
from radiostars.ingest.errors import SourceUnavailable
from radiostars.lake import keys
from radiostars.lake.raw import effective_manifests, read_snapshot
from radiostars.lake.store import Lake
from tests.fault_injection import restore, signal_program
from tests.integration.test_ingest_pipeline import BUCKET, DAY1, DB, load_database, mysql_count

pytestmark = pytest.mark.integration

TABLE = "gaia_dr3"
CHUNK = 1000  # rows per MySQL page (the minimum): the fault lands between pages


@pytest.fixture(scope="module")
def fsettings(stack) -> Settings:
    s = Settings({**stack.values, "LAKE_BUCKET": BUCKET, "MYSQL_DATABASE": DB})
    load_database(s, dirty=True)
    return s


@pytest.fixture
def prefix(fsettings):
    p = f"faults-{uuid.uuid4().hex[:10]}/"
    yield p
    Lake(fsettings).remove_prefix(p)


@pytest.fixture(scope="module")
def baseline(fsettings):
    """An undisturbed ingestion of the table: what every faulted-then-rerun ingestion must equal."""
    p = f"faults-base-{uuid.uuid4().hex[:10]}/"
    r = pipeline.ingest_table(fsettings, TABLE, DAY1, lake_prefix=p, max_fraction=0.2, chunk_size=CHUNK)
    yield r, snapshot_fingerprint(fsettings, p)
    Lake(fsettings).remove_prefix(p)


def snapshot_fingerprint(settings: Settings, prefix: str) -> tuple[int, str]:
    """(rows, sha256 of the committed snapshot's catalogue columns, rows sorted by row_id)."""
    from radiostars.catalogues.schema import column_names

    snap = read_snapshot(settings, TABLE, prefix).sort_by("row_id")
    cols = [c for c in column_names(TABLE) if c in snap.column_names]
    digest = hashlib.sha256()
    for row in snap.select(cols).to_pylist():
        digest.update(repr(tuple(row.values())).encode())
    return snap.num_rows, digest.hexdigest()


def watermark(settings: Settings, prefix: str):
    return Lake(settings).get_json(keys.watermark_key(TABLE, prefix))


def test_mariadb_killed_mid_extract_fails_clearly_and_the_rerun_equals_the_baseline(fsettings, prefix, baseline):
    """(6) SIGKILL to mariadbd after the first page: the extract fails with one retryable line, nothing is
    committed and the watermark does not move; after the restart the rerun commits rows + quarantined =
    rows in, the same snapshot as the undisturbed baseline."""
    base, base_fp = baseline
    real_read = extract_module.Source.read_arrow
    pages, killed = [], []

    def read_then_kill(self, sql):
        pages.append(sql)
        if len(pages) == 2 and not killed:
            killed.append(signal_program(fsettings, "mariadb", "KILL"))
            time.sleep(0.5)
        return real_read(self, sql)

    extract_module.Source.read_arrow = read_then_kill
    t0 = time.monotonic()
    try:
        with pytest.raises(SourceUnavailable) as err:
            pipeline.ingest_table(fsettings, TABLE, DAY1, lake_prefix=prefix, max_fraction=0.2, chunk_size=CHUNK)
    finally:
        extract_module.Source.read_arrow = real_read
    failed_after_s = time.monotonic() - t0
    assert killed, "the fault was never injected"
    message = str(err.value)
    assert "\n" not in message and "MySQL" in message and err.value.retryable
    assert watermark(fsettings, prefix) is None and effective_manifests(fsettings, TABLE, prefix) == []
    recover_s = restore(fsettings, "mariadb", killed[0])

    again = pipeline.ingest_table(fsettings, TABLE, DAY1, lake_prefix=prefix, max_fraction=0.2, chunk_size=CHUNK)
    total = mysql_count(fsettings, TABLE)
    assert again["rows_in"] == total == again["rows"] + again["quarantined"]
    assert (again["rows"], again["quarantined"]) == (base["rows"], base["quarantined"])
    assert watermark(fsettings, prefix)["watermark"] == base["watermark"]["to"]
    fp = snapshot_fingerprint(fsettings, prefix)
    assert fp == base_fp
    print(
        f"\nfault 6: extract failed {failed_after_s:.1f} s after start ({message[:120]}); MariaDB back in "
        f"{recover_s:.1f} s; rerun: {again['rows']} rows + {again['quarantined']} quarantined = {total}; "
        f"snapshot sha256 {fp[1][:12]} = baseline"
    )


@pytest.mark.parametrize(
    "limit_key, var",
    [("MYSQL_LOCK_WAIT_TIMEOUT_S", "lock_wait_timeout"), ("MYSQL_STATEMENT_TIMEOUT_S", "max_statement_time")],
)
def test_a_table_locked_upstream_times_out_clearly_and_a_later_run_succeeds(
    fsettings, prefix, baseline, limit_key, var
):
    """(7) ``LOCK TABLES gaia_dr3 WRITE`` held by another session: the extract's query would wait forever;
    with the timeout at 2 s it fails in seconds with a line naming the timeout, nothing is committed; once
    the lock is released the next run commits the baseline's rows."""
    import MySQLdb

    from radiostars.ingest.extract import _conn_kwargs

    base, base_fp = baseline
    short = Settings({**fsettings.values, limit_key: "2"})
    kw = _conn_kwargs(fsettings.mysql_url(database=DB))
    locker = MySQLdb.connect(host=kw["host"], port=kw["port"], user=kw["user"], passwd=kw["password"], db=DB)
    try:
        locker.cursor().execute(f"LOCK TABLES `{TABLE}` WRITE")
        t0 = time.monotonic()
        with pytest.raises(SourceUnavailable) as err:
            pipeline.ingest_table(short, TABLE, DAY1, lake_prefix=prefix, max_fraction=0.2, chunk_size=CHUNK)
        waited_s = time.monotonic() - t0
    finally:
        try:
            locker.cursor().execute("UNLOCK TABLES")
        finally:
            locker.close()
    message = str(err.value)
    assert "\n" not in message and var in message and limit_key in message and err.value.retryable
    assert waited_s < 30, f"the timeout took {waited_s:.1f} s"
    assert watermark(fsettings, prefix) is None and effective_manifests(fsettings, TABLE, prefix) == []
    again = pipeline.ingest_table(short, TABLE, DAY1, lake_prefix=prefix, max_fraction=0.2, chunk_size=CHUNK)
    assert (again["rows"], again["quarantined"]) == (base["rows"], base["quarantined"])
    assert snapshot_fingerprint(fsettings, prefix) == base_fp
    print(f"\nfault 7: {var}=2 s fired after {waited_s:.1f} s: {message[:160]}")
