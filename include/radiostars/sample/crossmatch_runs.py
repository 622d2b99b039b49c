"""Synthetic committed cross-match runs, in the columns docs/lake.md describes: the warehouse is tested
and benchmarked on them without the Spark job (the tests' small runs: tests/warehouse_fixtures.py; the
benchmark's large one: :func:`write_large_run`).

A run holds ``n_radio`` radio sources (a few near the RA = 0/360 seam); about half have 1–3 optical
candidates (rank 1 is the closest in σ); 20 % of the optical stars have a parallax known to better
than 20 %; 5 % move faster than 150 mas/yr; known objects are placed on purpose near some sources
(non-stellar within 3–8″, stars at 4″, AGN at 14″). Two sources are fixed for hand checks:

* ``SYN-0000000``: 1.000 mJy, one Gaia candidate with parallax 100 mas ± 0.1 (d = 10 pc), so
  L_ν = 4π (10 pc)² · 1 mJy = 1.1964951828635066e14 erg s⁻¹ Hz⁻¹;
* ``SYN-0000001``: one candidate with a 500 mas/yr proper motion;
* ``SYN-0000002``: two candidates that are one star — a Gaia source and its Hipparcos entry 0.05″ away
  (Hp = G − 0.3, same parallax and proper motion): the same-star rule must link them.

Everything is deterministic from ``seed``. ``truth`` (expected flags…) is computed by brute force
from the generated tables, never assumed.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from radiostars.crossmatch.control import offset_radec
from radiostars.crossmatch.epoch import mjd_to_jyear
from radiostars.crossmatch.partition import home_pixel
from radiostars.crossmatch.separation import separation_arcsec

PC_CM = 3.0856775814913673e18
MJY_CGS = 1e-26  # erg s^-1 cm^-2 Hz^-1 per mJy
HAND_SOURCE = "SYN-0000000"
HAND_L_NU = 4 * math.pi * (10 * PC_CM) ** 2 * 1.0 * MJY_CGS
HIGH_PM_SOURCE = "SYN-0000001"
TWIN_SOURCE = "SYN-0000002"
TWIN_HIP = 118_500  # beyond the fixture's other HIP numbers (1 … 118,000)
NONSTELLAR_TYPES = ("AGN", "Pulsar", "PN", "HII")
NEAR_KNOWN_ARCSEC = 10.0
TARGET_FALSE_RATE = 0.01
PARAMETERS = {
    "r_min_arcsec": 1.0,
    "r_max_arcsec": 10.0,
    "n_sigma": 5.0,
    "sigma_sys_arcsec": 0.5,
    "healpix_order": 8,
    "optical_catalogues": ["gaia_dr3", "hipparcos2"],
}
_UPDATED = datetime(2025, 1, 1, tzinfo=UTC)


def home_pixel_order8(ra_deg, dec_deg) -> np.ndarray:
    """The nested HEALPix pixel at the order the synthetic runs record (``PARAMETERS["healpix_order"]``)."""
    return home_pixel(np.asarray(ra_deg, dtype=float) % 360.0, dec_deg, PARAMETERS["healpix_order"])


@dataclass
class SyntheticRun:
    run_id: str
    tables: dict[str, pa.Table]
    metrics: dict
    truth: dict = field(default_factory=dict)


def synthetic_tables(
    rng: np.random.Generator,
    start: int,
    n: int,
    *,
    with_bayes: bool,
    center=(266.4, -28.9),
    half_width_deg=0.25,
    fixed: bool,
) -> dict[str, pa.Table]:
    """Radio sources ``start`` … ``start + n - 1`` with their candidate pairs and optical stars (``fixed``: the
    first three are the hand-check sources of the module docstring)."""
    p = PARAMETERS
    ra = center[0] + rng.uniform(-half_width_deg, half_width_deg, n) / math.cos(math.radians(center[1]))
    dec = center[1] + rng.uniform(-half_width_deg, half_width_deg, n)
    seam = rng.random(n) < 0.03  # a few sources straddle RA = 0/360
    ra[seam] = (359.995 + rng.uniform(0, 0.01, seam.sum())) % 360.0
    ra %= 360.0
    names = np.array([f"SYN-{start + i:07d}" for i in range(n)], dtype=object)
    ra_err = rng.uniform(0.3, 1.2, n)
    dec_err = rng.uniform(0.3, 1.2, n)
    int_flux = 10 ** rng.uniform(-1, 1.7, n)
    mjd = rng.uniform(58300, 59000, n)
    ncand = np.where(rng.random(n) < 0.5, rng.choice([1, 2, 3], n, p=[0.6, 0.3, 0.1]), 0)
    if fixed:
        ncand[0] = ncand[1] = 1
        int_flux[0] = 1.0
        ncand[2:15] = np.maximum(ncand[2:15], 1)
        ncand[2] = 2  # TWIN_SOURCE
    radio = pa.table(
        {
            "row_id": np.arange(start + 1, start + n + 1, dtype=np.int64),
            "source_name": pa.array(names, pa.string()),
            "ra_deg": ra,
            "dec_deg": dec,
            "ra_err_arcsec": ra_err,
            "dec_err_arcsec": dec_err,
            "peak_flux_mjy": int_flux * rng.uniform(0.7, 1.0, n),
            "int_flux_mjy": int_flux,
            "int_flux_err_mjy": 0.05 * int_flux + 0.02,
            "rms_mjy": np.full(n, 0.02),
            "obs_epoch_mjd": mjd,
            "field": pa.array(["FIELD-A"] * n),
            "deleted": pa.array(np.zeros(n, bool)),
            "updated_at": pa.array([_UPDATED] * n, pa.timestamp("us", tz="UTC")),
            "healpix": home_pixel_order8(ra, dec),
        }
    )

    # ---- pairs: one optical star per pair
    ri = np.repeat(np.arange(n), ncand)
    m = len(ri)
    first = np.r_[True, ri[1:] != ri[:-1]] if m else np.zeros(0, bool)
    sig_r = np.sqrt((ra_err[ri] ** 2 + dec_err[ri] ** 2) / 2)
    sig_o = rng.uniform(0.01, 0.3, m)
    sigma = np.sqrt(sig_r**2 + sig_o**2 + p["sigma_sys_arcsec"] ** 2)
    radius = np.minimum(np.maximum(p["r_min_arcsec"], p["n_sigma"] * sigma), p["r_max_arcsec"])
    sep_true = np.minimum(rng.rayleigh(sigma), 0.95 * radius)
    sep_other = radius * np.sqrt(rng.uniform(0.05, 0.9, m))
    sep0 = np.where(first, sep_true, sep_other)
    opt_ra, opt_dec = offset_radec(ra[ri], dec[ri], sep0, np.degrees(rng.uniform(0, 2 * np.pi, m)))
    if fixed and m:  # TWIN_SOURCE: its second candidate is the first one's Hipparcos entry, 0.05″ away
        k0, k1 = np.flatnonzero(ri == 2)
        opt_ra[k1], opt_dec[k1] = offset_radec(opt_ra[k0], opt_dec[k0], 0.05, np.degrees(0.7))
    sep = separation_arcsec(ra[ri], dec[ri], opt_ra, opt_dec)
    sep_sigma = sep / sigma
    order = np.lexsort((sep_sigma, ri))  # by radio source, then sep_sigma
    rank = np.empty(m, np.int32)
    starts = np.r_[0, np.cumsum(ncand[ncand > 0])[:-1]]
    pos = np.arange(m) - np.repeat(starts, ncand[ncand > 0])
    rank[order] = (pos + 1).astype(np.int32)
    rho = (10 ** rng.uniform(4, 5.5, n) / 12_960_000.0)[ri]  # per arcsec^2
    p_chance = 1 - np.exp(-np.pi * sep**2 * rho)
    cols = {}
    if with_bayes:
        ln_b = -(sep**2) / (2 * sigma**2) - np.log(2 * np.pi * sigma**2 * rho)
        prior = np.full(m, 0.3)
        b = np.exp(ln_b)
        sum_b = np.repeat(np.add.reduceat(b, starts) if m else b, ncand[ncand > 0])
        p_any = prior * sum_b / (prior * sum_b + 1 - prior)
        cols = {"ln_bayes_factor": ln_b, "prior": prior, "p_any": p_any, "p_i": p_any * b / sum_b}
    else:
        cols = {k: pa.nulls(m, pa.float64()) for k in ("ln_bayes_factor", "prior", "p_any", "p_i")}
    epoch = mjd_to_jyear(mjd[ri])

    # ---- optical stars
    hip = rng.random(m) < 0.03
    synthetic = ~hip & (rng.random(m) < 0.7)
    idx = start * 3 + np.arange(m)
    opt_id = np.where(
        hip,
        1 + idx % 118_000,
        np.where(synthetic, 7_000_000_000_000_000_000 + idx, 4_100_000_000_000_000_000 + idx * 7),
    ).astype(np.int64)
    near = rng.random(m) < 0.2
    plx = np.where(near, rng.uniform(5, 120, m), rng.normal(0.3, 0.3, m))
    plx_err = np.where(near, rng.uniform(0.02, 0.5, m), rng.uniform(0.2, 0.5, m))
    fast = rng.random(m) < 0.05
    pm_mag = np.where(fast, rng.uniform(150, 1500, m), np.abs(rng.normal(0, 5, m)))
    pm_pa = rng.uniform(0, 2 * np.pi, m)
    pmra, pmdec = pm_mag * np.sin(pm_pa), pm_mag * np.cos(pm_pa)
    if fixed and m:
        j0, j1 = np.flatnonzero(ri == 0)[0], np.flatnonzero(ri == 1)[0]
        hip[j0] = synthetic[j0] = False
        opt_id[j0] = 4_100_000_000_000_000_001
        plx[j0], plx_err[j0], pmra[j0], pmdec[j0] = 100.0, 0.1, 3.0, 4.0
        pmra[j1], pmdec[j1] = 300.0, -400.0  # 500 mas/yr
        plx[j1], plx_err[j1] = 2.0, 1.0
        k0, k1 = np.flatnonzero(ri == 2)  # TWIN_SOURCE: a real Gaia star and its Hipparcos entry
        hip[k0] = synthetic[k0] = synthetic[k1] = False
        hip[k1] = True
        opt_id[k0], opt_id[k1] = 4_100_000_000_000_000_000 + idx[k0] * 7, TWIN_HIP
        plx[k1], plx_err[k1], pmra[k1], pmdec[k1] = plx[k0], plx_err[k0], pmra[k0], pmdec[k0]
    ref = np.where(hip, 1991.25, 2016.0)
    dt = epoch - ref
    ref_dec = opt_dec - pmdec * dt / 3.6e6
    ref_ra = (opt_ra - pmra * dt / 3.6e6 / np.cos(np.radians(opt_dec))) % 360.0
    cat = np.where(hip, "hipparcos2", "gaia_dr3")
    mag = rng.uniform(8, 20.5, m)
    colour = rng.uniform(0.3, 3.0, m)
    if fixed and m:
        k0, k1 = np.flatnonzero(ri == 2)
        mag[k1] = mag[k0] + 9 - 0.3  # hp_mag = mag − 9 below: Hp = G − 0.3
    optical = pa.table(
        {
            "optical_catalogue": pa.array(cat, pa.string()),
            "optical_id": opt_id,
            "ra_deg": ref_ra,
            "dec_deg": ref_dec,
            "ref_epoch_yr": ref,
            "ra_error_mas": sig_o * 1000 / 2,
            "dec_error_mas": sig_o * 1000 / 2,
            "parallax_mas": plx,
            "parallax_error_mas": plx_err,
            "pmra_mas_yr": pmra,
            "pmdec_mas_yr": pmdec,
            "pmra_error_mas_yr": np.full(m, 0.05),
            "pmdec_error_mas_yr": np.full(m, 0.05),
            "phot_g_mean_mag": pa.array(np.where(hip, np.nan, mag), from_pandas=True),
            "bp_rp": pa.array(np.where(hip, np.nan, colour), from_pandas=True),
            "hp_mag": pa.array(np.where(hip, mag - 9, np.nan), from_pandas=True),
            "b_v": pa.array(np.where(hip, colour / 2, np.nan), from_pandas=True),
            "is_synthetic": pa.array(synthetic),
            "healpix": home_pixel_order8(ref_ra, ref_dec),
        }
    )
    pairs = pa.table(
        {
            "run_id": pa.array([""] * m, pa.string()),  # filled by the writer
            "radio_source_name": pa.array(names[ri], pa.string()),
            "optical_catalogue": pa.array(cat, pa.string()),
            "optical_id": opt_id,
            "radio_ra_deg": ra[ri],
            "radio_dec_deg": dec[ri],
            "radio_epoch_yr": epoch,
            "optical_ra_deg": opt_ra,
            "optical_dec_deg": opt_dec,
            "sep_arcsec": sep,
            "sigma_arcsec": sigma,
            "sep_sigma": sep_sigma,
            "match_radius_arcsec": radius,
            "rank": rank,
            "n_candidates": ncand[ri].astype(np.int32),
            "local_density_per_arcsec2": rho,
            "p_chance": p_chance,
            **cols,
        }
    )
    return {"radio": radio, "optical": optical, "pairs": pairs}


def known_objects_table(rng, radio: pa.Table, pairs: pa.Table) -> pa.Table:
    ra, dec = radio["ra_deg"].to_numpy(), radio["dec_deg"].to_numpy()
    rows = []

    def add(i, sep, typ):
        r, d = offset_radec(ra[i], dec[i], sep, np.degrees(rng.uniform(0, 2 * np.pi)))
        rows.append((float(r), float(d), typ))

    for k, i in enumerate(range(2, 10)):
        add(i, rng.uniform(3, 8), NONSTELLAR_TYPES[k % 4])
    for i in range(10, 13):
        add(i, 4.0, "Star")
    for i in range(13, 15):
        add(i, 14.0, "AGN")
    lo, hi = np.percentile(ra[ra > 180], [1, 99]) if (ra > 180).any() else (0, 1)
    for _ in range(20):
        rows.append(
            (
                float(rng.uniform(lo, hi)),
                float(rng.uniform(dec.min(), dec.max())),
                str(rng.choice(NONSTELLAR_TYPES + ("Star",))),
            )
        )
    n = len(rows)
    return pa.table(
        {
            "row_id": np.arange(1, n + 1, dtype=np.int64),
            "name": pa.array([f"KO-{i:05d}" for i in range(n)]),
            "ra_deg": [r[0] for r in rows],
            "dec_deg": [r[1] for r in rows],
            "object_type": pa.array([r[2] for r in rows]),
            "deleted": pa.array(np.zeros(n, bool)),
            "updated_at": pa.array([_UPDATED] * n, pa.timestamp("us", tz="UTC")),
        }
    )


def control_table(rng, n_radio: int) -> pa.Table:
    offsets = [("ra+60", 60.0, 0.0), ("ra-60", -60.0, 0.0), ("dec+60", 0.0, 60.0), ("dec-60", 0.0, -60.0)]
    n_matches = rng.binomial(n_radio, 0.02, len(offsets))
    return pa.table(
        {
            "offset_name": [o[0] for o in offsets],
            "offset_ra_arcsec": [o[1] for o in offsets],
            "offset_dec_arcsec": [o[2] for o in offsets],
            "n_radio": np.full(len(offsets), n_radio, np.int64),
            "n_matches": n_matches.astype(np.int64),
            "far_per_source": n_matches / max(n_radio, 1),
        }
    )


def calibration(seed: int, n_control_sources: int, target_false_rate: float = TARGET_FALSE_RATE) -> dict:
    """metrics.json ``calibration`` as the job records it: the p_any of the shifted-control sources (none
    has a true counterpart) → false-selection rate per p_any cut on a 0.01 grid → the loosest cut whose
    rate is ≤ the target. The control p_any come from the same Bayes-factor formula as the fixture's
    pairs, for chance candidates (uniform in area inside the match radius) of 5 % of the sources."""
    rng = np.random.default_rng(seed + 1_000_003)  # its own stream: the run's tables do not change
    n = int(rng.binomial(n_control_sources, 0.05))
    sigma = np.sqrt(rng.uniform(0.3, 1.2, n) ** 2 + PARAMETERS["sigma_sys_arcsec"] ** 2)
    radius = np.minimum(
        np.maximum(PARAMETERS["r_min_arcsec"], PARAMETERS["n_sigma"] * sigma), PARAMETERS["r_max_arcsec"]
    )
    sep = radius * np.sqrt(rng.random(n))
    rho = 10 ** rng.uniform(4, 5.5, n) / 12_960_000.0
    b = np.exp(-(sep**2) / (2 * sigma**2) - np.log(2 * np.pi * sigma**2 * rho))
    p_any = 0.3 * b / (0.3 * b + 0.7)
    curve = []
    for cut in np.round(np.linspace(0.0, 1.0, 101), 2):
        k = int((p_any >= cut).sum())
        curve.append({"p_any_cut": float(cut), "false_rate": k / n_control_sources, "n_selected": k})
    at = next(row for row in curve if row["false_rate"] <= target_false_rate)
    return {
        "target_false_rate": target_false_rate,
        "p_any_cut": at["p_any_cut"],
        "false_rate_at_cut": at["false_rate"],
        "n_selected_at_cut": at["n_selected"],
        "n_control_sources": n_control_sources,
        "curve": curve,
    }


def run_metrics(
    run_id: str,
    n_radio: int,
    pairs_rows: int,
    best_p_chance_sum: float,
    n_best: int,
    n_optical: int,
    control: pa.Table,
    seed: int,
    *,
    with_calibration: bool = True,
) -> dict:
    far_control = float(np.mean(control["far_per_source"].to_numpy()))
    metrics = {
        "run_id": run_id,
        "parameters": {**PARAMETERS, "seed": seed},
        "counts": {"n_radio": n_radio, "n_optical": n_optical, "n_pairs": pairs_rows, "n_best": n_best},
        "partition_sizes": {"radio": {"min": 1, "max": n_radio}},
        "far_analytic": best_p_chance_sum / max(n_radio, 1),
        "far_control": far_control,
        "timings": {"total_s": 0.0},
    }
    if with_calibration:  # runs written before the job calibrated p_any have no such key
        metrics["calibration"] = calibration(seed, n_radio * control.num_rows)
    return metrics


def put_parquet(client, bucket: str, key: str, table: pa.Table) -> None:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    size = buf.tell()
    buf.seek(0)
    client.put_object(bucket, key, buf, size, content_type="application/vnd.apache.parquet")


def put_json(client, bucket: str, key: str, obj: dict) -> None:
    data = json.dumps(obj, indent=1, default=str).encode()
    client.put_object(bucket, key, io.BytesIO(data), len(data), content_type="application/json")


def write_large_run(
    client, bucket: str, run_id: str, n_radio: int, *, chunk_radio: int = 200_000, seed: int = 0
) -> dict:
    """A benchmark-size run written chunk by chunk (memory bounded by ``chunk_radio``)."""
    from radiostars.lake.keys import crossmatch_run_prefix
    from radiostars.lake.runs import commit_run
    from radiostars.lake.store import Lake

    rng = np.random.default_rng(seed)
    prefix = crossmatch_run_prefix(run_id)
    n_pairs, n_best, n_opt, best_sum, first = 0, 0, 0, 0.0, None
    for i, start in enumerate(range(0, n_radio, chunk_radio)):
        t = synthetic_tables(
            rng, start, min(chunk_radio, n_radio - start), with_bayes=True, fixed=(i == 0), half_width_deg=2.0
        )
        t["pairs"] = t["pairs"].set_column(0, "run_id", pa.array([run_id] * t["pairs"].num_rows))
        t["best"] = t["pairs"].filter(pa.compute.equal(t["pairs"]["rank"], 1))
        if first is None:
            first = t
        for part in ("pairs", "best", "radio", "optical"):
            rel = f"{part}/part-{i:05d}.parquet"
            put_parquet(client, bucket, prefix + rel, t[part])
        n_pairs += t["pairs"].num_rows
        n_best += t["best"].num_rows
        n_opt += t["optical"].num_rows
        best_sum += float(pa.compute.sum(t["best"]["p_chance"]).as_py() or 0.0)
    control = control_table(rng, n_radio)
    put_parquet(client, bucket, prefix + "control/part-00000.parquet", control)
    put_parquet(
        client,
        bucket,
        prefix + "known_objects/part-00000.parquet",
        known_objects_table(rng, first["radio"], first["pairs"]),
    )
    put_json(
        client,
        bucket,
        prefix + "metrics.json",
        run_metrics(run_id, n_radio, n_pairs, best_sum, n_best, n_opt, control, seed),
    )
    commit_run(Lake(client=client, bucket=bucket), run_id)
    return {"n_radio": n_radio, "n_pairs": n_pairs, "n_best": n_best, "n_optical": n_opt}
