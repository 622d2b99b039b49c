"""Session fixtures shared by the Spark integration modules (test_crossmatch_spark.py, test_faults_spark.py):
the small hard sky written once, and its undisturbed local[2] run — the faults' baseline — run once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sky(stack):
    """(prefix, radio frame, optical frame) written to the lake (tests/spark_sky.py); removed at the end."""
    from radiostars.lake.store import Lake
    from tests.spark_sky import write_sky

    prefix, radio, optical = write_sky(stack)
    yield prefix, radio, optical
    Lake(stack).remove_prefix(prefix)


@pytest.fixture(scope="session")
def local_run(stack, sky):
    """(pairs, metrics) of the undisturbed run "local" of the sky on local[2] (builds the curated layout)."""
    from tests.spark_sky import _run

    prefix, _, _ = sky
    return _run(stack, prefix, "local", "local[2]")
