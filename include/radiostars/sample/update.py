"""``--update FRACTION``: change exactly round(FRACTION × live rows) rows of each table.

Per table, with N = rows with deleted = 0 and n = round(FRACTION · N):
  * inserts   = round(0.2 n) new rows (radio_sources: new background sources in the demo fields;
                gaia_dr3: new synthetic faint stars, ids in the block 7e18 + 90·1e12 + k);
                0 for hipparcos2 and known_objects (no new real stars);
  * deletions = round(0.1 n) soft deletes (deleted = 1);
  * corrections = the rest: in-place changes of a measured value (radio: peak and int flux × (1 + N(0, 0.05));
    gaia_dr3: G + N(0, 0.02); hipparcos2: Hp + N(0, 0.01); known_objects: dec + N(0, 1e-5)°).
Every touched row gets the same new ``updated_at`` = max(UTC now, current max + 1 µs), so it is
strictly after every earlier version. The rows touched are recorded under truth/updates/.
The choice is deterministic from (seed, table, number of earlier updates of the table).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from radiostars.catalogues.schema import TABLES, column_names
from radiostars.sample import ids
from radiostars.sample.errors import SampleError
from radiostars.sample.faint_stars import faint_star_chunk
from radiostars.sample.fields import Field, demo_fields, galactic_name, galactic_to_icrs, make_unique, uniform_lb
from radiostars.sample.generate import rng_for
from radiostars.sample.loader import MySQLLoader, connect
from radiostars.sample.radio_errors import position_error_arcsec, quoted_error_arcsec, scatter_positions
from radiostars.sample.radio_flux import detected_background, radio_source_columns
from radiostars.sample.truth import write_json, write_parquet

_STREAM_UPDATE = 50
_CORRECTION_SQL = {
    "radio_sources": "t.int_flux_mjy = t.int_flux_mjy * u.v, t.peak_flux_mjy = t.peak_flux_mjy * u.v",
    "gaia_dr3": "t.phot_g_mean_mag = t.phot_g_mean_mag + u.v",
    "hipparcos2": "t.hp_mag = t.hp_mag + u.v",
    "known_objects": "t.dec_deg = LEAST(90, GREATEST(-90, t.dec_deg + u.v))",
}
_INSERT_SHARE = {"radio_sources": 0.2, "gaia_dr3": 0.2, "hipparcos2": 0.0, "known_objects": 0.0}
DELETE_SHARE = 0.1


def split_counts(n: int, insert_share: float) -> tuple[int, int, int]:
    """(corrections, deletions, inserts) summing to n."""
    ins = int(round(insert_share * n))
    dele = int(round(DELETE_SHARE * n))
    return n - ins - dele, dele, ins


def _correction_values(table: str, rng: np.random.Generator, n: int) -> np.ndarray:
    if table == "radio_sources":
        return 1.0 + 0.05 * rng.standard_normal(n)
    scale = {"gaia_dr3": 0.02, "hipparcos2": 0.01, "known_objects": 1e-5}[table]
    return scale * rng.standard_normal(n)


def _scalar(cur, sql: str):
    cur.execute(sql)
    return cur.fetchone()[0]


def apply_update(
    url: str, fraction: float, *, seed: int, tables: list[str], truth_dir: Path, updated_at: dt.datetime | None = None
) -> dict:
    try:
        fraction = float(fraction)
    except (TypeError, ValueError):
        raise SampleError(f"--update {fraction!r} must be a fraction in (0, 1]") from None
    if not 0 < fraction <= 1:
        raise SampleError(f"--update {fraction} must be a fraction in (0, 1]")
    manifest_path = truth_dir / "seed_manifest.json"
    if not manifest_path.is_file():
        raise SampleError(f"{manifest_path} is missing: run `radiostars seed` before `--update`")
    seed_params = json.loads(manifest_path.read_text())["params"]
    # the seed's plane fields (new stars / sources go there); an old manifest without them: the demo layout
    fields = [Field(**f) for f in seed_params.get("fields", []) if f.get("kind", "plane") == "plane"] or demo_fields(
        seed_params.get("area_deg2") or 20.0, seed_params.get("n_fields", 5)
    )
    summary: dict = {"fraction": fraction, "tables": {}}
    records = []
    with connect(url) as conn:
        with conn.cursor() as cur:
            for table in tables:
                if not _scalar(
                    cur,
                    f"SELECT COUNT(*) FROM information_schema.tables WHERE "
                    f"table_schema = DATABASE() AND table_name = '{table}'",
                ):
                    raise SampleError(f"table {table} does not exist: run `radiostars seed` first")
            max_ts = max((_scalar(cur, f"SELECT MAX(updated_at) FROM `{t}`") or dt.datetime.min) for t in tables)
        now = updated_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        ts = max(now, max_ts + dt.timedelta(microseconds=1))
        for ti, table in enumerate(tables):
            with conn.cursor() as cur:
                cur.execute(f"SELECT row_id FROM `{table}` WHERE deleted = 0 ORDER BY row_id")
                live = np.fromiter((r[0] for r in cur.fetchall()), dtype=np.int64)
                run_no = _scalar(cur, f"SELECT COUNT(DISTINCT updated_at) FROM `{table}`")
                max_row = _scalar(cur, f"SELECT COALESCE(MAX(row_id), 0) FROM `{table}`")
            n = int(round(fraction * len(live)))
            n_corr, n_del, n_ins = split_counts(n, _INSERT_SHARE[table])
            rng = rng_for(seed, _STREAM_UPDATE, ti, run_no)
            chosen = rng.choice(live, size=n_corr + n_del, replace=False)
            corr, dele = np.sort(chosen[:n_corr]), np.sort(chosen[n_corr:])
            vals = _correction_values(table, rng, n_corr)
            with conn.cursor() as cur:
                cur.execute("DROP TEMPORARY TABLE IF EXISTS _rs_update")
                cur.execute("CREATE TEMPORARY TABLE _rs_update (row_id BIGINT PRIMARY KEY, v DOUBLE)")
                rows = list(zip(corr.tolist(), vals.tolist()))
                for s in range(0, len(rows), 5000):
                    cur.executemany("INSERT INTO _rs_update (row_id, v) VALUES (%s, %s)", rows[s : s + 5000])
                cur.execute(
                    f"UPDATE `{table}` t JOIN _rs_update u ON t.row_id = u.row_id "
                    f"SET {_CORRECTION_SQL[table]}, t.updated_at = %s",
                    (ts,),
                )
                for s in range(0, len(dele), 5000):
                    part = dele[s : s + 5000].tolist()
                    cur.execute(
                        f"UPDATE `{table}` SET deleted = 1, updated_at = %s WHERE row_id IN "
                        f"({', '.join(['%s'] * len(part))})",
                        (ts, *part),
                    )
                cur.execute("DROP TEMPORARY TABLE _rs_update")
            new = _new_rows(conn, table, n_ins, rng, fields, ts, max_row + 1) if n_ins else None
            if new is not None:
                MySQLLoader(conn).load(table, new)
            conn.commit()
            records += [(table, int(r), "correct") for r in corr] + [(table, int(r), "delete") for r in dele]
            if new is not None:
                records += [(table, int(r), "insert") for r in new["row_id"]]
            summary["tables"][table] = {
                "live_before": int(len(live)),
                "changed": n,
                "correct": n_corr,
                "delete": n_del,
                "insert": n_ins,
            }
    summary["updated_at"] = ts.isoformat()
    run = ts.strftime("%Y%m%dT%H%M%S%f")
    write_parquet(
        truth_dir / "updates" / f"{run}.parquet", pd.DataFrame(records, columns=["table", "row_id", "action"])
    )
    write_json(truth_dir / "updates" / f"{run}.json", summary)
    return summary


def _new_rows(
    conn, table: str, n: int, rng: np.random.Generator, fields, ts: dt.datetime, first_row_id: int
) -> pd.DataFrame:
    """n new rows for ``table`` (schema columns) with row_ids from ``first_row_id``."""
    f = fields[int(rng.integers(len(fields)))]
    if table == "gaia_dr3":
        with conn.cursor() as cur:
            lo = ids.synthetic_gaia_id(ids.SYNTHETIC_UPDATE_FIELD, 0)
            hi = ids.synthetic_gaia_id(ids.SYNTHETIC_UPDATE_FIELD + 1, 0)
            cur.execute("SELECT COUNT(*) FROM gaia_dr3 WHERE source_id >= %s AND source_id < %s", (lo, hi))
            first = cur.fetchone()[0]
        df = faint_star_chunk(rng, f, 0, n)
        df["source_id"] = ids.synthetic_gaia_id(ids.SYNTHETIC_UPDATE_FIELD, np.arange(first, first + n, dtype=np.int64))
    elif table == "radio_sources":
        obs = detected_background(rng, f.rms_mjy, f.area_deg2, n_target=n)
        l_deg, b_deg = uniform_lb(rng, f, n)
        ra, dec = galactic_to_icrs(l_deg, b_deg)
        # quoted: the statistical error only; the scatter adds the field's systematic (docs/data.md)
        sigma = quoted_error_arcsec(obs["peak_flux_mjy"] / f.rms_mjy)
        ra, dec = scatter_positions(
            rng, ra, dec, position_error_arcsec(obs["peak_flux_mjy"] / f.rms_mjy, f.sys_err_arcsec)
        )
        with conn.cursor() as cur:
            cur.execute("SELECT source_name FROM radio_sources")
            taken = {r[0] for r in cur.fetchall()}
        from radiostars.sample.fields import icrs_to_galactic

        names = make_unique(galactic_name(*icrs_to_galactic(ra, dec)), taken)
        df = pd.DataFrame(
            {
                "source_name": names,
                **radio_source_columns(
                    ra, dec, sigma, obs, f.rms_mjy, f.epoch_mjd_start + rng.uniform(0, 60.0, n), f.name
                ),
            }
        )
    else:
        raise SampleError(f"inserts are not defined for {table}")
    df["row_id"] = np.arange(first_row_id, first_row_id + n, dtype=np.int64)
    df["deleted"] = False
    df["updated_at"] = pd.Timestamp(ts)
    assert set(df.columns) == set(column_names(table)), TABLES[table]
    return df[column_names(table)]
