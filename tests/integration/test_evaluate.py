"""`radiostars evaluate` end to end on MinIO: a tiny committed run + truth written to a private lake
prefix (docs/lake.md columns, `_SUCCESS` last), the report built from it through the CLI."""

from __future__ import annotations

import io
import json
import uuid

import pytest

from radiostars.evaluate import cli
from radiostars.evaluate.report import PLOT_FILES
from tests.evaluate_fixtures import EXPECTED, RUN_ID, build_tiny_run, write_committed_run

pytestmark = pytest.mark.integration


def _clear(settings, prefix: str) -> None:
    from minio.deleteobjects import DeleteObject

    from radiostars.lake.client import lake_client

    client = lake_client(settings)
    keys = [
        DeleteObject(o.object_name) for o in client.list_objects(settings.lake_bucket, prefix=prefix, recursive=True)
    ]
    errors = list(client.remove_objects(settings.lake_bucket, keys))
    assert not errors, errors


@pytest.fixture(scope="module")
def committed(stack):
    settings = stack
    prefix = f"tests/evaluate-{uuid.uuid4().hex[:8]}/"
    run, truth = build_tiny_run()
    try:
        write_committed_run(settings, run, prefix)
        # an attempt without `_SUCCESS` that sorts after the committed run: invisible to the evaluation
        from radiostars.lake.client import lake_client

        body = json.dumps({**run.metrics, "run_id": "zz-uncommitted"}).encode()
        lake_client(settings).put_object(
            settings.lake_bucket, f"{prefix}crossmatch/zz-uncommitted/metrics.json", io.BytesIO(body), len(body)
        )
        yield settings, prefix, truth
    finally:
        _clear(settings, prefix)


def test_report_from_latest_committed_run(committed, tmp_path, capsys):
    settings, prefix, truth = committed
    truth_dir = tmp_path / "truth"
    truth_dir.mkdir()
    truth.to_parquet(truth_dir / "radio_truth.parquet")
    out = tmp_path / "reports"
    rc = cli.main(["evaluate", "--lake-prefix", prefix, "--out", str(out), "--truth-dir", str(truth_dir)])
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    assert f"run {RUN_ID}" in printed.out and "completeness" in printed.out
    folder = out / RUN_ID  # the latest *committed* run, not zz-uncommitted
    for name in PLOT_FILES.values():
        png = folder / name
        assert png.exists() and png.stat().st_size > 5000, name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["run_id"] == RUN_ID and summary["lake_prefix"] == prefix
    assert (summary["completeness"]["best"]["k"], summary["completeness"]["best"]["n"]) == (
        EXPECTED["recovered_best"],
        EXPECTED["injected"],
    )
    assert summary["epoch_effect"]["with_propagation"]["k"] == EXPECTED["hpm_with"]
    assert summary["epoch_effect"]["without_propagation"]["k"] == EXPECTED["hpm_without"]
    for key in ("analytic", "control", "truth_pairs"):
        assert isinstance(summary["far"][key]["value"], float)
    assert isinstance(summary["reliability"]["p_chance_lt_0.01"]["value"], float)
    assert set(summary["targets"]) == {
        "reliability_at_default_cut",
        "completeness_at_default_cut",
        "reliability_estimate_pull",
        "p_any_calibration_max_pull",
        "far_pull",
        "epoch_effect",
    }
    from radiostars.evaluate.headline import HEADLINE_KEYS

    assert tuple(summary["headline"]) == HEADLINE_KEYS and summary["headline_detail"]["posterior"] == "joint"
    assert "## Headline" in (folder / "report.md").read_text()
    # classes as the warehouse computes them: the run's calibrated cut, the known objects it commits
    inputs = summary["reliability"]["class_inputs"]
    run, _ = build_tiny_run()
    assert inputs["p_any_cut"] == run.metrics["calibration"]["p_any_cut"]
    assert inputs["known_objects"] == 3 and inputs["n_near_known_nonstellar"] == 1
    at = summary["bayes"]["at_calibrated_cut"]
    assert at["p_any_cut"] == inputs["p_any_cut"] and at["truth_false_rate"]["n"] == 300
    assert len(summary["bayes"]["equal_completeness"]) == 6


def test_known_objects_from_the_raw_snapshot_as_of_the_commit(committed):
    """A run that commits no known_objects/: the raw/known_objects/ snapshot, only manifests committed
    at or before the run (the warehouse loader's rule, through the same ingest function)."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    from radiostars.catalogues.arrow import expected_schema
    from radiostars.evaluate.lakeio import read_known_objects
    from radiostars.lake.client import lake_client

    settings, prefix, _ = committed
    client = lake_client(settings)
    assert read_known_objects(settings, None, prefix) is None  # neither a run's folder nor manifests

    def ingest(date: str, run: str, committed_at: str, rows: list[dict]) -> None:
        base = f"{prefix}raw/known_objects/ingest_date={date}/run_id={run}/"
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows, schema=expected_schema("known_objects")), buf)
        client.put_object(
            settings.lake_bucket, base + "part-00000.parquet", io.BytesIO(buf.getvalue()), len(buf.getvalue())
        )
        manifest = json.dumps(
            {
                "table": "known_objects",
                "run_id": run,
                "ingest_date": date,
                "full_refresh": False,
                "files": [{"key": base + "part-00000.parquet", "rows": len(rows)}],
                "committed_at": committed_at,
            }
        ).encode()
        client.put_object(settings.lake_bucket, base + "_manifest.json", io.BytesIO(manifest), len(manifest))

    t = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)

    def row(i, name, typ, deleted=False, days=0):
        return {
            "row_id": i,
            "name": name,
            "ra_deg": 270.0,
            "dec_deg": -20.0,
            "object_type": typ,
            "deleted": deleted,
            "updated_at": t + dt.timedelta(days=days),
        }

    ingest("2025-12-01", "k1", "2025-12-01T02:00:00Z", [row(1, "KO-1", "AGN"), row(2, "KO-2", "Star")])
    ingest("2025-12-02", "k2", "2025-12-02T02:00:00Z", [row(2, "KO-2", "Star", deleted=True, days=1)])
    ingest("2026-02-01", "k3", "2026-02-01T02:00:00Z", [row(3, "KO-LATER", "PN")])  # after the run's commit
    known = read_known_objects(settings, None, prefix, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert list(known["name"]) == ["KO-1"]  # KO-2 deleted on the 2nd, KO-LATER not yet committed
    assert sorted(read_known_objects(settings, None, prefix)["name"]) == ["KO-1", "KO-LATER"]


def test_uncommitted_run_id_is_refused(committed, tmp_path, capsys):
    settings, prefix, truth = committed
    truth.to_parquet(tmp_path / "radio_truth.parquet")
    rc = cli.main(
        ["--run-id", "zz-uncommitted", "--lake-prefix", prefix, "--out", str(tmp_path), "--truth-dir", str(tmp_path)]
    )
    assert rc == 2
    assert "not committed" in capsys.readouterr().err


def test_empty_prefix_says_what_to_run(stack, tmp_path, capsys):
    import pandas as pd

    pd.DataFrame(
        {
            "source_name": ["x"],
            "catalogue": ["background"],
            "star_id": pd.array([None], dtype="Int64"),
            "is_injected": [False],
        }
    ).to_parquet(tmp_path / "radio_truth.parquet")
    rc = cli.main(
        [
            "--lake-prefix",
            f"tests/evaluate-empty-{uuid.uuid4().hex[:8]}/",
            "--truth-dir",
            str(tmp_path),
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 2
    assert "make demo" in capsys.readouterr().err
