"""`radiostars evaluate --profile-param NAME=VALUE`: another cross-match setting on the same evaluation sky."""

from __future__ import annotations

import pytest

from radiostars.crossmatch.params import CrossmatchParams
from radiostars.evaluate.profile import params_from_overrides

pytestmark = pytest.mark.unit


def test_no_override_is_the_defaults():
    assert params_from_overrides([]) == CrossmatchParams()


def test_values_are_read_as_json_with_lists_as_tuples():
    p = params_from_overrides(
        [
            "share_counterpart_priors_across_bands=false",
            'property_features=["mag", "colour"]',
            "target_reliability=0.95",
        ]
    )
    assert p.share_counterpart_priors_across_bands is False
    assert p.property_features == ("mag", "colour")
    assert p.target_reliability == 0.95


@pytest.mark.parametrize(
    "item,match",
    [
        ("nope=1", "expected NAME=VALUE"),
        ("target_reliability", "expected NAME=VALUE"),
        ("target_reliability=1.5", "target_reliability"),
        ("share_counterpart_priors_across_bands=yes", "share_counterpart_priors_across_bands"),
    ],
)
def test_a_bad_override_is_one_clear_error(item, match):
    with pytest.raises(ValueError, match=match):
        params_from_overrides([item])


def test_the_cli_says_so_and_exits_2(capsys):
    from radiostars.evaluate.cli import main

    assert main(["--profile-area-deg2", "1", "--profile-param", "nope=1"]) == 2
    assert "--profile-param 'nope=1'" in capsys.readouterr().err
