"""The cross-match on Spark: the plumbing around the numpy library in ``radiostars.crossmatch``.

* :mod:`~radiostars.spark_engine.run` — one cross-match run (read → match → write → commit);
* :mod:`~radiostars.spark_engine.inputs` — the committed catalogue snapshots as Spark DataFrames;
* :mod:`~radiostars.spark_engine.partitioned_match` — the HEALPix pass (explode with margins, match per pixel);
* :mod:`~radiostars.spark_engine.curated` — the optical snapshots stored HEALPix-partitioned;
* :mod:`~radiostars.spark_engine.session` — every Spark conf (SparkSession, the DAG's spark-submit, s3a);
* :mod:`~radiostars.spark_engine.jars` — the s3a jars (versions in :mod:`radiostars.versions`).

Kept light: the DAG reads ``OPTICAL_LAYOUTS`` at parse time."""

# where a run's optical rows come from: the stored HEALPix layout, or an explode + shuffle in the run
OPTICAL_LAYOUTS = ("curated", "shuffle")
