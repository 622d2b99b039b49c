import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord, search_around_sky

from radiostars.crossmatch import (
    PAIR_SCHEMA,
    CrossmatchParams,
    match_partition,
    optical_partition_membership,
    propagate_radec,
    radio_home_pixels,
)
from tests.skygen import hard_sky

pytestmark = pytest.mark.unit

R = 20.0


def _catalogues(seed=7):
    rng = np.random.default_rng(seed)
    return hard_sky(rng, 1000, 150, 100), hard_sky(rng, 12000, 2500, 1500)


def _params(**kw):
    base = dict(
        radius_arcsec=R,
        r_min_arcsec=R,
        n_sigma=1.0,
        sigma_sys_arcsec=0.0,
        healpix_order=2,
        margin_arcsec=3 * R,
        density_inner_arcsec=1.5 * R,
        density_outer_arcsec=3 * R,
    )
    base.update(kw)
    return CrossmatchParams(**base)


def _run_partitioned(radio, opt, params, epoch_lo, epoch_hi):
    """What the Spark job does: explode optical rows to home+margin pixels, group, match."""
    radio = radio.assign(healpix=radio_home_pixels(radio, params))
    row, pix = optical_partition_membership(opt, params, epoch_lo, epoch_hi)
    by_pix = pd.Series(row).groupby(pix).apply(np.asarray)
    out = []
    for p, r_idx in radio.groupby("healpix").indices.items():
        if p in by_pix.index:
            out.append(match_partition(radio.iloc[r_idx], opt.iloc[by_pix[p]], params, partition_pixel=int(p)))
    return pd.concat(out, ignore_index=True)


def test_partitioned_match_equals_astropy_search_around_sky():
    (rra, rdec), (ora, odec) = _catalogues()
    radio = pd.DataFrame(
        dict(radio_id=np.arange(rra.size), ra_deg=rra, dec_deg=rdec, sigma_radio_arcsec=1.0, epoch_yr=2019.0)
    )
    opt = pd.DataFrame(
        dict(
            optical_id=np.arange(ora.size),
            ra_deg=ora,
            dec_deg=odec,
            ref_epoch_yr=2016.0,
            ra_error_mas=0.1,
            dec_error_mas=0.1,
        )
    )
    pairs = _run_partitioned(radio, opt, _params(), 2019.0, 2019.0)

    i1, i2, d2, _ = search_around_sky(
        SkyCoord(rra * u.deg, rdec * u.deg), SkyCoord(ora * u.deg, odec * u.deg), R * u.arcsec
    )
    ref = pd.DataFrame(dict(radio_id=i1, optical_id=i2, sep_ref=d2.to_value(u.arcsec)))
    assert len(ref) > 2000  # meaningful: poles, seams and pixel corners are populated
    assert not pairs.duplicated(["radio_id", "optical_id"]).any()
    m = ref.merge(pairs, on=["radio_id", "optical_id"], how="outer", indicator=True)
    assert (m["_merge"] == "both").all(), m["_merge"].value_counts()
    assert np.abs(m["sep_ref"] - m["sep_arcsec"]).max() < 1e-6  # < 1 µas
    # ranks: 1..n per radio source, ordered by separation (σ identical here)
    g = pairs.groupby("radio_id")
    assert (g["rank"].max() == g.size()).all() and (g["n_candidates"].first() == g.size()).all()
    first = pairs[pairs["rank"] == 1].set_index("radio_id")["sep_arcsec"].sort_index()
    assert np.array_equal(first.to_numpy(), g["sep_arcsec"].min().sort_index().to_numpy())
    assert list(pairs.columns) == list(PAIR_SCHEMA)
    for c, t in PAIR_SCHEMA.items():
        if c != "radio_id":
            assert str(pairs[c].dtype) == t, c


def _barnard_frames(pm=True):
    # Gaia DR3 Barnard's star at 2016.0 + two faint neighbours; radio detection at 2019.5
    ra, dec, pmra, pmdec, plx = 269.44850252543836, 4.739420051112412, -801.551, 10362.394, 546.976
    ra_r, dec_r = propagate_radec(ra, dec, pmra, pmdec, plx, 2016.0, 2019.5)
    radio = pd.DataFrame(
        dict(
            radio_id=["SMGPS J175747.9+044417"],
            ra_deg=[float(ra_r) + 0.3 / 3600],
            dec_deg=[float(dec_r)],
            sigma_radio_arcsec=[0.8],
            epoch_yr=[2019.5],
        )
    )
    opt = pd.DataFrame(
        dict(
            optical_id=np.array([4472832130942575872, 1, 2], dtype=np.int64),
            ra_deg=[ra, ra + 0.01, float(ra_r) + 3 / 3600],
            dec_deg=[dec, dec, float(dec_r)],
            ref_epoch_yr=2016.0,
            ra_error_mas=[0.02, 0.5, 0.5],
            dec_error_mas=[0.02, 0.5, 0.5],
            pmra_mas_yr=[pmra if pm else np.nan, 1.0, 0.0],
            pmdec_mas_yr=[pmdec if pm else np.nan, 1.0, 0.0],
            parallax_mas=[plx, 1.0, 0.5],
            pmra_error_mas_yr=0.03,
            pmdec_error_mas_yr=0.03,
        )
    )
    return radio, opt


def test_high_pm_star_matched_only_with_propagation():
    params = CrossmatchParams(radius_arcsec=5.0, r_min_arcsec=1.0, n_sigma=4.0, sigma_sys_arcsec=0.3, healpix_order=6)
    radio, opt = _barnard_frames(pm=True)
    pairs = match_partition(radio, opt, params, catalogue="gaia_dr3")
    best = pairs[pairs["rank"] == 1].iloc[0]
    assert best["optical_id"] == 4472832130942575872 and best["sep_arcsec"] == pytest.approx(
        0.3 * np.cos(np.deg2rad(radio["dec_deg"][0])), abs=1e-5
    )
    assert best["catalogue"] == "gaia_dr3" and best["n_candidates"] == 2  # plus the 3" neighbour
    assert best["dt_yr"] == pytest.approx(3.5)
    # without proper motion the star sits 36" away at its 2016 place: missed
    radio, opt = _barnard_frames(pm=False)
    pairs = match_partition(radio, opt, params)
    assert 4472832130942575872 not in pairs["optical_id"].tolist()


def test_barnard_found_across_partitions_with_margin_reach():
    """A fast star's margin (its reach over the radio epochs) puts it in the radio source's pixel."""
    params = CrossmatchParams(radius_arcsec=5.0, r_min_arcsec=1.0, n_sigma=4.0, healpix_order=6)
    radio, opt = _barnard_frames(pm=True)
    radio["epoch_yr"] = 2046.0  # 30 yr later: 5 arcmin away from the catalogue place
    ra_r, dec_r = propagate_radec(
        *opt.loc[0, ["ra_deg", "dec_deg", "pmra_mas_yr", "pmdec_mas_yr", "parallax_mas"]], 2016.0, 2046.0
    )
    radio["ra_deg"], radio["dec_deg"] = float(ra_r), float(dec_r)
    pairs = _run_partitioned(radio, opt, params, 2016.0, 2046.0)
    assert pairs.loc[pairs["rank"] == 1, "optical_id"].tolist() == [4472832130942575872]


def test_sigma_dependent_radius_and_one_to_one():
    params = CrossmatchParams(radius_arcsec=10.0, r_min_arcsec=1.0, n_sigma=3.0, sigma_sys_arcsec=0.0, healpix_order=6)
    radio = pd.DataFrame(
        dict(
            radio_id=["a", "b"],
            ra_deg=[100.0, 100.0 + 2 / 3600],
            dec_deg=[0.0, 0.0],
            sigma_radio_arcsec=[0.5, 2.0],
            epoch_yr=2019.0,
        )
    )
    opt = pd.DataFrame(
        dict(
            optical_id=np.array([1, 2], np.int64),
            ra_deg=[100.0 + 1.2 / 3600, 100.0 + 8.5 / 3600],
            dec_deg=[0.0, 0.0],
            ref_epoch_yr=2016.0,
            ra_error_mas=0.1,
            dec_error_mas=0.1,
        )
    )
    pairs = match_partition(radio, opt, params)
    # a: σ≈0.5 → R=1.5": only star 1 (1.2"); b: σ≈2 → R=6": star 1 (0.8") and not star 2 (6.5")
    got = set(zip(pairs["radio_id"], pairs["optical_id"]))
    assert got == {("a", 1), ("b", 1)}
    o2o = match_partition(
        radio,
        opt,
        CrossmatchParams(
            **{
                **params.to_dict(),
                "one_to_one": True,
                "control_offsets_arcmin": (1.0,),
                "control_position_angles_deg": (0.0,),
            }
        ),
    )
    # greedy by sep_sigma: b–1 has 0.8/2 = 0.4σ < a–1 1.2/0.5 = 2.4σ
    assert set(zip(o2o["radio_id"], o2o["optical_id"])) == {("b", 1)}


def test_missing_pm_rows_get_larger_sigma():
    params = CrossmatchParams(healpix_order=6, missing_pm_sigma_mas_yr=100.0, sigma_sys_arcsec=0.0)
    radio = pd.DataFrame(
        dict(radio_id=[1], ra_deg=[10.0], dec_deg=[-30.0], sigma_radio_arcsec=[0.5], epoch_yr=[2020.0])
    )
    opt = pd.DataFrame(
        dict(
            optical_id=np.array([5], np.int64),
            ra_deg=[10.0],
            dec_deg=[-30.0],
            ref_epoch_yr=[2016.0],
            ra_error_mas=[0.0],
            dec_error_mas=[0.0],
            pmra_mas_yr=[np.nan],
            pmdec_mas_yr=[np.nan],
        )
    )
    p = match_partition(radio, opt, params).iloc[0]
    assert p["pm_missing"] and p["sigma_opt_arcsec"] == pytest.approx(0.4)
    assert p["sigma_arcsec"] == pytest.approx(np.hypot(0.5, 0.4))


def test_empty_and_validation():
    params = CrossmatchParams(healpix_order=6)
    radio, opt = _barnard_frames()
    assert list(match_partition(radio, opt.iloc[:0], params).columns) == list(PAIR_SCHEMA)
    assert len(match_partition(radio, opt, params, partition_pixel=0)) == 0
    with pytest.raises(ValueError, match="radio: missing column"):
        match_partition(radio.drop(columns="epoch_yr"), opt, params)
    with pytest.raises(ValueError, match="radio.epoch_yr"):
        match_partition(radio.assign(epoch_yr=58000.0), opt, params)
    with pytest.raises(ValueError, match="optical.ra_error_mas"):
        match_partition(radio, opt.assign(ra_error_mas=-1.0), params)
    with pytest.raises(ValueError, match="optical.optical_id"):
        match_partition(radio, opt.assign(optical_id=1.5), params)
    with pytest.raises(ValueError, match="radio.radio_id"):
        match_partition(pd.concat([radio, radio]), opt, params)
    with pytest.raises(ValueError, match="partition_pixel"):
        match_partition(radio, opt, params, partition_pixel=10**9)
