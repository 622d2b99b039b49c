"""Units of `radiostars load` that need no services: units from the schema comments, unit parsing,
map resolution and its errors, SIMBAD types, format sniffing, epochs and the chunk conversion."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pyarrow as pa
import pytest

from radiostars.catalogue_load import columns as cols
from radiostars.catalogue_load.errors import LoadError
from radiostars.catalogue_load.maps import BUILTIN, SIMBAD_OTYPES, simbad_otype
from radiostars.catalogue_load.plan import ChunkStats, convert_chunk, parse_overrides, resolve
from radiostars.catalogue_load.readers import SourceColumn, detect_format
from radiostars.catalogue_load.units import convert_epoch, convert_quantity, parse_unit, sexagesimal_deg

pytestmark = pytest.mark.unit


def test_every_double_column_has_a_unit_or_epoch_in_its_schema_comment():
    for table in cols.tables():
        for c in cols.value_columns(table):
            if cols.kind(table, c) == "float":
                t = cols.target(table, c)
                assert t.unit is not None or t.time_format, (table, c)
    assert cols.target("radio_sources", "peak_flux_mjy").per_beam
    assert cols.target("radio_sources", "obs_epoch_mjd").time_format == "mjd"
    assert cols.target("gaia_dr3", "ref_epoch").time_format == "jyear"
    assert cols.target("gaia_dr3", "pmra").unit == u.mas / u.yr


def test_builtin_maps_name_only_real_columns_and_constants_come_from_the_validation_rules():
    from radiostars.ingest.validate import EPOCHS

    for table, maps in BUILTIN.items():
        for m in maps:
            assert set(m.columns) <= set(cols.value_columns(table)), m.key
            for s in m.columns.values():
                if s.unit:
                    parse_unit(s.unit)
    assert BUILTIN["hipparcos2"][0].columns["ref_epoch"].const == EPOCHS["hipparcos2"][1] == 1991.25
    assert BUILTIN["gaia_dr3"][0].columns["ref_epoch"].const == EPOCHS["gaia_dr3"][1] == 2016.0


@pytest.mark.parametrize(
    "text,unit",
    [
        ("mas.yr**-1", u.mas / u.yr),
        ("mas/yr", u.mas / u.yr),
        ("mJy/beam", u.mJy / u.beam),
        ("deg", u.deg),
        ("arcsec", u.arcsec),
        ("Jy", u.Jy),
        ("mag", u.mag),
        ("mas yr-1", u.mas / u.yr),
        ("", None),
        ("---", None),
    ],
)
def test_parse_unit_accepts_vounit_cds_and_fits_spellings(text, unit):
    assert parse_unit(text) == unit


def test_unit_conversion_is_astropys_and_mismatches_fail():
    t = cols.target("radio_sources", "int_flux_mjy")
    v = np.array([0.1, 2.5e-4, np.nan])
    assert np.array_equal(convert_quantity(v, u.Jy, t, "x"), (v * u.Jy).to_value(u.mJy), equal_nan=True)
    peak = cols.target("radio_sources", "peak_flux_mjy")
    assert np.array_equal(convert_quantity(v, u.Jy, peak, "x"), (v * u.Jy).to_value(u.mJy), equal_nan=True)
    with pytest.raises(LoadError, match="unit mismatch: x is in 'deg'"):
        convert_quantity(v, u.deg, t, "x")
    with pytest.raises(LoadError, match="not a unit astropy understands"):
        parse_unit("furlongs per fortnight squared")


def test_epochs_through_astropy_time():
    mjd = cols.target("radio_sources", "obs_epoch_mjd")
    assert convert_epoch(np.array([2458849.5]), "jd", mjd, "x")[0] == pytest.approx(58849.0, abs=1e-9)
    assert convert_epoch(np.array(["2020-01-01T00:00:00", None], dtype=object), "isot", mjd, "x")[0] == 58849.0
    assert np.isnan(convert_epoch(np.array(["2020-01-01", None], dtype=object), "isot", mjd, "x")[1])
    jy = cols.target("gaia_dr3", "ref_epoch")
    assert convert_epoch(np.array([2016.0]), "jyear", jy, "x")[0] == 2016.0
    with pytest.raises(LoadError, match="cannot read the values as isot"):
        convert_epoch(np.array(["yesterday"], dtype=object), "isot", mjd, "x")


def test_sexagesimal_positions():
    ra = sexagesimal_deg(np.array(["17 57 48.4997", None], dtype=object), True, None, "x")
    dec = sexagesimal_deg(np.array(["+04 41 36.111"], dtype=object), False, None, "x")
    assert ra[0] == pytest.approx(269.452082, abs=1e-6) and np.isnan(ra[1])
    assert dec[0] == pytest.approx(4.693364, abs=1e-6)


def test_simbad_types_map_onto_the_vocabulary_unknown_kept():
    assert set(SIMBAD_OTYPES.values()) == set(cols.object_types())
    assert [simbad_otype(t) for t in ("Psr", "PN", "HII", "Sy2", "QSO", "PM*", "**", " * ", "G", "MoC", None)] == [
        "Pulsar",
        "PN",
        "HII",
        "AGN",
        "AGN",
        "Star",
        "Star",
        "Star",
        "G",
        "MoC",
        None,
    ]


def _cols(*names, unit=None, ucd=None, kind="float"):
    return [SourceColumn(n, unit, ucd, kind) for n in names]


def test_resolve_picks_the_map_and_names_missing_columns_with_a_fix():
    gaia = _cols("source_id", "ra", "dec", "pmra", kind="float")
    p = resolve("gaia_dr3", gaia)
    assert p.map.key == "gaia_source" and "ref_epoch" in p.targets and p.notes  # the DR3 constant, said
    with pytest.raises(LoadError) as e:
        resolve("radio_sources", _cols("Name", "RAJ2000", "DEJ2000", "Fpeak", "Flux", "MJD"))
    assert "missing required column(s) for radio_sources: int_flux_mjy" in str(e.value)
    assert "--map int_flux_mjy=" in str(e.value)
    # UCDs find positions under any label
    p = resolve(
        "known_objects",
        [
            SourceColumn("main_id", kind="str"),
            SourceColumn("alpha", "deg", "pos.eq.ra;meta.main"),
            SourceColumn("delta", "deg", "pos.eq.dec;meta.main"),
        ],
    )
    assert [(c.target, c.source) for c in p.columns][:3] == [
        ("name", "main_id"),
        ("ra_deg", "alpha"),
        ("dec_deg", "delta"),
    ]


def test_overrides_units_and_constants():
    assert parse_overrides(["int_flux_mjy=S_int:Jy", "field='F1'", "obs_epoch_mjd=58849"]) == {
        "int_flux_mjy": ("S_int", "Jy"),
        "field": ("'F1'", None),
        "obs_epoch_mjd": ("58849", None),
    }
    file_cols = _cols("Name", "RAJ2000", "DEJ2000", "Fpeak", "S_int")
    p = resolve(
        "radio_sources",
        file_cols,
        overrides=parse_overrides(["int_flux_mjy=S_int:Jy", "field='F1'", "obs_epoch_mjd=2019.5:jyear"]),
    )
    by = {c.target: c for c in p.columns}
    assert by["int_flux_mjy"].unit == u.Jy and by["field"].const == "F1" and by["obs_epoch_mjd"].const == 2019.5
    with pytest.raises(LoadError, match="has no column 'nope'"):
        resolve("radio_sources", file_cols, overrides=parse_overrides(["nope=Fpeak"]))
    with pytest.raises(LoadError, match="the file has no column 'Sint'"):
        resolve("radio_sources", file_cols, overrides=parse_overrides(["int_flux_mjy=Sint"]))
    n = 2
    chunk = {
        "Name": pa.array(["a", None]),
        "RAJ2000": pa.array([1.0, 2.0]),
        "DEJ2000": pa.array([3.0, 4.0]),
        "Fpeak": pa.array([0.5, 0.25]),
        "S_int": pa.array([0.001, None], pa.float64()),
    }
    stats = ChunkStats()
    df = convert_chunk(p, chunk, n, stats)
    assert stats.no_id == 1 and len(df) == 1
    assert df.loc[0, "int_flux_mjy"] == (0.001 * u.Jy).to_value(u.mJy)
    from astropy.time import Time

    assert df.loc[0, "obs_epoch_mjd"] == Time(2019.5, format="jyear", scale="tt").utc.mjd  # J2019.5 ≈ MJD 58666.87
    assert df.loc[0, "field"] == "F1"


def test_big_ids_stay_exact_and_inf_becomes_null():
    p = resolve("gaia_dr3", _cols("source_id", "ra", "dec", kind="float"))
    ids = pa.array([2**62 + 1, None, 6917529027641081855], pa.int64())
    chunk = {"source_id": ids, "ra": pa.array([1.0, 2.0, np.inf]), "dec": pa.array([0.0, 0.0, 0.0])}
    stats = ChunkStats()
    df = convert_chunk(p, chunk, 3, stats)
    assert df["source_id"].tolist() == [2**62 + 1, 6917529027641081855] and stats.no_id == 1
    assert np.isnan(df["ra"].iloc[1]) and stats.nonfinite == 1


def test_format_detection_checks_the_content(tmp_path):
    (tmp_path / "a.fits").write_text("ra,dec\n1,2\n")
    with pytest.raises(LoadError, match="a.fits is not a FITS file as its extension .fits says: it looks like a text"):
        detect_format(tmp_path / "a.fits", None)
    (tmp_path / "b.csv").write_bytes(b"SIMPLE  =                    T" + b" " * 100)
    with pytest.raises(LoadError, match="pass --format fits"):
        detect_format(tmp_path / "b.csv", None)
    with pytest.raises(LoadError, match="unknown format 'xls'"):
        detect_format(tmp_path / "b.csv", "xls")
    (tmp_path / "c.vot").write_text('<?xml version="1.0"?><VOTABLE></VOTABLE>')
    assert detect_format(tmp_path / "c.vot", None) == "votable"
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(LoadError, match="empty"):
        detect_format(tmp_path / "e.csv", None)


def test_vizier_tsv_units_row_and_comments(tmp_path):
    from radiostars.catalogue_load.readers import CsvReader

    (tmp_path / "v.tsv").write_text(
        "#RESOURCE=yCat_1311\n#Name: I/311/hip2\n\nHIP\tRArad\tPlx\n\tdeg\tmas\n---\t--------\t----\n"
        "1\t0.00091185\t3.54\n2\t0.00379737\t21.90\n"
    )
    r = CsvReader(tmp_path / "v.tsv")
    assert [(c.name, c.unit) for c in r.columns] == [("HIP", None), ("RArad", "deg"), ("Plx", "mas")]
    (chunk,) = list(r.iter_chunks(["HIP", "Plx"], 10, types={"HIP": pa.int64(), "Plx": pa.float64()}))
    assert chunk["HIP"].to_pylist() == [1, 2] and chunk["Plx"].to_pylist() == [3.54, 21.9]


def test_gzipped_csv_is_detected_and_streamed(tmp_path):
    import gzip

    from radiostars.catalogue_load.readers import CsvReader

    with gzip.open(tmp_path / "g.csv.gz", "wt") as f:
        f.write("source_id,ra\n" + "".join(f"{6917529027641081855 - i},{i / 10}\n" for i in range(25)))
    assert detect_format(tmp_path / "g.csv.gz", None) == "csv"
    chunks = list(
        CsvReader(tmp_path / "g.csv.gz").iter_chunks(["source_id", "ra"], 10, types={"source_id": pa.int64()})
    )
    assert [len(c["ra"]) for c in chunks] == [10, 10, 5]
    assert chunks[0]["source_id"][0].as_py() == 6917529027641081855


def _binary2_votable(path, rows, char_size: str) -> None:
    """A hand-made VOTable with a BINARY2 stream: source_id (long) and designation (char)."""
    import base64
    import struct

    body = b""
    for sid, name in rows:
        mask = (0x80 if sid is None else 0) | (0x40 if name is None else 0)
        data = (name or "").encode()
        text = struct.pack(">I", len(data)) + data if char_size == "*" else data.ljust(int(char_size), b" ")
        body += bytes([mask]) + struct.pack(">q", sid or 0) + text
    path.write_text(
        '<?xml version="1.0"?><VOTABLE version="1.4"><RESOURCE><TABLE>'
        '<FIELD name="source_id" datatype="long"/>'
        f'<FIELD name="designation" datatype="char" arraysize="{char_size}"/>'
        '<DATA><BINARY2><STREAM encoding="base64">\n'
        + base64.encodebytes(body).decode()
        + "</STREAM></BINARY2></DATA></TABLE></RESOURCE></VOTABLE>"
    )


@pytest.mark.parametrize("char_size", ["12", "*"])
def test_votable_binary2_streamed_or_read_whole(tmp_path, char_size):
    from radiostars.catalogue_load.readers import VOTableReader

    rows = [(6917529027641081855, "Gaia DR3 1"), (None, "x"), (2**53 + 1, None)] * 7
    _binary2_votable(tmp_path / "b.vot", rows, char_size)
    r = VOTableReader(tmp_path / "b.vot")
    assert (r._binary_dtype() is None) == (char_size == "*")  # variable length: astropy reads it whole
    chunks = list(r.iter_chunks(["source_id", "designation"], 5))
    assert [len(c["source_id"]) for c in chunks] == [5, 5, 5, 5, 1]
    got = [(a, b or None) for c in chunks for a, b in zip(c["source_id"].to_pylist(), c["designation"].to_pylist())]
    assert got == rows  # (an empty string is NULL to the loader either way)
