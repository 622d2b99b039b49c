"""The science measurement on a large realistic sky, one command: `radiostars evaluate --profile-area-deg2 A`.

The `evaluation` sample profile (Galaxy-model faint field, radio stars at the literature's share, pointings on
every μ > 1″/yr Hipparcos star; docs/data.md) is written straight into a private lake prefix (MySQL bypassed:
tens of millions of Gaia rows), cross-matched by the Spark job in-process with the default parameters (joint
posterior, fitted priors, reliability cut), then evaluated against its truth. The CI regression test runs the
same function on a small area; docs/evaluation.md's results come from a large one.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PROFILE_RUN_ID = "evaluation"
SAMPLE_MARKER = "_PROFILE_SAMPLE.json"  # written under the prefix once the whole sample is in the lake


@dataclass(frozen=True)
class ProfileRun:
    """What one profile evaluation did: the report folder, the summary, and the time of each stage [s]."""

    folder: Path
    summary: dict
    lake_prefix: str
    seed_s: float
    crossmatch_s: float
    evaluate_s: float


def profile_prefix(seed: int, area_deg2: float, n_pointings: int | None) -> str:
    """A lake prefix that names the sample, so reruns with other parameters never mix."""
    pts = "all" if n_pointings is None or n_pointings < 0 else str(n_pointings)
    return f"evaluation/seed{seed}-area{area_deg2:g}-pts{pts}/"


def params_from_overrides(overrides: list[str] | tuple[str, ...] = ()):
    """The run's :class:`CrossmatchParams`: the defaults with ``NAME=VALUE`` overrides (VALUE read as JSON —
    ``true``, ``0.95``, ``["mag"]`` — else as a string), so one sky can be measured under another setting
    (e.g. ``share_counterpart_priors_across_bands=false``). ValueError names a bad override."""
    import dataclasses

    from radiostars.crossmatch.params import CrossmatchParams

    names = {f.name for f in dataclasses.fields(CrossmatchParams)}
    values = {}
    for item in overrides:
        name, sep, raw = str(item).partition("=")
        if not sep or name.strip() not in names:
            raise ValueError(f"--profile-param {item!r}: expected NAME=VALUE with NAME one of {sorted(names)}")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        values[name.strip()] = tuple(value) if isinstance(value, list) else value
    return CrossmatchParams(**values)


def run_profile_evaluation(
    settings,
    *,
    seed: int,
    area_deg2: float,
    n_pointings: int | None = None,
    out: Path | str = "reports",
    truth_dir: Path | str | None = None,
    lake_prefix: str | None = None,
    master: str = "local[2]",
    keep_lake: bool = True,
    fresh: bool = False,
    param_overrides: list[str] | tuple[str, ...] = (),
    log=None,
) -> ProfileRun:
    """Seed the ``evaluation`` profile into ``lake_prefix`` (default :func:`profile_prefix`), run the Spark
    cross-match there (run id :data:`PROFILE_RUN_ID`, replacing an earlier one), evaluate it into
    ``<out>/<prefix-name>/``. A sample already complete in the prefix (same parameters, truth present) is reused with its curated
    layout unless ``fresh``. ``keep_lake=False`` removes the prefix afterwards (tests). ``param_overrides``:
    ``NAME=VALUE`` settings of the cross-match (:func:`params_from_overrides`; default: the defaults)."""
    from radiostars.lake.store import Lake
    from radiostars.sample.generate import SampleParams
    from radiostars.sample.scale import write_sample_to_lake
    from radiostars.spark_engine.run import RunRequest, run_crossmatch
    from radiostars.spark_engine.session import spark_session

    from .cli import evaluate

    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    params = SampleParams(seed=seed, profile="evaluation", area_deg2=area_deg2, n_hpm_pointings=n_pointings)
    params.validate()  # a bad area or seed is one clear error before any work
    match_params = params_from_overrides(param_overrides)  # likewise a bad override
    prefix = lake_prefix if lake_prefix is not None else profile_prefix(seed, area_deg2, n_pointings)
    truth = Path(truth_dir) if truth_dir is not None else settings.state_dir / "truth-evaluation" / prefix.strip("/")
    lake = Lake(settings)
    marker = prefix + SAMPLE_MARKER
    wanted = {"seed": seed, "area_deg2": area_deg2, "n_pointings": n_pointings}
    try:
        t0 = time.perf_counter()
        done = None if fresh else lake.get_json(marker)
        if done and done.get("params") == wanted and (truth / "radio_truth.parquet").exists():
            # the same sample is already in the lake with its truth: reuse it, and its curated layout
            sample = done
            log(f"==> reusing the evaluation sample in {settings.lake_bucket}/{prefix} (--profile-fresh regenerates)")
        else:
            lake.remove_prefix(prefix)  # the sample is regenerated whole, never mixed with an older one
            log(f"==> seeding the evaluation profile (seed {seed}, {area_deg2:g} deg²) into {prefix}")
            sample = write_sample_to_lake(
                settings, params, lake_prefix=prefix, truth_dir=truth, updated_at=dt.datetime(2026, 1, 1), log=log
            )
            lake.put_json(marker, {"params": wanted, "rows": sample["rows"]})  # last: the sample is complete
        t_seed = time.perf_counter() - t0
        log(f"    {sum(sample['rows'].values()):,} rows in {t_seed:.0f} s: {sample['rows']}")
        log(f"==> Spark cross-match on {master} (run {PROFILE_RUN_ID})")
        spark = spark_session("radiostars-evaluation-profile", master=master, settings=settings)
        try:
            run_crossmatch(
                spark,
                settings,
                RunRequest(
                    run_id=PROFILE_RUN_ID,
                    params=match_params,
                    catalogues=("gaia_dr3", "hipparcos2"),
                    lake_prefix=prefix,
                    overwrite=True,
                ),
            )
        finally:
            spark.stop()
        t_run = time.perf_counter() - t0 - t_seed
        log(f"    cross-match {t_run:.0f} s")
        folder, summary = evaluate(
            settings, PROFILE_RUN_ID, Path(out) / prefix.strip("/").replace("/", "_"), prefix, truth
        )
        t_eval = time.perf_counter() - t0 - t_seed - t_run
        record = {
            "seed": seed,
            "area_deg2": area_deg2,
            "n_pointings": n_pointings,
            "lake_prefix": prefix,
            "master": master,
            "seconds": {"seed": round(t_seed, 1), "crossmatch": round(t_run, 1), "evaluate": round(t_eval, 1)},
            "rows": sample["rows"],
        }
        (folder / "profile_run.json").write_text(json.dumps(record, indent=2) + "\n")
        return ProfileRun(folder, summary, prefix, t_seed, t_run, t_eval)
    finally:
        if not keep_lake:
            lake.remove_prefix(prefix)
