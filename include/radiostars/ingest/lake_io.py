"""MinIO access for the ingestion: small objects, deterministic Parquet parts with checksums.

Every call turns a MinIO failure into one :class:`LakeUnavailable` line naming the key.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from radiostars.ingest.errors import LakeUnavailable

PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 3, "use_dictionary": True,
                   "write_statistics": True}
STAGING_OPTIONS = {"compression": "zstd", "compression_level": 1}


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


class Lake:
    """The lake bucket through the minio SDK (``radiostars.lake.lake_client``)."""

    def __init__(self, settings, client=None):
        from radiostars.lake import lake_client

        self.settings = settings
        self.bucket = settings.lake_bucket
        self.client = client or lake_client(settings)
        self.endpoint = settings.minio_endpoint

    def _fail(self, what: str, key: str, exc: BaseException) -> LakeUnavailable:
        return LakeUnavailable(f"cannot {what} s3://{self.bucket}/{key} on MinIO at {self.endpoint}: "
                               f"{_first_line(exc)}; is MinIO running (`make up`)?")

    def ensure_bucket(self) -> None:
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        except Exception as exc:  # noqa: BLE001
            raise self._fail("create bucket", "", exc) from None

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self.client.put_object(self.bucket, key, io.BytesIO(data), len(data), content_type=content_type)
        except Exception as exc:  # noqa: BLE001
            raise self._fail("write", key, exc) from None

    def put_file(self, key: str, path: str, content_type: str = "application/vnd.apache.parquet") -> None:
        try:
            self.client.fput_object(self.bucket, key, path, content_type=content_type)
        except Exception as exc:  # noqa: BLE001
            raise self._fail("write", key, exc) from None

    def put_json(self, key: str, obj: dict) -> bytes:
        body = json.dumps(obj, indent=2, sort_keys=False, default=str).encode()  # numpy scalars in metrics
        self.put_bytes(key, body, "application/json")
        return body

    def get_bytes(self, key: str) -> bytes | None:
        """The object, or None when it does not exist."""
        from minio.error import S3Error

        resp = None
        try:
            resp = self.client.get_object(self.bucket, key)
            return resp.read()
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                return None
            raise self._fail("read", key, exc) from None
        except Exception as exc:  # noqa: BLE001
            raise self._fail("read", key, exc) from None
        finally:
            if resp is not None:
                resp.close()
                resp.release_conn()

    def get_json(self, key: str) -> dict | None:
        body = self.get_bytes(key)
        return None if body is None else json.loads(body)

    def list(self, prefix: str, recursive: bool = True) -> Iterator[tuple[str, int]]:
        """(key, size) of the objects under ``prefix``."""
        try:
            for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=recursive):
                if not obj.is_dir:
                    yield obj.object_name, obj.size
        except Exception as exc:  # noqa: BLE001
            raise self._fail("list", prefix, exc) from None

    def size(self, key: str) -> int | None:
        from minio.error import S3Error

        try:
            return self.client.stat_object(self.bucket, key).size
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                return None
            raise self._fail("stat", key, exc) from None
        except Exception as exc:  # noqa: BLE001
            raise self._fail("stat", key, exc) from None

    def remove_prefix(self, prefix: str) -> int:
        from minio.deleteobjects import DeleteObject

        keys = [k for k, _ in self.list(prefix)]
        if not keys:
            return 0
        try:
            errors = list(self.client.remove_objects(self.bucket, (DeleteObject(k) for k in keys)))
        except Exception as exc:  # noqa: BLE001
            raise self._fail("delete", prefix, exc) from None
        if errors:
            raise LakeUnavailable(f"cannot delete {len(errors)} object(s) under s3://{self.bucket}/{prefix}: "
                                  f"{errors[0]}")
        return len(keys)

    def read_parquet(self, key: str, columns: list[str] | None = None) -> pa.Table:
        body = self.get_bytes(key)
        if body is None:
            raise LakeUnavailable(f"s3://{self.bucket}/{key} is missing")
        return pq.read_table(pa.BufferReader(body), columns=columns)


def parquet_bytes(table: pa.Table | pa.RecordBatch, **options) -> bytes:
    """One small Parquet object in memory (staging chunks, quarantine of one run)."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    sink = io.BytesIO()
    pq.write_table(table, sink, **(options or STAGING_OPTIONS))
    return sink.getvalue()


@dataclass(frozen=True)
class PartInfo:
    key: str
    rows: int
    bytes: int
    sha256: str

    def as_dict(self) -> dict:
        return {"key": self.key, "rows": self.rows, "bytes": self.bytes, "sha256": self.sha256}


def _sha256_file(path: str) -> tuple[str, int]:
    h, n = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
            n += len(block)
    return h.hexdigest(), n


class PartWriter:
    """Write a stream of record batches as ``<prefix>part-NNNNN.parquet`` files.

    Row groups hold exactly ``row_group_rows`` rows (the last one fewer) and a file exactly
    ``rows_per_file`` rows, whatever the size of the incoming batches: the same rows give the same
    bytes, so a rerun yields the same checksums. Memory: about one row group; each file is spooled
    to a local temporary file, then uploaded. ``on_part`` is called after each upload (tests use it
    to inject faults mid-write).
    """

    def __init__(self, lake: Lake, prefix: str, schema: pa.Schema, *, row_group_rows: int,
                 rows_per_file: int, on_part: Callable[[PartInfo], None] | None = None):
        if rows_per_file % row_group_rows:
            raise ValueError(f"rows_per_file={rows_per_file} must be a multiple of row_group_rows={row_group_rows}")
        self.lake, self.prefix, self.schema = lake, prefix, schema
        self.row_group_rows, self.rows_per_file = row_group_rows, rows_per_file
        self.on_part = on_part
        self.parts: list[PartInfo] = []
        self._buffer: list[pa.RecordBatch] = []
        self._buffered = 0
        self._writer: pq.ParquetWriter | None = None
        self._path: str | None = None
        self._file_rows = 0

    def write(self, data: pa.Table | pa.RecordBatch) -> None:
        batches = data.to_batches() if isinstance(data, pa.Table) else [data]
        for b in batches:
            if b.num_rows:
                self._buffer.append(b)
                self._buffered += b.num_rows
        while self._buffered >= self.row_group_rows:
            self._flush(self.row_group_rows)

    def _flush(self, n: int) -> None:
        table = pa.Table.from_batches(self._buffer, schema=self.schema)
        group, rest = table.slice(0, n), table.slice(n)
        self._buffer = rest.combine_chunks().to_batches() if rest.num_rows else []
        self._buffered = rest.num_rows
        if self._writer is None:
            fd, self._path = tempfile.mkstemp(suffix=".parquet", prefix="radiostars-ingest-")
            os.close(fd)
            self._writer = pq.ParquetWriter(self._path, self.schema, **PARQUET_OPTIONS)
        self._writer.write_table(group.combine_chunks(), row_group_size=self.row_group_rows)
        self._file_rows += group.num_rows
        if self._file_rows >= self.rows_per_file:
            self._finish_file()

    def _finish_file(self) -> None:
        assert self._writer is not None and self._path is not None
        self._writer.close()
        try:
            sha, size = _sha256_file(self._path)
            key = f"{self.prefix}part-{len(self.parts):05d}.parquet"
            self.lake.put_file(key, self._path)
        finally:
            os.unlink(self._path)
            self._writer, self._path = None, None
        info = PartInfo(key, self._file_rows, size, sha)
        self._file_rows = 0
        self.parts.append(info)
        if self.on_part is not None:
            self.on_part(info)

    def close(self) -> list[PartInfo]:
        if self._buffered:
            self._flush(self._buffered)
        if self._writer is not None:
            self._finish_file()
        return self.parts

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._path and os.path.exists(self._path):
            os.unlink(self._path)
        self._writer, self._path = None, None
