"""The warehouse tests' synthetic runs: a small run in memory (tests mutate it before writing), the Spark
job's output shape, the writers (committed through the lake's contract, or in the older folder-marker
form) and a committed raw/known_objects/ ingestion. The generator itself is
:mod:`radiostars.sample.crossmatch_runs`; the scratch bucket + database :func:`radiostars.benchmark.sandbox`.
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from radiostars.crossmatch.epoch import mjd_to_jyear
from radiostars.crossmatch.separation import separation_arcsec
from radiostars.sample.crossmatch_runs import (
    HAND_L_NU,
    HAND_SOURCE,
    HIGH_PM_SOURCE,
    NEAR_KNOWN_ARCSEC,
    NONSTELLAR_TYPES,
    SyntheticRun,
    control_table,
    known_objects_table,
    put_json,
    put_parquet,
    run_metrics,
    synthetic_tables,
)


def truth_of(tables: dict[str, pa.Table]) -> dict:
    """Expected mart facts, computed by brute force from the tables."""
    pairs = tables["pairs"].to_pandas()
    best = pairs[pairs["rank"] == 1]
    flagged = set()
    if "known_objects" in tables and len(best):
        ko = tables["known_objects"].to_pandas()
        ko = ko[ko["object_type"].isin(NONSTELLAR_TYPES)]
        for _, row in best.iterrows():
            s = separation_arcsec(row.radio_ra_deg, row.radio_dec_deg, ko["ra_deg"], ko["dec_deg"])
            if (s <= NEAR_KNOWN_ARCSEC).any():
                flagged.add(row.radio_source_name)
    return {
        "n_candidates": len(best),
        "near_nonstellar": flagged,
        "n_pairs": len(pairs),
        "hand_source": HAND_SOURCE,
        "hand_l_nu": HAND_L_NU,
        "high_pm_source": HIGH_PM_SOURCE,
    }


def generate_run(
    run_id: str | None = None, n_radio: int = 300, *, seed: int = 0, with_bayes: bool = True, known_objects: bool = True
) -> SyntheticRun:
    """A small synthetic run, in memory (tests mutate ``tables`` before writing to break it).

    ``with_bayes=False``: a run as the job wrote them before the Bayesian cross-identification — null
    ``ln_bayes_factor``/``prior``/``p_any``/``p_i`` and no metrics.json ``calibration``."""
    run_id = run_id or f"test-wh-{uuid.uuid4().hex[:12]}"
    rng = np.random.default_rng(seed)
    tables = synthetic_tables(rng, 0, n_radio, with_bayes=with_bayes, fixed=True)
    tables["pairs"] = tables["pairs"].set_column(0, "run_id", pa.array([run_id] * tables["pairs"].num_rows))
    tables["best"] = tables["pairs"].filter(pa.compute.equal(tables["pairs"]["rank"], 1))
    tables["control"] = control_table(rng, n_radio)
    if known_objects:
        tables["known_objects"] = known_objects_table(rng, tables["radio"], tables["pairs"])
    best_sum = float(pa.compute.sum(tables["best"]["p_chance"]).as_py() or 0.0)
    metrics = run_metrics(
        run_id,
        n_radio,
        tables["pairs"].num_rows,
        best_sum,
        tables["best"].num_rows,
        tables["optical"].num_rows,
        tables["control"],
        seed,
        with_calibration=with_bayes,
    )
    return SyntheticRun(run_id, tables, metrics, truth_of(tables))


def spark_shaped(run: SyntheticRun) -> SyntheticRun:
    """The same run in the shape the Spark job (include/radiostars/spark_engine/run.py) writes today: extra
    pair columns, generic optical ``catalogue``/``mag``/``colour`` names, metrics ``params`` with
    ``radius_arcsec``; write it with ``write_run(..., spark_layout=True)``."""
    t = dict(run.tables)
    pairs = t["pairs"]
    m = pairs.num_rows
    sig_r = np.sqrt(np.maximum(pairs["sigma_arcsec"].to_numpy() ** 2 - 0.25 - 0.01, 1e-6))
    extra = {
        "rank_in_catalogue": pairs["rank"],
        "n_candidates_in_catalogue": pairs["n_candidates"],
        "p_single": pairs["p_i"],
        "healpix": pa.array(np.zeros(m, np.int64)),
        "sigma_radio_arcsec": pa.array(sig_r),
        "sigma_opt_arcsec": pa.array(np.full(m, 0.1)),
        "dt_yr": pa.array(pairs["radio_epoch_yr"].to_numpy() - 2016.0),
        "pm_missing": pa.array(np.zeros(m, bool)),
        "n_annulus": pa.array(np.full(m, 400, np.int64)),
    }
    for name, col in extra.items():
        pairs = pairs.append_column(name, col)
    t["pairs"] = pairs
    t["best"] = pairs.filter(pa.compute.equal(pairs["rank"], 1))
    opt = t["optical"]
    gaia = pa.compute.equal(opt["optical_catalogue"], "gaia_dr3")
    mag = pa.compute.if_else(gaia, opt["phot_g_mean_mag"], opt["hp_mag"])
    colour = pa.compute.if_else(gaia, opt["bp_rp"], opt["b_v"])
    opt = opt.drop_columns(["phot_g_mean_mag", "bp_rp", "hp_mag", "b_v", "healpix"])
    opt = opt.rename_columns(["catalogue" if n == "optical_catalogue" else n for n in opt.column_names])
    t["optical"] = opt.append_column("mag", mag).append_column("colour", colour)
    radio = t["radio"]
    t["radio"] = radio.append_column(
        "sigma_radio_arcsec",
        pa.array(np.sqrt((radio["ra_err_arcsec"].to_numpy() ** 2 + radio["dec_err_arcsec"].to_numpy() ** 2) / 2)),
    ).append_column("epoch_yr", pa.array(mjd_to_jyear(radio["obs_epoch_mjd"].to_numpy())))
    metrics = {k: v for k, v in run.metrics.items() if k != "parameters"}
    params = {k: v for k, v in run.metrics["parameters"].items() if k != "r_max_arcsec"}
    metrics["params"] = {**params, "radius_arcsec": run.metrics["parameters"]["r_max_arcsec"]}
    return SyntheticRun(run.run_id, t, metrics, run.truth)


def write_run(
    client,
    bucket: str,
    run: SyntheticRun,
    *,
    commit: bool = True,
    known_objects_in_run: bool = True,
    committed_at: datetime | None = None,
    spark_layout: bool = False,
) -> list[str]:
    """Write ``run`` under ``crossmatch/<run_id>/`` (Parquet parts, metrics.json), then commit it with
    :func:`radiostars.lake.runs.commit_run` (the ``_SUCCESS`` marker listing every file, last).

    ``spark_layout``: Spark-style part names and per-folder ``_SUCCESS`` files, and a marker in the
    older format (format 1) that lists folders (``"pairs/"``) rather than files — readers keep
    accepting it. Returns the bucket-relative keys of the data files and metrics.json."""
    from radiostars.lake.keys import MARKER, METRICS, crossmatch_run_prefix
    from radiostars.lake.runs import commit_run
    from radiostars.lake.store import Lake

    prefix = crossmatch_run_prefix(run.run_id)
    written, folders = [], []
    for part in ("pairs", "best", "control", "radio", "optical", "known_objects"):
        if part not in run.tables or (part == "known_objects" and not known_objects_in_run):
            continue
        if spark_layout:
            rel = f"{part}/part-00000-{uuid.uuid4()}-c000.zstd.parquet"
            client.put_object(bucket, f"{prefix}{part}/_SUCCESS", io.BytesIO(b""), 0)
            folders.append(f"{part}/")
        else:
            rel = f"{part}/part-00000.parquet"
        put_parquet(client, bucket, prefix + rel, run.tables[part])
        written.append(rel)
    put_json(client, bucket, prefix + METRICS, run.metrics)
    written.append(METRICS)
    if commit:
        committed_at = committed_at or datetime.now(UTC)
        if spark_layout:  # a format-1 marker, as the job wrote before it listed files
            put_json(
                client,
                bucket,
                prefix + MARKER,
                {
                    "run_id": run.run_id,
                    "committed_at": committed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "files": [*folders, METRICS],
                },
            )
        else:
            commit_run(Lake(client=client, bucket=bucket), run.run_id, committed_at=committed_at)
    return [prefix + k for k in written]


def write_known_objects_manifest(
    client, bucket: str, table: pa.Table, *, ingest_date: str, ingest_run_id: str, committed_at: datetime
) -> str:
    """One committed ``raw/known_objects/`` ingestion (Parquet + ``_manifest.json``), per docs/lake.md."""
    base = f"raw/known_objects/ingest_date={ingest_date}/run_id={ingest_run_id}/"
    put_parquet(client, bucket, base + "part-00000.parquet", table)
    manifest = {
        "table": "known_objects",
        "run_id": ingest_run_id,
        "ingest_date": ingest_date,
        "schema_version": 1,
        "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
        "files": [{"key": base + "part-00000.parquet", "rows": table.num_rows, "bytes": 0, "sha256": ""}],
        "rows": table.num_rows,
        "quarantined": 0,
        "quarantine_files": [],
        "watermark": {},
        "committed_at": committed_at.isoformat(),
    }
    put_json(client, bucket, base + "_manifest.json", manifest)
    return base


def posterior_shaped(run: SyntheticRun, cut_quantile: float = 0.5) -> SyntheticRun:
    """The run as the job writes it since the run posterior (spark_engine/scoring.py): a joint p_any per radio
    source, the job's same-star links and star ranks on every pair (here from the same rule in Python,
    radiostars.evaluate.samestar), ``best/`` = star_rank 1 on the star's primary entry, and metrics.json
    ``calibration`` (the reliability cut, at the ``cut_quantile`` of the best p_any) and ``scoring``. The twin
    source is given a high p_any so that its merged star is published."""
    import pandas as pd

    from radiostars.evaluate.samestar import run_candidates, same_star_links
    from radiostars.sample.crossmatch_runs import TWIN_SOURCE

    shaped = spark_shaped(run)
    t = dict(shaped.tables)
    pairs = t["pairs"].to_pandas()
    key = ["radio_source_name", "optical_catalogue", "optical_id"]
    links = same_star_links(run_candidates(pairs, t["optical"].to_pandas())).set_index(key)
    links = links.reindex(pd.MultiIndex.from_frame(pairs[key]))
    p_any = pairs.groupby("radio_source_name")["p_any"].transform("max").to_numpy()
    p_any[(pairs["radio_source_name"] == TWIN_SOURCE).to_numpy()] = 0.99
    n = len(pairs)
    cols = {
        "p_any": pa.array(p_any),
        "mag": pa.array(np.full(n, 12.0)),
        "colour": pa.array(np.full(n, 1.0)),
        "parallax_mas": pa.array(np.full(n, 5.0)),
        "parallax_error_mas": pa.array(np.full(n, 0.1)),
        "pmra_mas_yr": pa.array(np.full(n, 1.0)),
        "pmdec_mas_yr": pa.array(np.full(n, 1.0)),
        "pmra_error_mas_yr": pa.array(np.full(n, 0.05)),
        "pmdec_error_mas_yr": pa.array(np.full(n, 0.05)),
        "p_any_position_only": pa.array(p_any * 0.5),
        "p_i_position_only": pairs["p_i"].to_numpy(),
        "p_any_in_catalogue": pa.array(p_any),
        "p_i_in_catalogue": pairs["p_i"].to_numpy(),
        "ln_property_ratio": pa.array(np.full(n, 0.7)),
        "star_rank": pa.array(links["star_rank"].to_numpy(np.int32)),
        "n_stars": pa.array(links["n_stars"].to_numpy(np.int32)),
        "is_star_primary": pa.array(links["is_star_primary"].to_numpy(bool)),
        "fold": pa.array(np.zeros(n, np.int8)),
        "same_star_catalogue": pa.array(
            links["counterpart_catalogue"].astype(object).where(links["counterpart_catalogue"].notna(), None).tolist(),
            pa.string(),
        ),
        "same_star_id": pa.array(links["counterpart_id"].astype("Int64"), pa.int64(), from_pandas=True),
        "same_star_offset_arcsec": pa.array(links["same_star_offset_arcsec"].to_numpy(float), from_pandas=True),
        "same_star_tolerance_arcsec": pa.array(links["same_star_tolerance_arcsec"].to_numpy(float), from_pandas=True),
    }
    table = t["pairs"]
    for name, col in cols.items():
        col = col if isinstance(col, pa.Array) else pa.array(col)
        if name in table.column_names:
            table = table.set_column(table.column_names.index(name), name, col)
        else:
            table = table.append_column(name, col)
    t["pairs"] = table
    best_mask = pa.compute.and_(pa.compute.equal(table["star_rank"], 1), table["is_star_primary"])
    t["best"] = table.filter(best_mask)
    best_p = t["best"]["p_any"].to_numpy()
    cut = float(np.quantile(best_p, cut_quantile))
    n_sel = int((best_p >= cut).sum())
    metrics = dict(shaped.metrics)
    metrics["calibration"] = {
        "method": "target_reliability",
        "status": "estimated",
        "reason": None,
        "target_reliability": 0.9,
        "reached": True,
        "p_any_cut": cut,
        "reliability_at_cut": 0.93,
        "reliability_err": 0.02,
        "completeness_proxy_at_cut": 0.85,
        "n_real_selected": n_sel,
        "e_false": 0.07 * n_sel,
        "e_false_err": 1.0,
        "n_selected_at_cut": 12,
        "false_rate_at_cut": 0.005,
        "n_real_sources": 300,
        "n_control_sources": 2400,
        "c_hat": 0.2,
        "best_reliability": 0.97,
        "best_reliability_cut": 0.95,
        "target_false_rate": None,
        "curve": [
            {"p_any_cut": cut, "false_rate": 0.005, "n_selected": 12, "n_real_selected": n_sel, "reliability": 0.93}
        ],
    }
    metrics["scoring"] = {
        "target_reliability": 0.9,
        "p_any_cut": cut,
        "reached": True,
        "cut_status": "estimated",
        "cut_reason": None,
        "reliability_estimated": 0.93,
        "reliability_err": 0.02,
        "completeness_proxy": 0.85,
        "n_candidates": n_sel,
        "c": 0.2,
        "c_err": 0.03,
        "c_by_class": {"gaia_dr3": 0.19, "hipparcos2": 0.01},
        "c_err_by_class": {"gaia_dr3": 0.03, "hipparcos2": 0.005},
        "prior_status": "fitted",
        "prior_reason": None,
        "property_prior_source": "learned",
        "features": ["mag"],
        "fallbacks": [],
        "c_per_catalogue": {"gaia_dr3": {"c": 0.19, "c_err": 0.03, "status": "fitted"}},
        "position_only": {
            "c": 0.15,
            "c_err": 0.05,
            "status": "fitted",
            "p_any_cut": 0.97,
            "reached": True,
            "reliability_estimated": 0.9,
            "n_candidates": 3,
        },
    }
    truth = {
        **shaped.truth,
        "posterior_cut": cut,
        "posterior_selected": set(
            t["best"].filter(pa.compute.greater_equal(t["best"]["p_any"], cut))["radio_source_name"].to_pylist()
        ),
    }
    return SyntheticRun(run.run_id, t, metrics, truth)
