"""Read one committed cross-match run (docs/lake.md `crossmatch/<run_id>/…`) into pandas, through the
lake's committed-run contract (:mod:`radiostars.lake.runs`): exactly the files the `_SUCCESS` marker
lists, each checked to be there with its listed size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from radiostars.config import Settings
from radiostars.lake.errors import LakeError
from radiostars.lake.keys import crossmatch_root
from radiostars.lake.raw import effective_manifests, read_snapshot
from radiostars.lake.runs import CommittedRun, committed_runs, is_committed, read_committed_run, read_part
from radiostars.lake.store import Lake

from .errors import EvaluationError

RUN_TABLES = ("pairs", "best", "control", "radio", "optical")


def resolve_run_id(settings: Settings, run_id: str | None, lake_prefix: str = "", lake: Lake | None = None) -> str:
    """The requested run if committed, else the latest committed one; EvaluationError otherwise."""
    lake = lake or Lake(settings)
    where = f"s3://{settings.lake_bucket}/{crossmatch_root(lake_prefix)}"
    try:
        if run_id:
            if not is_committed(lake, run_id, lake_prefix):
                raise EvaluationError(
                    f"run {run_id!r} is not committed under {where} (no _SUCCESS marker): "
                    "omit --run-id for the latest committed run, or run the radio_star_crossmatch DAG"
                )
            return run_id
        runs = committed_runs(lake, lake_prefix)
    except LakeError as exc:
        raise EvaluationError(f"cannot read {where}: {exc}") from None
    if not runs:
        raise EvaluationError(
            f"no committed cross-match run under {where}: run `make demo` "
            "(or trigger the radio_star_crossmatch DAG) first"
        )
    return runs[-1]


@dataclass
class RunData:
    """Everything the evaluation reads from one committed run."""

    run_id: str
    lake_prefix: str
    metrics: dict
    pairs: pd.DataFrame
    best: pd.DataFrame
    control: pd.DataFrame
    radio: pd.DataFrame
    optical: pd.DataFrame
    # name, ra_deg, dec_deg, object_type as the warehouse sees them for this run; None = no snapshot
    known_objects: pd.DataFrame | None = None
    extra: dict = field(default_factory=dict)


KNOWN_OBJECT_COLUMNS = ["name", "ra_deg", "dec_deg", "object_type"]


def read_known_objects(
    settings: Settings,
    run: CommittedRun | None = None,
    lake_prefix: str = "",
    committed_before=None,
    lake: Lake | None = None,
) -> pd.DataFrame | None:
    """The known objects the warehouse uses for this run (docs/warehouse.md): ``known_objects/`` of the run
    when it commits one, else the ``raw/known_objects/`` snapshot as of the run's commit (the ingestion's
    effective manifests committed at or before it; ``committed_before`` overrides the run's commit time);
    None when there is neither."""
    lake = lake or Lake(settings)
    if committed_before is None and run is not None:
        committed_before = run.committed_at
    try:
        if run is not None and run.parts.get("known_objects"):
            return _latest_by_name(read_part(lake, run, "known_objects").to_pandas())
        if not effective_manifests(settings, "known_objects", lake_prefix, lake, committed_before=committed_before):
            return None
        return read_snapshot(
            settings,
            "known_objects",
            lake_prefix,
            columns=KNOWN_OBJECT_COLUMNS,
            lake=lake,
            committed_before=committed_before,
        ).to_pandas()
    except (LakeError, OSError, ValueError) as exc:
        what = f"run {run.run_id}" if run is not None else "the raw snapshot"
        raise EvaluationError(f"cannot read the known objects of {what}: {str(exc).splitlines()[0]}") from None


def _latest_by_name(known: pd.DataFrame) -> pd.DataFrame:
    """The warehouse's snapshot rule: the latest version of each name by (updated_at, row_id), deleted dropped."""
    order = [c for c in ("updated_at", "row_id") if c in known.columns]
    if order:
        known = known.sort_values(order, ascending=False, na_position="last", kind="stable")
    known = known.drop_duplicates("name")
    if "deleted" in known.columns:
        known = known[~known["deleted"].fillna(False).astype(bool)]
    return known[KNOWN_OBJECT_COLUMNS].reset_index(drop=True)


def read_run(settings: Settings, run_id: str | None = None, lake_prefix: str = "") -> RunData:
    """Resolve the run (latest committed by default) and read all its outputs."""
    if lake_prefix and not lake_prefix.endswith("/"):
        raise EvaluationError(f"--lake-prefix {lake_prefix!r} must end with '/'")
    lake = Lake(settings)
    run_id = resolve_run_id(settings, run_id, lake_prefix, lake)
    try:
        run = read_committed_run(lake, run_id, lake_prefix, required=RUN_TABLES)
        frames = {name: read_part(lake, run, name).to_pandas() for name in RUN_TABLES}
    except (LakeError, OSError, ValueError) as exc:
        raise EvaluationError(
            f"cannot read committed run {run_id} under s3://{settings.lake_bucket}/"
            f"{crossmatch_root(lake_prefix)}: {str(exc).splitlines()[0]}"
        ) from None
    committed_at = run.committed_at
    return RunData(
        run_id=run_id,
        lake_prefix=lake_prefix,
        metrics=run.metrics,
        known_objects=read_known_objects(settings, run, lake_prefix, lake=lake),
        extra={"committed_at": committed_at.isoformat() if committed_at else None},
        **frames,
    )
