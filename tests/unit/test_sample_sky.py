"""The realistic sky: the Galaxy star-count model against its cited numbers, Gaia and radio error models,
radio stars, profiles (docs/data.md "The realistic sky")."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd
import pytest

from radiostars.sample import galaxy as gx

pytestmark = pytest.mark.unit

TS = dt.datetime(2025, 1, 2, 3, 4, 5)
GAIA_DR3_SOURCES = 1_811_709_771  # Gaia EDR3/DR3 documentation, executive summary
SKY_DEG2 = 41_252.96
DR2_DENSE_FIELD = 456_142 / (np.pi * 0.5**2)  # Arenou et al. 2018: r = 0.5° at (l, b) = (330°, −4°)


@pytest.fixture(scope="module")
def whole_sky():
    """Whole-sky total and G histogram on a 24 × 24 equal-area grid (~4 s)."""
    nl = nb = 24
    ls = (np.arange(nl) + 0.5) * 360 / nl
    bs = np.degrees(np.arcsin(-1 + (np.arange(nb) + 0.5) * 2 / nb))
    edges = np.arange(2.0, 22.01, 0.05)
    total, hist = 0.0, np.zeros(len(edges) - 1)
    for b in bs:
        for l_deg in ls:
            los = gx.line_of_sight(l_deg, b)
            total += los.density_per_deg2
            hist += los.g_counts(edges)
    return total * SKY_DEG2 / (nl * nb), hist * SKY_DEG2 / (nl * nb), edges


def test_whole_sky_count_agrees_with_gaia_dr3(whole_sky):
    """1.81·10⁹ sources (4.4·10⁴ deg⁻²): the model (discs + halo, no bulge, no Magellanic Clouds),
    normalised to the GCNS local density, gives (1.97–2.08)·10⁹ depending on the grid: +9…+15 %."""
    total, _, _ = whole_sky
    assert 0.8 * GAIA_DR3_SOURCES < total < 1.25 * GAIA_DR3_SOURCES, total / GAIA_DR3_SOURCES


def test_dense_dr2_field_at_l330_b_minus4():
    """Arenou et al. 2018's dense DR2 test field: 456 142 sources in r = 0.5° → 5.8·10⁵ deg⁻² (model −6 %)."""
    model = gx.density_per_deg2(330.0, -4.0)
    assert abs(model / DR2_DENSE_FIELD - 1) < 0.20, model


def test_plane_density_over_smgps_footprint_at_least_1e5():
    for l_deg in (251.5, 260, 280, 300, 320, 340, 357, 2.5, 20, 40, 60.5):
        assert gx.band_density_per_deg2(l_deg) >= 1.0e5, l_deg


def test_density_rises_toward_the_inner_galaxy():
    """Fourth quadrant: monotone from the SMGPS edge (l = 252°) to l ≈ 310°, then flat (within 5 %) to
    330°; the first quadrant (10°–60°) stays well above the outer edge (extinction flattens the inner
    60°: docs/data.md)."""
    fourth = [gx.band_density_per_deg2(l_deg) for l_deg in (252, 270, 290, 310)]
    assert all(a < b for a, b in zip(fourth, fourth[1:])), fourth
    assert gx.band_density_per_deg2(330) > 0.95 * fourth[-1]
    first = [gx.band_density_per_deg2(l_deg) for l_deg in (10, 30, 60)]
    assert min(first) > 1.5 * fourth[0]
    # and the plane is denser than high latitudes by orders of magnitude
    assert gx.density_per_deg2(300, 0.5) > 20 * gx.density_per_deg2(300, 60)


def test_g_distribution_reaches_21(whole_sky):
    _, hist, edges = whole_sky
    g = 0.5 * (edges[1:] + edges[:-1])
    assert 20.0 < g[np.argmax(hist)] < 21.0  # DR3's counts turn over just below G = 21
    assert hist[g > 21.5].sum() / hist.sum() < 0.05
    assert hist[g > 22.0].sum() == 0
    # counts rise steeply toward the faint end: half of all sources are fainter than G ≈ 19.5
    assert 0.4 < hist[g > 19.5].sum() / hist.sum() < 0.75


def test_two_parameter_share_is_dr3s_19_percent(whole_sky):
    """343 964 953 / 1 811 709 771 = 19.0 % two-parameter solutions in DR3: the G-dependent model
    reproduces it over the model's whole-sky G distribution."""
    from radiostars.sample.gaia_astrometry import two_parameter_probability

    _, hist, edges = whole_sky
    g = 0.5 * (edges[1:] + edges[:-1])
    share = (hist * two_parameter_probability(g)).sum() / hist.sum()
    assert abs(share - 343_964_953 / GAIA_DR3_SOURCES) < 0.015, share
    assert two_parameter_probability(17.0) < 0.001 and two_parameter_probability(21.5) > 0.85


def test_luminosity_function_normalised_to_gcns():
    mg, phi = gx.luminosity_function()
    # every Gaia source of the GCNS (0.072 pc⁻³) down to M9V, and a little more beyond
    assert 0.072 <= phi.sum() < 0.09
    assert phi[mg < 1].sum() < 0.01 * phi.sum()  # luminous stars are rare
    assert mg[np.argmax(phi)] > 8  # M dwarfs dominate by number


def test_fast_galactic_transform_matches_astropy():
    from radiostars.sample.fields import galactic_to_icrs, sep_arcsec

    rng = np.random.default_rng(0)
    l_deg, b_deg = rng.uniform(0, 360, 2000), np.degrees(np.arcsin(rng.uniform(-1, 1, 2000)))
    ra_a, dec_a = galactic_to_icrs(l_deg, b_deg)
    ra_f, dec_f = gx.galactic_to_icrs_fast(l_deg, b_deg)
    assert sep_arcsec(ra_a, dec_a, ra_f, dec_f).max() < 1e-3
    l2, b2 = gx.icrs_to_galactic_fast(ra_f, dec_f)
    assert sep_arcsec(l_deg, b_deg, l2, b2).max() < 1e-6


def test_proper_motion_matches_astropy_galactic_frame():
    """μ from a heliocentric velocity (our projection) = astropy's Galactic → ICRS transformation."""
    from astropy import units as u
    from astropy.coordinates import CartesianDifferential, CartesianRepresentation, Galactic

    rng = np.random.default_rng(1)
    n = 300
    l_deg, b_deg = rng.uniform(0, 360, n), rng.uniform(-80, 80, n)
    d = rng.uniform(0.01, 5, n)
    v = rng.normal(0, 50, (3, n))
    ra, dec = gx.galactic_to_icrs_fast(l_deg, b_deg)
    pmra, pmdec = gx.proper_motion_icrs(ra, dec, d, v)
    xyz = gx.galactic_unit_vectors(l_deg, b_deg) * d
    c = Galactic(CartesianRepresentation(xyz * u.kpc, differentials=CartesianDifferential(v * u.km / u.s)))
    from astropy.coordinates import ICRS

    icrs = c.transform_to(ICRS())
    icrs.representation_type = "spherical"
    icrs.differential_type = "sphericalcoslat"
    assert np.allclose(pmra, icrs.pm_ra_cosdec.to_value(u.mas / u.yr), atol=1e-3)
    assert np.allclose(pmdec, icrs.pm_dec.to_value(u.mas / u.yr), atol=1e-3)


def test_solar_reflex_and_rotation_signs():
    """Toward l = 90° the Sun's own motion (+V) makes disc stars drift backwards (μ_l < 0); distant stars
    move less on the sky."""
    rng = np.random.default_rng(2)
    n = 20000
    for l_deg in (90.0,):
        near = gx.heliocentric_velocity(rng, np.full(n, l_deg), np.zeros(n), np.full(n, 0.2), np.zeros(n, np.int8))
        assert near[1].mean() < -10  # thin disc lags (asymmetric drift) + solar V ⇒ relative v_y < 0
    ra, dec = gx.galactic_to_icrs_fast(np.full(n, 300.0), np.zeros(n))
    pm = {}
    for d in (0.1, 5.0):
        v = gx.heliocentric_velocity(rng, np.full(n, 300.0), np.zeros(n), np.full(n, d), np.zeros(n, np.int8))
        pm[d] = np.median(np.hypot(*gx.proper_motion_icrs(ra, dec, np.full(n, d), v)))
    assert pm[0.1] > 10 * pm[5.0]


# ---- sampling ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def field_sky():
    from radiostars.sample.faint_stars import FieldSky
    from radiostars.sample.fields import Field

    return FieldSky.build(Field("T", 0, 329.5, 330.5, -0.5, 0.5, 58800.0, 0.02, 0.4))


def test_sampling_is_fast_and_follows_the_model(field_sky):
    from radiostars.sample.faint_stars import model_star_rows

    rng = np.random.default_rng(3)
    n = 300_000
    t0 = time.perf_counter()
    stars = field_sky.draw_field_stars(rng, n)
    rows = model_star_rows(rng, stars, 0, 0)
    elapsed = time.perf_counter() - t0
    assert elapsed < 15, elapsed  # ~1 s on an idle core (docs/data.md: ~2.5 µs per star)
    # G histogram vs the cells' expected counts
    edges = np.arange(8, 21.01, 0.5)
    want = sum(los.g_counts(edges) * a for los, a in zip(field_sky.los, [c[4] for c in field_sky.cells]))
    want = want / field_sky.expected * n
    got = np.histogram(rows["true_g"], bins=edges)[0]
    ok = want > 1000
    # the expectation uses each (d, M) cell's centre G, the draw jitters within the cell: a few %
    assert np.abs(got[ok] / want[ok] - 1).max() < 0.08, np.round(got[ok] / want[ok], 3)
    # distant faint stars have small parallax and motion, near ones large
    far, near = rows["distance_pc"] > 3000, rows["distance_pc"] < 200
    assert np.median(rows.loc[far, "true_parallax"]) < 0.34
    assert np.median(np.hypot(rows.loc[far, "true_pmra"], rows.loc[far, "true_pmdec"])) < 12
    assert np.median(np.hypot(rows.loc[near, "true_pmra"], rows.loc[near, "true_pmdec"])) > 20
    assert np.median(rows.loc[near, "true_parallax"]) > 5


def test_gaia_catalogue_pulls_are_unit_normal(field_sky):
    from radiostars.sample.faint_stars import model_star_rows

    rng = np.random.default_rng(4)
    rows = model_star_rows(rng, field_sky.draw_field_stars(rng, 200_000), 0, 0)
    five = rows[~rows["two_param"]]
    dec = np.radians(five["true_dec"])
    pulls = {
        "ra": (five["ra"] - five["true_ra"]) * 3.6e6 * np.cos(dec) / five["ra_error"],
        "dec": (five["dec"] - five["true_dec"]) * 3.6e6 / five["dec_error"],
        "parallax": (five["parallax"] - five["true_parallax"]) / five["parallax_error"],
        "pmra": (five["pmra"] - five["true_pmra"]) / five["pmra_error"],
        "pmdec": (five["pmdec"] - five["true_pmdec"]) / five["pmdec_error"],
    }
    n = len(five)
    for name, p in pulls.items():
        assert abs(p.mean()) < 5 / np.sqrt(n), name
        assert abs(p.std() - 1) < 0.01, (name, p.std())
    # errors grow with G (PyGaia model) and two-parameter solutions have no parallax / pm but move
    assert (
        five.groupby(pd.cut(five["phot_g_mean_mag"], [12, 16, 19, 21]), observed=True)["parallax_error"]
        .median()
        .is_monotonic_increasing
    )
    two = rows[rows["two_param"]]
    assert len(two) > 0.1 * len(rows)  # the plane at G ~ 20–21
    assert two[["parallax", "pmra", "pmdec", "parallax_error"]].isna().all().all()
    assert (np.hypot(two["true_pmra"], two["true_pmdec"]) > 0).all()
    assert two["ra_error"].between(1.0, 4.0).all()
    assert rows["bp_rp"].isna().mean() < 0.5 and rows["bp_rp"].dropna().between(-0.8, 8).all()


def test_open_cluster_members_share_distance_and_motion():
    from radiostars.sample.clusters import draw_cluster_members, expected_clusters

    rng = np.random.default_rng(5)
    for _ in range(20):
        m = draw_cluster_members(rng, 300.0, 0.0)
        if len(m["d_kpc"]) >= 10:
            break
    assert len(m["d_kpc"]) >= 10
    assert np.std(m["d_kpc"]) < 0.05 * np.mean(m["d_kpc"]) + 0.02
    assert np.std(m["v_gal"], axis=1).max() < 3.0  # 1 km/s internal dispersion
    # thousands of clusters over the sky, concentrated in the plane
    assert expected_clusters(300, 0, 1.0) > 50 * expected_clusters(300, 30, 1.0)


# ---- radio stars ------------------------------------------------------------------------------------
def test_radio_star_population():
    from radiostars.sample.radio_stars import CLASSES, STAR_SHARE, draw_radio_stars

    assert sum(c.fraction for c in CLASSES) == pytest.approx(1.0)
    assert STAR_SHARE == pytest.approx(629 / 510_599)
    rng = np.random.default_rng(6)
    st = draw_radio_stars(rng, 3000, 330.0, 0.2, 0.02, lambda r, k: (np.full(k, 330.0), np.full(k, 0.2)))
    df = pd.DataFrame({k: st[k] for k in ("star_class", "d_kpc", "log_l", "g_mag", "peak_flux_mjy")})
    assert (df["peak_flux_mjy"] >= 5 * 0.02).all()  # detected
    assert df["g_mag"].max() < 22.5  # a Gaia source
    med = df.groupby("star_class").median()
    # cool dwarfs are less radio-luminous than evolved stars (Driessen et al. 2024), hence nearer
    assert med.loc["m_dwarf", "log_l"] < med.loc["giant", "log_l"] < med.loc["active_binary", "log_l"]
    assert med.loc["m_dwarf", "d_kpc"] < 0.2 < med.loc["giant", "d_kpc"] < med.loc["ob_wr", "d_kpc"]
    share = df["star_class"].value_counts(normalize=True)
    for c in CLASSES:
        assert abs(share[c.name] - c.fraction) < 4 * np.sqrt(c.fraction / 3000) + 0.005


# ---- the realistic sample ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def realistic():
    """A small realistic sample with a raised star share (so many radio stars are drawn, test only)."""
    from radiostars.catalogues.schema import TABLES
    from radiostars.sample.generate import SampleGenerator, SampleParams, TableDigest, update_digest

    gen = SampleGenerator(
        SampleParams(seed=5, profile="realistic", area_deg2=1.0, n_hpm_pointings=2, star_share=0.05, chunk_rows=50_000),
        TS,
    )
    parts = {t: [] for t in TABLES}
    digests = {t: TableDigest() for t in TABLES}
    for table, chunk in gen.generate():
        update_digest(digests[table], chunk)
        parts[table].append(chunk)
    return (
        gen,
        {t: pd.concat(p, ignore_index=True) for t, p in parts.items()},
        {t: h.hexdigest() for t, h in digests.items()},
    )


def test_quoted_radio_errors_hold_no_systematic_term(realistic):
    gen, tables, _ = realistic
    radio = tables["radio_sources"]
    snr = radio["peak_flux_mjy"] / radio["rms_mjy"]
    assert np.allclose(radio["ra_err_arcsec"], 8.0 / (2 * snr), rtol=1e-12)
    assert np.allclose(radio["dec_err_arcsec"], radio["ra_err_arcsec"])


def test_radio_pulls_follow_core_plus_tail_after_removing_the_field_offset(realistic):
    from scipy import stats

    from radiostars.sample.fields import offset_radec, sep_arcsec

    gen, tables, _ = realistic
    t = gen.truth_radio.set_index("row_id")
    radio = tables["radio_sources"].set_index("row_id").loc[t.index]
    # the truth's field offsets are the fields' coherent offsets
    fo = gen.truth_fields.set_index("name")
    assert np.allclose(t["offset_east_arcsec"], fo.loc[t["field"], "offset_east_arcsec"].to_numpy())
    shifted = offset_radec(
        t["true_ra_deg"].to_numpy(),
        t["true_dec_deg"].to_numpy(),
        t["offset_east_arcsec"].to_numpy(),
        t["offset_north_arcsec"].to_numpy(),
    )
    r = sep_arcsec(radio["ra_deg"], radio["dec_deg"], *shifted) / radio["ra_err_arcsec"].to_numpy()
    tail = t["is_tail"].to_numpy()
    n = len(r)
    assert abs(tail.mean() - 0.04) < 4 * np.sqrt(0.04 * 0.96 / n)
    assert (r[tail] >= 3 - 1e-6).all() and (r[tail] <= 5 + 1e-6).all()
    assert stats.kstest(r[~tail], "rayleigh").pvalue > 1e-3  # core: Rayleigh(1)
    expected_beyond_3 = 0.96 * np.exp(-4.5) + 0.04
    assert abs((r > 3).mean() - expected_beyond_3) < 4 * np.sqrt(expected_beyond_3 / n)
    # without removing the field offsets the pulls are broader: the coherent term exists
    raw = (
        sep_arcsec(radio["ra_deg"], radio["dec_deg"], t["true_ra_deg"], t["true_dec_deg"])
        / radio["ra_err_arcsec"].to_numpy()
    )
    assert np.median(raw) > np.median(r)


def test_star_share_per_field_and_truth_columns(realistic):
    from radiostars.sample.generate import TRUTH_RADIO_COLUMNS

    gen, tables, _ = realistic
    t = gen.truth_radio
    assert list(t.columns) == TRUTH_RADIO_COLUMNS
    plane = t[t["field_kind"] == "plane"]
    n_bg = (~plane["is_injected"]).sum()
    n_st = plane["is_injected"].sum()
    assert abs(n_st - 0.05 * n_bg) < 4 * np.sqrt(0.05 * n_bg) + 1
    hpm = t[(t["field_kind"] == "hpm") & t["is_injected"]]
    assert 87937 in set(hpm["star_id"]) and len(hpm) == 3  # Barnard's star + 2 pointings
    # one star among ~1000 sources per pointing
    per = t[t["field_kind"] == "hpm"].groupby("field")["is_injected"].agg(["sum", "size"])
    assert (per["sum"] == 1).all() and (per["size"] > 300).all()
    assert (
        set(t.loc[t["is_injected"], "star_class"])
        - {"hpm_target", "m_dwarf", "ultracool_dwarf", "active_binary", "giant", "yso", "ob_wr"}
        == set()
    )


def test_injected_stars_move_in_the_truth_from_their_true_astrometry(realistic):
    from radiostars.sample.fields import sep_arcsec
    from radiostars.sample.propagate import propagate_astropy

    gen, tables, _ = realistic
    t = gen.truth_radio
    syn = t[t["catalogue"] == "gaia_dr3_synthetic"]
    assert len(syn) >= 10
    g = tables["gaia_dr3"].set_index("source_id").loc[syn["star_id"].astype("int64")]
    # the truth at the radio epoch is the star moved by its TRUE motion from 2016.0 (the catalogue row is
    # the 2016.0 position + mas-level noise): moving the catalogue row by the true motion lands on it
    g_ra, g_dec = g["ra"].to_numpy(), g["dec"].to_numpy()
    t_ra, t_dec = syn["true_ra_deg"].to_numpy(), syn["true_dec_deg"].to_numpy()
    ra, dec = propagate_astropy(
        g_ra,
        g_dec,
        syn["true_pmra_mas_yr"],
        syn["true_pmdec_mas_yr"],
        syn["true_parallax_mas"],
        2016.0,
        syn["obs_epoch_mjd"],
    )
    assert sep_arcsec(ra, dec, t_ra, t_dec).max() < 0.05
    moved = sep_arcsec(g_ra, g_dec, t_ra, t_dec)
    near = syn["true_distance_pc"].to_numpy() < 200
    assert near.sum() >= 3 and np.median(moved[near]) > 0.1  # nearby radio stars move by 0.1–3″
    two = syn[~syn["catalogue_has_pm"].astype(bool)]
    if len(two):
        assert g.loc[two["star_id"].astype("int64"), "pmra"].isna().all()
        assert (np.hypot(two["true_pmra_mas_yr"], two["true_pmdec_mas_yr"]) > 0).all()


def test_realistic_is_deterministic_and_ids_never_collide(realistic):
    from radiostars.sample import ids
    from radiostars.sample.generate import SampleGenerator, SampleParams, TableDigest, update_digest

    gen, tables, digests = realistic
    g = tables["gaia_dr3"]
    syn = g.loc[g["is_synthetic"], "source_id"]
    assert g["source_id"].is_unique and (syn >= ids.SYNTHETIC_ID_BASE).all() and (syn <= ids.BIGINT_MAX).all()
    block = (syn - ids.SYNTHETIC_ID_BASE) // ids.SYNTHETIC_FIELD_STRIDE
    assert not block.isin([ids.SYNTHETIC_UPDATE_FIELD, ids.SYNTHETIC_DIRTY_FIELD]).any()
    assert set(block) <= {f.index for f in gen.all_fields}
    again = SampleGenerator(
        SampleParams(seed=5, profile="realistic", area_deg2=1.0, n_hpm_pointings=2, star_share=0.05, chunk_rows=77_777),
        TS,
    )
    d = {}
    for table, chunk in again.generate():
        d.setdefault(table, TableDigest())
        update_digest(d[table], chunk)
    assert {t: h.hexdigest() for t, h in d.items()} == digests


def test_faint_density_recorded_per_field(realistic):
    gen, tables, _ = realistic
    f = gen.truth_fields
    plane = f[f["kind"] == "plane"]
    assert (plane["faint_density_per_deg2"] > 1e5).all()
    assert (abs(plane["faint_rows"] - plane["faint_expected"]) < 5 * np.sqrt(plane["faint_expected"])).all()


def test_profiles_validate_their_parameters():
    from radiostars.sample.errors import SampleError
    from radiostars.sample.generate import SampleParams

    with pytest.raises(SampleError, match="easy profile only"):
        SampleParams(profile="realistic", faint_density_per_deg2=1e4).validate()
    with pytest.raises(SampleError, match="profile"):
        SampleParams(profile="nope").validate()
    with pytest.raises(SampleError, match="too large"):
        SampleParams(profile="evaluation", area_deg2=2000).validate()
    assert SampleParams(profile="easy").resolved().faint_density_per_deg2 == 1e4
    assert SampleParams().resolved().area_deg2 == 4.0 and SampleParams().profile == "realistic"


def test_evaluation_profile_counts_per_area():
    """22 SMGPS-like tiles (198 deg²): ~3.7·10⁷ faint stars, ~1.9·10⁵ radio sources and, at the Egbo
    share, ~230 plane radio stars; with the 217 high-pm pointings several hundred stars in all."""
    from radiostars.sample.generate import _S_FIELDS, SampleParams, rng_for
    from radiostars.sample.profiles import plane_fields
    from radiostars.sample.radio_flux import detected_background
    from radiostars.sample.radio_stars import STAR_SHARE

    p = SampleParams(profile="evaluation").resolved()
    fields = plane_fields(p.profile, p.area_deg2, p.n_fields, lambda i: rng_for(p.seed, _S_FIELDS, i))
    assert len(fields) == 22 and sum(f.area_deg2 for f in fields) == pytest.approx(198.0, rel=0.01)
    assert len({f.name for f in fields}) == 22 and max(f.index for f in fields) < 90
    faint = sum(9.0 * gx.band_density_per_deg2(0.5 * (f.l_min_deg + f.l_max_deg), n_b=6) for f in fields)
    assert 3.0e7 < faint < 4.5e7
    rng = np.random.default_rng(0)
    n_bg = sum(len(detected_background(rng, f.rms_mjy, f.area_deg2)["peak_flux_mjy"]) for f in fields)
    stars = STAR_SHARE * n_bg
    assert 170 < stars < 320
    assert stars + 217 > 380
