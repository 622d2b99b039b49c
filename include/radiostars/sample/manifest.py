"""Lake manifests: ``raw/<table>/ingest_date=<date>/run_id=<run_id>/_manifest.json``.

Written by the scale generator (and tests) in the same contract as the ingestion DAG's manifests
(which add watermark, quarantine and commit-time fields)::

    {"table", "run_id", "ingest_date", "files": [{"key", "rows", "sha256"}], "rows",
     "schema_version": 1, "columns": [...]}
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

from radiostars.ingest.spec import run_prefix  # one definition of the raw layout


@dataclass(frozen=True)
class PartFile:
    key: str
    rows: int
    sha256: str


def manifest_dict(table: str, run_id: str, ingest_date: str, files: list[PartFile],
                  columns: list[str], schema_version: int = 1) -> dict:
    return {"table": table, "run_id": run_id, "ingest_date": ingest_date,
            "files": [{"key": f.key, "rows": f.rows, "sha256": f.sha256} for f in files],
            "rows": sum(f.rows for f in files), "schema_version": schema_version, "columns": list(columns)}


def write_manifest(client, bucket: str, table: str, run_id: str, ingest_date: str,
                   files: list[PartFile], columns: list[str], schema_version: int = 1,
                   lake_prefix: str = "") -> str:
    """Put ``_manifest.json`` (written last: its presence marks the run complete); returns its key."""
    body = json.dumps(manifest_dict(table, run_id, ingest_date, files, columns, schema_version),
                      indent=2).encode()
    key = run_prefix(table, ingest_date, run_id, lake_prefix) + "_manifest.json"
    client.put_object(bucket, key, io.BytesIO(body), len(body), content_type="application/json")
    return key
