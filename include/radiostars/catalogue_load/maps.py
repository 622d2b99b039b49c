"""Built-in column maps: how the publishers' files name and measure our columns.

Each map lists, per schema column, the names the publisher uses (the first is the canonical one,
the others are aliases seen in other services' copies), the publisher's documented unit (used only
when the file itself carries no unit, e.g. a plain CSV), a UCD to find the column by meaning when no
name matches, and catalogue-wide constants. Sources (also in docs/data.md):

* ``gaia_source`` — Gaia DR3 data model, table ``gaiadr3.gaia_source`` (Gaia Collaboration, Vallenari
  et al. 2023, A&A 674, A1; Gaia DR3 documentation ch. 20); aliases from VizieR I/355/gaiadr3.
* ``hip2`` — Hipparcos, the new reduction (van Leeuwen 2007, A&A 474, 653), VizieR I/311/hip2 ReadMe;
  the catalogue epoch J1991.25 is a constant of the catalogue (no column).
* ``smgps`` — SMGPS compact-source catalogue (Mutale et al. 2026, MNRAS 546, staf1849), VizieR
  J/MNRAS/546/F1849. The names are VizieR's usual labels for such tables; the UCDs VizieR attaches
  find the position columns whatever their labels. The catalogue has no per-source epoch: give one
  with ``--map obs_epoch_mjd=…`` (a column of the file, or a constant).
* ``simbad`` — SIMBAD basic query output (TAP ``basic`` / astroquery): ``main_id``, ``ra``, ``dec``,
  ``otype`` (condensed object types, SIMBAD object-type list ``otypes_desc``), mapped onto the project's
  vocabulary by :data:`SIMBAD_OTYPES`; other types are kept as they are (the ingestion quarantines them
  as ``unparsable_type``).
* ``radiostars`` — the project's own column names and units (an export of this database).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from radiostars.catalogue_load.errors import LoadError


@dataclass(frozen=True)
class Source:
    names: tuple[str, ...] = ()
    unit: str | None = None  # the publisher's documented unit (files without units)
    time_format: str | None = None  # epoch columns: mjd / jd / jyear / isot
    ucd: str | None = None  # find the column by UCD when no name matches
    const: float | str | None = None  # catalogue-wide constant when the file has no such column
    transform: str | None = None  # 'simbad_otype'


@dataclass(frozen=True)
class CatalogueMap:
    key: str
    table: str
    title: str
    reference: str
    columns: dict[str, Source] = field(default_factory=dict)


def _ref_epoch(table: str) -> float:
    """The catalogue's reference epoch: the constant the validation rule checks (one home)."""
    from radiostars.ingest.validate import EPOCHS

    return EPOCHS[table][1]


GAIA_SOURCE = CatalogueMap(
    "gaia_source",
    "gaia_dr3",
    "Gaia DR3 gaiadr3.gaia_source (Gaia archive; VizieR I/355/gaiadr3)",
    "Gaia Collaboration, Vallenari et al. 2023, A&A 674, A1; Gaia DR3 documentation, ch. 20 (gaia_source)",
    {
        "source_id": Source(("source_id", "Source", "SOURCE_ID"), ucd="meta.id;meta.main"),
        "ra": Source(("ra", "RA_ICRS", "RAdeg"), "deg", ucd="pos.eq.ra;meta.main"),
        "dec": Source(("dec", "DE_ICRS", "DEdeg"), "deg", ucd="pos.eq.dec;meta.main"),
        "ra_error": Source(("ra_error", "e_RA_ICRS"), "mas"),
        "dec_error": Source(("dec_error", "e_DE_ICRS"), "mas"),
        "parallax": Source(("parallax", "Plx"), "mas"),
        "parallax_error": Source(("parallax_error", "e_Plx"), "mas"),
        "pmra": Source(("pmra", "pmRA"), "mas/yr"),
        "pmdec": Source(("pmdec", "pmDE"), "mas/yr"),
        "pmra_error": Source(("pmra_error", "e_pmRA"), "mas/yr"),
        "pmdec_error": Source(("pmdec_error", "e_pmDE"), "mas/yr"),
        "phot_g_mean_mag": Source(("phot_g_mean_mag", "Gmag"), "mag"),
        "bp_rp": Source(("bp_rp", "BP-RP"), "mag"),
        # a DR3 constant: every gaia_source row has ref_epoch = 2016.0 (a file without the column gets it)
        "ref_epoch": Source(("ref_epoch", "Epoch"), "yr", time_format="jyear", const=_ref_epoch("gaia_dr3")),
        "is_synthetic": Source(const=0),
    },
)

HIP2 = CatalogueMap(
    "hip2",
    "hipparcos2",
    "Hipparcos 2, VizieR I/311/hip2",
    "van Leeuwen 2007, A&A 474, 653 (Hipparcos, the new reduction); CDS I/311 ReadMe",
    {
        "hip": Source(("HIP",), ucd="meta.id;meta.main"),
        # VizieR serves RArad/DErad in degrees (the raw hip2.dat has radians: its units say so)
        "ra_deg": Source(("RArad", "_RA.icrs", "RA_ICRS"), "deg", ucd="pos.eq.ra;meta.main"),
        "dec_deg": Source(("DErad", "_DE.icrs", "DE_ICRS"), "deg", ucd="pos.eq.dec;meta.main"),
        "plx_mas": Source(("Plx",), "mas"),
        "e_plx_mas": Source(("e_Plx",), "mas"),
        "pmra_mas_yr": Source(("pmRA",), "mas/yr"),
        "pmdec_mas_yr": Source(("pmDE",), "mas/yr"),
        "e_ra_mas": Source(("e_RArad",), "mas"),
        "e_dec_mas": Source(("e_DErad",), "mas"),
        "e_pmra": Source(("e_pmRA",), "mas/yr"),
        "e_pmdec": Source(("e_pmDE",), "mas/yr"),
        "hp_mag": Source(("Hpmag",), "mag"),
        "b_v": Source(("B-V", "B_V"), "mag"),
        # I/311: all positions at epoch J1991.25 (no column); the validation rule's constant
        "ref_epoch": Source(("ref_epoch", "Epoch"), "yr", time_format="jyear", const=_ref_epoch("hipparcos2")),
    },
)

SMGPS = CatalogueMap(
    "smgps",
    "radio_sources",
    "SMGPS compact-source catalogue, VizieR J/MNRAS/546/F1849",
    'Mutale et al. 2026, MNRAS 546, staf1849 (SMGPS compact sources, 1.3 GHz, 8" beam); '
    "survey: Goedhart et al. 2024, MNRAS 531, 649",
    {
        "source_name": Source(("SMGPS", "Name", "Source", "Source_name", "source_name", "ID"), ucd="meta.id;meta.main"),
        "ra_deg": Source(("RAdeg", "RAJ2000", "RA_ICRS", "_RAJ2000", "ra"), "deg", ucd="pos.eq.ra;meta.main"),
        "dec_deg": Source(("DEdeg", "DEJ2000", "DE_ICRS", "_DEJ2000", "dec"), "deg", ucd="pos.eq.dec;meta.main"),
        "ra_err_arcsec": Source(
            ("e_RAdeg", "e_RAJ2000", "e_RA", "e_RA_ICRS", "err_ra"), "arcsec", ucd="stat.error;pos.eq.ra"
        ),
        "dec_err_arcsec": Source(
            ("e_DEdeg", "e_DEJ2000", "e_DE", "e_DE_ICRS", "err_dec"), "arcsec", ucd="stat.error;pos.eq.dec"
        ),
        "peak_flux_mjy": Source(("Fpeak", "Speak", "Sp", "peak_flux"), "mJy/beam"),
        "int_flux_mjy": Source(("Fint", "Sint", "Stot", "Ftot", "int_flux"), "mJy"),
        "int_flux_err_mjy": Source(("e_Fint", "e_Sint", "e_Stot", "e_Ftot", "err_int_flux"), "mJy"),
        "rms_mjy": Source(("rms", "RMS", "Srms", "local_rms"), "mJy/beam"),
        "obs_epoch_mjd": Source(("MJD", "ObsDate", "Epoch", "DateObs"), "d", time_format="mjd"),
        "field": Source(("Tile", "Field", "tile_name", "field")),
    },
)

SIMBAD = CatalogueMap(
    "simbad",
    "known_objects",
    "SIMBAD basic query (main_id, ra, dec, otype)",
    "Wenger et al. 2000, A&AS 143, 9 (SIMBAD); object types: SIMBAD otypes_desc (condensed codes)",
    {
        "name": Source(("main_id", "MAIN_ID"), ucd="meta.id;meta.main"),
        "ra_deg": Source(("ra", "RA", "RA_d"), "deg", ucd="pos.eq.ra;meta.main"),
        "dec_deg": Source(("dec", "DEC", "DEC_d"), "deg", ucd="pos.eq.dec;meta.main"),
        "object_type": Source(("otype", "OTYPE", "main_type", "OTYPE_S"), transform="simbad_otype"),
    },
)


def _identity(table: str) -> CatalogueMap:
    """Our own column names and units (the schema's), for files exported from this database."""
    from radiostars.catalogue_load.columns import value_columns

    cols = {c: Source((c,)) for c in value_columns(table)}
    if table in ("gaia_dr3", "hipparcos2"):
        cols["ref_epoch"] = Source(("ref_epoch",), time_format="jyear")
    if table == "radio_sources":
        cols["obs_epoch_mjd"] = Source(("obs_epoch_mjd",), time_format="mjd")
    if table == "gaia_dr3":
        cols["is_synthetic"] = Source(("is_synthetic",), const=0)
    return CatalogueMap("radiostars", table, "radiostars' own column names", "this project's schema", cols)


BUILTIN: dict[str, tuple[CatalogueMap, ...]] = {
    "radio_sources": (SMGPS,),
    "gaia_dr3": (GAIA_SOURCE,),
    "hipparcos2": (HIP2,),
    "known_objects": (SIMBAD,),
}


def maps_for(table: str) -> tuple[CatalogueMap, ...]:
    return (*BUILTIN[table], _identity(table))


def find_map(table: str, key: str) -> CatalogueMap:
    for m in maps_for(table):
        if m.key == key:
            return m
    raise LoadError(f"no built-in map {key!r} for {table}; choose from {', '.join(m.key for m in maps_for(table))}")


# ---- SIMBAD object types -> the project's vocabulary (radiostars.catalogue schema OBJECT_TYPES) ----
_STAR_CODES = (  # SIMBAD condensed codes in the star hierarchy (otypes_desc), less pulsars, PNe, outflows, SNe
    "*",
    "Ma*",
    "bC*",
    "sg*",
    "s*r",
    "s*y",
    "s*b",
    "WR*",
    "N*",
    "Y*O",
    "Or*",
    "TT*",
    "Ae*",
    "MS*",
    "Be*",
    "BS*",
    "SX*",
    "gD*",
    "dS*",
    "Ev*",
    "RG*",
    "HS*",
    "HB*",
    "RR*",
    "WV*",
    "Ce*",
    "cC*",
    "C*",
    "S*",
    "AB*",
    "Mi*",
    "OH*",
    "pA*",
    "RV*",
    "WD*",
    "Pe*",
    "a2*",
    "RC*",
    "**",
    "El*",
    "EB*",
    "SB*",
    "BY*",
    "RS*",
    "Sy*",
    "XB*",
    "LXB",
    "HXB",
    "CV*",
    "No*",
    "LM*",
    "BD*",
    "V*",
    "Ir*",
    "Er*",
    "Ro*",
    "Pu*",
    "LP*",
    "Em*",
    "PM*",
    "HV*",
    "St*",
)
_AGN_CODES = ("AGN", "SyG", "Sy1", "Sy2", "LIN", "QSO", "Bla", "BLL")
SIMBAD_OTYPES: dict[str, str] = {
    **{c: "Star" for c in _STAR_CODES},
    **{c: "AGN" for c in _AGN_CODES},
    "Psr": "Pulsar",
    "PN": "PN",
    "HII": "HII",
    # the project's own vocabulary maps onto itself
    "Star": "Star",
    "Pulsar": "Pulsar",
}


def simbad_otype(value: str | None) -> str | None:
    """SIMBAD condensed object type -> AGN / Pulsar / PN / HII / Star; anything else unchanged."""
    if value is None:
        return None
    v = value.strip()
    return SIMBAD_OTYPES.get(v, v)
