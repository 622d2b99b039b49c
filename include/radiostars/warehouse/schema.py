"""What the warehouse expects in each Parquet part of a committed cross-match run, and the ``raw``
tables it loads them into (DDL). docs/warehouse.md documents the same lists for humans.

A column is *required* (missing → :class:`SchemaMismatchError`) or *optional* (missing → loaded as
NULL). A column that is neither is an error too ("extra column"): the contract in docs/lake.md is
closed, so a renamed column upstream fails loudly instead of silently becoming NULL. ``ALIASES``
accepts a few native catalogue spellings for the optical part (Gaia's ``ra``/``parallax``…,
Hipparcos' ``plx_mas``…), whose exact column list docs/lake.md leaves open.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.types as pat

from .errors import SchemaMismatchError

RAW_SCHEMA = "raw"
FILE_RUN_ID = "_file_run_id"

# logical type -> (arrow type we cast to, PostgreSQL type)
_TYPES: dict[str, tuple[pa.DataType, str]] = {
    "string": (pa.string(), "text"),
    "int64": (pa.int64(), "bigint"),
    "int32": (pa.int32(), "integer"),
    "float64": (pa.float64(), "double precision"),
    "bool": (pa.bool_(), "boolean"),
    "timestamp": (pa.timestamp("us", tz="UTC"), "timestamptz"),
}


def _accepts(kind: str, t: pa.DataType) -> bool:
    if pat.is_null(t):
        return True  # an all-NULL column written without a type
    if pat.is_dictionary(t):
        t = t.value_type
    if kind == "string":
        return pat.is_string(t) or pat.is_large_string(t)
    if kind in ("int64", "int32"):
        return pat.is_integer(t)
    if kind == "float64":
        return pat.is_floating(t) or pat.is_integer(t) or pat.is_decimal(t)
    if kind == "bool":
        return pat.is_boolean(t) or pat.is_integer(t)  # MySQL BOOLEAN arrives as tinyint
    if kind == "timestamp":
        return pat.is_timestamp(t) or pat.is_date(t)
    raise ValueError(kind)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = True
    comment: str = ""

    @property
    def arrow_type(self) -> pa.DataType:
        return _TYPES[self.kind][0]

    @property
    def pg_type(self) -> str:
        return _TYPES[self.kind][1]


def _c(name: str, kind: str, comment: str = "", required: bool = True) -> Column:
    return Column(name, kind, required, comment)


def _o(name: str, kind: str, comment: str = "") -> Column:
    return Column(name, kind, False, comment)


@dataclass(frozen=True)
class PartSpec:
    """One Parquet part of a run (``pairs/``, ``radio/`` …) and the raw table it is loaded into."""

    part: str
    table: str
    columns: tuple[Column, ...]
    aliases: tuple[tuple[str, str], ...] = ()  # (name in the file, our name)
    indexes: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self) -> list[str]:
        """The parent table, LIST-partitioned by run_id: each load attaches one fresh partition per run
        (COPY into an index-free table, then ATTACH), and a reload drops the run's old partition."""
        cols = ",\n  ".join(
            f"{c.name} {c.pg_type}" + (" NOT NULL" if c.required and c.name in _NOT_NULL else "") for c in self.columns
        )
        stmts = [
            f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{self.table} (\n  run_id text NOT NULL,\n  {cols},\n"
            f"  _loaded_at timestamptz NOT NULL DEFAULT now()\n) PARTITION BY LIST (run_id)"
        ]
        for i, expr in enumerate(self.indexes):
            stmts.append(f"CREATE INDEX IF NOT EXISTS {self.table}_x{i}_idx ON {RAW_SCHEMA}.{self.table} ({expr})")
        return stmts

    def partition(self, run_id: str) -> str:
        """Name of the run's partition (deterministic, a valid identifier whatever the run id)."""
        import hashlib

        return f"{self.table}__r{hashlib.sha1(run_id.encode()).hexdigest()[:16]}"

    def plan(self, schema: pa.Schema, where: str) -> dict[str, str | None]:
        """Map each of our columns to the file column that feeds it (None = absent, NULL).

        Raises SchemaMismatchError naming every missing, extra, ambiguous or mistyped column."""
        alias_of = dict(self.aliases)
        file_names = list(schema.names)
        source: dict[str, str] = {}
        extra, ambiguous = [], []
        for fname in file_names:
            ours = fname if fname in self.names else alias_of.get(fname)
            if fname == "run_id":
                ours = FILE_RUN_ID
            if ours is None:
                extra.append(fname)
            elif ours in source:
                ambiguous.append(f"{source[ours]}/{fname}")
            else:
                source[ours] = fname
        missing = [c.name for c in self.columns if c.required and c.name not in source]
        wrong = []
        for c in self.columns:
            if c.name in source:
                t = schema.field(source[c.name]).type
                if not _accepts(c.kind, t):
                    wrong.append(f"{source[c.name]} is {t}, expected {c.kind}")
        problems = []
        if missing:
            problems.append("missing column(s) " + ", ".join(missing))
        if extra:
            problems.append("unexpected column(s) " + ", ".join(extra))
        if ambiguous:
            problems.append("column given twice under two names: " + ", ".join(ambiguous))
        if wrong:
            problems.append("wrong type: " + "; ".join(wrong))
        if problems:
            raise SchemaMismatchError(
                f"Parquet schema mismatch in {where}: "
                + "; ".join(problems)
                + " (expected columns: docs/warehouse.md §raw)"
            )
        plan = {c.name: source.get(c.name) for c in self.columns}
        if FILE_RUN_ID in source:  # a run_id column in the file is checked against the run, not loaded
            plan[FILE_RUN_ID] = source[FILE_RUN_ID]
        return plan


_NOT_NULL = {"radio_source_name", "optical_catalogue", "optical_id", "source_name", "offset_name", "name"}

POSTERIOR_PAIR_COLUMNS: tuple[Column, ...] = (
    # the run posterior (crossmatch/posterior.py score_run; docs/crossmatch.md §6.2): its optical inputs and its
    # SCORED_COLUMNS; p_any/p_i/prior/p_single of PAIR_COLUMNS are the joint, fitted values. Added after the first
    # release: older raw tables get them from all_ddl() (NULL for older loads).
    _o("mag", "float64", "G (Gaia) or Hp (Hipparcos) [mag]"),
    _o("colour", "float64", "BP-RP (Gaia) or B-V (Hipparcos) [mag]"),
    _o("parallax_mas", "float64", "[mas]"),
    _o("parallax_error_mas", "float64", "[mas]"),
    _o("pmra_mas_yr", "float64", "mu_alpha* [mas/yr]"),
    _o("pmdec_mas_yr", "float64", "mu_delta [mas/yr]"),
    _o("pmra_error_mas_yr", "float64", "[mas/yr]"),
    _o("pmdec_error_mas_yr", "float64", "[mas/yr]"),
    _o("p_any_position_only", "float64", "joint p_any without property priors"),
    _o("p_i_position_only", "float64", "joint p_i without property priors"),
    _o("p_any_in_catalogue", "float64", "p_any of this pair's catalogue alone"),
    _o("p_i_in_catalogue", "float64", "p_i of this pair's catalogue alone"),
    _o("ln_property_ratio", "float64", "ln L of the pair's star (0 = positions only)"),
    _o("star_rank", "int32", "rank of the pair's star by joint p_i (1 = best)"),
    _o("n_stars", "int32", "distinct stars among the source's candidates"),
    _o("is_star_primary", "bool", "entry carrying its star's evidence (best row: star_rank 1 and this)"),
    _o("fold", "int32", "cross-fitting fold of the radio source"),
    _o("same_star_catalogue", "string", "catalogue of the linked entry of the same star"),
    _o("same_star_id", "int64", "its id"),
    _o("same_star_offset_arcsec", "float64", "offset between the two entries at the radio epoch [arcsec]"),
    _o("same_star_tolerance_arcsec", "float64", "the same-star rule's tolerance for them [arcsec]"),
)

PAIR_COLUMNS: tuple[Column, ...] = (
    _c("radio_source_name", "string", "radio id"),
    _c("optical_catalogue", "string", "gaia_dr3 or hipparcos2"),
    _c("optical_id", "int64", "Gaia source_id or Hipparcos hip"),
    _c("radio_ra_deg", "float64", "[deg]"),
    _c("radio_dec_deg", "float64", "[deg]"),
    _c("radio_epoch_yr", "float64", "radio epoch [Julian year]"),
    _c("optical_ra_deg", "float64", "optical position at the radio epoch [deg]"),
    _c("optical_dec_deg", "float64", "[deg]"),
    _c("sep_arcsec", "float64", "[arcsec]"),
    _c("sigma_arcsec", "float64", "combined sigma [arcsec]"),
    _c("sep_sigma", "float64", "sep / sigma"),
    _c("match_radius_arcsec", "float64", "[arcsec]"),
    _c("rank", "int32", "1 = best candidate"),
    _c("n_candidates", "int32", ""),
    _c("local_density_per_arcsec2", "float64", "[arcsec^-2]"),
    _c("p_chance", "float64", "1 - exp(-pi r^2 rho)"),
    _o("ln_bayes_factor", "float64"),
    _o("prior", "float64"),
    _o("p_any", "float64"),
    _o("p_i", "float64"),
    # written by the Spark job (include/radiostars/spark_engine/run.py) beyond the docs/lake.md table
    _o("rank_in_catalogue", "int32", "rank within the optical catalogue"),
    _o("n_candidates_in_catalogue", "int32", "candidates within the optical catalogue"),
    _o("p_single", "float64", "posterior assuming a single catalogue"),
    _o("healpix", "int64", "home pixel of the radio source"),
    _o("sigma_radio_arcsec", "float64", "[arcsec]"),
    _o("sigma_opt_arcsec", "float64", "optical sigma at the radio epoch [arcsec]"),
    _o("dt_yr", "float64", "radio epoch - optical reference epoch [yr]"),
    _o("pm_missing", "bool", "the optical source has no proper motion"),
    _o("n_annulus", "int64", "optical sources in the density annulus"),
) + POSTERIOR_PAIR_COLUMNS

PAIRS = PartSpec("pairs", "crossmatch_pairs", PAIR_COLUMNS, aliases=())
BEST = PartSpec("best", "crossmatch_best", PAIR_COLUMNS, aliases=())

CONTROL = PartSpec(
    "control",
    "crossmatch_control",
    (
        _c("offset_name", "string"),
        _c("offset_ra_arcsec", "float64"),
        _c("offset_dec_arcsec", "float64"),
        _c("n_radio", "int64"),
        _c("n_matches", "int64"),
        _c("far_per_source", "float64"),
    ),
    aliases=(),
)

RADIO = PartSpec(
    "radio",
    "radio_sources",
    (
        _c("source_name", "string"),
        _c("ra_deg", "float64"),
        _c("dec_deg", "float64"),
        _c("ra_err_arcsec", "float64"),
        _c("dec_err_arcsec", "float64"),
        _o("peak_flux_mjy", "float64"),
        _c("int_flux_mjy", "float64"),
        _o("int_flux_err_mjy", "float64"),
        _o("rms_mjy", "float64"),
        _c("obs_epoch_mjd", "float64"),
        _o("field", "string"),
        _o("healpix", "int64"),
        _o("row_id", "int64"),
        _o("deleted", "bool"),
        _o("updated_at", "timestamp"),
        _o("sigma_radio_arcsec", "float64", "circularised radio sigma [arcsec] (Spark job)"),
        _o("epoch_yr", "float64", "observation epoch [Julian year] (Spark job)"),
    ),
    aliases=(),
)

OPTICAL = PartSpec(
    "optical",
    "optical_sources",
    (
        _c("optical_catalogue", "string"),
        _c("optical_id", "int64"),
        _c("ra_deg", "float64", "at ref_epoch_yr [deg]"),
        _c("dec_deg", "float64", "at ref_epoch_yr [deg]"),
        _c("ref_epoch_yr", "float64", "[Julian year]"),
        _o("ra_error_mas", "float64"),
        _o("dec_error_mas", "float64"),
        _o("parallax_mas", "float64"),
        _o("parallax_error_mas", "float64"),
        _o("pmra_mas_yr", "float64"),
        _o("pmdec_mas_yr", "float64"),
        _o("pmra_error_mas_yr", "float64"),
        _o("pmdec_error_mas_yr", "float64"),
        _o("phot_g_mean_mag", "float64"),
        _o("bp_rp", "float64"),
        _o("hp_mag", "float64"),
        _o("b_v", "float64"),
        _o("is_synthetic", "bool"),
        _o("healpix", "int64"),
        _o("mag", "float64", "G (Gaia) or Hp (Hipparcos) [mag] (Spark job's generic name)"),
        _o("colour", "float64", "BP-RP (Gaia) or B-V (Hipparcos) [mag] (Spark job's generic name)"),
    ),
    aliases=(
        # Gaia DR3 native names
        ("source_id", "optical_id"),
        ("ra", "ra_deg"),
        ("dec", "dec_deg"),
        ("ref_epoch", "ref_epoch_yr"),
        ("ra_error", "ra_error_mas"),
        ("dec_error", "dec_error_mas"),
        ("parallax", "parallax_mas"),
        ("parallax_error", "parallax_error_mas"),
        ("pmra", "pmra_mas_yr"),
        ("pmdec", "pmdec_mas_yr"),
        ("pmra_error", "pmra_error_mas_yr"),
        ("pmdec_error", "pmdec_error_mas_yr"),
        # Hipparcos 2 native names
        ("hip", "optical_id"),
        ("plx_mas", "parallax_mas"),
        ("e_plx_mas", "parallax_error_mas"),
        ("e_ra_mas", "ra_error_mas"),
        ("e_dec_mas", "dec_error_mas"),
        ("e_pmra", "pmra_error_mas_yr"),
        ("e_pmdec", "pmdec_error_mas_yr"),
        ("catalogue", "optical_catalogue"),
    ),
)

KNOWN_OBJECTS = PartSpec(
    "known_objects",
    "known_objects",
    (
        _c("name", "string"),
        _c("ra_deg", "float64", "J2000 [deg]"),
        _c("dec_deg", "float64", "J2000 [deg]"),
        _c("object_type", "string"),
        _o("row_id", "int64"),
        _o("deleted", "bool"),
        _o("updated_at", "timestamp"),
    ),
    aliases=(),
    indexes=("q3c_ang2ipix(ra_deg, dec_deg)",),
)

# parts loaded into raw, in load order; best is only checked against pairs (the marts derive it)
LOADED_PARTS: tuple[PartSpec, ...] = (RADIO, OPTICAL, PAIRS, CONTROL, KNOWN_OBJECTS)
REQUIRED_PARTS = ("pairs", "control", "radio", "optical")
ALL_SPECS = {s.part: s for s in (PAIRS, BEST, CONTROL, RADIO, OPTICAL, KNOWN_OBJECTS)}


RUNS_DDL = f"""
CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.crossmatch_runs (
  run_id text PRIMARY KEY,
  committed_at timestamptz,
  parameters jsonb NOT NULL DEFAULT '{{}}'::jsonb,
  metrics jsonb NOT NULL,
  marker jsonb NOT NULL,
  far_analytic double precision,
  far_control double precision,
  n_radio bigint NOT NULL,
  n_optical bigint NOT NULL,
  n_pairs bigint NOT NULL,
  n_best bigint NOT NULL,
  n_control_offsets bigint NOT NULL,
  n_known_objects bigint NOT NULL,
  known_objects_source text NOT NULL,
  _loaded_at timestamptz NOT NULL DEFAULT now(),
  target_false_rate double precision,
  p_any_cut double precision,
  false_rate_at_cut double precision,
  n_selected_at_cut bigint,
  n_control_sources bigint,
  calibration_curve jsonb
)"""

# metrics.json "calibration" (the p_any cut calibrated on the shifted control): columns added after the
# first release; raw.crossmatch_runs tables created before get them from these (NULL for older loads)
RUNS_CALIBRATION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("target_false_rate", "double precision"),
    ("p_any_cut", "double precision"),
    ("false_rate_at_cut", "double precision"),
    ("n_selected_at_cut", "bigint"),
    ("n_control_sources", "bigint"),
    ("calibration_curve", "jsonb"),
)


def _add_column_if_missing(table: str, column: str, type_: str) -> str:
    """Idempotent migration that takes no lock when the column is already there (a plain ``ALTER TABLE
    … ADD COLUMN IF NOT EXISTS`` would lock the table at every load and publication)."""
    return f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                 WHERE table_schema = '{RAW_SCHEMA}' AND table_name = '{table}' AND column_name = '{column}') THEN
    ALTER TABLE {RAW_SCHEMA}.{table} ADD COLUMN {column} {type_};
  END IF;
END $$"""


LOAD_LOG_DDL = f"""
CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.load_log (
  load_id bigserial PRIMARY KEY,
  run_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz,
  rows jsonb,
  known_objects_source text,
  error text
)"""


PUBLISH_LOG_DDL = [
    f"""
CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.publish_log (
  publish_id bigserial PRIMARY KEY,
  run_id text NOT NULL,
  status text NOT NULL CONSTRAINT publish_log_status_check
    CHECK (status IN ('running', 'published', 'failed', 'skipped')),
  started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz,
  error text,
  failures jsonb
)""",
    # 'skipped' (an older run arriving after a newer one was published, docs/reliability.md): widen the check of a
    # table created before; no lock when it already allows it
    f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'publish_log_status_check'
                 AND conrelid = '{RAW_SCHEMA}.publish_log'::regclass
                 AND pg_get_constraintdef(oid) LIKE '%skipped%') THEN
    ALTER TABLE {RAW_SCHEMA}.publish_log DROP CONSTRAINT IF EXISTS publish_log_status_check;
    ALTER TABLE {RAW_SCHEMA}.publish_log ADD CONSTRAINT publish_log_status_check
      CHECK (status IN ('running', 'published', 'failed', 'skipped'));
  END IF;
END $$""",
]


def all_ddl() -> list[str]:
    stmts = [f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}", "CREATE EXTENSION IF NOT EXISTS q3c"]
    for spec in LOADED_PARTS:
        stmts.extend(spec.ddl())
    stmts += [
        RUNS_DDL,
        *(_add_column_if_missing("crossmatch_runs", c, t) for c, t in RUNS_CALIBRATION_COLUMNS),
        *(
            _add_column_if_missing(spec.table, c.name, c.pg_type)
            for spec in LOADED_PARTS
            if spec is PAIRS
            for c in POSTERIOR_PAIR_COLUMNS
        ),
        LOAD_LOG_DDL,
        f"CREATE INDEX IF NOT EXISTS load_log_run_id_idx ON {RAW_SCHEMA}.load_log (run_id, finished_at)",
    ]
    stmts += [s for s in PUBLISH_LOG_DDL]
    # who holds a 'running' publication (its lease): 'cli' (valid only while its session holds the publish
    # lock) or 'dag' (valid until the publish DAG's dagrun_timeout) — docs/reliability.md
    stmts.append(_add_column_if_missing("publish_log", "via", "text"))
    return stmts
