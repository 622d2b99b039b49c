"""The sample's truth (docs/data.md §4, `settings.truth_dir`) and labelling of a run's pairs with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import EvaluationError

TRUTH_FILE = "radio_truth.parquet"
TRUTH_COLUMNS = ("source_name", "catalogue", "star_id", "is_injected")
# truth `catalogue` → the run's `optical_catalogue`
TRUTH_TO_OPTICAL = {"gaia_dr3": "gaia_dr3", "gaia_dr3_synthetic": "gaia_dr3", "hipparcos2": "hipparcos2"}


def read_truth(truth_dir: Path) -> pd.DataFrame:
    """`radio_truth.parquet`; EvaluationError naming the command that writes it."""
    path = Path(truth_dir) / TRUTH_FILE
    if not path.exists():
        raise EvaluationError(
            f"no truth file {path}: it is written by `radiostars seed` (`make seed` / `make demo`) "
            "for the synthetic sample; real catalogues have no truth"
        )
    truth = pd.read_parquet(path)
    missing = [c for c in TRUTH_COLUMNS if c not in truth.columns]
    if missing:
        raise EvaluationError(f"{path} lacks columns {missing}: re-seed with `radiostars seed`")
    return truth


def injected_stars(truth: pd.DataFrame) -> pd.DataFrame:
    """One row per injected radio star: source_name, truth_catalogue, optical_catalogue, star_id (int64)."""
    inj = truth[truth["is_injected"].astype(bool)].copy()
    unknown = sorted(set(inj["catalogue"]) - set(TRUTH_TO_OPTICAL))
    if unknown:
        raise EvaluationError(f"truth has injected stars from unknown catalogues {unknown}")
    out = pd.DataFrame(
        {
            "source_name": inj["source_name"].astype(str).to_numpy(),
            "truth_catalogue": inj["catalogue"].astype(str).to_numpy(),
            "optical_catalogue": inj["catalogue"].map(TRUTH_TO_OPTICAL).to_numpy(),
            "star_id": inj["star_id"].astype("int64").to_numpy(),
        }
    )
    for col in ("field", "field_kind"):
        if col in inj.columns:
            out[col] = inj[col].astype(str).to_numpy()
    return out.drop_duplicates("source_name").reset_index(drop=True)


def label_pairs(pairs: pd.DataFrame, injected: pd.DataFrame) -> pd.DataFrame:
    """Copy of `pairs` with `is_true` (this pair is the injected star of its radio source) and
    `is_injected_source` (its radio source is an injected star, whatever the pair)."""
    true_keys = pd.DataFrame(
        {
            "radio_source_name": injected["source_name"].astype(str).to_numpy(),
            "optical_catalogue": injected["optical_catalogue"].astype(str).to_numpy(),
            "optical_id": injected["star_id"].astype("int64").to_numpy(),
            "_true": True,
        }
    )
    out = pairs.copy()
    keys = pd.DataFrame(
        {
            "radio_source_name": out["radio_source_name"].astype(str).to_numpy(),
            "optical_catalogue": out["optical_catalogue"].astype(str).to_numpy(),
            "optical_id": out["optical_id"].astype("int64").to_numpy(),
        }
    )
    # exact int64 join: a float round trip would merge ids ~7·10¹⁸ that differ in the last digits
    hit = keys.merge(true_keys, on=["radio_source_name", "optical_catalogue", "optical_id"], how="left")["_true"]
    out["is_true"] = hit.notna().to_numpy()
    out["is_injected_source"] = keys["radio_source_name"].isin(set(true_keys["radio_source_name"])).to_numpy()
    return out


def label_same_star(labelled: pd.DataFrame, links: pd.DataFrame, injected: pd.DataFrame) -> pd.DataFrame:
    """Star-level truth. Copy of `labelled` (:func:`label_pairs`) with `counterpart_catalogue` /
    `counterpart_id` (the pair's same-star entry in the other catalogue, from
    :func:`radiostars.evaluate.samestar.same_star_links`; null when none), `is_true_strict` (the id-exact
    label of :func:`label_pairs`), `is_same_star` (the pair is the injected star's entry in the other
    catalogue: its counterpart is the injected star's own pair) and **`is_true` = is_true_strict or
    is_same_star**: the pair is the injected physical star, whichever catalogue entry it is."""
    keys = ["radio_source_name", "optical_catalogue", "optical_id"]
    link = pd.DataFrame(
        {
            "radio_source_name": links["radio_source_name"].astype(str).to_numpy(),
            "optical_catalogue": links["optical_catalogue"].astype(str).to_numpy(),
            "optical_id": links["optical_id"].astype("int64").to_numpy(),
            "counterpart_catalogue": links["counterpart_catalogue"].to_numpy(),
            "counterpart_id": pd.array(links["counterpart_id"], dtype="Int64"),
        }
    )
    out = labelled.copy()
    key = pd.DataFrame(
        {
            "radio_source_name": out["radio_source_name"].astype(str).to_numpy(),
            "optical_catalogue": out["optical_catalogue"].astype(str).to_numpy(),
            "optical_id": out["optical_id"].astype("int64").to_numpy(),
        }
    )
    joined = key.merge(link, on=keys, how="left", validate="many_to_one")
    truth = pd.DataFrame(
        {
            "radio_source_name": injected["source_name"].astype(str).to_numpy(),
            "_true_catalogue": injected["optical_catalogue"].astype(str).to_numpy(),
            "_true_id": pd.array(injected["star_id"].astype("int64").to_numpy(), dtype="Int64"),
        }
    )
    joined = joined.merge(truth, on="radio_source_name", how="left", validate="many_to_one")
    same = (joined["counterpart_catalogue"] == joined["_true_catalogue"]) & (
        joined["counterpart_id"] == joined["_true_id"]
    )  # exact Int64 comparison, never through float
    out["counterpart_catalogue"] = joined["counterpart_catalogue"].to_numpy()
    out["counterpart_id"] = joined["counterpart_id"].to_numpy()
    out["is_true_strict"] = out["is_true"].to_numpy(bool)
    out["is_same_star"] = pd.array(same, dtype="boolean").fillna(False).to_numpy(bool)
    out["is_true"] = out["is_true_strict"] | out["is_same_star"]
    return out


def recovery_table(injected: pd.DataFrame, radio_names: pd.Series, pairs_labelled: pd.DataFrame) -> pd.DataFrame:
    """Per injected star: `in_run` (its radio source is in the run's radio snapshot), `recovered_best`
    (the source's best row is true: after :func:`label_same_star`, the injected star or its entry in the other
    catalogue), `recovered_best_strict` (the best row is the injected star's own id), `recovered_any`
    (the injected star is among the candidates), `true_rank` (rank of the injected star's own pair; NaN if
    absent). The best row is the run's: ``star_rank == 1 & is_star_primary`` when the pairs carry the joint
    posterior (what ``best/`` holds), else ``rank == 1``; ranks are ``star_rank`` then, else ``rank``."""
    out = injected.copy()
    out["in_run"] = out["source_name"].isin(set(radio_names.astype(str)))
    joint = {"star_rank", "is_star_primary"} <= set(pairs_labelled.columns)
    rank_col = "star_rank" if joint else "rank"
    is_best = (
        (pairs_labelled["star_rank"] == 1) & pairs_labelled["is_star_primary"].astype(bool)
        if joint
        else pairs_labelled["rank"] == 1
    )
    strict_col = "is_true_strict" if "is_true_strict" in pairs_labelled.columns else "is_true"
    own = pairs_labelled[pairs_labelled[strict_col].astype(bool)]
    rank = own.groupby("radio_source_name")[rank_col].min()
    out["true_rank"] = out["source_name"].map(rank).astype(float)
    out["recovered_any"] = out["true_rank"].notna()
    best = pairs_labelled[is_best]
    best_strict = best[best[strict_col].astype(bool)]
    out["recovered_best_strict"] = out["source_name"].isin(set(best_strict["radio_source_name"].astype(str)))
    best_true = best[best["is_true"].astype(bool)]
    out["recovered_best"] = out["source_name"].isin(set(best_true["radio_source_name"].astype(str)))
    return out


def float64_rounded(true_ids: pd.Series, got_ids: pd.Series) -> np.ndarray:
    """True where `got` differs from `true` but equals it after a float64 round trip: an id above 2⁵³ that
    lost its last digits upstream (the match found the right star, the id written is another one)."""
    t = pd.to_numeric(true_ids, errors="coerce").astype("Int64")
    g = pd.to_numeric(got_ids, errors="coerce").astype("Int64")
    ok = (t.notna() & g.notna()).to_numpy()
    out = np.zeros(len(t), dtype=bool)
    tv = t[ok].astype("int64").to_numpy()
    gv = g[ok].astype("int64").to_numpy()
    out[ok] = (gv != tv) & (gv == tv.astype(np.float64).astype(np.int64))
    return out


def false_flags(best_labelled: pd.DataFrame) -> pd.Series:
    """Kind of each best match: 'true' (the injected star's own id), 'same_star' (its entry in the other
    catalogue; only after :func:`label_same_star`), 'background' (the radio source is not a star) or
    'wrong_star' (an injected star matched to another star)."""
    strict = best_labelled["is_true_strict"] if "is_true_strict" in best_labelled.columns else best_labelled["is_true"]
    same = best_labelled["is_same_star"] if "is_same_star" in best_labelled.columns else False
    kind = np.where(
        strict,
        "true",
        np.where(same, "same_star", np.where(best_labelled["is_injected_source"], "wrong_star", "background")),
    )
    return pd.Series(kind, index=best_labelled.index, name="match_kind")
