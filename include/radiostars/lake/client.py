"""The clients of the MinIO data lake, built from the config: the one place that holds the endpoint
and the credentials of the lake (Spark's s3a settings are in :mod:`radiostars.spark_engine.session`)."""

from __future__ import annotations

from radiostars.config import Settings, get_settings


def lake_credentials(settings: Settings, *, root: bool = False) -> tuple[str, str]:
    """(access key, secret key): the pipeline's own user (read/write on the lake bucket and the tests'
    scratch buckets only), or MinIO's root (setup: the bucket, the user and its policy)."""
    if root:
        return settings["MINIO_ROOT_USER"], settings.secret("MINIO_ROOT_PASSWORD")
    return settings["MINIO_PIPELINE_USER"], settings.secret("MINIO_PIPELINE_PASSWORD")


def lake_client(settings: Settings | None = None, *, root: bool = False):
    """A `minio.Minio` client for the lake (plain HTTP on loopback locally), as the pipeline user."""
    from minio import Minio

    s = settings or get_settings()
    access_key, secret_key = lake_credentials(s, root=root)
    return Minio(s.minio_endpoint, access_key=access_key, secret_key=secret_key, secure=False, region=s["S3_REGION"])


def s3_filesystem(settings: Settings | None = None):
    """A pyarrow S3 filesystem on the lake's MinIO (plain HTTP on loopback), for the benchmarks' I/O floor."""
    from pyarrow import fs as pafs

    s = settings or get_settings()
    access_key, secret_key = lake_credentials(s)
    return pafs.S3FileSystem(
        endpoint_override=s.minio_url,
        access_key=access_key,
        secret_key=secret_key,
        scheme="http",
        region=s["S3_REGION"],
    )
