"""A tiny, fully known cross-match run + truth for the evaluation's tests.

Built with the real library (`crossmatch_partition`, `control_radio_frame`) so every column follows
docs/lake.md; `write_committed_run` puts it in the lake under a private prefix, `_SUCCESS` last.

The field (0.3° × 0.3° at RA 270°, Dec −20°): 5000 Gaia-like stars (~5.6·10⁴ deg⁻²), radio epoch 2019.5,
σ_radio 0.5″ per axis. Radio sources, with what the evaluation must find:
* 4 faint Gaia stars with radio at their propagated position + 0.3″ → recovered (pm < 1″/yr);
* 1 Hipparcos star with μ = (2000, −1500) mas/yr from J1991.25 (70″ of motion) → recovered only with
  epoch propagation;
* 1 Gaia star whose radio source is 20″ away (beyond r_max = 10″) → missed, not a candidate;
* 300 background sources at random positions (chance candidates only: ~0.16 per source).
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd

from radiostars.crossmatch import CrossmatchParams, control_radio_frame, crossmatch_partition, propagate_radec
from radiostars.crossmatch.calibration import calibrate_p_any_cut
from radiostars.crossmatch.control import offset_radec
from radiostars.crossmatch.epoch import jyear_to_mjd
from radiostars.crossmatch.properties import OPTICAL_PROPERTY_COLUMNS
from radiostars.evaluate.lakeio import RunData

RUN_ID = "tinyrun"
RADIO_EPOCH = 2019.5
RA0, DEC0, HALF = 270.0, -20.0, 0.15
N_FIELD, N_BACKGROUND = 5000, 300
RECOVERED_FAINT = 4
HPM_HIP = 87937
HPM_PM = (2000.0, -1500.0)
EXPECTED = {"injected": 6, "recovered_best": 5, "missed": 1, "hpm_stars": 1, "hpm_with": 1, "hpm_without": 0}


def _offset(ra: np.ndarray, dec: np.ndarray, east_arcsec: np.ndarray, north_arcsec: np.ndarray):
    """(ra, dec) moved by (east, north) arcsec along the great circle (the library's offset_radec)."""
    east, north = np.asarray(east_arcsec, dtype=float), np.asarray(north_arcsec, dtype=float)
    return offset_radec(ra, dec, np.hypot(east, north), np.degrees(np.arctan2(east, north)))


def _field(rng: np.random.Generator) -> pd.DataFrame:
    n = N_FIELD
    ra = RA0 + rng.uniform(-HALF, HALF, n) / math.cos(math.radians(DEC0))
    dec = DEC0 + rng.uniform(-HALF, HALF, n)
    plx = rng.gamma(2.0, 0.3, n) + 0.05
    return pd.DataFrame(
        {
            "catalogue": "gaia_dr3",
            "optical_id": (7 * 10**18 + np.arange(n)).astype(np.int64),
            "ra_deg": ra,
            "dec_deg": dec,
            "ref_epoch_yr": 2016.0,
            "ra_error_mas": 0.2,
            "dec_error_mas": 0.2,
            "pmra_mas_yr": rng.normal(0, 5, n),
            "pmdec_mas_yr": rng.normal(0, 5, n),
            "parallax_mas": plx,
            "parallax_error_mas": np.full(n, 0.02),
            "pmra_error_mas_yr": 0.05,
            "pmdec_error_mas_yr": 0.05,
            "mag": rng.uniform(12, 20, n),
            "colour": rng.uniform(0.5, 2.5, n),
            "is_synthetic": True,
        }
    )


def _hpm_star() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "catalogue": ["hipparcos2"],
            "optical_id": np.array([HPM_HIP], np.int64),
            "ra_deg": [RA0 + 0.02],
            "dec_deg": [DEC0 - 0.03],
            "ref_epoch_yr": [1991.25],
            "ra_error_mas": [1.0],
            "dec_error_mas": [1.0],
            "pmra_mas_yr": [HPM_PM[0]],
            "pmdec_mas_yr": [HPM_PM[1]],
            "parallax_mas": [100.0],
            "parallax_error_mas": [1.0],
            "pmra_error_mas_yr": [1.0],
            "pmdec_error_mas_yr": [1.0],
            "mag": [9.5],
            "colour": [1.6],
            "is_synthetic": [False],
        }
    )


def posterior_input(lib_pairs: pd.DataFrame, optical: pd.DataFrame) -> pd.DataFrame:
    """The library's pairs (real ids, or control ids ``<id>#c<k>``) as :data:`posterior.PAIRS_INPUT`, the optical
    properties joined from ``optical``."""
    ids = lib_pairs["radio_id"].astype(str).str.extract(r"^(.*?)(?:#c(\d+))?$")
    props = optical[["catalogue", "optical_id", *OPTICAL_PROPERTY_COLUMNS]]
    from radiostars.crossmatch.posterior import PAIRS_INPUT

    out = lib_pairs.assign(
        radio_id=ids[0].to_numpy(), control_offset=pd.to_numeric(ids[1]).fillna(-1).astype(np.int64).to_numpy()
    )
    out = out.merge(props, on=["catalogue", "optical_id"], how="left", validate="many_to_one")
    # each catalogue's own density, as the Spark job pools it per catalogue (docs/crossmatch.md §5): the library
    # call above counted every optical row of the field in one annulus
    hip = out["catalogue"] == "hipparcos2"
    field_arcsec2 = (2 * HALF * 3600.0) ** 2
    out.loc[hip, "rho_arcsec2"] = int((optical["catalogue"] == "hipparcos2").sum()) / field_arcsec2
    return out[list(PAIRS_INPUT)]


def score_tiny(
    lib_real: pd.DataFrame,
    lib_control: pd.DataFrame,
    optical: pd.DataFrame,
    n_real: int,
    n_control: int,
    params: CrossmatchParams,
):
    """:func:`radiostars.crossmatch.posterior.score_run` on the real and control pairs (what the run does)."""
    from radiostars.crossmatch.posterior import score_run

    pairs = pd.concat([posterior_input(lib_real, optical), posterior_input(lib_control, optical)], ignore_index=True)
    return score_run(pairs, n_real, n_control, params)


def build_tiny_run(seed: int = 7, *, scored: bool = True) -> tuple[RunData, pd.DataFrame]:
    """(RunData as the lake would hold it, truth frame as radio_truth.parquet). ``scored``: the run carries the
    joint posterior (``posterior.SCORED_COLUMNS`` on pairs/, its metrics and reliability cut in metrics.json) as a
    run with the run posterior does; False: a run written before it (per-partition p_any, false-rate cut)."""
    rng = np.random.default_rng(seed)
    params = CrossmatchParams()
    field = _field(rng)
    optical = pd.concat([field, _hpm_star()], ignore_index=True)

    # injected radio stars: positions of the chosen stars at the radio epoch
    chosen = optical.iloc[[10, 20, 30, 40, 50, N_FIELD]].reset_index(drop=True)
    ra_t, dec_t = propagate_radec(
        chosen["ra_deg"].to_numpy(),
        chosen["dec_deg"].to_numpy(),
        chosen["pmra_mas_yr"].to_numpy(),
        chosen["pmdec_mas_yr"].to_numpy(),
        chosen["parallax_mas"].to_numpy(),
        chosen["ref_epoch_yr"].to_numpy(),
        np.full(len(chosen), RADIO_EPOCH),
    )
    east = np.array([0.3, -0.2, 0.1, 0.25, 20.0, 0.2])  # index 4: 20″ off → missed
    north = np.array([0.0, 0.2, -0.3, 0.1, 0.0, -0.1])
    ra_r, dec_r = _offset(np.asarray(ra_t), np.asarray(dec_t), east, north)
    n_bg = N_BACKGROUND
    ra_bg = RA0 + rng.uniform(-HALF, HALF, n_bg) / math.cos(math.radians(DEC0))
    dec_bg = DEC0 + rng.uniform(-HALF, HALF, n_bg)
    names = [f"GSTAR{k:02d}" for k in range(len(chosen))] + [f"GBG{k:03d}" for k in range(n_bg)]
    n = len(names)
    peak = np.r_[np.array([0.2, 0.5, 1.0, 3.0, 0.4, 0.8]), rng.uniform(0.1, 2.0, n_bg)]
    radio = pd.DataFrame(
        {
            "row_id": np.arange(1, n + 1, dtype=np.int64),
            "source_name": names,
            "ra_deg": np.r_[ra_r, ra_bg],
            "dec_deg": np.r_[dec_r, dec_bg],
            "ra_err_arcsec": 0.5,
            "dec_err_arcsec": 0.5,
            "peak_flux_mjy": peak,
            "int_flux_mjy": peak * 1.1,
            "int_flux_err_mjy": 0.02,
            "rms_mjy": 0.02,
            "obs_epoch_mjd": float(jyear_to_mjd(RADIO_EPOCH)),
            "field": "TINY",
            "deleted": False,
            "updated_at": pd.Timestamp("2026-01-01T00:00:00"),
            "sigma_radio_arcsec": 0.5,
            "epoch_yr": RADIO_EPOCH,
        }
    )
    lib_radio = radio[["source_name", "ra_deg", "dec_deg", "sigma_radio_arcsec", "epoch_yr"]].rename(
        columns={"source_name": "radio_id"}
    )
    result = crossmatch_partition(lib_radio, optical, params)
    radio["healpix"] = result.radio.set_index("radio_id").loc[radio["source_name"], "healpix"].to_numpy(np.int64)
    p = result.pairs
    pos = radio.set_index("source_name")
    pairs = pd.DataFrame(
        {
            "run_id": RUN_ID,
            "radio_source_name": p["radio_id"].astype(str),
            "optical_catalogue": p["catalogue"].astype(str),
            "optical_id": p["optical_id"].astype(np.int64),
            "radio_ra_deg": pos.loc[p["radio_id"], "ra_deg"].to_numpy(),
            "radio_dec_deg": pos.loc[p["radio_id"], "dec_deg"].to_numpy(),
            "radio_epoch_yr": p["radio_epoch_yr"],
            "optical_ra_deg": p["ra_opt_deg"],
            "optical_dec_deg": p["dec_opt_deg"],
            "sep_arcsec": p["sep_arcsec"],
            "sigma_arcsec": p["sigma_arcsec"],
            "sep_sigma": p["sep_sigma"],
            "match_radius_arcsec": p["match_radius_arcsec"],
            "rank": p["rank"].astype(np.int32),
            "n_candidates": p["n_candidates"].astype(np.int32),
            "rank_in_catalogue": p["rank"].astype(np.int32),
            "n_candidates_in_catalogue": p["n_candidates"].astype(np.int32),
            "local_density_per_arcsec2": p["rho_arcsec2"],
            "p_chance": p["p_chance"],
            "ln_bayes_factor": p["ln_bayes_factor"],
            "prior": p["prior"],
            "p_any": p["p_any"],
            "p_i": p["p_i"],
            "p_single": p["p_single"],
            "healpix": p["healpix"].astype(np.int64),
            "sigma_radio_arcsec": p["sigma_radio_arcsec"],
            "sigma_opt_arcsec": p["sigma_opt_arcsec"],
            "dt_yr": p["dt_yr"],
            "pm_missing": p["pm_missing"].astype(bool),
            "n_annulus": p["n_annulus"].astype(np.int64),
        }
    ).reset_index(drop=True)
    best = pairs[pairs["rank"] == 1].reset_index(drop=True)

    offsets = params.control_offsets()
    control_result = crossmatch_partition(control_radio_frame(lib_radio, offsets), optical, params)
    per_offset = control_result.pairs["radio_id"].str.extract(r"#c(\d+)$")[0].astype(int).value_counts()
    control = pd.DataFrame(
        {
            "offset_name": [f"c{k}" for k in range(len(offsets))],
            "offset_ra_arcsec": [d * math.sin(math.radians(pa)) for d, pa in offsets],
            "offset_dec_arcsec": [d * math.cos(math.radians(pa)) for d, pa in offsets],
            "n_radio": np.int64(n),
            "n_matches": [int(per_offset.get(k, 0)) for k in range(len(offsets))],
        }
    )
    control["far_per_source"] = control["n_matches"] / n
    n_control = int(control["n_matches"].sum())
    # p_any of each shifted-control source's best candidate → the calibrated cut, as the job records it
    control_p_any = control_result.pairs.groupby("radio_id")["p_any"].max().to_numpy(float)
    calibration = calibrate_p_any_cut(control_p_any, n * len(offsets), params.target_false_rate).to_dict()
    metrics = {
        "run_id": RUN_ID,
        "params": params.to_dict(),
        "catalogues": ["gaia_dr3", "hipparcos2"],
        "radio": {"rows": n, "usable": n, "skipped_no_position": 0},
        "optical": {},
        "pairs": int(len(pairs)),
        "radio_with_candidates": int(len(best)),
        "p_chance_sum": float(pairs["p_chance"].sum()),
        "far_analytic": float(result.radio["expected_chance"].sum()) / n,
        "far_analytic_control_positions": float(control_result.radio["expected_chance"].sum()) / (n * len(offsets)),
        "far_control": n_control / (n * len(offsets)),
        "far_control_err": math.sqrt(n_control) / (n * len(offsets)),
        "control": {
            "offsets": len(offsets),
            "pairs": n_control,
            "per_offset": {f"c{k}": int(v) for k, v in sorted(per_offset.items())},
        },
        "calibration": calibration,
    }
    if scored:
        from radiostars.crossmatch.posterior import SCORED_COLUMNS

        post = score_tiny(result.pairs, control_result.pairs, optical, n, n * len(offsets), params)
        scored_real = post.real_pairs.rename(
            columns={"radio_id": "radio_source_name", "catalogue": "optical_catalogue"}
        )
        keys = ["radio_source_name", "optical_catalogue", "optical_id"]
        cols = [c for c in SCORED_COLUMNS if c not in ("prior", "p_single")]
        pairs = pairs.drop(columns=["p_any", "p_i"]).merge(
            scored_real[keys + cols], on=keys, how="left", validate="one_to_one"
        )
        best = pairs[(pairs["star_rank"] == 1) & pairs["is_star_primary"]].reset_index(drop=True)
        # the layout of radiostars.spark_engine.scoring: the reliability cut as `calibration`, score_run's metrics
        # as `posterior`
        metrics.update({"calibration": post.metrics["calibration"], "posterior": post.metrics})
    used = pairs[["optical_catalogue", "optical_id"]].drop_duplicates()
    optical_out = optical.merge(used.rename(columns={"optical_catalogue": "catalogue"}), on=["catalogue", "optical_id"])

    truth = pd.DataFrame(
        {
            "source_name": names,
            "row_id": radio["row_id"],
            "catalogue": ["gaia_dr3_synthetic"] * 5 + ["hipparcos2"] + ["background"] * n_bg,
            "star_id": pd.array(list(chosen["optical_id"]) + [None] * n_bg, dtype="Int64"),
            "is_injected": [True] * len(chosen) + [False] * n_bg,
            "true_ra_deg": np.r_[ra_t, ra_bg],
            "true_dec_deg": np.r_[dec_t, dec_bg],
            "int_true_mjy": radio["int_flux_mjy"],
            "field": ["TINY"] * 5 + ["HPM"] + ["TINY"] * n_bg,
            "obs_epoch_mjd": radio["obs_epoch_mjd"],
        }
    )
    # known objects: an AGN 5″ from the first injected star's radio position (→ never class A), a Star 3″
    # from the second (stars never count), an HII region far from everything
    ko_ra, ko_dec = _offset(
        radio["ra_deg"].to_numpy()[:2], radio["dec_deg"].to_numpy()[:2], np.array([5.0, 0.0]), np.array([0.0, 3.0])
    )
    known = pd.DataFrame(
        {
            "name": ["KO-AGN", "KO-STAR", "KO-HII"],
            "ra_deg": [*ko_ra, RA0 + 5.0],
            "dec_deg": [*ko_dec, DEC0],
            "object_type": ["AGN", "Star", "HII"],
        }
    )
    run = RunData(
        run_id=RUN_ID,
        lake_prefix="",
        metrics=metrics,
        pairs=pairs,
        best=best,
        control=control,
        radio=radio,
        optical=optical_out,
        known_objects=known,
    )
    return run, truth


def write_committed_run(settings, run: RunData, lake_prefix: str) -> str:
    """Write the run to s3://<bucket>/<lake_prefix>crossmatch/<run_id>/ as the Spark job does (Parquet
    folders with Spark's per-folder `_SUCCESS`, metrics.json), then commit it
    (:func:`radiostars.lake.runs.commit_run`, the marker last); returns the run folder key."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    from radiostars.lake.keys import METRICS, crossmatch_run_prefix
    from radiostars.lake.runs import commit_run
    from radiostars.lake.store import Lake

    lake = Lake(settings)
    prefix = crossmatch_run_prefix(run.run_id, lake_prefix)

    def put_frame(key: str, frame: pd.DataFrame, **options) -> None:
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf, **options)
        lake.put_bytes(prefix + key, buf.getvalue(), "application/vnd.apache.parquet")

    for name in ("pairs", "best", "control", "radio", "optical"):
        put_frame(f"{name}/part-00000.zstd.parquet", getattr(run, name), compression="zstd")
        lake.put_bytes(f"{prefix}{name}/_SUCCESS", b"")
    if run.known_objects is not None:  # committed with the run, as docs/lake.md allows
        put_frame("known_objects/part-00000.parquet", run.known_objects)
    lake.put_bytes(prefix + METRICS, json.dumps(run.metrics, indent=2).encode(), "application/json")
    commit_run(lake, run.run_id, lake_prefix, committed_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    return prefix
