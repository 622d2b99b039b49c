"""The MinIO server binary, built from source with `go install` and cached in the state folder.

MinIO's tags are not semver, so the Go module proxy only knows pseudo-versions. The design card asks for
RELEASE.2025-10-15T17-29-55Z (commit 9e49d5e7a648, pseudo-version v0.0.0-20251015172955-9e49d5e7a648),
but the module proxy reachable here answers that version with 403 "not available"; the newest version it
serves is the commit below (2026-02-12, the archived community repository's last state), so that is what
is pinned for local mode. docker-compose keeps the quay.io release image. See docs/stack.md.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from radiostars.config import inherited_env
from radiostars.versions import MINIO_GO_VERSION

MINIO_MODULE = "github.com/minio/minio"


def _stamp(bin_dir: Path) -> Path:
    return bin_dir / "minio.version"


def minio_binary(bin_dir: Path) -> Path:
    return bin_dir / "minio"


def is_current(bin_dir: Path) -> bool:
    stamp = _stamp(bin_dir)
    return minio_binary(bin_dir).exists() and stamp.exists() and stamp.read_text().strip() == MINIO_GO_VERSION


def ensure_minio(bin_dir: Path, log=print) -> Path:
    """Build the pinned MinIO unless that exact build is already cached (idempotent, minutes once)."""
    binary = minio_binary(bin_dir)
    if is_current(bin_dir):
        return binary
    go = shutil.which("go")
    if go is None:
        raise RuntimeError(
            "`go` is not on PATH: install Go >= 1.24 (https://go.dev/dl or Debian golang) to build the MinIO server"
        )
    bin_dir.mkdir(parents=True, exist_ok=True)
    log(f"building MinIO {MINIO_GO_VERSION} with go install (takes minutes once; cached in {bin_dir}) ...")
    env = {**inherited_env(), "CGO_ENABLED": "0", "GOBIN": str(bin_dir), "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    result = subprocess.run(
        [go, "install", f"{MINIO_MODULE}@{MINIO_GO_VERSION}"], env=env, capture_output=True, text=True, cwd="/tmp"
    )
    if result.returncode != 0:
        raise RuntimeError(f"go install of MinIO failed:\n{result.stderr[-2000:]}")
    _stamp(bin_dir).write_text(MINIO_GO_VERSION + "\n")
    return binary
