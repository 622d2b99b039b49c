"""The MinIO data lake: one place that builds the S3 client from the config."""

from __future__ import annotations

from radiostars.config import Settings, get_settings


def lake_client(settings: Settings | None = None):
    """A `minio.Minio` client for the lake (plain HTTP on loopback locally)."""
    from minio import Minio

    s = settings or get_settings()
    return Minio(s.minio_endpoint, access_key=s["MINIO_ROOT_USER"], secret_key=s["MINIO_ROOT_PASSWORD"],
                 secure=False, region=s["S3_REGION"])
