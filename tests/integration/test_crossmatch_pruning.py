"""Pruning before Python (issue 16) never drops a pair: the same optical rows matched with and without
``prune_to_targets`` give identical pair and control-pair records, on a random field with dense clusters
around the radio sources and the fastest Hipparcos stars (their catalogue places far outside the match
radius of the radio position they reach at the radio epoch). Spark local[2] only, no lake: ~1–2 min."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.skygen import blob, hard_sky

pytestmark = [pytest.mark.integration, pytest.mark.slow]

R_ARCSEC = 10.0
# (pmra*, pmdec) in mas/yr of the fastest Hipparcos stars: Barnard's star (HIP 87937), Kapteyn's star
# (HIP 24186), Groombridge 1830 (HIP 57939), Lacaille 9352 (HIP 114046), CD−37 15492 (HIP 439),
# 61 Cyg A (HIP 104214) — van Leeuwen 2007
FAST_PM_MAS_YR = [
    (-798.6, 10328.1),
    (6506.1, -5731.4),
    (4003.7, -5813.0),
    (6768.2, 1327.5),
    (5634.1, -2337.6),
    (4107.4, 3143.7),
]


def _params():
    from radiostars.crossmatch.params import CrossmatchParams

    return CrossmatchParams(
        radius_arcsec=R_ARCSEC,
        r_min_arcsec=2.0,
        n_sigma=5.0,
        sigma_sys_arcsec=0.1,
        healpix_order=3,
        margin_arcsec=120.0,
        density_inner_arcsec=20.0,
        density_outer_arcsec=120.0,
        control_position_angles_deg=(0.0, 120.0, 240.0),
    )


def _sky():
    from radiostars.crossmatch.epoch import propagate_radec

    rng = np.random.default_rng(16)
    r_ra, r_dec = hard_sky(rng, 400, 60, 40)
    r_epoch = rng.uniform(2019.0, 2024.0, r_ra.size)
    # optical: a sparse sky, a dense cluster (σ = 20″, 300 stars) around every tenth radio source,
    # a close companion (≤ 12″) of every radio source, slow and moderate movers
    parts = [hard_sky(rng, 20000, 2000, 1000)]
    parts += [blob(rng, 300, ra, dec, 20 / 3600) for ra, dec in zip(r_ra[::10], r_dec[::10])]
    off = rng.uniform(0, R_ARCSEC * 1.2, r_ra.size) / 3600
    pa = rng.uniform(0, 2 * np.pi, r_ra.size)
    parts.append(
        ((r_ra + off * np.sin(pa) / np.cos(np.radians(r_dec))) % 360, np.clip(r_dec + off * np.cos(pa), -90, 90))
    )
    ra, dec = map(np.concatenate, zip(*parts))
    n = ra.size
    pmra, pmdec = rng.normal(0, 8, n), rng.normal(0, 8, n)
    movers = rng.choice(n, 2000, replace=False)  # 50–600 mas/yr: reach around the 2″ slack over 1991–2024
    speed, angle = rng.uniform(50, 600, movers.size), rng.uniform(0, 2 * np.pi, movers.size)
    pmra[movers], pmdec[movers] = speed * np.sin(angle), speed * np.cos(angle)
    optical = pd.DataFrame(
        {
            "optical_id": 6_000_000_000_000_000_001 + np.arange(n, dtype=np.int64),
            "ra_deg": ra,
            "dec_deg": dec,
            "ref_epoch_yr": 2016.0,
            "ra_error_mas": 0.2,
            "dec_error_mas": 0.2,
            "pmra_mas_yr": pmra,
            "pmdec_mas_yr": pmdec,
            "parallax_mas": 2.0,
            "parallax_error_mas": 0.1,
            "pmra_error_mas_yr": 0.1,
            "pmdec_error_mas_yr": 0.1,
            "mag": 15.0,
            "colour": 1.0,
            "is_synthetic": True,
        }
    )
    # the fastest Hipparcos stars, epoch J1991.25, each with a radio source where it is at the radio epoch
    fast = pd.DataFrame(FAST_PM_MAS_YR, columns=["pmra_mas_yr", "pmdec_mas_yr"])
    fast["optical_id"] = 100_000 + np.arange(len(fast), dtype=np.int64)
    fast["ra_deg"], fast["dec_deg"] = rng.uniform(0, 360, len(fast)), rng.uniform(-60, 60, len(fast))
    fast["ref_epoch_yr"], fast["parallax_mas"] = 1991.25, 500.0
    f_epoch = np.full(len(fast), 2023.5)
    f_ra, f_dec = propagate_radec(
        fast["ra_deg"],
        fast["dec_deg"],
        fast["pmra_mas_yr"],
        fast["pmdec_mas_yr"],
        fast["parallax_mas"],
        fast["ref_epoch_yr"],
        f_epoch,
    )
    for column in optical.columns:
        if column not in fast.columns:
            fast[column] = optical[column].iloc[0]
    optical = pd.concat([optical, fast[optical.columns]], ignore_index=True)
    radio = pd.DataFrame(
        {
            "radio_id": [f"R{i:05d}" for i in range(r_ra.size + len(fast))],
            "ra_deg": np.concatenate([r_ra, f_ra + 1.0 / 3600]),
            "dec_deg": np.concatenate([r_dec, f_dec]),
            "sigma_radio_arcsec": 1.0,
            "epoch_yr": np.concatenate([r_epoch, f_epoch]),
        }
    )
    return radio, optical


def test_pruning_never_drops_a_pair():
    from radiostars.config import get_settings
    from radiostars.spark_engine.partitioned_match import (
        density_cells,
        explode_optical,
        match_pixels,
        prune_to_targets,
        radio_targets,
        targets_by_pixel,
    )
    from radiostars.spark_engine.session import spark_session

    radio, optical = _sky()
    params = _params()
    targets = radio_targets(radio, params)
    by_pixel = targets_by_pixel(targets)
    pixels = np.fromiter(by_pixel, np.int64, len(by_pixel))
    lo, hi = float(radio["epoch_yr"].min()), float(radio["epoch_yr"].max())
    spark = spark_session("test-pruning", master="local[2]", settings=get_settings())
    try:
        frame = spark.createDataFrame(optical).repartition(4)
        rows = explode_optical(frame, pixels, params, lo, hi).unionByName(density_cells(frame, pixels, params))
        rows = rows.cache()
        broadcast = spark.sparkContext.broadcast(by_pixel)
        pruned_rows = prune_to_targets(spark, rows, targets, params, lo, hi)
        n_all = rows.filter("kind = 0 and healpix >= 0").count()
        n_kept = pruned_rows.filter("kind = 0 and healpix >= 0").count()
        full = match_pixels(rows, broadcast, params, "gaia_dr3").filter("record in ('pair', 'control_pair')").toPandas()
        pruned = (
            match_pixels(pruned_rows, broadcast, params, "gaia_dr3")
            .filter("record in ('pair', 'control_pair')")
            .toPandas()
        )
        # a target set too large for the exact table keeps its distinct pixels only: a superset, same pairs
        import radiostars.spark_engine.partitioned_match as pm

        limit, pm.PRUNE_EXACT_MAX_ROWS = pm.PRUNE_EXACT_MAX_ROWS, 0
        try:
            coarse_rows = prune_to_targets(spark, rows, targets, params, lo, hi)
            n_coarse = coarse_rows.filter("kind = 0 and healpix >= 0").count()
            coarse = (
                match_pixels(coarse_rows, broadcast, params, "gaia_dr3")
                .filter("record in ('pair', 'control_pair')")
                .toPandas()
            )
        finally:
            pm.PRUNE_EXACT_MAX_ROWS = limit
    finally:
        spark.stop()
    assert n_kept <= n_coarse < n_all, (n_kept, n_coarse, n_all)
    assert n_kept < 0.5 * n_all, (n_kept, n_all)  # the pruning does prune
    fast_ids = set(range(100_000, 100_000 + len(FAST_PM_MAS_YR)))
    assert fast_ids <= set(full["optical_id"])  # every fast star pairs with its radio source (at ≥ 30″ from its place)
    assert (full["record"] == "control_pair").sum() > 50 and (full["record"] == "pair").sum() > 500
    key = ["record", "radio_id", "optical_id"]
    a = full.sort_values(key).reset_index(drop=True)
    b = pruned.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    pd.testing.assert_frame_equal(a, coarse.sort_values(key).reset_index(drop=True), check_exact=True)
