"""The Gaia ↔ Hipparcos same-star rule of radiostars.evaluate.samestar (the warehouse's
int_candidate_same_star) on hand-made candidates with known answers, and the star-level completeness /
reliability it gives on hand-made truth tables."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from radiostars.evaluate import metrics as M
from radiostars.evaluate.samestar import (
    CANDIDATE_COLUMNS,
    SameStarRule,
    offsets_arcsec,
    run_candidates,
    same_star_links,
    same_star_rule,
)
from radiostars.evaluate.truth import false_flags, injected_stars, label_pairs, label_same_star, recovery_table
from tests.dbt_unit_cases import dbt_unit_test

pytestmark = pytest.mark.unit

DBT = M.PROJECT_ROOT / "dbt_project"
BIG = 7 * 10**18  # synthetic Gaia ids: a float round trip cannot tell BIG + 1 from BIG + 2
RULE = SameStarRule(
    same_star_min_arcsec=0.5, same_star_n_sigma=5.0, same_star_g_minus_hp_min=-3.0, same_star_g_minus_hp_max=1.0
)


def _dbt_hand_cases() -> pd.DataFrame:
    """The candidates of the dbt unit test ``same_star_hand_cases`` (int_candidate_same_star.yml: one source
    of cases for both implementations) with their expected counterpart and star rank."""
    test = dbt_unit_test("same_star_hand_cases")
    optical = {(o["optical_catalogue"], o["optical_id"]): o for o in test["given"]["ref('stg_optical_sources')"]}
    expect = {(e["radio_source_name"], e["optical_catalogue"], e["optical_id"]): e for e in test["expect"]}
    rows = []
    for p in test["given"]["ref('int_run_pairs')"]:
        o = optical[(p["optical_catalogue"], p["optical_id"])]
        e = expect[(p["radio_source_name"], p["optical_catalogue"], p["optical_id"])]
        mag = o.get("phot_g_mean_mag") if p["optical_catalogue"] == "gaia_dr3" else o.get("hp_mag")
        rows.append(
            {
                "label": o["optical_name"],
                "radio_source_name": p["radio_source_name"],
                "optical_catalogue": p["optical_catalogue"],
                "optical_id": p["optical_id"],
                "candidate_rank": p["candidate_rank"],
                "ra_deg": p["optical_ra_radio_epoch_deg"],
                "dec_deg": p["optical_dec_radio_epoch_deg"],
                "sigma_opt_arcsec": p["sigma_opt_arcsec"],
                "mag": mag,
                "pmra_mas_yr": o["pmra_mas_yr"],
                "pmdec_mas_yr": o["pmdec_mas_yr"],
                "dt_yr": p["radio_epoch_yr"] - o["ref_epoch_yr"],
                "expected_counterpart_id": e["counterpart_id"],
                "expected_star_rank": e["star_rank"],
            }
        )
    df = pd.DataFrame(rows)
    for col in ("optical_id", "candidate_rank", "expected_star_rank"):
        df[col] = df[col].astype("int64")
    for col in ("ra_deg", "dec_deg", "sigma_opt_arcsec", "mag", "pmra_mas_yr", "pmdec_mas_yr", "dt_yr"):
        df[col] = df[col].astype("float64")
    df["expected_counterpart_id"] = pd.array(df["expected_counterpart_id"], dtype="Int64")
    return df


def test_thresholds_are_the_dbt_vars():
    dbt_vars = M.dbt_vars()
    rule = same_star_rule()
    for name in rule.__dataclass_fields__:
        assert getattr(rule, name) == dbt_vars[name], name
    assert rule == RULE  # the defaults the hand cases are written for
    # the Python rule is the home of the defaults: the dbt vars (still read by the warehouse's SQL copy of the
    # rule) must equal them, and so must the run parameters' defaults
    assert rule == SameStarRule()
    from radiostars.crossmatch import CrossmatchParams

    assert CrossmatchParams().same_star_rule() == SameStarRule()
    # every var the SQL rule uses is one the Python rule reads (no threshold only one side knows)
    macro = (DBT / "macros" / "same_star.sql").read_text()
    used = set(re.findall(r"var\('([a-z_]+)'\)", macro))
    assert used == set(rule.__dataclass_fields__)


def test_same_star_links_on_the_dbt_hand_cases():
    cases = _dbt_hand_cases()
    assert len(cases) >= 30 and cases["expected_counterpart_id"].notna().sum() >= 20
    got = same_star_links(cases[list(CANDIDATE_COLUMNS)], RULE)
    assert len(got) == len(cases)
    key = ["radio_source_name", "optical_catalogue", "optical_id"]
    merged = cases.merge(got, on=key, validate="one_to_one")
    for row in merged.itertuples():
        want = None if pd.isna(row.expected_counterpart_id) else int(row.expected_counterpart_id)
        have = None if pd.isna(row.counterpart_id) else int(row.counterpart_id)
        assert (have, row.star_rank) == (want, row.expected_star_rank), row.label


def test_offsets_known_answers():
    # 1″ north at the equator; 0.072″ across RA 0/360; 1″ from the pole whatever the RA
    got = offsets_arcsec(
        [10.0, 359.99999, 0.0],
        [0.0, 0.0, 90.0],
        [10.0, 0.00001, 123.0],
        [1 / 3600, 0.0, 90 - 1 / 3600],
        [0, 0, 0],
        [0, 0, 0],
    )
    assert got == pytest.approx([1.0, 0.072, 1.0], rel=1e-9)
    # a 3″ shift east (in the tangent plane) lands on the point 3″ east; 4″ north at Dec 60
    got = offsets_arcsec(
        [20.0, 40.0], [0.0, 60.0], [20.0 + 3 / 3600, 40.0], [0.0, 60.0 + 4 / 3600], [3000.0, 0.0], [0.0, 4000.0]
    )
    assert np.all(got < 1e-6)


def _pair(radio, cat, oid, rank, ra, dec, *, sigma=0.02, mag=8.0, pm=(0.0, 0.0), dt=None):
    return {
        "radio_source_name": radio,
        "optical_catalogue": cat,
        "optical_id": oid,
        "candidate_rank": rank,
        "ra_deg": ra,
        "dec_deg": dec,
        "sigma_opt_arcsec": sigma,
        "mag": mag,
        "pmra_mas_yr": pm[0],
        "pmdec_mas_yr": pm[1],
        "dt_yr": dt if dt is not None else (3.0 if cat == "gaia_dr3" else 28.0),
    }


def test_a_star_without_proper_motion_moves_with_its_counterparts():
    # a 1″/yr star: Gaia has no pm (the sample's real Gaia stars), so its 2016 position is 3″ behind
    rows = [
        _pair("R", "gaia_dr3", 1, 2, 50.0, 0.0, sigma=0.15, pm=(np.nan, np.nan)),
        _pair("R", "hipparcos2", 2, 1, 50.0 + 3 / 3600, 0.0, pm=(1000.0, 0.0)),
    ]
    got = same_star_links(pd.DataFrame(rows), RULE).set_index("optical_id")
    assert got.loc[1, "counterpart_id"] == 2 and got.loc[2, "counterpart_id"] == 1
    assert got.loc[1, "same_star_offset_arcsec"] == pytest.approx(0.0, abs=1e-6)
    assert got.loc[1, "same_star_tolerance_arcsec"] == pytest.approx(5 * math.hypot(0.15, 0.02))
    assert list(got["star_rank"]) == [1, 1] and list(got["n_stars"]) == [1, 1]
    assert got["is_star_primary"].to_dict() == {1: False, 2: True}
    # the other way round: the Hipparcos entry without pm, the Gaia one with (400 mas/yr north, 28 yr)
    rows = [
        _pair("R", "gaia_dr3", 1, 1, 50.0, 0.0, pm=(0.0, 400.0)),
        _pair("R", "hipparcos2", 2, 2, 50.0, -11.2 / 3600, pm=(np.nan, np.nan)),
    ]
    assert same_star_links(pd.DataFrame(rows), RULE)["counterpart_id"].tolist() == [2, 1]
    # both without pm: positions compared as they are (3″ → two stars)
    rows = [
        _pair("R", "gaia_dr3", 1, 1, 50.0, 0.0, pm=(np.nan, np.nan)),
        _pair("R", "hipparcos2", 2, 2, 50.0 + 3 / 3600, 0.0, pm=(np.nan, np.nan)),
    ]
    got = same_star_links(pd.DataFrame(rows), RULE)
    assert got["counterpart_id"].isna().all() and list(got["star_rank"]) == [1, 2]


def test_links_are_symmetric_one_to_one_and_star_ranks_dense():
    rng = np.random.default_rng(5)
    rows = []
    for s in range(400):  # 1–4 candidates within a few arcsec, Gaia or Hipparcos, some nearly coincident
        n = int(rng.integers(1, 5))
        ra0, dec0 = rng.uniform(0, 360), rng.uniform(-89, 89)
        for r in range(n):
            near = r > 0 and rng.random() < 0.5
            sep = rng.uniform(0, 0.4) if near else rng.uniform(0, 5)
            pa = rng.uniform(0, 2 * np.pi)
            dec = dec0 + sep * math.cos(pa) / 3600
            ra = (ra0 + sep * math.sin(pa) / 3600 / math.cos(math.radians(dec0))) % 360
            cat = "gaia_dr3" if rng.random() < 0.6 else "hipparcos2"
            rows.append(
                _pair(
                    f"S{s}",
                    cat,
                    BIG + 10 * s + r if cat == "gaia_dr3" else 10 * s + r,
                    r + 1,
                    ra,
                    dec,
                    mag=rng.uniform(6, 10),
                )
            )
    cand = pd.DataFrame(rows)
    got = same_star_links(cand, RULE)
    assert len(got) == len(cand)
    linked = got[got["counterpart_id"].notna()]
    assert len(linked) > 50
    back = linked.set_index(["radio_source_name", "optical_catalogue", "optical_id"])
    for row in linked.itertuples():  # the counterpart names this candidate back, from the other catalogue
        other = back.loc[(row.radio_source_name, row.counterpart_catalogue, int(row.counterpart_id))]
        assert (other["counterpart_catalogue"], int(other["counterpart_id"])) == (row.optical_catalogue, row.optical_id)
        assert row.counterpart_catalogue != row.optical_catalogue
        assert row.same_star_offset_arcsec <= row.same_star_tolerance_arcsec
    for _, g in got.groupby("radio_source_name"):
        n_links = int(g["counterpart_id"].notna().sum()) // 2
        assert (g["n_stars"] == len(g) - n_links).all()
        assert sorted(set(g["star_rank"])) == list(range(1, len(g) - n_links + 1))
        assert g.loc[g["is_star_primary"], "star_rank"].is_unique
        assert g.loc[g["candidate_rank"] == 1, "star_rank"].item() == 1


def test_ids_stay_exact_int64():
    rows = [
        _pair("R", "gaia_dr3", BIG + 1, 1, 10.0, 0.0),
        _pair("R", "gaia_dr3", BIG + 2, 2, 10.0, 0.9 / 3600),
        _pair("R", "hipparcos2", 7, 3, 10.0, 0.05 / 3600),
    ]
    got = same_star_links(pd.DataFrame(rows), RULE).set_index("optical_id")
    assert got["counterpart_id"].dtype == "Int64"
    assert got.loc[7, "counterpart_id"] == BIG + 1 and pd.isna(got.loc[BIG + 2, "counterpart_id"])


def test_no_hipparcos_candidates_and_empty_input():
    rows = [_pair("R", "gaia_dr3", 1, 1, 10.0, 0.0), _pair("R", "gaia_dr3", 2, 2, 10.0, 0.0)]
    got = same_star_links(pd.DataFrame(rows), RULE)
    assert got["counterpart_id"].isna().all() and list(got["star_rank"]) == [1, 2]
    empty = same_star_links(pd.DataFrame(columns=list(CANDIDATE_COLUMNS)), RULE)
    assert len(empty) == 0 and "star_rank" in empty.columns
    with pytest.raises(ValueError, match="missing columns"):
        same_star_links(pd.DataFrame({"radio_source_name": ["R"]}), RULE)


def test_run_candidates_reads_the_lake_layout_and_the_warehouse_names():
    pairs = pd.DataFrame(
        {
            "radio_source_name": ["R", "R"],
            "optical_catalogue": ["gaia_dr3", "hipparcos2"],
            "optical_id": [BIG + 1, 7],
            "rank": [1, 2],
            "optical_ra_deg": [10.0, 10.0],
            "optical_dec_deg": [0.0, 0.1 / 3600],
            "radio_epoch_yr": [2019.5, 2019.5],
            "sigma_opt_arcsec": [0.2, 0.02],
        }
    )
    lake = pd.DataFrame(
        {
            "catalogue": ["gaia_dr3", "hipparcos2"],
            "optical_id": [BIG + 1, 7],
            "mag": [8.0, 8.3],
            "pmra_mas_yr": [np.nan, 5.0],
            "pmdec_mas_yr": [np.nan, -5.0],
            "ref_epoch_yr": [2016.0, 1991.25],
        }
    )
    cand = run_candidates(pairs, lake)
    assert list(cand.columns) == list(CANDIDATE_COLUMNS)
    assert cand["dt_yr"].tolist() == [3.5, 28.25] and cand["mag"].tolist() == [8.0, 8.3]
    assert cand["optical_id"].tolist() == [BIG + 1, 7]
    named = (
        lake.rename(columns={"catalogue": "optical_catalogue"})
        .drop(columns="mag")
        .assign(phot_g_mean_mag=[8.0, np.nan], hp_mag=[np.nan, 8.3])
    )
    pd.testing.assert_frame_equal(run_candidates(pairs, named), cand)
    # a run without sigma_opt: NaN → the tolerance is same_star_min_arcsec
    bare = run_candidates(pairs.drop(columns="sigma_opt_arcsec"), lake)
    assert bare["sigma_opt_arcsec"].isna().all()
    assert same_star_links(bare, RULE)["same_star_tolerance_arcsec"].tolist() == [0.5, 0.5]


# ---- star-level completeness and reliability on a hand-made truth table ----------------------------------


def _truth() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_name": ["R1", "R2", "R3", "R4", "B1"],
            "catalogue": ["gaia_dr3", "hipparcos2", "gaia_dr3_synthetic", "hipparcos2", "background"],
            "star_id": pd.array([BIG + 1, 20, BIG + 3, 40, None], dtype="Int64"),
            "is_injected": [True, True, True, True, False],
        }
    )


def _pairs_and_links() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [  # radio, catalogue, id, rank, counterpart (catalogue, id) or None
        ("R1", "hipparcos2", 10, 1, ("gaia_dr3", BIG + 1)),  # the injected Gaia star's Hipparcos entry is best
        ("R1", "gaia_dr3", BIG + 1, 2, ("hipparcos2", 10)),  # the injected star itself, rank 2
        ("R2", "hipparcos2", 20, 1, ("gaia_dr3", BIG + 2)),  # injected star best (id-exact)
        ("R2", "gaia_dr3", BIG + 2, 2, ("hipparcos2", 20)),  # its Gaia entry
        ("R3", "gaia_dr3", BIG + 33, 1, ("hipparcos2", 30)),  # another star (linked to its own HIP) is best
        ("R3", "hipparcos2", 30, 2, ("gaia_dr3", BIG + 33)),
        ("R3", "gaia_dr3", BIG + 3, 3, None),  # the injected star, rank 3
        ("R4", "gaia_dr3", BIG + 4, 1, None),  # not linked to HIP 40: a different star
        ("R4", "hipparcos2", 40, 2, None),
        ("B1", "gaia_dr3", BIG + 5, 1, ("hipparcos2", 50)),  # background source on a bright star
        ("B1", "hipparcos2", 50, 2, ("gaia_dr3", BIG + 5)),
    ]
    pairs = pd.DataFrame(
        [r[:4] for r in rows], columns=["radio_source_name", "optical_catalogue", "optical_id", "rank"]
    ).astype({"optical_id": "int64", "rank": "int32"})
    pairs["p_chance"] = [0.001, 0.001, 0.002, 0.002, 0.005, 0.02, 0.03, 0.5, 0.6, 0.004, 0.004]
    links = pd.DataFrame(
        {
            "radio_source_name": pairs["radio_source_name"],
            "optical_catalogue": pairs["optical_catalogue"],
            "optical_id": pairs["optical_id"],
            "counterpart_catalogue": [r[4][0] if r[4] else None for r in rows],
            "counterpart_id": pd.array([r[4][1] if r[4] else None for r in rows], dtype="Int64"),
        }
    )
    return pairs, links


def test_label_same_star_marks_the_injected_stars_other_entry():
    pairs, links = _pairs_and_links()
    inj = injected_stars(_truth())
    out = label_same_star(label_pairs(pairs, inj), links, inj)
    assert list(out["is_true_strict"]) == [False, True, True, False, False, False, True, False, True, False, False]
    assert list(out["is_same_star"]) == [True, False, False, True, False, False, False, False, False, False, False]
    assert list(out["is_true"]) == [True, True, True, True, False, False, True, False, True, False, False]
    assert out["counterpart_id"].iloc[0] == BIG + 1  # exact


def test_star_level_completeness_and_reliability_known_answers():
    pairs, links = _pairs_and_links()
    inj = injected_stars(_truth())
    labelled = label_same_star(label_pairs(pairs, inj), links, inj)
    rec = recovery_table(inj, pd.Series(["R1", "R2", "R3", "R4", "B1"]), labelled).set_index("source_name")
    assert rec["recovered_best"].to_dict() == {"R1": True, "R2": True, "R3": False, "R4": False}
    assert rec["recovered_best_strict"].to_dict() == {"R1": False, "R2": True, "R3": False, "R4": False}
    assert rec["recovered_any"].to_dict() == {"R1": True, "R2": True, "R3": True, "R4": True}
    assert rec["true_rank"].to_dict() == {"R1": 2.0, "R2": 1.0, "R3": 3.0, "R4": 2.0}
    assert M.completeness(rec["recovered_best"]) == M.Rate(2, 4)  # star level: R1, R2
    assert M.completeness(rec["recovered_best_strict"]) == M.Rate(1, 4)  # id-exact: R2 only
    best = labelled[labelled["rank"] == 1]
    assert M.reliability(best["is_true"]) == M.Rate(2, 5)
    assert M.reliability(best["is_true_strict"]) == M.Rate(1, 5)
    sel = best["p_chance"] < 0.01  # R1, R2, R3, B1
    assert M.reliability(best.loc[sel, "is_true"]) == M.Rate(2, 4)
    assert M.reliability(best.loc[sel, "is_true_strict"]) == M.Rate(1, 4)
    assert list(false_flags(best)) == ["same_star", "true", "wrong_star", "wrong_star", "background"]
    # a chance pair is one that is not the injected star in either catalogue: 11 pairs − 6 star-level true
    # (id-exact: R1 Gaia, R2 HIP, R3 Gaia, R4 HIP; same star: R1 HIP, R2 Gaia)
    assert int((~labelled["is_true"]).sum()) == 5 and int((~labelled["is_true_strict"]).sum()) == 7


def test_star_level_equals_strict_without_links():
    pairs, links = _pairs_and_links()
    inj = injected_stars(_truth())
    none = links.assign(counterpart_catalogue=None, counterpart_id=pd.array([None] * len(links), dtype="Int64"))
    labelled = label_same_star(label_pairs(pairs, inj), none, inj)
    assert (labelled["is_true"] == labelled["is_true_strict"]).all() and not labelled["is_same_star"].any()
    rec = recovery_table(inj, pd.Series(["R1", "R2", "R3", "R4"]), labelled)
    assert (rec["recovered_best"] == rec["recovered_best_strict"]).all()
