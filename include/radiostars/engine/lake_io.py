"""Small object-store helpers the Spark engine shares (JSON markers, clearing a prefix)."""

from __future__ import annotations

import io
import json

from radiostars.config import Settings


class LakeWriteError(RuntimeError):
    """An object-store write or delete failed; the message names the prefix."""


def put_json(settings: Settings, key: str, payload: dict) -> None:
    from radiostars.lake import lake_client

    body = json.dumps(payload, indent=2, default=str).encode()
    lake_client(settings).put_object(settings.lake_bucket, key, io.BytesIO(body), len(body),
                                     content_type="application/json")


def get_json(settings: Settings, key: str) -> dict | None:
    """The JSON object at ``key``, or None when it does not exist."""
    from radiostars.lake import lake_client

    try:
        response = lake_client(settings).get_object(settings.lake_bucket, key)
    except Exception:  # noqa: BLE001 - minio raises S3Error for a missing key
        return None
    try:
        return json.loads(response.read() or b"{}")
    finally:
        response.close()
        response.release_conn()


def clear_prefix(settings: Settings, prefix: str) -> int:
    """Delete every object under ``prefix``; returns how many there were."""
    from minio.deleteobjects import DeleteObject

    from radiostars.lake import lake_client

    client = lake_client(settings)
    keys = [DeleteObject(o.object_name) for o in client.list_objects(settings.lake_bucket, prefix=prefix, recursive=True)]
    errors = list(client.remove_objects(settings.lake_bucket, keys))
    if errors:
        raise LakeWriteError(f"could not clear {prefix}: {errors[0]}")
    return len(keys)
