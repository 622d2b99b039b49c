"""The lake's committed-run contract without MinIO: commit lists every file with its size, readers refuse
a missing or rewritten file, older folder markers stay readable; key checks."""

from __future__ import annotations

import json

import pytest

from radiostars.lake import keys
from radiostars.lake.errors import (
    InvalidKeyError,
    InvalidRunIdError,
    RunIncompleteError,
    RunNotCommittedError,
    RunNotFoundError,
)
from radiostars.lake.runs import MARKER_FORMAT, commit_run, committed_runs, is_committed, read_committed_run
from radiostars.lake.store import LakeObject

pytestmark = pytest.mark.unit


class MemoryLake:
    """The part of :class:`radiostars.lake.store.Lake` the contract uses, in a dict."""

    bucket = "mem"

    def __init__(self):
        self.objects_ = {}

    def put(self, key: str, body: bytes) -> None:
        self.objects_[key] = body

    def put_json(self, key: str, obj: dict) -> bytes:
        body = json.dumps(obj).encode()
        self.put(key, body)
        return body

    def get_json(self, key: str):
        body = self.objects_.get(key)
        return None if body is None else json.loads(body)

    def size(self, key: str):
        body = self.objects_.get(key)
        return None if body is None else len(body)

    def objects(self, prefix: str):
        for key in sorted(self.objects_):
            if key.startswith(prefix):
                yield LakeObject(key, len(self.objects_[key]), f"etag-{hash(self.objects_[key]) & 0xFFFF:x}")

    def list(self, prefix: str):
        for obj in self.objects(prefix):
            yield obj.key, obj.size

    def folders(self, prefix: str):
        return sorted(
            {
                prefix + k[len(prefix) :].split("/", 1)[0] + "/"
                for k in self.objects_
                if k.startswith(prefix) and "/" in k[len(prefix) :]
            }
        )


def _write(lake: MemoryLake, run_id: str, prefix: str = "") -> str:
    base = keys.crossmatch_run_prefix(run_id, prefix)
    for part in ("pairs", "best", "control", "radio", "optical"):
        lake.put(f"{base}{part}/part-00000-abc.snappy.parquet", b"PAR1" + part.encode() * 3 + b"PAR1")
        lake.put(f"{base}{part}/_SUCCESS", b"")
    lake.put_json(base + keys.METRICS, {"run_id": run_id, "pairs": 3})
    return base


def test_commit_lists_every_file_with_its_size_and_readers_get_exactly_those():
    lake = MemoryLake()
    base = _write(lake, "r1", "t/")
    assert not is_committed(lake, "r1", "t/")
    marker = commit_run(lake, "r1", "t/")
    assert marker["format"] == MARKER_FORMAT and marker["committed_at"].endswith("Z")
    assert {f["key"] for f in marker["files"]} == {
        f"{p}/{n}"
        for p in ("pairs", "best", "control", "radio", "optical")
        for n in ("part-00000-abc.snappy.parquet", "_SUCCESS")
    } | {"metrics.json"}
    assert all(f["bytes"] == lake.size(base + f["key"]) for f in marker["files"])
    lake.put(base + "pairs/part-00001-late.parquet", b"written after the commit")  # not listed: never read
    run = read_committed_run(lake, "r1", "t/")
    assert run.parts["pairs"] == [(base + "pairs/part-00000-abc.snappy.parquet", 23)]
    assert run.metrics == {"run_id": "r1", "pairs": 3} and run.committed_at is not None
    assert is_committed(lake, "r1", "t/") and committed_runs(lake, "t/") == ["r1"]


def test_a_missing_or_rewritten_listed_file_is_refused():
    lake = MemoryLake()
    base = _write(lake, "r2")
    commit_run(lake, "r2")
    lake.put(base + "radio/part-00000-abc.snappy.parquet", b"other bytes")
    with pytest.raises(
        RunIncompleteError,
        match=r"differ from what the marker lists.*radio/part-00000-abc"
        r"\.snappy\.parquet has 11 bytes, the marker lists 23",
    ):
        read_committed_run(lake, "r2")
    del lake.objects_[base + "radio/part-00000-abc.snappy.parquet"]
    with pytest.raises(RunIncompleteError, match="1 file.s. missing from the lake, e.g. crossmatch/r2/radio/"):
        read_committed_run(lake, "r2")


def test_uncommitted_unknown_and_older_folder_markers():
    lake = MemoryLake()
    with pytest.raises(RunNotFoundError, match="nothing under mem/crossmatch/none/"):
        read_committed_run(lake, "none")
    base = _write(lake, "old")
    with pytest.raises(RunNotCommittedError, match="_SUCCESS is missing"):
        read_committed_run(lake, "old")
    lake.put_json(
        base + keys.MARKER,
        {
            "run_id": "old",
            "committed_at": "2026-01-01T00:00:00Z",
            "files": ["pairs/", "best/", "control/", "radio/", "optical/", "metrics.json"],
        },
    )
    lake.put(base + "pairs/part-00001-more.snappy.parquet", b"PAR1 PAR1")  # format 1: the whole folder
    run = read_committed_run(lake, "old")
    assert [k for k, _ in run.parts["pairs"]] == [
        base + "pairs/part-00000-abc.snappy.parquet",
        base + "pairs/part-00001-more.snappy.parquet",
    ]
    assert run.committed_at.isoformat() == "2026-01-01T00:00:00+00:00"
    with pytest.raises(RunIncompleteError, match="commits no known_objects Parquet"):
        read_committed_run(lake, "old", required=("pairs", "known_objects"))


def test_committed_runs_sort_by_commit_time():
    lake = MemoryLake()
    for run_id, at in (("scheduled__b", "2026-01-01T00:00:00Z"), ("asset_triggered__a", "2026-01-01T00:00:00.5Z")):
        lake.put_json(keys.marker_key(run_id), {"run_id": run_id, "committed_at": at})
    assert committed_runs(lake) == ["scheduled__b", "asset_triggered__a"]


@pytest.mark.parametrize("good", ["manual__2026-01-01T00:00:00+00:00", "20260102T030405000006Z-a1b2c3", "a"])
def test_one_run_id_rule(good):
    assert keys.check_run_id(good) == good


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "x y", ".hidden", "_x", "a..b", "a" * 201, None])
def test_run_ids_that_cannot_be_a_key_segment(bad):
    with pytest.raises(InvalidRunIdError, match="invalid run id"):
        keys.check_run_id(bad)


def test_prefix_and_key_spelling():
    assert keys.check_prefix("a/b") == "a/b/" and keys.check_prefix("") == ""
    with pytest.raises(InvalidKeyError):
        keys.check_prefix("/abs/")
    assert keys.marker_key("r", "t/") == "t/crossmatch/r/_SUCCESS"
    assert (
        keys.manifest_key("gaia_dr3", "2026-01-02", "r1")
        == "raw/gaia_dr3/ingest_date=2026-01-02/run_id=r1/_manifest.json"
    )
