"""The MySQL/MariaDB ``catalogues`` database: the one definition of its tables (DESIGN.md §2, docs/data.md).

* :mod:`~radiostars.catalogues.tables` — light names: the tables in load order, each table's catalogue id
  column, the optical catalogues, the object types, the schema version (safe at DAG parse time);
* :mod:`~radiostars.catalogues.schema` — the SQLAlchemy Core metadata (columns, types, indexes, comments):
  what the sample generator creates and seeds, what ingestion checks for drift;
* :mod:`~radiostars.catalogues.arrow` — the same columns as Arrow types: the schema of the raw zone's
  Parquet (ingestion writes it, the lake's snapshot readers cast to it).

Ingestion, the sample generator and any future loader import these; none defines its own.
"""
