"""The one place that builds Spark's configuration from the config: the SparkSession of the job, tests and
benchmarks, and the --conf pairs of the DAG's spark-submit — wired to the lake (s3a -> MinIO) with the
jars of :mod:`radiostars.spark_engine.jars`. Light: the DAG file imports it at parse time (pyspark is
imported only when a session is built).

No secret is ever part of the conf: the conf becomes spark-submit's ``--conf k=v`` argv (visible in
``ps``, and a template field of SparkSubmitOperator, rendered into Airflow's metadata). The lake
credentials are set on the running session's Hadoop configuration by :func:`apply_lake_credentials`,
read from ``.env`` inside the driver; Spark ships that configuration to executors with each job.

The standalone master and workers require Spark's shared-secret authentication (``spark.authenticate``,
SPARK_AUTH_SECRET): every driver gets the secret from :func:`spark_session` — through py4j when the JVM
runs already (spark-submit launched the job), else from a 0600 ``spark-defaults.conf`` in SPARK_CONF_DIR
(pyspark launches spark-submit with every conf entry on its argv) — never from an argv."""

from __future__ import annotations

import sys
from pathlib import Path

from radiostars.config import (
    Settings,
    bind_spark_driver_to,
    get_settings,
    started_by_spark_submit,
    use_spark_conf_dir,
    use_this_python_for_pyspark_workers,
)
from radiostars.spark_engine.jars import jar_paths


def spark_conf(settings: Settings, master: str | None = None) -> dict[str, str]:
    """Everything spark-submit / SparkSession needs: master, s3a jars and settings, sane local sizes."""
    s = settings
    jars = jar_paths(s.jars_dir)
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
        # the driver's web UI (port 4040+) binds SPARK_LOCAL_IP, else every interface; batch jobs need none
        # (benchmarks turn it on for stage metrics, bound to the driver's address by spark_session)
        "spark.ui.enabled": "false",
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
        **s3a_conf(s),
    }


def s3a_conf(settings: Settings) -> dict[str, str]:
    """Spark/Hadoop settings that point s3a at MinIO (path-style, no TLS) — without the credentials,
    which :func:`apply_lake_credentials` sets on the running session."""
    s = settings
    return {
        "spark.hadoop.fs.s3a.endpoint": s.minio_url,
        "spark.hadoop.fs.s3a.endpoint.region": s["S3_REGION"],
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
        "spark.hadoop.fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
    }


def apply_lake_credentials(spark, settings: Settings) -> None:
    """Set the s3a credentials on the session's Hadoop configuration (in the driver JVM, never argv);
    every DataFrame read/write ships a copy of it to the executors."""
    from radiostars.lake.client import lake_credentials

    access_key, secret_key = lake_credentials(settings)
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    hadoop_conf.set("fs.s3a.access.key", access_key)
    hadoop_conf.set("fs.s3a.secret.key", secret_key)


def spark_auth_conf(settings: Settings, master: str) -> dict[str, str]:
    """Spark's shared-secret authentication (docs/security.md) for a driver of ``master``: on a standalone
    cluster (``spark://``) the master and workers hold the same secret (radiostars.stack.services) and refuse
    any driver or executor without it. Off for ``local[N]`` (no cluster to talk to): Spark would otherwise
    store a generated secret in the JVM's user credentials, which a later standalone session of the same
    process would present instead of this one. Never part of :func:`spark_conf` (an argv)."""
    if not master.startswith("spark://"):
        return {"spark.authenticate": "false"}
    return {"spark.authenticate": "true", "spark.authenticate.secret": settings.secret("SPARK_AUTH_SECRET")}


def write_spark_auth_conf(settings: Settings) -> Path:
    """Write the cluster's secret into ``spark-defaults.conf`` (0600 from its first byte, in a 0700 folder);
    return the folder, the SPARK_CONF_DIR of the drivers pyspark launches."""
    from radiostars.stack.envfile import write_private

    folder = settings.spark_conf_dir
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / "spark-defaults.conf"
    text = f"spark.authenticate.secret {settings.secret('SPARK_AUTH_SECRET')}\n"
    if not path.exists() or path.read_text() != text:
        write_private(path, text)
    return folder


def submit_conf(settings: Settings) -> dict[str, str]:
    """--conf pairs for spark-submit (the DAG): s3a, jars, memory; the master comes from the connection."""
    conf = spark_conf(settings)
    conf.pop("spark.master")
    return conf


def spark_session(
    app_name: str,
    master: str | None = None,
    settings: Settings | None = None,
    extra_conf: dict[str, str] | None = None,
    inherit_master: bool = False,
):
    """inherit_master: keep the master spark-submit was given (the Airflow connection) unless
    `master` is passed explicitly."""
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    s = settings or get_settings()
    use_this_python_for_pyspark_workers()
    bind_spark_driver_to(s.spark_driver_bind_address)  # a UI a caller turns on (benchmarks) stays on loopback
    conf = {**spark_conf(s, master), **(extra_conf or {})}
    if inherit_master and master is None:
        conf.pop("spark.master")
    running = SparkContext._gateway is not None or started_by_spark_submit()
    if running:
        SparkContext._ensure_initialized()  # join the JVM spark-submit started: its conf knows the master
    auth = spark_auth_conf(s, conf.get("spark.master") or (SparkConf().get("spark.master", "") if running else ""))
    if running:
        # the driver JVM runs already (spark-submit started this job, or an earlier session): the builder's
        # conf reaches it through py4j, never an argv
        conf.update(auth)
    else:
        # pyspark is about to launch spark-submit with every conf entry on its argv: the secret reaches that
        # JVM from the 0600 spark-defaults.conf of SPARK_CONF_DIR instead
        conf["spark.authenticate"] = auth["spark.authenticate"]
        if "spark.authenticate.secret" in auth:
            use_spark_conf_dir(write_spark_auth_conf(s))
    builder = SparkSession.builder.appName(app_name)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    apply_lake_credentials(spark, s)
    return spark
