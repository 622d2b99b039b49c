"""Pure-numpy positional cross-match of radio sources with optical catalogues.

Designed to run per HEALPix partition (e.g. inside a Spark ``applyInPandas``): every public
function takes numpy arrays or pandas DataFrames of one partition. See docs/crossmatch.md.
"""

from .epoch import (
    circular_sigma,
    jyear_to_mjd,
    mjd_to_jyear,
    propagate_radec,
    propagate_sigma_mas,
    track_bounds,
)
from .params import CrossmatchParams
from .partition import (
    check_order_for_margin,
    home_pixel,
    margin_pixels,
    max_order_for_margin,
    pixel_resolution_arcsec,
)
from .separation import separation_arcsec
from .bayes import ln_bayes_factor, nway_probabilities, posterior_single, prior_from_density
from .calibration import (
    DEFAULT_CUT_GRID,
    PAnyCalibration,
    calibrate_p_any_cut,
    control_p_any_per_source,
    false_selection_curve,
    false_selection_rate,
)
from .control import FalseMatchSummary, control_radio_frame, false_match_rate, offset_radec
from .density import annulus_area_arcsec2, expected_chance_count, local_density, p_chance
from .match import (
    OPTICAL_REQUIRED,
    PAIR_SCHEMA,
    RADIO_REQUIRED,
    match_partition,
    optical_margin_arcsec,
    optical_partition_membership,
    prepare_optical,
    radio_home_pixels,
)
from .run import ENRICHED_PAIR_SCHEMA, FULL_PAIR_SCHEMA, RADIO_SUMMARY_SCHEMA, PartitionResult, crossmatch_partition

__all__ = [
    "DEFAULT_CUT_GRID",
    "PAnyCalibration",
    "calibrate_p_any_cut",
    "control_p_any_per_source",
    "false_selection_curve",
    "false_selection_rate",
    "ENRICHED_PAIR_SCHEMA",
    "FULL_PAIR_SCHEMA",
    "FalseMatchSummary",
    "PartitionResult",
    "RADIO_SUMMARY_SCHEMA",
    "annulus_area_arcsec2",
    "control_radio_frame",
    "crossmatch_partition",
    "expected_chance_count",
    "false_match_rate",
    "ln_bayes_factor",
    "local_density",
    "nway_probabilities",
    "offset_radec",
    "p_chance",
    "posterior_single",
    "prior_from_density",
    "CrossmatchParams",
    "OPTICAL_REQUIRED",
    "PAIR_SCHEMA",
    "RADIO_REQUIRED",
    "check_order_for_margin",
    "circular_sigma",
    "home_pixel",
    "jyear_to_mjd",
    "margin_pixels",
    "match_partition",
    "max_order_for_margin",
    "mjd_to_jyear",
    "optical_margin_arcsec",
    "optical_partition_membership",
    "pixel_resolution_arcsec",
    "prepare_optical",
    "propagate_radec",
    "propagate_sigma_mas",
    "radio_home_pixels",
    "separation_arcsec",
    "track_bounds",
]
