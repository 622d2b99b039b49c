"""Generator-level tests: densities, flux slope, error model, determinism, ids, dirty counts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from radiostars.catalogues.schema import TABLES, column_names
from radiostars.sample import dirty as dirty_mod
from radiostars.sample import ids
from radiostars.sample.fields import icrs_to_galactic, sep_arcsec
from radiostars.sample.generate import SampleGenerator, SampleParams, TableDigest, update_digest

pytestmark = pytest.mark.unit

TS = dt.datetime(2025, 1, 2, 3, 4, 5, 678901)
PARAMS = dict(seed=7, profile="easy", area_deg2=2.0, faint_density_per_deg2=5000.0, dirty=True, chunk_rows=20_000)


def _run(**overrides):
    gen = SampleGenerator(SampleParams(**{**PARAMS, **overrides}), TS)
    parts: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLES}
    digests = {t: TableDigest() for t in TABLES}
    for table, chunk in gen.generate():
        assert list(chunk.columns) == column_names(table)
        update_digest(digests[table], chunk)
        parts[table].append(chunk)
    tables = {t: pd.concat(p, ignore_index=True) for t, p in parts.items()}
    return gen, tables, {t: h.hexdigest() for t, h in digests.items()}


@pytest.fixture(scope="module")
def sample():
    return _run()


def _clean(gen, tables, table):
    bad = {r for t, r, _ in gen.dirty_rows if t == table}
    df = tables[table]
    return df[~df["row_id"].isin(bad)]


def test_row_ids_sequential_and_updated_at(sample):
    gen, tables, _ = sample
    for t, df in tables.items():
        assert (df["row_id"].to_numpy() == np.arange(1, len(df) + 1)).all(), t
        assert (df["updated_at"] == pd.Timestamp(TS)).all()
        assert not df["deleted"].any()


def test_faint_star_density_per_field(sample):
    gen, tables, _ = sample
    g = tables["gaia_dr3"]
    syn = g[g["is_synthetic"] & (g["source_id"] < ids.synthetic_gaia_id(ids.SYNTHETIC_DIRTY_FIELD, 0))]
    for f in gen.fields:
        lo, hi = ids.synthetic_gaia_id(f.index, 0), ids.synthetic_gaia_id(f.index + 1, 0)
        part = syn[(syn["source_id"] >= lo) & (syn["source_id"] < hi)]
        expected = PARAMS["faint_density_per_deg2"] * f.area_deg2
        assert abs(len(part) - expected) < 5 * np.sqrt(expected), (f.name, len(part), expected)
        l_deg, b_deg = icrs_to_galactic(part["ra"].to_numpy(), part["dec"].to_numpy())
        assert (l_deg >= f.l_min_deg - 1e-9).all() and (l_deg <= f.l_max_deg + 1e-9).all()
        assert (np.abs(b_deg) <= f.b_max_deg + 1e-9).all()
        # uniform in sin b: half the stars in the inner half of the sin-b range
        inner = np.abs(np.sin(np.radians(b_deg))) < 0.5 * np.sin(np.radians(f.b_max_deg))
        assert abs(inner.mean() - 0.5) < 5 * 0.5 / np.sqrt(len(part))


def test_background_density_and_flux_slope(sample):
    gen, tables, _ = sample
    truth = gen.truth_radio
    bg = truth[truth["catalogue"] == "background"]
    radio = tables["radio_sources"].set_index("row_id").loc[bg["row_id"]]
    # ≈ 1000 deg^-2 above 5σ at rms 20 µJy, scaled by (rms/20 µJy)^-1.5 per field
    for f in gen.fields:
        n = int((radio["field"] == f.name).sum())
        expected = 1000.0 * (5 * f.rms_mjy / 0.1) ** -1.5 * f.area_deg2
        assert abs(n - expected) < 0.15 * expected + 4 * np.sqrt(expected), (f.name, n, expected)
    # maximum-likelihood power-law index of the true fluxes above 10σ: γ = n / Σ ln(S/S_min)
    s = bg["int_true_mjy"].to_numpy()
    fld = bg["field"].to_numpy()
    gammas = []
    for f in gen.fields:
        x = s[(fld == f.name) & (s > 10 * f.rms_mjy)] / (10 * f.rms_mjy)
        gammas.append((len(x), len(x) / np.log(x).sum()))
    n_tot = sum(n for n, _ in gammas)
    gamma = sum(n * g for n, g in gammas) / n_tot
    assert abs(gamma - 1.5) < 4 * 1.5 / np.sqrt(n_tot), gamma
    # all detected at S/N >= 5
    assert (radio["peak_flux_mjy"] / radio["rms_mjy"] >= 5 - 1e-9).all()


def test_position_error_model_and_pulls(sample):
    gen, tables, _ = sample
    truth = gen.truth_radio.set_index("row_id")
    radio = tables["radio_sources"].set_index("row_id").loc[truth.index]
    snr = radio["peak_flux_mjy"] / radio["rms_mjy"]
    sys = radio["field"].map({f.name: f.sys_err_arcsec for f in gen.fields}).fillna(0.4)
    # σ_sys counted once: the catalogue quotes the statistical error only (the matcher adds sigma_sys)
    assert np.allclose(radio["ra_err_arcsec"], 8.0 / (2 * snr))
    assert (radio["ra_err_arcsec"] == radio["dec_err_arcsec"]).all()
    sep = sep_arcsec(radio["ra_deg"], radio["dec_deg"], truth["true_ra_deg"], truth["true_dec_deg"])
    # the easy sky scatters by statistical ⊕ systematic: separation / that σ is Rayleigh(1),
    # mean sqrt(pi/2), P(r > 3σ) = exp(-4.5)
    pull = sep / np.hypot(radio["ra_err_arcsec"].to_numpy(), sys.to_numpy())
    assert abs(pull.mean() - np.sqrt(np.pi / 2)) < 0.05
    assert (pull > 3).mean() < 0.01 + 3 * np.sqrt(0.011 / len(pull))


def test_injected_counts_and_ids(sample):
    gen, tables, _ = sample
    t = gen.truth_radio
    inj = t[t["is_injected"]]
    assert set(inj["catalogue"]) == {"hipparcos2", "gaia_dr3", "gaia_dr3_synthetic"}
    assert 87937 in set(inj.loc[inj["catalogue"] == "hipparcos2", "star_id"])  # Barnard's star
    g = tables["gaia_dr3"]
    syn_ids = set(g.loc[g["is_synthetic"], "source_id"])
    assert set(inj.loc[inj["catalogue"] == "gaia_dr3_synthetic", "star_id"]) <= syn_ids
    real = g.loc[~g["is_synthetic"], "source_id"]
    assert set(inj.loc[inj["catalogue"] == "gaia_dr3", "star_id"]) <= set(real)
    # radio names unique in clean data
    clean = _clean(gen, tables, "radio_sources")
    assert clean["source_name"].is_unique


def test_gaia_ids_never_collide(sample):
    gen, tables, _ = sample
    g = _clean(gen, tables, "gaia_dr3")
    real = g.loc[~g["is_synthetic"], "source_id"].to_numpy()
    syn = g.loc[g["is_synthetic"], "source_id"].to_numpy()
    assert (real > 0).all() and real.max() <= ids.GAIA_DR3_MAX_REAL_ID
    assert (syn >= ids.SYNTHETIC_ID_BASE).all() and (syn <= ids.BIGINT_MAX).all()
    assert ids.SYNTHETIC_ID_BASE > ids.GAIA_DR3_MAX_REAL_ID
    assert g["source_id"].is_unique
    assert len(real) == 482_176 - 70  # the package's 70 "-HIP" rows are not Gaia sources
    # the package's fake "pm" columns are never loaded as proper motions
    assert g.loc[~g["is_synthetic"], ["pmra", "pmdec", "parallax"]].isna().all().all()


def test_hipparcos_real_values(sample):
    gen, tables, _ = sample
    h = _clean(gen, tables, "hipparcos2").set_index("hip")
    assert len(h) == 117_955
    barnard = h.loc[87937]
    # van Leeuwen (2007) values for HIP 87937
    assert (barnard["pmra_mas_yr"], barnard["pmdec_mas_yr"], barnard["plx_mas"]) == (-798.58, 10328.12, 548.31)
    assert (h["ref_epoch"] == 1991.25).all()


def test_dirty_counts_exact(sample):
    gen, tables, _ = sample
    from collections import Counter

    got = Counter((t, k) for t, _, k in gen.dirty_rows)
    want = Counter({(t, k): n for t, kinds in dirty_mod.DIRTY_COUNTS.items() for k, n in kinds.items()})
    assert got == want
    rows = {t: tables[t].set_index("row_id") for t in TABLES}
    pos = {
        "radio_sources": ("ra_deg", "dec_deg"),
        "gaia_dr3": ("ra", "dec"),
        "hipparcos2": ("ra_deg", "dec_deg"),
        "known_objects": ("ra_deg", "dec_deg"),
    }
    for table, row_id, kind in gen.dirty_rows:
        r = rows[table].loc[row_id]
        ra, dec = (r[c] for c in pos[table])
        if kind == "null_position":
            assert pd.isna(ra) or pd.isna(dec)
        elif kind == "ra_out_of_range":
            assert not 0 <= ra < 360
        elif kind == "dec_out_of_range":
            assert abs(dec) > 90
        elif kind == "nonpositive_error":
            errs = {
                "radio_sources": ("ra_err_arcsec", "dec_err_arcsec"),
                "gaia_dr3": ("ra_error", "dec_error"),
                "hipparcos2": ("e_ra_mas", "e_dec_mas"),
            }[table]
            assert any(r[c] <= 0 for c in errs)
        elif kind == "nonfinite_flux":
            assert pd.isna(r["int_flux_mjy"])
        elif kind == "duplicate_id":
            from radiostars.catalogues.tables import ID_COLUMN

            same = rows[table][rows[table][ID_COLUMN[table]] == r[ID_COLUMN[table]]]
            assert len(same) == 2 and same.index.min() < row_id
        elif kind == "unparsable_type":
            assert r["object_type"] not in ("AGN", "Pulsar", "PN", "HII", "Star")
    # clean rows are clean
    for table in TABLES:
        c = _clean(gen, tables, table)
        ra, dec = (c[x] for x in pos[table])
        assert ra.notna().all() and dec.notna().all()
        assert ((ra >= 0) & (ra < 360)).all() and (dec.abs() <= 90).all()


def test_determinism_same_seed_same_checksums(sample):
    _, _, digests = sample
    _, _, again = _run(chunk_rows=33_333)  # chunking must not matter
    assert again == digests


def test_different_seed_different_sky():
    from radiostars.sample.faint_stars import faint_star_chunk
    from radiostars.sample.fields import demo_fields
    from radiostars.sample.generate import rng_for

    f = demo_fields(2.0)[0]
    a = faint_star_chunk(rng_for(1, 2, 0), f, 0, 100)
    b = faint_star_chunk(rng_for(1, 2, 0), f, 0, 100)
    c = faint_star_chunk(rng_for(2, 2, 0), f, 0, 100)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["ra"], c["ra"])


def test_known_objects(sample):
    gen, tables, _ = sample
    k = _clean(gen, tables, "known_objects")
    assert k["name"].is_unique
    assert set(k["object_type"]) == {"AGN", "Pulsar", "PN", "HII", "Star"}
    assert (k["object_type"] == "Star").sum() >= 40
    bg = gen.truth_radio[gen.truth_radio["catalogue"] == "background"]
    tagged = gen.known_truth["radio_name"].dropna()
    assert abs(len(tagged) - 0.05 * len(bg)) <= 1
    assert set(tagged) <= set(bg["source_name"])


def test_bad_params_are_clear():
    from radiostars.sample.errors import SampleError

    with pytest.raises(SampleError, match="seed"):
        SampleParams(seed="x").validate()
    with pytest.raises(SampleError, match="too large"):
        SampleParams(area_deg2=1e4).validate()
    with pytest.raises(SampleError, match="faint_density"):
        SampleParams(faint_density_per_deg2=-1).validate()
    for area in (0.0, -1.0, float("nan")):
        with pytest.raises(SampleError, match="area_deg2"):
            SampleParams(profile="evaluation", area_deg2=area).validate()
