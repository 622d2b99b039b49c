"""The s3a jars Spark needs, fetched from Maven Central and checked against their SHA-1.

pyspark 4.3.0 bundles Hadoop 3.5.0 (`pyspark/jars/hadoop-client-api-3.5.0.jar`); hadoop-aws must be
the same version and the AWS SDK v2 bundle the version hadoop-project 3.5.0 pins, or s3a fails at
runtime with NoSuchMethodError / ClassNotFoundException.
"""

from __future__ import annotations

import hashlib
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from radiostars.versions import ANALYTICS_ACCELERATOR_VERSION, AWS_SDK_V2_VERSION, HADOOP_VERSION

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"


@dataclass(frozen=True)
class Jar:
    group: str
    artifact: str
    version: str
    sha1: str

    @property
    def filename(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    @property
    def url(self) -> str:
        return f"{MAVEN_CENTRAL}/{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.filename}"

    @property
    def coordinate(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"


JARS: tuple[Jar, ...] = (
    Jar("org.apache.hadoop", "hadoop-aws", HADOOP_VERSION, "9e594525d264c0db653c7f68da98b245f7d61ea5"),
    Jar("software.amazon.awssdk", "bundle", AWS_SDK_V2_VERSION, "7252265e3970b214708e68a8b74a8fa8c875af1e"),
    Jar(
        "software.amazon.s3.analyticsaccelerator",
        "analyticsaccelerator-s3",
        ANALYTICS_ACCELERATOR_VERSION,
        "6c9bd0f6c440c9a78e82d272f5f0252d942419f6",
    ),
)


def jar_paths(jars_dir: Path) -> list[Path]:
    """Where the jars are (or will be) in ``jars_dir`` (``Settings.jars_dir``)."""
    return [jars_dir / jar.filename for jar in JARS]


def sha1_of(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_jars(jars_dir: Path, log=print) -> list[Path]:
    """Download each jar unless a copy with the right checksum is already there (idempotent)."""
    jars_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for jar in JARS:
        target = jars_dir / jar.filename
        if target.exists() and sha1_of(target) == jar.sha1:
            paths.append(target)
            continue
        log(f"fetching {jar.coordinate} from Maven Central ...")
        partial = target.with_suffix(".part")
        try:
            urllib.request.urlretrieve(jar.url, partial)
        except OSError as exc:
            raise RuntimeError(f"could not download {jar.url}: {exc}") from None
        actual = sha1_of(partial)
        if actual != jar.sha1:
            partial.unlink()
            raise RuntimeError(f"checksum mismatch for {jar.filename}: expected sha1 {jar.sha1}, got {actual}")
        partial.rename(target)
        paths.append(target)
    return paths
