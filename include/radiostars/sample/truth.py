"""Evaluation-only truth, written under ``settings.truth_dir`` (never read by the pipeline).

Files: ``radio_truth.parquet`` (one row per clean radio source: source_name, row_id, catalogue,
star_id, is_injected, true_ra_deg/true_dec_deg at obs_epoch_mjd, int_true_mjy, field, … — the full
list is ``generate.TRUTH_RADIO_COLUMNS``), ``fields_truth.parquet`` (one row per field: geometry, rms,
systematic σ, its coherent offset, counts, the faint-star density),
``known_objects_truth.parquet`` (name, object_type, radio_name of the tagged background source),
``dirty_rows.parquet`` (table, row_id, kind), ``dirty_counts.json`` ({table: {kind: n}}),
``seed_manifest.json`` (parameters, row counts, checksums, timings) and, per ``--update`` run,
``updates/<run>.parquet`` (table, row_id, action) + ``updates/<run>.json``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_parquet(path: Path, df: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.parquet")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def dirty_counts(dirty_rows: list[tuple[str, int, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (table, kind), n in sorted(Counter((t, k) for t, _, k in dirty_rows).items()):
        out.setdefault(table, {})[kind] = n
    return out


def write_seed_truth(
    truth_dir: Path,
    radio: pd.DataFrame,
    known: pd.DataFrame,
    dirty_rows: list[tuple[str, int, str]],
    manifest: dict,
    fields: pd.DataFrame | None = None,
) -> None:
    write_parquet(truth_dir / "radio_truth.parquet", radio)
    if fields is not None:
        write_parquet(truth_dir / "fields_truth.parquet", fields)
    write_parquet(truth_dir / "known_objects_truth.parquet", known)
    write_parquet(truth_dir / "dirty_rows.parquet", pd.DataFrame(dirty_rows, columns=["table", "row_id", "kind"]))
    write_json(truth_dir / "dirty_counts.json", dirty_counts(dirty_rows))
    write_json(truth_dir / "seed_manifest.json", manifest)


def sample_summary(gen) -> dict:
    """Counts a user checks first: area, radio sources, radio stars by kind, faint density per field."""
    t, f = gen.truth_radio, gen.truth_fields
    inj = t[t["is_injected"]]
    plane = f[f["kind"] == "plane"]
    return {
        "area_deg2": {
            "plane": round(float(plane["area_deg2"].sum()), 2),
            "pointings": round(float(f.loc[f["kind"] == "hpm", "area_deg2"].sum()), 2),
        },
        "radio_sources": int(len(t)),
        "radio_stars": int(len(inj)),
        "radio_stars_by_field_kind": {str(k): int(v) for k, v in inj["field_kind"].value_counts().items()},
        "radio_stars_by_class": {str(k): int(v) for k, v in inj["star_class"].value_counts().items()},
        "star_fraction_plane": round(
            float(inj["field_kind"].eq("plane").sum() / max(1, t["field_kind"].eq("plane").sum())), 5
        ),
        "faint_density_per_deg2_plane_median": round(float(plane["faint_density_per_deg2"].median()), 0)
        if len(plane)
        else None,
    }
