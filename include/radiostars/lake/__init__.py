"""The MinIO data lake: one package for every reader and writer (docs/lake.md).

* :mod:`~radiostars.lake.client` — the minio client and the pyarrow S3 filesystem, built from the config;
* :mod:`~radiostars.lake.store` — object I/O (:class:`~radiostars.lake.store.Lake`): JSON, bytes, listing,
  seekable Parquet reads by range request, deterministic Parquet parts with checksums;
* :mod:`~radiostars.lake.keys` — the one spelling of every key (raw zone, curated, committed runs) and the
  checks of prefixes and run ids; light, safe at DAG parse time;
* :mod:`~radiostars.lake.raw` — the raw-zone contract: manifests, effective manifests, snapshots;
* :mod:`~radiostars.lake.runs` — the committed-run contract of ``crossmatch/<run_id>/``: commit (the
  ``_SUCCESS`` marker listing every file with its size and ETag), list committed runs, read;
* :mod:`~radiostars.lake.errors` — the lake's errors.

Kept empty on purpose: importing the package loads nothing heavy.
"""
