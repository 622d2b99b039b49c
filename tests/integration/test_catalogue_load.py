"""`radiostars load` against the real MariaDB (and MinIO for the ingestion that follows): files written
by astropy with the publishers' column names, units and UCDs, loaded and read back exactly; idempotent
reloads; changed files touch only changed rows and the next incremental ingestion writes exactly them;
every bad file gives one line, exit 2 and leaves the tables as they were. Own database
(``catalogues_load_test``) and bucket (``lake-load-test``): the demo data is never touched.
CI-sized: a few hundred rows per file (~30 s in all)."""

from __future__ import annotations

import uuid
from pathlib import Path

import astropy.units as u
import numpy as np
import pyarrow as pa
import pytest
from astropy.table import MaskedColumn, Table

from radiostars.catalogue_load.cli import main as cli_main
from radiostars.catalogue_load.load import load_file
from radiostars.config import Settings

pytestmark = pytest.mark.integration

DB = "catalogues_load_test"
BUCKET = "lake-load-test"
BIG = [6917529027641081855, 2**53 + 1, 4295806720, 1234567890123456789]  # ids above 2**53 must stay exact


@pytest.fixture(scope="module")
def tsettings(stack) -> Settings:
    from radiostars.sample.loader import create_database

    create_database(stack.mysql_url(root=True, database=""), DB)
    return Settings({**stack.values, "MYSQL_DATABASE": DB, "LAKE_BUCKET": BUCKET})


def q(settings, sql: str, args: tuple = ()) -> list[tuple]:
    from radiostars.sample.loader import connect

    with connect(settings.mysql_url(database=DB)) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


def drop(settings, *tables: str) -> None:
    for t in tables:
        q(settings, f"DROP TABLE IF EXISTS `{t}`")


def snapshot(settings, table: str) -> list[tuple]:
    return q(settings, f"SELECT * FROM `{table}` ORDER BY row_id")


# ---- files as the publishers write them --------------------------------------------------------
def gaia_table(n: int = 200, seed: int = 1) -> Table:
    """gaia_source names and units (Gaia archive), masked values where the archive has nulls."""
    rng = np.random.default_rng(seed)
    t = Table()
    ids = 4_000_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 4_294_967_297
    ids[: len(BIG)] = BIG
    t["source_id"] = ids
    t["ra"] = rng.uniform(0, 360, n) * u.deg
    t["dec"] = rng.uniform(-89, 89, n) * u.deg
    t["ra_error"] = rng.uniform(0.01, 2, n) * u.mas
    t["dec_error"] = rng.uniform(0.01, 2, n) * u.mas
    two = np.arange(n) % 4 == 0  # two-parameter solutions: no parallax / proper motion
    t["parallax"] = MaskedColumn(rng.normal(1, 2, n), mask=two, unit=u.mas)
    t["parallax_error"] = MaskedColumn(rng.uniform(0.02, 1, n), mask=two, unit=u.mas)
    t["pmra"] = MaskedColumn(rng.normal(0, 50, n), mask=two, unit=u.mas / u.yr)
    t["pmdec"] = MaskedColumn(rng.normal(0, 50, n), mask=two, unit=u.mas / u.yr)
    t["pmra_error"] = MaskedColumn(rng.uniform(0.02, 1, n), mask=two, unit=u.mas / u.yr)
    t["pmdec_error"] = MaskedColumn(rng.uniform(0.02, 1, n), mask=two, unit=u.mas / u.yr)
    t["phot_g_mean_mag"] = rng.uniform(5, 21, n).astype(np.float32) * u.mag
    t["bp_rp"] = MaskedColumn(rng.uniform(-0.5, 4, n), mask=np.arange(n) % 7 == 0, unit=u.mag)
    t["ref_epoch"] = np.full(n, 2016.0) * u.yr
    t["designation"] = [f"Gaia DR3 {i}" for i in ids]
    t["ra"].meta["ucd"], t["dec"].meta["ucd"] = "pos.eq.ra;meta.main", "pos.eq.dec;meta.main"
    t["source_id"].meta["ucd"] = "meta.id;meta.main"
    return t


def smgps_table(n: int = 120, seed: int = 2) -> Table:
    """SMGPS-like compact sources as VizieR would label them, fluxes in Jy, errors in deg, MJD epochs."""
    rng = np.random.default_rng(seed)
    t = Table()
    t["SMGPS"] = [f"G{300 + i * 0.01:08.4f}+0.{i:04d}" for i in range(n)]
    t["RAdeg"] = rng.uniform(180, 190, n) * u.deg
    t["DEdeg"] = rng.uniform(-62, -60, n) * u.deg
    t["e_RAdeg"] = rng.uniform(1e-5, 5e-4, n) * u.deg
    t["e_DEdeg"] = rng.uniform(1e-5, 5e-4, n) * u.deg
    t["Fpeak"] = rng.uniform(1e-4, 0.5, n) * u.Jy / u.beam
    t["Fint"] = rng.uniform(1e-4, 0.5, n) * u.Jy
    t["e_Fint"] = rng.uniform(1e-5, 1e-3, n) * u.Jy
    t["rms"] = rng.uniform(1e-5, 3e-5, n) * u.Jy / u.beam
    t["MJD"] = rng.uniform(58300, 59000, n) * u.d
    t["Tile"] = [f"T{i % 5:02d}" for i in range(n)]
    for c, ucd in (
        ("RAdeg", "pos.eq.ra;meta.main"),
        ("DEdeg", "pos.eq.dec;meta.main"),
        ("Fpeak", "phot.flux.density;em.radio"),
        ("SMGPS", "meta.id;meta.main"),
    ):
        t[c].meta["ucd"] = ucd
    return t


def write_votable(t: Table, path: Path, tabledata_format: str = "tabledata") -> Path:
    """A VOTable as astropy writes it, through its pure-Python TABLEDATA writer: astropy 8.0.2's C
    ``tablewriter.write_tabledata`` writes one byte past a 512-byte buffer (PYTHONMALLOC=debug: "bad trailing
    pad byte"), which corrupted the test process's heap and crashed later, unrelated code (CI, SIGSEGV)."""
    from astropy.io.votable import from_table

    from_table(t).to_xml(str(path), tabledata_format=tabledata_format, _debug_python_based_parser=True)
    return path


def write(t: Table, path: Path, fmt: str) -> Path:
    if fmt == "votable":
        return write_votable(t, path)
    kw = {
        "format": {
            "votable": "votable",
            "fits": "fits",
            "csv": "ascii.csv",
            "ecsv": "ascii.ecsv",
            "parquet": "parquet",
        }[fmt],
        "overwrite": True,
    }
    t.write(path, **kw)
    return path


def expect(values, unit_from, unit_to) -> np.ndarray:
    """What astropy says the values are in our unit (the test's own conversion, not the loader's)."""
    return (np.asarray(values, float) * u.Unit(unit_from)).to_value(u.Unit(unit_to))


def _col(rows, i):
    return [r[i] for r in rows]


# ---- round trips ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fmt,ext",
    [
        ("votable", "vot"),
        ("votable-binary2", "vot"),
        ("votable-binary", "vot"),
        ("fits", "fits"),
        ("csv", "csv"),
        ("ecsv", "ecsv"),
        ("parquet", "parquet"),
    ],
)
def test_gaia_source_round_trip_exact(tsettings, tmp_path, fmt, ext):
    drop(tsettings, "gaia_dr3")
    t = gaia_table()
    if fmt.startswith("votable-"):  # BINARY2: the Gaia archive's default VOTable serialisation (streamed)
        path = tmp_path / "gaia.vot"
        write_votable(t, path, fmt.split("-")[1])
        fmt = "votable"
    else:
        path = write(t, tmp_path / f"gaia.{ext}", fmt)
    s = load_file(tsettings, "gaia_dr3", path)
    assert s["map"] == "gaia_source" and s["inserted"] == len(t) and s["write"] == "fresh"
    rows = q(
        tsettings,
        "SELECT source_id, ra, `dec`, parallax, pmra, pmdec_error, phot_g_mean_mag, bp_rp, "
        "ref_epoch, is_synthetic, deleted FROM gaia_dr3 ORDER BY row_id",
    )
    assert _col(rows, 0) == [int(i) for i in t["source_id"]]  # > 2**53 exact
    assert _col(rows, 1) == [float(v) for v in t["ra"]] and _col(rows, 2) == [float(v) for v in t["dec"]]
    assert _col(rows, 3) == [None if m else float(v) for v, m in zip(t["parallax"].data, t["parallax"].mask)]
    assert _col(rows, 5) == [None if m else float(v) for v, m in zip(t["pmdec_error"].data, t["pmdec_error"].mask)]
    # float32 (FITS E, VOTable float, ECSV/Parquet float32) widened exactly as astropy reads it
    assert _col(rows, 6) == [float(v) for v in t["phot_g_mean_mag"].data]
    assert _col(rows, 7) == [None if m else float(v) for v, m in zip(t["bp_rp"].data, t["bp_rp"].mask)]
    assert set(_col(rows, 8)) == {2016.0} and set(_col(rows, 9)) == {0} and set(_col(rows, 10)) == {0}
    # units: the values were already in ours; a units line says where each unit came from
    origin = "publisher's documentation" if fmt == "csv" else "file"
    assert f"pmra <- pmra [mas / yr, from the {origin}] -> mas / yr" in s["columns"]


@pytest.mark.parametrize("fmt,ext", [("votable", "vot"), ("fits", "fits"), ("ecsv", "ecsv")])
def test_smgps_units_converted_by_astropy(tsettings, tmp_path, fmt, ext):
    drop(tsettings, "radio_sources")
    t = smgps_table()
    s = load_file(tsettings, "radio_sources", write(t, tmp_path / f"smgps.{ext}", fmt))
    assert s["map"] == "smgps" and s["inserted"] == len(t)
    rows = q(
        tsettings,
        "SELECT source_name, ra_deg, ra_err_arcsec, dec_err_arcsec, peak_flux_mjy, int_flux_mjy, "
        "int_flux_err_mjy, rms_mjy, obs_epoch_mjd, field FROM radio_sources ORDER BY row_id",
    )
    assert _col(rows, 0) == list(t["SMGPS"]) and _col(rows, 9) == list(t["Tile"])
    assert _col(rows, 1) == [float(v) for v in t["RAdeg"]]
    assert np.array_equal(_col(rows, 2), expect(t["e_RAdeg"], "deg", "arcsec"))
    assert np.array_equal(_col(rows, 3), expect(t["e_DEdeg"], "deg", "arcsec"))
    assert np.array_equal(_col(rows, 4), expect(t["Fpeak"], "Jy/beam", "mJy/beam"))
    assert np.array_equal(_col(rows, 5), expect(t["Fint"], "Jy", "mJy"))
    assert np.array_equal(_col(rows, 6), expect(t["e_Fint"], "Jy", "mJy"))
    assert np.array_equal(_col(rows, 7), expect(t["rms"], "Jy/beam", "mJy/beam"))
    assert _col(rows, 8) == [float(v) for v in t["MJD"]]


def test_hip2_radians_and_constant_epoch_simbad_types(tsettings, tmp_path):
    drop(tsettings, "hipparcos2", "known_objects")
    h = Table()
    h["HIP"] = np.array([87937, 1, 120404], dtype=np.int32)
    h["RArad"] = np.radians([269.45402305, 0.00091185, 359.9]) * u.rad  # the raw hip2.dat unit
    h["DErad"] = np.radians([4.66828815, 1.08901332, -60.0]) * u.rad
    h["Plx"] = [548.31, 3.54, 1.0] * u.mas
    h["pmRA"] = [-798.58, -5.2, 0.0] * u.mas / u.yr
    h["pmDE"] = [10328.12, -1.88, 0.0] * u.mas / u.yr
    h["Hpmag"] = [9.5, 9.2, 8.0] * u.mag
    h["B-V"] = [1.57, 0.48, 0.1] * u.mag
    write(h, tmp_path / "hip2.vot", "votable")
    s = load_file(tsettings, "hipparcos2", tmp_path / "hip2.vot")
    assert s["map"] == "hip2" and s["expected_quarantine"]["rows"] == 0
    rows = q(tsettings, "SELECT hip, ra_deg, dec_deg, pmdec_mas_yr, b_v, ref_epoch FROM hipparcos2 ORDER BY row_id")
    assert _col(rows, 0) == [87937, 1, 120404]
    assert np.array_equal(_col(rows, 1), (h["RArad"].quantity).to_value(u.deg))
    assert np.array_equal(_col(rows, 2), (h["DErad"].quantity).to_value(u.deg))
    assert _col(rows, 3) == [10328.12, -1.88, 0.0] and _col(rows, 4) == [1.57, 0.48, 0.1]
    assert set(_col(rows, 5)) == {1991.25}  # I/311 epoch, the validation rule's constant
    # SIMBAD basic output as CSV (no units: SIMBAD's documented degrees)
    (tmp_path / "simbad.csv").write_text(
        "main_id,ra,dec,otype\n"
        '"PSR J1745-2900",266.4,-29.0,Psr\n"NGC 6302",258.43,-37.1,PN\n"* alf Cen A",219.9,-60.8,*\n'
        '"3C 273",187.27,2.05,QSO\n"Sgr B2",266.83,-28.38,MoC\n"V* V1 Cen",200.0,-50.0,V*\n'
    )
    s = load_file(tsettings, "known_objects", tmp_path / "simbad.csv")
    assert q(tsettings, "SELECT name, object_type FROM known_objects ORDER BY row_id") == [
        ("PSR J1745-2900", "Pulsar"),
        ("NGC 6302", "PN"),
        ("* alf Cen A", "Star"),
        ("3C 273", "AGN"),
        ("Sgr B2", "MoC"),
        ("V* V1 Cen", "Star"),
    ]
    assert s["object_types"]["kept"] == {"MoC": 1}  # unknown types kept as such ...
    assert s["expected_quarantine"] == {
        "rows": 1,
        "reasons": {"unparsable_type": 1},  # ... and counted
        "fraction": round(1 / 6, 6),
        "max_fraction": 0.05,
    }


# ---- reloads, changes and the ingestion that follows -----------------------------------------------
@pytest.fixture
def prefix(tsettings):
    from radiostars.lake.store import Lake

    p = f"t-{uuid.uuid4().hex[:10]}/"
    yield p
    Lake(tsettings).remove_prefix(p)


def test_reload_is_idempotent_and_changes_touch_only_changed_rows(tsettings, tmp_path, prefix):
    # the ingestions run seconds after the loads with no other writer: safety lag 0 (docs/ingestion.md)
    from radiostars.ingest import pipeline
    from radiostars.lake.raw import effective_manifests, read_files
    from radiostars.lake.store import Lake

    drop(tsettings, "radio_sources")
    t = smgps_table(n=150)
    first = write(t, tmp_path / "smgps.vot", "votable")
    load_file(tsettings, "radio_sources", first)
    r1 = pipeline.ingest_table(
        tsettings, "radio_sources", "2026-01-01", lake_prefix=prefix, database=DB, safety_lag_s=0
    )
    assert r1["rows"] == 150 and r1["quarantined"] == 0
    before = snapshot(tsettings, "radio_sources")
    # the same file, in another format: nothing changes, updated_at does not move
    s = load_file(tsettings, "radio_sources", write(t, tmp_path / "smgps.fits", "fits"))
    assert (s["write"], s["inserted"], s["updated"], s["unchanged"]) == ("merge", 0, 0, 150)
    assert snapshot(tsettings, "radio_sources") == before
    # a corrected file: 3 fluxes change, 2 new sources, one row becomes bad (negative error)
    t2 = t.copy()
    t2["Fint"][[5, 60, 149]] *= 1.1
    t2["e_RAdeg"][70] = -1e-4
    extra = smgps_table(n=2, seed=9)
    extra["SMGPS"] = ["GNEW1", "GNEW2"]
    from astropy.table import vstack

    t2 = vstack([t2, extra])
    s = load_file(tsettings, "radio_sources", write(t2, tmp_path / "smgps2.vot", "votable"))
    assert (s["inserted"], s["updated"], s["unchanged"]) == (2, 4, 146)
    assert s["expected_quarantine"]["rows"] == 1 and s["expected_quarantine"]["reasons"] == {"nonpositive_error": 1}
    assert s["expected_quarantine"]["fraction"] == round(1 / 6, 6)  # > 5 %: the CLI warns the run would fail
    after = {r[1]: r for r in snapshot(tsettings, "radio_sources")}
    moved = {name for name, r in after.items() if r[-1] != before[0][-1]}
    changed = {t["SMGPS"][i] for i in (5, 60, 70, 149)} | {"GNEW1", "GNEW2"}
    assert moved == changed
    assert all(after[r[1]] == r for r in before if r[1] not in changed)  # the others untouched, byte for byte
    # the incremental ingestion writes exactly those rows (and quarantines the bad one)
    r2 = pipeline.ingest_table(
        tsettings, "radio_sources", "2026-01-02", lake_prefix=prefix, database=DB, max_fraction=0.5, safety_lag_s=0
    )
    assert (r2["rows_in"], r2["rows"], r2["quarantined"]) == (6, 5, 1)
    lake = Lake(tsettings)
    m = [m for m in effective_manifests(tsettings, "radio_sources", prefix) if m["ingest_date"] == "2026-01-02"][0]
    good = pa.concat_tables(read_files(lake, m["files"]))
    assert set(good.column("source_name").to_pylist()) == changed - {t["SMGPS"][70]}
    # --replace with the first file: the 2 new sources are soft-deleted, the 4 changed rows go back
    s = load_file(tsettings, "radio_sources", first, mode="replace")
    assert (s["inserted"], s["updated"], s["soft_deleted"]) == (0, 4, 2)
    r3 = pipeline.ingest_table(
        tsettings, "radio_sources", "2026-01-03", lake_prefix=prefix, database=DB, safety_lag_s=0
    )
    assert (r3["rows_in"], r3["quarantined"]) == (6, 0)
    assert q(tsettings, "SELECT COUNT(*) FROM radio_sources WHERE deleted = 1")[0][0] == 2
    # --replace with a file that has a new id: the new row is inserted live, the missing ones soft-deleted
    t3 = t[:100].copy()
    t3["SMGPS"][99] = "GNEW3"
    s = load_file(tsettings, "radio_sources", write(t3, tmp_path / "smgps3.vot", "votable"), mode="replace")
    assert (s["inserted"], s["updated"], s["soft_deleted"]) == (1, 0, 51)  # 150 live - the 99 kept
    assert q(tsettings, "SELECT deleted FROM radio_sources WHERE source_name = 'GNEW3'") == [(0,)]
    assert q(tsettings, "SELECT COUNT(*) FROM radio_sources WHERE deleted = 0")[0][0] == 100


def test_duplicate_ids_and_bad_rows_load_and_are_counted(tsettings, tmp_path):
    drop(tsettings, "gaia_dr3")
    t = gaia_table(n=50)
    t["source_id"][10] = t["source_id"][3]  # a duplicate id
    t["ra"][20] = np.nan  # null position
    t["dec"][21] = 95  # out of range
    t["ref_epoch"][22] = 2015.5  # DR2 epoch in a DR3 table
    t["ra_error"][23] = np.inf  # Inf -> NULL (not measured: valid)
    write(t, tmp_path / "g.fits", "fits")
    for _attempt in range(2):  # fresh, then the idempotent merge with duplicates matched stably
        s = load_file(tsettings, "gaia_dr3", tmp_path / "g.fits")
        assert q(tsettings, "SELECT COUNT(*) FROM gaia_dr3")[0][0] == 50
    assert (s["inserted"], s["updated"], s["unchanged"]) == (0, 0, 50)
    s = load_file(tsettings, "gaia_dr3", tmp_path / "g.fits", mode="replace")
    assert s["unchanged"] == 50 and s["soft_deleted"] == 0
    drop(tsettings, "gaia_dr3")
    s = load_file(tsettings, "gaia_dr3", tmp_path / "g.fits")
    assert s["nonfinite_to_null"] == 1
    assert s["expected_quarantine"]["reasons"] == {
        "null_position": 1,
        "dec_out_of_range": 1,
        "impossible_epoch": 1,
        "duplicate_id": 1,
    }
    assert s["expected_quarantine"]["rows"] == 4
    assert q(tsettings, "SELECT ra_error FROM gaia_dr3 WHERE row_id = 24") == [(None,)]


# ---- bad files: one line, exit 2, nothing written -------------------------------------------------
def _cli(capsys, *args: str) -> tuple[int, str]:
    code = cli_main(["load", *args, "--database", DB])
    err = capsys.readouterr().err.strip()
    return code, err


def test_bad_files_one_line_exit_2_tables_unchanged(tsettings, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("radiostars.config.get_settings", lambda: tsettings)
    drop(tsettings, "radio_sources", "gaia_dr3")
    good = write(smgps_table(n=30), tmp_path / "ok.vot", "votable")
    assert cli_main(["load", "--table", "radio_sources", str(good), "--database", DB]) == 0
    capsys.readouterr()
    before = snapshot(tsettings, "radio_sources")
    t = smgps_table(n=30)
    no_flux = t.copy()
    no_flux.remove_column("Fint")
    wrong_unit = t.copy()
    wrong_unit["Fint"].unit = u.deg
    (tmp_path / "fake.fits").write_text("SMGPS,RAdeg\nG1,10.0\n")
    (tmp_path / "table.xls").write_text("x")
    truncated = write(t, tmp_path / "trunc.fits", "fits")
    truncated.write_bytes(truncated.read_bytes()[:-2880])
    cases = [
        ((str(tmp_path / "table.xls"),), "cannot tell the format"),
        ((str(good), "--format", "fits"), "is not a FITS file as --format fits says: it looks like a VOTable"),
        (
            (str(tmp_path / "fake.fits"),),
            "fake.fits is not a FITS file as its extension .fits says: it looks like a text (CSV) file",
        ),
        (
            (str(write(no_flux, tmp_path / "noflux.vot", "votable")),),
            "missing required column(s) for radio_sources: int_flux_mjy (map used: smgps); add --map int_flux_mjy=",
        ),
        (
            (str(write(wrong_unit, tmp_path / "unit.vot", "votable")),),
            "unit mismatch: column Fint is in 'deg', which cannot be converted to 'mJy' for int_flux_mjy",
        ),
        ((str(truncated),), "the file ends before its row"),
        ((str(good), "--map", "int_flux_mjy=Fnit"), "the file has no column 'Fnit' (close: Fint"),
        ((str(good), "--map", "obs_epoch_mjd=MJD:furlong"), "an epoch needs a time format"),
    ]
    for args, message in cases:
        code, err = _cli(capsys, "--table", "radio_sources", *args)
        assert code == 2, (args, err)
        assert err.count("\n") == 0 and message in err, (args, err)
        assert snapshot(tsettings, "radio_sources") == before
    # a failure in a late chunk of a multi-chunk load: nothing of the earlier chunks is visible
    long = smgps_table(n=30)
    long["SMGPS"] = long["SMGPS"].astype("U60")
    long["SMGPS"][25] = "G" * 50  # longer than VARCHAR(40), in the 3rd chunk of 10 rows
    long["Fint"] *= 2  # every row would change
    path = write(long, tmp_path / "long.fits", "fits")
    code, err = _cli(capsys, "--table", "radio_sources", str(path), "--chunk-rows", "10")
    assert code == 2 and "longer than the 40 characters of radio_sources.source_name" in err
    assert snapshot(tsettings, "radio_sources") == before
    code, err = _cli(capsys, "--table", "gaia_dr3", str(path.with_name("none.fits")))  # fresh path too
    assert code == 2 and "no such file" in err
    drop(tsettings, "radio_sources")  # the fresh path (copy + swap) fails the same way
    code, err = _cli(capsys, "--table", "radio_sources", str(path), "--chunk-rows", "10")
    assert code == 2 and q(tsettings, "SELECT COUNT(*) FROM radio_sources")[0][0] == 0
    assert q(tsettings, "SHOW TABLES LIKE %s", ("radio_sources\\_\\_%",)) == []  # no copy left behind


def test_radiostars_load_entry_point(tsettings, tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    p = subprocess.run(
        [sys.executable, "-m", "radiostars.cli", "load", "--table", "gaia_dr3", str(bad), "--database", DB],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2 and p.stderr.count("\n") == 1
    assert "missing required column(s) for gaia_dr3: source_id, ra, dec" in p.stderr
