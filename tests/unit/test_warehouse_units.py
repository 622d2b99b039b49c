"""Warehouse pieces that need no service: schema checks, conforming batches, markers (run ids: test_lake.py),
the synthetic run generator, the documented queries and the dbt project's layout rules."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import yaml

from radiostars.crossmatch.separation import separation_arcsec
from radiostars.lake.runs import marker_entries, parse_time
from radiostars.sample.crossmatch_runs import HAND_L_NU
from radiostars.warehouse import ConsistencyError, SchemaMismatchError
from radiostars.warehouse.load import _conform
from radiostars.warehouse.queries import QUERIES, queries_markdown
from radiostars.warehouse.schema import FILE_RUN_ID, OPTICAL, PAIRS, RADIO, all_ddl
from tests.warehouse_fixtures import generate_run, spark_shaped

pytestmark = pytest.mark.unit

DBT = Path(__file__).resolve().parents[2] / "dbt_project"


@pytest.fixture(scope="module")
def run():
    return generate_run("unit-run", seed=5)


def test_plan_accepts_the_contract_and_marks_absent_optional_columns(run):
    plan = PAIRS.plan(run.tables["pairs"].schema, "pairs")
    assert plan["p_chance"] == "p_chance" and plan["p_single"] is None
    assert plan[FILE_RUN_ID] == "run_id"


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda t: t.drop_columns(["sep_arcsec", "rank"]), "missing column(s) sep_arcsec, rank"),
        (lambda t: t.append_column("foo", pa.array([1] * t.num_rows)), "unexpected column(s) foo"),
        (
            lambda t: t.set_column(t.schema.get_field_index("rank"), "rank", pa.array([1.5] * t.num_rows)),
            "wrong type: rank is double, expected int32",
        ),
    ],
)
def test_plan_names_every_problem(run, change, fragment):
    with pytest.raises(SchemaMismatchError) as err:
        PAIRS.plan(change(run.tables["pairs"]).schema, "crossmatch/x/pairs/part-0.parquet")
    assert fragment in str(err.value) and "crossmatch/x/pairs/part-0.parquet" in str(err.value)
    assert "\n" not in str(err.value)


def test_native_catalogue_names_are_accepted_once():
    gaia = pa.schema(
        [
            ("catalogue", pa.string()),
            ("source_id", pa.int64()),
            ("ra", pa.float64()),
            ("dec", pa.float64()),
            ("ref_epoch", pa.float64()),
            ("parallax", pa.float32()),
        ]
    )
    plan = OPTICAL.plan(gaia, "optical")
    assert (plan["optical_id"], plan["ra_deg"], plan["parallax_mas"]) == ("source_id", "ra", "parallax")
    twice = gaia.append(pa.field("optical_id", pa.int64()))
    with pytest.raises(SchemaMismatchError, match="given twice"):
        OPTICAL.plan(twice, "optical")


def test_conform_casts_fills_and_checks_the_run_id(run):
    radio = run.tables["radio"].drop_columns(["field"])
    radio = radio.set_column(
        radio.schema.get_field_index("int_flux_mjy"), "int_flux_mjy", radio["int_flux_mjy"].cast(pa.float32())
    )
    batch = radio.to_batches()[0]
    plan = RADIO.plan(radio.schema, "radio")
    out = _conform(batch, RADIO, plan, "unit-run", "radio")
    assert out.column_names == ["run_id", *RADIO.names]
    assert out["field"].null_count == out.num_rows
    assert out["int_flux_mjy"].type == pa.float64()
    assert set(out["run_id"].to_pylist()) == {"unit-run"}
    pairs = run.tables["pairs"]
    with pytest.raises(ConsistencyError, match="not 'other-run'"):
        _conform(pairs.to_batches()[0], PAIRS, PAIRS.plan(pairs.schema, "p"), "other-run", "p")


def test_marker_entries_and_times():
    assert marker_entries({"files": ["pairs/", {"key": "metrics.json"}, {"path": "x.parquet"}]}) == [
        ("pairs/", None, None),
        ("metrics.json", None, None),
        ("x.parquet", None, None),
    ]
    assert marker_entries({"files": [{"key": "pairs/part-0.parquet", "bytes": 12, "etag": "ab"}]}) == [
        ("pairs/part-0.parquet", 12, "ab")
    ]
    assert marker_entries({}) == []
    assert parse_time("2026-01-02T03:04:05Z").isoformat() == "2026-01-02T03:04:05+00:00"
    assert parse_time("2026-01-02T03:04:05").tzinfo is not None


def test_ddl_creates_every_raw_table_with_run_id_and_loaded_at():
    ddl = "\n".join(all_ddl())
    for table in (
        "crossmatch_pairs",
        "radio_sources",
        "optical_sources",
        "crossmatch_control",
        "known_objects",
        "crossmatch_runs",
        "load_log",
    ):
        assert f"raw.{table}" in ddl
    assert ddl.count("_loaded_at timestamptz NOT NULL DEFAULT now()") == 6


def test_ddl_migrates_older_run_tables_to_the_calibration_columns():
    from radiostars.warehouse.schema import RUNS_CALIBRATION_COLUMNS

    ddl = all_ddl()
    runs = next(d for d in ddl if "TABLE IF NOT EXISTS raw.crossmatch_runs" in d)
    for column, type_ in RUNS_CALIBRATION_COLUMNS:
        assert f"{column} {type_}" in runs  # a fresh database gets them at once
        (mig,) = [d for d in ddl if f"column_name = '{column}'" in d]  # an older one through a guarded ALTER
        assert "IF NOT EXISTS" in mig and f"ADD COLUMN {column} {type_}" in mig
    assert ddl.index(runs) < min(i for i, d in enumerate(ddl) if "ADD COLUMN" in d)


def test_calibration_columns_from_metrics():
    from radiostars.warehouse.load import calibration_columns

    empty = {
        "target_false_rate": None,
        "p_any_cut": None,
        "false_rate_at_cut": None,
        "n_selected_at_cut": None,
        "n_control_sources": None,
        "calibration_curve": None,
    }
    assert calibration_columns({}) == empty  # a run written before the calibration
    assert calibration_columns({"calibration": None}) == empty
    assert calibration_columns({"calibration": "soon"}) == empty
    curve = [
        {"p_any_cut": 0.0, "false_rate": 0.05, "n_selected": 600},
        {"p_any_cut": 0.83, "false_rate": 0.0098, "n_selected": 121},
    ]
    got = calibration_columns(
        {
            "calibration": {
                "target_false_rate": 0.01,
                "p_any_cut": 0.83,
                "false_rate_at_cut": 0.0098,
                "n_selected_at_cut": 121,
                "n_control_sources": 12345,
                "curve": curve,
            }
        }
    )
    assert got == {
        "target_false_rate": 0.01,
        "p_any_cut": 0.83,
        "false_rate_at_cut": 0.0098,
        "n_selected_at_cut": 121,
        "n_control_sources": 12345,
        "calibration_curve": json.dumps(curve),
    }
    odd = calibration_columns(
        {
            "calibration": {
                "p_any_cut": "0.5",
                "false_rate_at_cut": float("nan"),
                "n_selected_at_cut": 1.5,
                "n_control_sources": "x",
                "curve": {},
            }
        }
    )
    assert odd == {**empty, "p_any_cut": 0.5}  # numbers as strings pass; NaN, fractions, junk → NULL


def test_synthetic_run_records_a_consistent_calibration(run):
    cal = run.metrics["calibration"]
    curve = cal["curve"]
    assert [c["p_any_cut"] for c in curve] == sorted(c["p_any_cut"] for c in curve)
    assert all(c["false_rate"] == c["n_selected"] / cal["n_control_sources"] for c in curve)
    assert cal["false_rate_at_cut"] <= cal["target_false_rate"]
    before = [c for c in curve if c["p_any_cut"] < cal["p_any_cut"]]
    assert before and all(c["false_rate"] > cal["target_false_rate"] for c in before)  # the loosest cut meeting it
    assert "calibration" not in generate_run("old-run", seed=5, with_bayes=False).metrics


def test_staging_and_intermediate_tests_check_only_the_published_run():
    project = yaml.safe_load((DBT / "dbt_project.yml").read_text())
    scoped = project["data_tests"]["radiostars"]
    assert set(scoped) == {"staging", "intermediate"}  # marts hold the selected run already
    for layer in scoped.values():
        assert layer["+where"] == "run_id = __selected_run_id__"
    macro = (DBT / "macros" / "get_where_subquery.sql").read_text()
    assert (
        "macro get_where_subquery(relation)" in macro and "replace('__selected_run_id__', selected_run_id())" in macro
    )
    # every model of those layers has the run_id column the filter needs
    for layer in scoped:
        for yml in (DBT / "models" / layer).glob("*.yml"):
            for model in yaml.safe_load(yml.read_text()).get("models", []):
                assert (
                    "run_id" in {c["name"] for c in model.get("columns", [])}
                    or "run_id" in (DBT / "models" / layer / f"{model['name']}.sql").read_text()
                ), model["name"]


def test_synthetic_run_obeys_the_contract(run):
    p = run.tables["pairs"].to_pandas()
    assert (p.sep_arcsec <= p.match_radius_arcsec).all()
    exact = separation_arcsec(p.radio_ra_deg, p.radio_dec_deg, p.optical_ra_deg, p.optical_dec_deg)
    np.testing.assert_allclose(exact, p.sep_arcsec, rtol=0, atol=1e-9)
    for _, g in p.groupby("radio_source_name"):
        assert sorted(g["rank"]) == list(range(1, len(g) + 1))
        assert (g["n_candidates"] == len(g)).all()
        assert g.sort_values("rank")["sep_sigma"].is_monotonic_increasing
        assert g["p_i"].sum() == pytest.approx(g["p_any"].iloc[0])
    assert p.p_chance.between(0, 1).all()
    assert run.tables["best"].num_rows == (p["rank"] == 1).sum() == run.truth["n_candidates"]
    assert len(run.truth["near_nonstellar"]) == 8
    assert (p.radio_ra_deg > 359).any() and (p.radio_ra_deg < 1).any()  # some straddle RA = 0
    assert generate_run("unit-run", seed=5).tables["pairs"].equals(run.tables["pairs"])  # deterministic


def test_spark_shaped_run_still_matches_the_warehouse_schema(run):
    shaped = spark_shaped(run)
    for spec, part in ((PAIRS, "pairs"), (OPTICAL, "optical"), (RADIO, "radio")):
        spec.plan(shaped.tables[part].schema, part)


def test_hand_luminosity():
    d_cm = 10 * 3.0856775814913673e18
    assert HAND_L_NU == pytest.approx(4 * math.pi * d_cm**2 * 1e-26, rel=1e-15)
    assert HAND_L_NU == pytest.approx(1.1964951828635066e14, rel=1e-15)


def test_queries_read_marts_only_and_render():
    for q in QUERIES.values():
        assert "marts." in q.sql and "raw." not in q.sql and "staging." not in q.sql
        assert "%(" not in q.render()
    assert "q3c_radial_query" in QUERIES["cone_search"].sql
    md = queries_markdown()
    assert all(q.title in md for q in QUERIES.values())
    assert {"cone_search", "top_l_nu", "near_known_nonstellar", "far_per_run", "within_distance"} <= set(QUERIES)


def _model_files():
    return sorted(p for p in (DBT / "models").rglob("*.sql"))


def test_every_model_has_a_yml_beside_it_documenting_and_testing_it():
    assert len(_model_files()) >= 15
    for sql in _model_files():
        doc = yaml.safe_load(sql.with_suffix(".yml").read_text())
        (model,) = [m for m in doc["models"] if m["name"] == sql.stem]
        assert model.get("description"), sql.stem
        cols = model.get("columns", [])
        assert all(c.get("description") for c in cols), sql.stem
        n_tests = len(model.get("data_tests", [])) + sum(len(c.get("data_tests", [])) for c in cols)
        assert n_tests >= 1, f"{sql.stem} has no test"


def test_sources_have_freshness():
    doc = yaml.safe_load((DBT / "models" / "staging" / "_raw__sources.yml").read_text())
    src = doc["sources"][0]
    assert src["config"]["loaded_at_field"] == "_loaded_at"
    assert src["config"]["freshness"]["error_after"]


def test_binary_copy_encoding_by_hand():
    from radiostars.warehouse.pgbinary import HEADER, TRAILER, encode

    t = pa.table(
        {
            "s": pa.array(["ab", None]),
            "f": pa.array([1.5, None]),
            "i": pa.array([7, -1], pa.int32()),
            "b": pa.array([True, None]),
        }
    )
    got = bytes(encode(t, ["string", "float64", "int32", "bool"]))
    row1 = (
        b"\x00\x04"
        + b"\x00\x00\x00\x02ab"
        + b"\x00\x00\x00\x08"
        + bytes.fromhex("3ff8000000000000")
        + b"\x00\x00\x00\x04\x00\x00\x00\x07"
        + b"\x00\x00\x00\x01\x01"
    )
    row2 = (
        b"\x00\x04"
        + b"\xff\xff\xff\xff"
        + b"\xff\xff\xff\xff"
        + b"\x00\x00\x00\x04\xff\xff\xff\xff"
        + b"\xff\xff\xff\xff"
    )
    assert got in (row1 + row2, row2 + row1)  # rows are grouped by layout: order is free in COPY
    assert HEADER.startswith(b"PGCOPY\n\xff\r\n\x00") and len(HEADER) == 19 and TRAILER == b"\xff\xff"
    assert encode(t.slice(1), ["string", "float64", "int32", "bool"]) == row2
    from radiostars.warehouse.pgbinary import encode_scatter

    assert bytes(encode_scatter(t, ["string", "float64", "int32", "bool"])) == row1 + row2


def test_scatter_encoding_equals_row_by_row_encoding_on_random_sliced_tables():
    """The byte-scatter path (any mix of NULLs, empty and long strings, sliced arrays) writes each row exactly as
    the one-row encoding does."""
    from radiostars.warehouse.pgbinary import encode, encode_scatter

    rng = np.random.default_rng(3)
    n = 300
    words = ["", "a", "radio", "é★", "x" * 40]
    t = pa.table(
        {
            "s": pa.array([None if rng.uniform() < 0.2 else words[rng.integers(5)] for _ in range(n)]),
            "f": pa.array(np.where(rng.uniform(size=n) < 0.2, np.nan, rng.normal(size=n)), from_pandas=True),
            "i": pa.array([None if rng.uniform() < 0.1 else int(v) for v in rng.integers(-9, 9, n)], pa.int64()),
            "b": pa.array([None if rng.uniform() < 0.1 else bool(v) for v in rng.integers(0, 2, n)]),
        }
    ).slice(17, 250)
    kinds = ["string", "float64", "int64", "bool"]
    rows = b"".join(encode(t.slice(i, 1), kinds) for i in range(t.num_rows))
    assert bytes(encode_scatter(t, kinds)) == rows
