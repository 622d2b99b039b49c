"""Nightly ingestion MySQL -> MinIO (DESIGN.md §1, DAG 1; docs/ingestion.md, docs/lake.md).

Modules: :mod:`spec` (light: tables, keys, params — safe at DAG parse time), :mod:`dag_support`
(light Airflow glue), :mod:`pipeline` (extract -> validate -> write -> commit, and
:func:`pipeline.ingest_table`), :mod:`manifest` (readers: :func:`manifest.effective_manifests`,
:func:`manifest.read_snapshot`, :func:`manifest.snapshot_uris`), :mod:`validate` (rules),
:mod:`extract` (keyset streaming), :mod:`schema` (expected types, drift), :mod:`lake_io` (MinIO,
deterministic Parquet parts). Nothing heavy is imported here.
"""
