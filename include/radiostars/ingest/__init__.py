"""Nightly ingestion MySQL -> MinIO (DESIGN.md §1, DAG 1; docs/ingestion.md, docs/lake.md).

Modules: :mod:`spec` (light: params — safe at DAG parse time), :mod:`pipeline` (extract -> validate -> write -> commit, and
:func:`pipeline.ingest_table`), :mod:`validate` (rules), :mod:`extract` (keyset streaming),
:mod:`drift` (schema drift against :mod:`radiostars.catalogues`). The lake — keys, object I/O, deterministic Parquet parts and the
manifest readers — is :mod:`radiostars.lake`; the DAG's Airflow glue :mod:`radiostars.orchestration.ingest_dag`.
Nothing heavy is imported here.
"""
