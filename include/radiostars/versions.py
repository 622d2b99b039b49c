"""Versions pinned in one place (no imports: config, the Spark session, the jar fetcher, the MinIO
builder and the compose check all read them from here). The Python packages are pinned in
requirements/*.lock; uv's own version is in scripts/setup.sh (it runs before any Python environment).
"""

HADOOP_VERSION = "3.5.0"  # bundled in pyspark 4.3.0; hadoop-aws must equal it
AWS_SDK_V2_VERSION = "2.35.4"  # what hadoop-project 3.5.0 pins
ANALYTICS_ACCELERATOR_VERSION = "1.3.1"

# MinIO: docker-compose.yaml runs this release image; local mode builds the Go pseudo-version below
# (the module proxy does not serve the release's own commit: radiostars.stack.minio_binary, docs/stack.md)
MINIO_RELEASE = "RELEASE.2025-10-15T17-29-55Z"
MINIO_GO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"
