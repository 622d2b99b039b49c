"""One place that builds a SparkSession wired to the lake (s3a -> MinIO) from the config."""

from __future__ import annotations

import sys

from radiostars.config import Settings, get_settings, use_this_python_for_pyspark_workers


def spark_conf(settings: Settings, master: str | None = None) -> dict[str, str]:
    """Everything spark-submit / SparkSession needs: master, s3a jars and settings, sane local sizes."""
    s = settings
    jars = s.spark_jars()
    missing = [str(j) for j in jars if not j.exists()]
    if missing:
        raise RuntimeError(f"s3a jars missing ({', '.join(missing)}): run `make setup`")
    return {
        "spark.master": master or s.spark_master,
        "spark.jars": ",".join(str(j) for j in jars),
        "spark.driver.memory": s["SPARK_DRIVER_MEMORY"],
        "spark.executor.memory": s["SPARK_EXECUTOR_MEMORY"],
        # where executors reach the driver: its own host (the Airflow scheduler container in compose),
        # never the master's; the same loopback address as the master on the bare machine
        "spark.driver.host": s.spark_driver_host,
        "spark.driver.bindAddress": s.spark_driver_bind_address,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(s.spark_shuffle_partitions),
        "spark.ui.showConsoleProgress": "false",
        "spark.log.level": "WARN",
        "spark.sql.parquet.compression.codec": "zstd",
        # commit algorithm 2: a task's files go straight to the output directory; v1 renames every file
        # twice (task, then job commit on the driver), and an S3 "rename" is a full copy — minutes for the
        # curated layout's GBs. Safe here because readers never trust a directory, only the marker the
        # engine writes last (_SUCCESS, _LAYOUT.json), and a retry clears the prefix first.
        "spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version": "2",
        # executors run the same interpreter (and so the same numpy/pandas/radiostars) as the driver;
        # on a cluster the workers carry the same image/venv path (docker/radiostars/Dockerfile)
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # pandas UDF batches: 10x the default 10k rows amortises the per-batch Python overhead
        # (HEALPix lookups, frame building) at ~15 MB a batch for the optical columns
        "spark.sql.execution.arrow.maxRecordsPerBatch": "100000",
        **s.s3a_conf(),
    }


def spark_session(app_name: str, master: str | None = None, settings: Settings | None = None,
                  extra_conf: dict[str, str] | None = None, inherit_master: bool = False):
    """inherit_master: keep the master spark-submit was given (the Airflow connection) unless
    `master` is passed explicitly."""
    from pyspark.sql import SparkSession

    s = settings or get_settings()
    use_this_python_for_pyspark_workers()
    conf = {**spark_conf(s, master), **(extra_conf or {})}
    if inherit_master and master is None:
        conf.pop("spark.master")
    builder = SparkSession.builder.appName(app_name)
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
