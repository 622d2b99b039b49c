"""Unit tests of the ingestion logic that needs no service: params, keys, windows, rules, drift,
snapshot dedupe, failure summary."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pyarrow as pa
import pytest

from radiostars.catalogues.arrow import expected_schema
from radiostars.catalogues.tables import TABLE_NAMES
from radiostars.ingest import spec
from radiostars.ingest.drift import check_drift, compare_columns
from radiostars.ingest.errors import ParamsError, SchemaDriftError
from radiostars.ingest.extract import Key
from radiostars.ingest.pipeline import new_run_id, plan_window
from radiostars.ingest.validate import duplicate_row_ids, mjd, reasons
from radiostars.lake import keys
from radiostars.lake.errors import InvalidKeyError
from radiostars.lake.raw import dedupe_snapshot, select_effective
from radiostars.orchestration.common import failure_summary
from radiostars.orchestration.ingest_dag import ingest_date_of, param_specs

pytestmark = pytest.mark.unit
TS = dt.datetime(2026, 1, 1, 12, 0, 0)
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def test_table_list_matches_the_schema_module():
    from radiostars.catalogues.schema import TABLES

    assert TABLE_NAMES == tuple(TABLES) and spec.IngestParams().tables == TABLE_NAMES


def test_params_defaults_and_errors():
    p = spec.parse_params({})
    assert p == spec.IngestParams(TABLE_NAMES, False, spec.DEFAULT_CHUNK_SIZE)
    assert spec.parse_params({"tables": "gaia_dr3, radio_sources"}).tables == ("radio_sources", "gaia_dr3")
    assert spec.parse_params({"full_refresh": "true", "chunk_size": "2000"}).chunk_size == 2000
    for bad, match in [
        ({"tables": ["gaia"]}, "unknown table"),
        ({"tables": []}, "empty"),
        ({"chunk_size": 10}, r"chunk_size=10 must be in"),
        ({"chunk_size": "x"}, "integer"),
        ({"chunk_size": 1.5}, "integer"),
        ({"full_refresh": "maybe"}, "true or false"),
    ]:
        with pytest.raises(ParamsError, match=match):
            spec.parse_params(bad)


def test_param_specs_cover_what_parse_params_reads():
    specs = param_specs()
    assert set(specs) == {"tables", "full_refresh", "chunk_size", "safety_lag_s"}
    assert spec.parse_params({k: v["default"] for k, v in specs.items()}) == spec.IngestParams()
    assert specs["tables"]["items"]["enum"] == list(TABLE_NAMES)


def test_keys_and_prefix_checks():
    assert (
        keys.raw_run_prefix("gaia_dr3", "2026-01-02", "r1", "t/x/")
        == "t/x/raw/gaia_dr3/ingest_date=2026-01-02/run_id=r1/"
    )
    assert keys.watermark_key("gaia_dr3") == "_state/watermarks/gaia_dr3.json"
    assert keys.check_prefix("a/b") == "a/b/"
    with pytest.raises(InvalidKeyError):
        keys.check_prefix("/abs/")
    with pytest.raises(ParamsError):
        spec.check_ingest_date("2026-1-2")
    run_id = new_run_id(dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC))
    assert run_id.startswith("20260102T030405000006Z-") and keys.check_run_id(run_id) == run_id
    from radiostars.orchestration.assets import raw_asset_name, raw_asset_uri

    assert (
        raw_asset_uri("lake", "gaia_dr3") == "s3://lake/raw/gaia_dr3" and raw_asset_name("gaia_dr3") == "raw_gaia_dr3"
    )


def test_bad_quarantine_fraction_fails_validation_as_a_parameter_error(tmp_path):
    """The value is parsed by Settings (config.py); the ingestion turns a bad one into a ParamsError,
    which fails the Airflow task at once (no retries) and exits 2 in the CLI."""
    from radiostars.config import load_settings
    from radiostars.ingest import pipeline

    bad = load_settings(environ={"INGEST_QUARANTINE_MAX_FRACTION": "5%"}, env_file=tmp_path / "none")
    extracted = {"table": "radio_sources", "run_id": "r1", "lake_prefix": "", "staging": []}
    with pytest.raises(ParamsError, match="INGEST_QUARANTINE_MAX_FRACTION='5%' is not a number"):
        pipeline.validate(bad, extracted, lake=object())


def _m(date, frm, to, committed, full=False):
    return {
        "ingest_date": date,
        "run_id": committed,
        "committed_at": committed,
        "full_refresh": full,
        "watermark": {"from": frm and Key(TS, frm).as_dict(), "to": to and Key(TS, to).as_dict()},
    }


def test_plan_window_incremental_rerun_and_full_refresh():
    k = lambda r: Key(TS, r)  # noqa: E731
    # first run: from the beginning to the current max
    assert plan_window(None, [], "2026-01-01", False, k(10)) == (None, k(10), False)
    # next date: from the watermark
    ms = [_m("2026-01-01", None, 10, "a")]
    assert plan_window(k(10), ms, "2026-01-02", False, k(15)) == (k(10), k(15), False)
    # nothing new: empty window
    assert plan_window(k(10), ms, "2026-01-02", False, k(10)) == (k(10), k(10), False)
    # rerun of the latest date: same start, catches up to now
    assert plan_window(k(10), ms, "2026-01-01", False, k(12)) == (None, k(12), False)
    # rerun of an older date after a later one: replay exactly its window
    ms2 = ms + [_m("2026-01-02", 10, 15, "b")]
    assert plan_window(k(15), ms2, "2026-01-01", False, k(20)) == (None, k(10), False)
    # commit stopped between manifest and watermark: the manifest wins
    assert plan_window(k(10), ms2, "2026-01-03", False, k(20)) == (k(15), k(20), False)
    # full refresh
    assert plan_window(k(15), ms2, "2026-01-03", True, k(20)) == (None, k(20), True)
    # empty table
    assert plan_window(None, [], "2026-01-01", False, None) == (None, None, False)


def test_select_effective_newest_per_date_from_last_full_refresh():
    ms = [
        _m("2026-01-01", None, 10, "1"),
        _m("2026-01-02", 10, 12, "2"),
        _m("2026-01-02", 10, 13, "3"),
        _m("2026-01-03", 13, 14, "4"),
    ]
    assert [m["run_id"] for m in select_effective(ms)] == ["1", "3", "4"]
    ms.append(_m("2026-01-02", None, 14, "5", full=True))
    assert [m["run_id"] for m in select_effective(ms)] == ["5", "4"]


class _FakeLake:
    """Just what list_manifests reads: a listing and the manifests' JSON."""

    def __init__(self, manifests: dict[str, dict]):
        self.manifests = manifests

    def list(self, prefix):
        return [(k, 1) for k in sorted(self.manifests) if k.startswith(prefix)]

    def get_json(self, key):
        return self.manifests[key]


def test_effective_manifests_as_of_an_instant():
    """One function for every reader: ingest/Spark (now) and the warehouse loader (as of a run's commit)."""
    from radiostars.lake.raw import effective_manifests

    def m(date, run, committed, full=False):
        key = f"raw/known_objects/ingest_date={date}/run_id={run}/_manifest.json"
        return key, {"ingest_date": date, "run_id": run, "committed_at": committed, "full_refresh": full, "files": []}

    lake = _FakeLake(
        dict(
            [
                m("2026-01-01", "a", "2026-01-01T02:00:00+00:00"),
                m("2026-01-01", "b", "2026-01-01T05:00:00Z"),  # rerun of the date: newest wins (Z spelling)
                m("2026-01-02", "c", "2026-01-02T02:00:00+00:00"),
                m("2026-01-03", "d", "2026-01-03T02:00:00+00:00", full=True),
                m("2026-01-04", "e", None),  # scale-generator style: no committed_at
            ]
        )
    )
    runs = lambda ms: [x["run_id"] for x in ms]  # noqa: E731
    assert runs(effective_manifests(None, "known_objects", lake=lake)) == ["d", "e"]
    at = dt.datetime(2026, 1, 2, 12, 0, tzinfo=dt.UTC)
    got = effective_manifests(None, "known_objects", lake=lake, committed_before=at)
    assert runs(got) == ["b", "c"] and got[0]["key"].endswith("run_id=b/_manifest.json")
    early = dt.datetime(2026, 1, 1, 3, 0)  # naive = UTC: only the first attempt of the first date
    assert runs(effective_manifests(None, "known_objects", lake=lake, committed_before=early)) == ["a"]
    assert (
        effective_manifests(None, "known_objects", lake=lake, committed_before=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        == []
    )


def _gaia(rows: list[dict]) -> pa.RecordBatch:
    schema = expected_schema("gaia_dr3")
    base = {f.name: None for f in schema}
    base.update(
        ra=10.0,
        dec=-5.0,
        ra_error=0.1,
        dec_error=0.1,
        ref_epoch=2016.0,
        phot_g_mean_mag=15.0,
        is_synthetic=False,
        deleted=False,
        updated_at=TS,
    )
    full = [{**base, **r} for r in rows]
    return pa.RecordBatch.from_pylist(full, schema=pa.schema([f.with_nullable(True) for f in schema]))


def test_rules_flag_each_defect_and_spare_tombstones():
    batch = _gaia(
        [
            {"row_id": 1, "source_id": 1},
            {"row_id": 2, "source_id": 2, "ra": None},
            {"row_id": 3, "source_id": 3, "ra": 360.0},
            {"row_id": 4, "source_id": 4, "dec": -90.5},
            {"row_id": 5, "source_id": 5, "dec_error": 0.0},
            {"row_id": 6, "source_id": 6, "ref_epoch": 2116.0},
            {"row_id": 7, "source_id": 7, "parallax": float("inf")},
            {"row_id": 8, "source_id": 8, "ra": None, "deleted": True},  # tombstone: kept
            {"row_id": 9, "source_id": 1},  # duplicate of row 1
            {"row_id": 10, "source_id": 10, "ra": 720.25, "ra_error": -1.0},  # two defects
            {"row_id": 11, "source_id": 11, "ra_error": None},  # missing error is allowed
        ]
    )
    dups = duplicate_row_ids("gaia_dr3", pa.Table.from_batches([batch]).select(["row_id", "source_id", "deleted"]))
    assert dups.to_pylist() == [9]
    got = list(reasons("gaia_dr3", batch, NOW, dups))
    assert got == [
        "",
        "null_position",
        "ra_out_of_range",
        "dec_out_of_range",
        "nonpositive_error",
        "impossible_epoch",
        "nonfinite_value",
        "",
        "duplicate_id",
        "ra_out_of_range;nonpositive_error",
        "",
    ]


def test_radio_epoch_flux_and_known_object_type_rules():
    schema = pa.schema([f.with_nullable(True) for f in expected_schema("radio_sources")])
    base = dict(
        source_name="G1",
        ra_deg=1.0,
        dec_deg=1.0,
        ra_err_arcsec=0.5,
        dec_err_arcsec=0.5,
        peak_flux_mjy=1.0,
        int_flux_mjy=1.0,
        int_flux_err_mjy=0.1,
        rms_mjy=0.02,
        obs_epoch_mjd=58849.0,
        field="F",
        deleted=False,
        updated_at=TS,
    )
    rows = [
        {**base, "row_id": 1},
        {**base, "row_id": 2, "source_name": "G2", "obs_epoch_mjd": 99999.0},
        {**base, "row_id": 3, "source_name": "G3", "int_flux_mjy": None},
        {**base, "row_id": 4, "source_name": "G4", "obs_epoch_mjd": 30000.0},
    ]
    batch = pa.RecordBatch.from_pylist(rows, schema=schema)
    assert list(reasons("radio_sources", batch, NOW, pa.array([], pa.int64()))) == [
        "",
        "impossible_epoch",
        "nonfinite_flux",
        "impossible_epoch",
    ]
    schema = pa.schema([f.with_nullable(True) for f in expected_schema("known_objects")])
    base = dict(ra_deg=1.0, dec_deg=1.0, deleted=False, updated_at=TS)
    batch = pa.RecordBatch.from_pylist(
        [
            {**base, "row_id": 1, "name": "a", "object_type": "Star"},
            {**base, "row_id": 2, "name": "b", "object_type": "St@r?"},
            {**base, "row_id": 3, "name": "c", "object_type": None},
        ],
        schema=schema,
    )
    assert list(reasons("known_objects", batch, NOW, pa.array([], pa.int64()))) == ["", "unparsable_type", ""]


def test_mjd():
    assert mjd(dt.datetime(1858, 11, 17)) == 0.0
    assert mjd(dt.datetime(2000, 1, 1, 12, tzinfo=dt.UTC)) == 51544.5


def test_drift_missing_added_changed():
    live = [
        (
            f.name,
            {"int64": "bigint", "int32": "int", "double": "double", "bool": "tinyint"}.get(str(f.type), "datetime"),
        )
        for f in expected_schema("hipparcos2")
    ]
    assert not compare_columns("hipparcos2", live).blocking
    drift = compare_columns("hipparcos2", [c for c in live if c[0] != "hp_mag"] + [("new_col", "int")])
    assert drift.missing == ["hp_mag"] and drift.added == ["new_col"] and drift.blocking
    changed = [(n, "varchar" if n == "plx_mas" else t) for n, t in live]
    with pytest.raises(SchemaDriftError, match="plx_mas: expected double, found varchar"):
        check_drift("hipparcos2", changed, "db")
    with pytest.raises(SchemaDriftError, match="does not exist"):
        check_drift("hipparcos2", [], "db")
    assert check_drift("hipparcos2", live + [("extra", "int")], "db").added == ["extra"]


def test_dedupe_snapshot_latest_version_no_deleted_one_per_id():
    t = pa.table(
        {
            "row_id": [1, 1, 2, 3, 3, 4],
            "source_id": [10, 10, 20, 30, 30, 10],
            "updated_at": pa.array(
                [TS, TS + dt.timedelta(1), TS, TS, TS + dt.timedelta(1), TS + dt.timedelta(2)],
                pa.timestamp("us", tz="UTC"),
            ),
            "deleted": [False, False, False, False, True, False],
            "v": [1, 2, 3, 4, 5, 6],
        }
    )
    out = dedupe_snapshot(t, "source_id")
    # row 1 -> its newer version (v=2); row 3 deleted; row 4 shares id 10 with row 1 -> smaller row_id wins
    assert out.column("row_id").to_pylist() == [1, 2] and out.column("v").to_pylist() == [2, 3]


def test_failure_summary_and_ingest_date():
    ctx = {
        "ti": SimpleNamespace(task_id="ingest_gaia_dr3.validate", try_number=2),
        "exception": RuntimeError("gaia_dr3: 9 of 10 rows failed\nmore"),
        "dag_run": SimpleNamespace(
            run_id="manual__x",
            logical_date=None,
            run_after=dt.datetime(2026, 1, 2, 23, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
        ),
    }
    line = failure_summary(ctx)
    assert "\n" not in line and "task=ingest_gaia_dr3.validate" in line and "try=2" in line
    assert "RuntimeError: gaia_dr3: 9 of 10 rows failed" in line
    assert ingest_date_of(ctx) == "2026-01-03"  # UTC date
