"""``seed``: generate the sample and load it into MariaDB, streaming chunk by chunk.

Tables are dropped and recreated (a seed is a fresh start; reset any ingestion watermark after it).
All rows of one seed share one ``updated_at`` (UTC now unless given), which exercises the
``row_id`` tie-break of the ``(updated_at, row_id)`` keyset.

The ``evaluation`` profile is too large for MySQL: ``seed(profile="evaluation")`` writes it straight into
the lake's raw zone instead (:func:`radiostars.sample.scale.write_sample_to_lake`).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from radiostars.catalogues.tables import SCHEMA_VERSION, select_tables
from radiostars.sample.errors import SampleError
from radiostars.sample.generate import SampleGenerator, SampleParams, TableDigest, update_digest
from radiostars.sample.loader import BackgroundLoader, MySQLLoader, build_indexes, connect, recreate_tables
from radiostars.sample.profiles import DEFAULT_PROFILE
from radiostars.sample.truth import dirty_counts, sample_summary, write_seed_truth


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def seed(
    settings,
    seed: int | None = None,
    dirty: bool = False,
    update_fraction: float | None = None,
    area_deg2: float | None = None,
    faint_density_per_deg2: float | None = None,
    tables: list[str] | None = None,
    database: str | None = None,
    root: bool = False,
    truth_dir: Path | None = None,
    updated_at: dt.datetime | None = None,
    load_method: str = "auto",
    profile: str = DEFAULT_PROFILE,
    lake_prefix: str = "",
    **params,
) -> dict:
    """Seed (or, with ``update_fraction``, update) the catalogue database; returns a summary dict.

    ``profile``: ``easy`` / ``realistic`` (default) into MySQL, ``evaluation`` into the lake (under
    ``lake_prefix``). ``seed`` defaults to settings["SAMPLE_SEED"]; ``database`` to
    settings["MYSQL_DATABASE"]; ``root`` connects as root (tests use a separate database); extra
    ``params`` go to :class:`SampleParams` (e.g. ``n_fields``, ``bg_density_per_deg2``, ``chunk_rows``).
    """
    if seed is None:
        try:
            seed = int(settings["SAMPLE_SEED"])
        except ValueError:
            raise SampleError(f"SAMPLE_SEED={settings['SAMPLE_SEED']!r} is not an integer; fix it in .env") from None
    truth_dir = Path(truth_dir) if truth_dir is not None else settings.truth_dir
    if profile == "evaluation" and update_fraction is None:
        from radiostars.sample.scale import write_sample_to_lake

        if tables is not None or dirty:
            raise SampleError(
                "the evaluation profile writes every clean table to the lake: --tables and --dirty do not apply"
            )
        p = SampleParams(
            seed=seed, profile=profile, area_deg2=area_deg2, faint_density_per_deg2=faint_density_per_deg2, **params
        ).validate()
        return write_sample_to_lake(settings, p, lake_prefix=lake_prefix, truth_dir=truth_dir, updated_at=updated_at)
    url = settings.mysql_url(root=root, database=database)
    try:
        names = list(select_tables(tables, allow_empty=True))
    except ValueError as exc:
        raise SampleError(str(exc)) from None
    if update_fraction is not None:
        from radiostars.sample.update import apply_update

        return apply_update(url, update_fraction, seed=seed, tables=names, truth_dir=truth_dir, updated_at=updated_at)
    p = SampleParams(
        seed=seed,
        profile=profile,
        dirty=dirty,
        area_deg2=area_deg2,
        faint_density_per_deg2=faint_density_per_deg2,
        **params,
    ).validate()
    ts = updated_at or utc_now()
    gen = SampleGenerator(p, ts)
    t0 = time.perf_counter()
    digests = {t: TableDigest() for t in names}
    loaded = {t: 0 for t in names}
    with connect(url) as conn:
        recreate_tables(url, names, defer_indexes=True)
        base = MySQLLoader(conn, method=load_method)
        loader = BackgroundLoader(base)
        try:
            for table, chunk in gen.generate():
                if table not in loaded:
                    continue
                update_digest(digests[table], chunk)
                loader.load(table, chunk)
                loaded[table] += len(chunk)
        finally:
            loader.close()
        t_idx = time.perf_counter()
        build_indexes(url, names)
        index_seconds = time.perf_counter() - t_idx
    elapsed = time.perf_counter() - t0
    rows = sum(loaded.values())
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "params": gen.params_dict(),
        "updated_at": ts.isoformat(),
        "database": url.rsplit("/", 1)[-1],
        "tables": names,
        "rows": loaded,
        "generated_rows": gen.counts,
        "sha256": {t: h.hexdigest() for t, h in digests.items()},
        "dirty_counts": dirty_counts(gen.dirty_rows),
        "seconds": round(elapsed, 2),
        "rows_per_s": round(rows / elapsed) if elapsed else None,
        "load_method": base.method,
        "index_seconds": round(index_seconds, 2),
        "profile": p.profile,
        **sample_summary(gen),
    }
    write_seed_truth(truth_dir, gen.truth_radio, gen.known_truth, gen.dirty_rows, manifest, gen.truth_fields)
    return manifest
