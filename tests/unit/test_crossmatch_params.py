import json

import pytest

from radiostars.crossmatch import CrossmatchParams

pytestmark = pytest.mark.unit


def test_defaults_valid_and_serialisable():
    p = CrossmatchParams()
    d = p.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["radius_arcsec"] == 10.0 and d["healpix_order"] == 6
    assert (
        d["target_false_rate"] == 0.01
        and CrossmatchParams(target_false_rate=0.05).to_dict()["target_false_rate"] == 0.05
    )
    assert len(p.control_offsets()) == 8 and p.control_offsets()[0] == (60.0, 0.0)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(radius_arcsec=-1), "radius_arcsec"),
        (dict(r_min_arcsec=20), "r_min_arcsec"),
        (dict(n_sigma=float("nan")), "n_sigma"),
        (dict(margin_arcsec=100), "margin_arcsec"),
        (dict(healpix_order=9), "healpix_order"),
        (dict(control_offsets_arcmin=(0.2,)), "control_offsets_arcmin"),
        (dict(density_inner_arcsec=5), "density_inner_arcsec"),
        (dict(prior_completeness=0), "prior_completeness"),
        (dict(missing_pm_sigma_mas_yr=-3), "missing_pm_sigma_mas_yr"),
        (dict(target_false_rate=0.0), "target_false_rate"),
        (dict(target_false_rate=1.0), "target_false_rate"),
        (dict(target_false_rate=-0.01), "target_false_rate"),
        (dict(target_false_rate=float("nan")), "target_false_rate"),
        (dict(target_false_rate="0.01"), "target_false_rate"),
        (dict(target_false_rate=True), "target_false_rate"),
    ],
)
def test_validation_names_the_field(kwargs, name):
    with pytest.raises(ValueError, match=name):
        CrossmatchParams(**kwargs)
