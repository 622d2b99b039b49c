"""Truth labelling of radiostars.evaluate on hand-made truth and pair tables."""

from __future__ import annotations

import pandas as pd
import pytest

from radiostars.evaluate import EvaluationError
from radiostars.evaluate.truth import (
    false_flags,
    float64_rounded,
    injected_stars,
    label_pairs,
    read_truth,
    recovery_table,
)

pytestmark = pytest.mark.unit

BIG = 7 * 10**18  # synthetic Gaia ids: a float round trip cannot tell BIG + 10 from BIG + 11


def _truth() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_name": ["R1", "R2", "R3", "R4", "B1"],
            "catalogue": ["gaia_dr3_synthetic", "hipparcos2", "gaia_dr3", "gaia_dr3_synthetic", "background"],
            "star_id": pd.array([BIG + 10, 5, 123, BIG + 99, None], dtype="Int64"),
            "is_injected": [True, True, True, True, False],
        }
    )


def _pairs() -> pd.DataFrame:
    rows = [  # radio, catalogue, id, rank
        ("R1", "gaia_dr3", BIG + 10, 1),  # true, best
        ("R1", "gaia_dr3", BIG + 11, 2),  # neighbouring id: false
        ("R2", "gaia_dr3", 5, 1),  # right id, wrong catalogue: false
        ("R2", "hipparcos2", 5, 2),  # true at rank 2
        ("R3", "gaia_dr3", 999, 1),  # wrong star; true star absent
        ("B1", "gaia_dr3", BIG + 10, 1),  # background source
    ]
    return pd.DataFrame(rows, columns=["radio_source_name", "optical_catalogue", "optical_id", "rank"]).astype(
        {"optical_id": "int64", "rank": "int32"}
    )


def test_injected_stars_maps_truth_catalogues_to_run_catalogues():
    inj = injected_stars(_truth())
    assert list(inj["source_name"]) == ["R1", "R2", "R3", "R4"]
    assert list(inj["optical_catalogue"]) == ["gaia_dr3", "hipparcos2", "gaia_dr3", "gaia_dr3"]
    assert inj["star_id"].dtype == "int64" and inj.loc[0, "star_id"] == BIG + 10


def test_injected_stars_rejects_unknown_catalogue():
    t = _truth()
    t.loc[0, "catalogue"] = "tycho2"
    with pytest.raises(EvaluationError, match="tycho2"):
        injected_stars(t)


def test_label_pairs_exact_ids_and_catalogue():
    out = label_pairs(_pairs(), injected_stars(_truth()))
    assert list(out["is_true"]) == [True, False, False, True, False, False]
    assert list(out["is_injected_source"]) == [True, True, True, True, True, False]
    assert len(out) == len(_pairs())


def test_recovery_table_best_any_rank_and_not_in_run():
    pairs = label_pairs(_pairs(), injected_stars(_truth()))
    rec = recovery_table(injected_stars(_truth()), pd.Series(["R1", "R2", "R3", "B1"]), pairs).set_index("source_name")
    assert rec["in_run"].to_dict() == {"R1": True, "R2": True, "R3": True, "R4": False}
    assert rec["recovered_best"].to_dict() == {"R1": True, "R2": False, "R3": False, "R4": False}
    assert rec["recovered_any"].to_dict() == {"R1": True, "R2": True, "R3": False, "R4": False}
    assert rec.loc["R2", "true_rank"] == 2.0 and pd.isna(rec.loc["R3", "true_rank"])


def test_false_flags_kinds():
    best = label_pairs(_pairs(), injected_stars(_truth()))
    best = best[best["rank"] == 1]
    assert list(false_flags(best)) == ["true", "wrong_star", "wrong_star", "background"]


def test_read_truth_missing_file_says_which_command_writes_it(tmp_path):
    with pytest.raises(EvaluationError, match="radiostars seed"):
        read_truth(tmp_path)


def test_read_truth_requires_columns(tmp_path):
    pd.DataFrame({"source_name": ["x"]}).to_parquet(tmp_path / "radio_truth.parquet")
    with pytest.raises(EvaluationError, match="lacks columns"):
        read_truth(tmp_path)


def test_float64_rounded_detects_ids_that_lost_their_last_digits():
    true = pd.Series([BIG + 285, BIG + 285, 87937, BIG + 285, None], dtype="Int64")
    rounded = int(float(BIG + 285))
    assert rounded != BIG + 285
    got = pd.Series([rounded, BIG + 285, 87937, BIG + 9999, rounded], dtype="Int64")
    assert list(float64_rounded(true, got)) == [True, False, False, False, False]
