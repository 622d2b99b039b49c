"""dbt build + atomic publication + analyst role + documented queries, on a scratch bucket and a
scratch database (never the real `warehouse`). Five dbt builds: ~2–5 minutes on 2 cores.

The tests run in file order: run A is published by the module fixture; a later test publishes run C
(a real swap over existing marts, a run without Bayesian columns nor calibration); the next tries run B,
whose data breaks a dbt test, and checks that C is still what analysts see; then run D publishes while
the bad run B stays loaded (tests are scoped to the published run)."""

from __future__ import annotations

import math

import pandas as pd
import psycopg
import pyarrow as pa
import pytest

from radiostars.benchmark import sandbox
from radiostars.crossmatch.separation import separation_arcsec
from radiostars.lake.client import lake_client
from radiostars.sample.crossmatch_runs import HAND_L_NU, HAND_SOURCE, HIGH_PM_SOURCE, TWIN_HIP, TWIN_SOURCE
from radiostars.warehouse import PublishError, RunNotLoadedError
from radiostars.warehouse.load import load_run
from radiostars.warehouse.publish import publish, published_run
from radiostars.warehouse.queries import QUERIES, run_query
from tests.warehouse_fixtures import generate_run, write_run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wh(stack):
    with sandbox(stack) as settings:
        yield settings


@pytest.fixture(scope="module")
def run_a(wh):
    run = generate_run(seed=11)
    write_run(lake_client(wh), wh.lake_bucket, run)
    load_run(wh, run.run_id)
    result = publish(wh, run.run_id)
    return run, result


def owner(wh):
    return psycopg.connect(wh.postgres_dsn(), autocommit=True)


def analyst(wh):
    return psycopg.connect(wh.postgres_dsn(user=wh["ANALYST_USER"], password=wh["ANALYST_PASSWORD"]), autocommit=True)


def candidates(wh) -> dict[str, dict]:
    with owner(wh) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return {r["radio_source_name"]: r for r in cur.execute("SELECT * FROM marts.radio_star_candidates")}


def test_publish_builds_the_marts_for_the_run(wh, run_a):
    run, result = run_a
    assert result.run_id == run.run_id
    assert published_run(wh) == run.run_id
    rows = candidates(wh)
    assert len(rows) == result.n_candidates == run.truth["n_candidates"]
    assert {r["run_id"] for r in rows.values()} == {run.run_id}
    with owner(wh) as conn:
        n = {
            t: conn.execute(f"SELECT count(*) FROM marts.{t}").fetchone()[0]
            for t in ("crossmatch_pairs", "radio_sources", "optical_sources", "crossmatch_runs")
        }
    assert n == {
        "crossmatch_pairs": run.truth["n_pairs"],
        "radio_sources": 300,
        "optical_sources": run.tables["optical"].num_rows,
        "crossmatch_runs": 1,
    }


def test_l_nu_distance_and_flags_are_right(wh, run_a):
    run, _ = run_a
    rows = candidates(wh)
    hand = rows[HAND_SOURCE]
    assert hand["distance_pc"] == pytest.approx(10.0, rel=1e-14)
    assert hand["l_nu_erg_s_hz"] == pytest.approx(HAND_L_NU, rel=1e-12)
    assert hand["l_nu_erg_s_hz"] == pytest.approx(1.1964951828635066e14, rel=1e-12)  # by hand, see fixtures
    assert rows[HIGH_PM_SOURCE]["high_proper_motion"] is True
    assert rows[HIGH_PM_SOURCE]["pm_total_mas_yr"] == pytest.approx(500.0)
    assert {k for k, r in rows.items() if r["near_known_nonstellar"]} == run.truth["near_nonstellar"]
    for r in rows.values():
        good = r["parallax_mas"] / r["parallax_error_mas"] > 5
        assert (r["distance_pc"] is not None) == good
        if good:
            d_cm = 1000.0 / r["parallax_mas"] * 3.0856775814913673e18
            assert r["l_nu_erg_s_hz"] == pytest.approx(4 * math.pi * d_cm**2 * r["int_flux_mjy"] * 1e-26, rel=1e-12)
        assert r["multiple_candidates"] == (r["n_candidates"] > 1)
        pm = math.hypot(r["pmra_mas_yr"], r["pmdec_mas_yr"])
        assert r["high_proper_motion"] == (pm > 100)
        assert r["synthetic_source"] == (r["optical_id"] >= 7_000_000_000_000_000_000)
    assert_classes_follow_the_python_rule(rows, run)
    assert {r["reliability_class"] for r in rows.values()} == {"A", "B", "C"}


def assert_classes_follow_the_python_rule(rows: dict[str, dict], run) -> None:
    """One rule, two implementations: the mart's classes equal radiostars.evaluate.metrics.reliability_class
    (thresholds from the same dbt vars) on the same rows, with the run's calibrated p_any cut."""
    from radiostars.evaluate import metrics as M

    calibration = run.metrics.get("calibration")
    cut = calibration["p_any_cut"] if calibration else None
    names = sorted(rows)
    assert {rows[k]["class_p_any_cut"] for k in names} == {
        cut if cut is not None else M.class_rule().p_any_cut_uncalibrated
    }
    col = lambda c: [rows[k][c] for k in names]  # noqa: E731
    expected = M.reliability_class(
        col("p_chance"),
        col("p_any"),
        col("p_i"),
        n_candidates=col("n_candidates"),
        near_known_nonstellar=col("near_known_nonstellar"),
        p_any_cut=cut,
    )
    got = col("reliability_class")
    assert dict(zip(names, got)) == dict(zip(names, expected))


def test_same_star_links_follow_the_python_rule(wh, run_a):
    """One rule, two implementations: the same-star columns of marts.crossmatch_pairs equal
    radiostars.evaluate.samestar.same_star_links (thresholds from the same dbt vars) on the run's own pairs
    and optical rows; the fixture's Gaia/Hipparcos twin is one star in radio_star_candidates."""
    from radiostars.evaluate.samestar import run_candidates, same_star_links

    run, _ = run_a
    key = ["radio_source_name", "optical_catalogue", "optical_id"]
    expected = same_star_links(
        run_candidates(run.tables["pairs"].to_pandas(), run.tables["optical"].to_pandas())
    ).set_index(key)
    with owner(wh) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        rows = cur.execute(
            "SELECT radio_source_name, optical_catalogue, optical_id, counterpart_catalogue, "
            "counterpart_id, same_star_offset_arcsec, star_rank, is_star_primary, n_stars "
            "FROM marts.crossmatch_pairs"
        ).fetchall()
    assert len(rows) == len(expected) and expected["counterpart_id"].notna().sum() >= 2
    for r in rows:
        e = expected.loc[(r["radio_source_name"], r["optical_catalogue"], r["optical_id"])]
        want = None if pd.isna(e["counterpart_id"]) else (e["counterpart_catalogue"], int(e["counterpart_id"]))
        got = None if r["counterpart_id"] is None else (r["counterpart_catalogue"], r["counterpart_id"])
        assert got == want, r
        assert (r["star_rank"], r["is_star_primary"], r["n_stars"]) == (
            e["star_rank"],
            bool(e["is_star_primary"]),
            e["n_stars"],
        ), r
        if want is not None:
            assert r["same_star_offset_arcsec"] == pytest.approx(e["same_star_offset_arcsec"], abs=1e-9)
    twin = candidates(wh)[TWIN_SOURCE]
    assert twin["n_candidates"] == 2 and twin["n_stars"] == 1
    assert twin["multiple_candidates"] is True and twin["multiple_stars"] is False
    assert twin["same_star_offset_arcsec"] == pytest.approx(0.05, abs=1e-6)
    assert TWIN_HIP in (twin["optical_id"], twin["counterpart_id"])
    assert twin["counterpart_name"] in (f"HIP {TWIN_HIP}", f"Gaia DR3 {twin['counterpart_id']}")


def test_crossmatch_runs_carry_the_p_any_calibration(wh, run_a):
    run, _ = run_a
    cal = run.metrics["calibration"]
    with owner(wh) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        row = cur.execute("SELECT * FROM marts.crossmatch_runs WHERE run_id = %s", (run.run_id,)).fetchone()
        curve = cur.execute(
            "SELECT c.* FROM marts.crossmatch_runs r, "
            "jsonb_to_recordset(r.calibration_curve) AS c(p_any_cut float8, false_rate float8, n_selected bigint) "
            "WHERE r.run_id = %s ORDER BY c.p_any_cut",
            (run.run_id,),
        ).fetchall()
    assert (row["target_false_rate"], row["p_any_cut"], row["false_rate_at_cut"]) == (
        cal["target_false_rate"],
        cal["p_any_cut"],
        pytest.approx(cal["false_rate_at_cut"]),
    )
    assert (row["n_selected_at_cut"], row["n_control_sources"]) == (cal["n_selected_at_cut"], cal["n_control_sources"])
    assert [dict(c) for c in curve] == cal["curve"]


def test_q3c_indexes_exist_and_serve_cone_searches(wh, run_a):
    with owner(wh) as conn:
        idx = {
            (t, d)
            for t, d in conn.execute(
                "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'marts' AND indexdef LIKE '%q3c%'"
            )
        }
        tables = {t for t, _ in idx}
        assert tables == {"radio_star_candidates", "crossmatch_pairs", "radio_sources", "optical_sources"}
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN SELECT * FROM marts.radio_star_candidates "
                "WHERE q3c_radial_query(radio_ra_deg, radio_dec_deg, 266.4, -28.9, 0.01)"
            )
        )
    assert "radio_star_candidates_radio_ra_deg_q3c_idx" in plan


def test_analyst_reads_marts_only(wh, run_a):
    with analyst(wh) as conn:
        assert conn.execute("SELECT count(*) FROM marts.radio_star_candidates").fetchone()[0] > 0
        # read-only by default ...
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("DELETE FROM marts.radio_star_candidates")
        # ... and without privileges even when the session turns read-only off
        conn.execute("SET default_transaction_read_only = off")
        for stmt in (
            "INSERT INTO marts.crossmatch_runs (run_id) VALUES ('x')",
            "UPDATE marts.radio_star_candidates SET reliability_class = 'A'",
            "DELETE FROM marts.radio_sources",
            "TRUNCATE marts.crossmatch_pairs",
            "DROP TABLE marts.crossmatch_pairs",
            "CREATE TABLE marts.mine (x int)",
            "CREATE TABLE public.mine (x int)",
            "CREATE SCHEMA mine",
            "SELECT count(*) FROM raw.load_log",
            "SELECT count(*) FROM raw.crossmatch_pairs",
            "SELECT count(*) FROM staging.stg_crossmatch_pairs",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(stmt)


@pytest.mark.parametrize("name", list(QUERIES))
def test_documented_query_runs_as_analyst(wh, run_a, name):
    run, _ = run_a
    with analyst(wh) as conn:
        rows = run_query(conn, name)
    pairs = run.tables["pairs"].to_pandas()
    best = pairs[pairs["rank"] == 1]
    if name == "cone_search":
        q = QUERIES[name].example
        d = separation_arcsec(q["ra_deg"], q["dec_deg"], best["radio_ra_deg"], best["radio_dec_deg"])
        expected = set(best.loc[d <= q["radius_arcsec"], "radio_source_name"])
        assert expected and {r["radio_source_name"] for r in rows} == expected
        assert [r["dist_arcsec"] for r in rows] == sorted(r["dist_arcsec"] for r in rows)
    elif name == "top_l_nu":
        values = [r["l_nu_erg_s_hz"] for r in rows]
        assert rows and values == sorted(values, reverse=True) and len(rows) <= 20
        assert {r["reliability_class"] for r in rows} <= {"A", "B"}
    elif name == "near_known_nonstellar":
        assert {r["radio_source_name"] for r in rows} == run.truth["near_nonstellar"]
        assert all(r["nearest_nonstellar_sep_arcsec"] <= 10 for r in rows)
    elif name == "far_per_run":
        assert len(rows) == 1 and rows[0]["run_id"] == run.run_id and rows[0]["is_selected"]
        assert rows[0]["far_analytic"] == pytest.approx(run.metrics["far_analytic"])
        control = run.tables["control"].to_pandas()
        assert rows[0]["far_control_pooled"] == pytest.approx(control.n_matches.sum() / control.n_radio.sum())
    elif name == "within_distance":
        assert HAND_SOURCE in {r["radio_source_name"] for r in rows}
        assert all(r["distance_pc"] <= 50 for r in rows)
    elif name == "class_summary":
        assert sum(r["n"] for r in rows) == run.truth["n_candidates"]


def test_unloaded_run_is_not_published(wh, run_a):
    with pytest.raises(RunNotLoadedError, match="has no successful load"):
        publish(wh, "never-loaded-run")


def test_republish_swaps_in_a_new_run_and_regrants(wh, run_a):
    run_c = generate_run(seed=12, n_radio=200, with_bayes=False)
    write_run(lake_client(wh), wh.lake_bucket, run_c)
    load_run(wh, run_c.run_id)
    result = publish(wh)  # default: the latest loaded run
    assert result.run_id == run_c.run_id
    assert published_run(wh) == run_c.run_id
    with analyst(wh) as conn:
        rows = conn.execute("SELECT run_id, p_any FROM marts.radio_star_candidates").fetchall()
        runs = dict(conn.execute("SELECT run_id, is_selected FROM marts.crossmatch_runs").fetchall())
    assert {r[0] for r in rows} == {run_c.run_id} and len(rows) == run_c.truth["n_candidates"]
    assert {r[1] for r in rows} == {None}  # p_any null when the job gives no Bayesian columns
    assert runs == {run_a[0].run_id: False, run_c.run_id: True}
    with owner(wh) as conn:  # a run without metrics.json "calibration": NULLs, and the p_chance rule
        cal = conn.execute(
            "SELECT target_false_rate, p_any_cut, false_rate_at_cut, n_selected_at_cut, "
            "n_control_sources, calibration_curve FROM marts.crossmatch_runs WHERE run_id = %s",
            (run_c.run_id,),
        ).fetchone()
    assert "calibration" not in run_c.metrics and cal == (None,) * 6
    assert_classes_follow_the_python_rule(candidates(wh), run_c)
    with owner(wh) as conn:
        schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace")}
    assert "marts_previous" not in schemas and "marts_build" not in schemas


def test_a_failing_dbt_test_leaves_the_live_marts_untouched(wh, run_a):
    live = published_run(wh)
    with owner(wh) as conn:
        before = conn.execute("SELECT count(*), sum(sep_arcsec) FROM marts.radio_star_candidates").fetchone()
    run_b = generate_run(seed=13)
    pairs = run_b.tables["pairs"]
    sep = pairs["sep_arcsec"].to_numpy().copy()
    sep[0] = pairs["match_radius_arcsec"][0].as_py() * 1.5  # a pair beyond its own match radius
    run_b.tables["pairs"] = pairs.set_column(pairs.schema.get_field_index("sep_arcsec"), "sep_arcsec", pa.array(sep))
    write_run(lake_client(wh), wh.lake_bucket, run_b)
    load_run(wh, run_b.run_id)  # the loader checks shapes, not physics: dbt tests do
    with pytest.raises(PublishError, match=r"at_most_column.*sep_arcsec.*live marts left untouched") as err:
        publish(wh, run_b.run_id)
    assert any("at_most_column_stg_crossmatch_pairs_sep_arcsec" in f for f in err.value.failures)
    assert published_run(wh) == live
    with owner(wh) as conn:
        assert conn.execute("SELECT count(*), sum(sep_arcsec) FROM marts.radio_star_candidates").fetchone() == before
        status = conn.execute("SELECT status FROM raw.publish_log WHERE run_id = %s", (run_b.run_id,)).fetchone()
    assert status == ("failed",)
    with analyst(wh) as conn:  # still readable, and the failed build is not
        assert conn.execute("SELECT count(*) FROM marts.radio_star_candidates").fetchone()[0] == before[0]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM marts_build.radio_star_candidates")


def test_a_bad_old_run_no_longer_blocks_a_good_new_one(wh, run_a):
    """The staging/intermediate tests check only the run being published (dbt_project.yml `where`):
    run B, loaded above and failing its tests, stays in raw, and a good run D still publishes."""
    with owner(wh) as conn:
        bad = conn.execute("SELECT run_id FROM raw.publish_log WHERE status = 'failed'").fetchall()
        assert bad, "the failing-publication test above must have left its bad run loaded"
        (bad_run,) = bad[-1]
        assert (
            conn.execute(
                "SELECT count(*) FROM staging.stg_crossmatch_pairs WHERE run_id = %s "
                "AND sep_arcsec > match_radius_arcsec",
                (bad_run,),
            ).fetchone()[0]
            >= 1
        )
    run_d = generate_run(seed=14)
    write_run(lake_client(wh), wh.lake_bucket, run_d)
    load_run(wh, run_d.run_id)
    result = publish(wh, run_d.run_id)
    assert result.run_id == run_d.run_id and published_run(wh) == run_d.run_id
    rows = candidates(wh)
    assert len(rows) == run_d.truth["n_candidates"] and {r["run_id"] for r in rows.values()} == {run_d.run_id}
    assert_classes_follow_the_python_rule(rows, run_d)
    with owner(wh) as conn:
        runs = dict(conn.execute("SELECT run_id, is_selected FROM marts.crossmatch_runs").fetchall())
    assert runs[bad_run] is False and runs[run_d.run_id] is True  # the bad run is still listed, not shown
    # ... and publishing the bad run itself (older than D: only as an explicit rollback) still fails on its data
    assert publish(wh, bad_run).skipped  # the newest committed run wins (docs/reliability.md)
    with pytest.raises(PublishError, match="at_most_column.*sep_arcsec"):
        publish(wh, bad_run, allow_older=True)
    assert published_run(wh) == run_d.run_id


def test_every_mart_column_is_documented_and_vice_versa(wh, run_a):
    import yaml

    marts = wh.dbt_project_dir / "models" / "marts"
    with owner(wh) as conn:
        for yml in sorted(marts.glob("*.yml")):
            model = yaml.safe_load(yml.read_text())["models"][0]
            actual = [
                r[0]
                for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' "
                    "AND table_name = %s ORDER BY ordinal_position",
                    (model["name"],),
                )
            ]
            assert actual and set(actual) == {c["name"] for c in model["columns"]}, model["name"]


def test_posterior_run_publishes_the_sources_above_its_reliability_cut(wh, run_a):
    """A run as the job writes it since the run posterior: radio_star_candidates holds exactly the sources
    whose best p_any reaches the run's reliability cut, one row per star (the Gaia/Hipparcos twin merged, both
    ids side by side), classes from the cut; crossmatch_runs carries the cut, the estimated reliability, the
    completeness proxy, the fitted c and the prior status."""
    from tests.warehouse_fixtures import posterior_shaped

    run = posterior_shaped(generate_run(seed=15))
    write_run(lake_client(wh), wh.lake_bucket, run)
    load_run(wh, run.run_id)
    result = publish(wh, run.run_id)
    rows = candidates(wh)
    assert set(rows) == run.truth["posterior_selected"] and result.n_candidates == len(rows)
    assert 0 < len(rows) < run.tables["best"].num_rows  # the cut removed some sources
    cut = run.truth["posterior_cut"]
    assert all(r["p_any"] >= cut and r["selected_by_reliability_cut"] for r in rows.values())
    assert {r["class_p_any_cut"] for r in rows.values()} == {cut}
    assert_classes_follow_the_python_rule(rows, run)
    best = run.tables["best"].to_pandas().set_index("radio_source_name")
    for name, r in rows.items():  # the job's best star, not the positional rank-1 candidate
        assert (r["optical_catalogue"], r["optical_id"]) == tuple(best.loc[name, ["optical_catalogue", "optical_id"]])
    twin = rows[TWIN_SOURCE]
    assert twin["hip"] == TWIN_HIP and twin["gaia_source_id"] is not None and twin["n_stars"] == 1
    assert {twin["optical_id"], twin["counterpart_id"]} == {twin["gaia_source_id"], TWIN_HIP}
    sc = run.metrics["scoring"]
    with owner(wh) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        row = cur.execute("SELECT * FROM marts.crossmatch_runs WHERE run_id = %s", (run.run_id,)).fetchone()
        n_best = cur.execute("SELECT count(*) AS n FROM marts.crossmatch_pairs WHERE is_best").fetchone()["n"]
    assert n_best == run.tables["best"].num_rows
    assert row["cut_method"] == "target_reliability" and row["p_any_cut"] == cut
    assert (
        row["target_reliability"],
        row["reliability_estimated"],
        row["reliability_estimated_err"],
        row["completeness_proxy"],
        row["n_candidates_at_cut"],
    ) == (0.9, 0.93, 0.02, 0.85, len(rows))
    assert (row["c_fitted"], row["c_fitted_err"], row["prior_status"], row["cut_status"], row["cut_reached"]) == (
        sc["c"],
        sc["c_err"],
        "fitted",
        "estimated",
        True,
    )
    assert row["c_by_class"] == sc["c_by_class"] and row["scoring_fallbacks"] == []
    assert row["target_false_rate"] is None and row["p_any_cut_position_only"] == 0.97
