"""Parameters of a cross-match run, validated once and recorded in metrics.json.

Light on purpose (no numpy/astropy at import): the DAG's trigger form and the Spark job's command line
take their defaults from :class:`CrossmatchParams` (:func:`param_defaults`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from .samestar import SameStarRule  # light: the rule's thresholds and their defaults (no numpy at import)

# a HEALPix pixel must be at least this many margins wide (radiostars.crossmatch.partition's order checks)
DEFAULT_PIXEL_TO_MARGIN: float = 10.0
_SAME_STAR = SameStarRule()  # the same-star thresholds' defaults (crossmatch/samestar.py is their home)


@dataclass(frozen=True)
class CrossmatchParams:
    """All tunables of the cross-match (angles in arcsec unless the name says otherwise).

    A pair is kept when sep ≤ min(radius_arcsec, max(r_min_arcsec, n_sigma·σ)) with
    σ² = σ_radio² + σ_opt(t)² + sigma_sys_arcsec². ``margin_arcsec`` is the minimum HEALPix margin
    copied around each partition; each optical row additionally gets its proper-motion reach.
    It must cover both the match radius and the outer radius of the density annulus.
    """

    radius_arcsec: float = 10.0  # r_max: hard upper limit of the match radius
    r_min_arcsec: float = 1.0
    n_sigma: float = 4.0
    sigma_sys_arcsec: float = 0.5
    healpix_order: int = 6
    margin_arcsec: float = 180.0
    density_inner_arcsec: float = 30.0
    density_outer_arcsec: float = 180.0
    density_target_count: int = 400
    control_offsets_arcmin: tuple[float, ...] = (1.0,)
    control_position_angles_deg: tuple[float, ...] = (0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0)
    missing_pm_sigma_mas_yr: float = 50.0
    # fraction c of radio sources with a counterpart: the per-partition posterior's value and the documented
    # fallback of the run's fit (crossmatch/posterior.py), which otherwise fits c from the data
    prior_completeness: float = 0.001
    one_to_one: bool = False
    pixel_to_margin: float = DEFAULT_PIXEL_TO_MARGIN
    # false-selection rate of the older p_any cut (calibration.calibrate_p_any_cut; superseded as the selection
    # rule by target_reliability, kept while the engine still records it)
    target_false_rate: float = 0.01
    # the run's cut: the loosest p_any cut whose reliability estimated on the shifted control reaches this
    target_reliability: float = 0.9
    # optical properties whose counterpart/field ratio multiplies the Bayes factor (crossmatch/properties.py);
    # () = positions only
    property_features: tuple[str, ...] = ("mag", "parallax_snr", "pm_total")
    # pseudo-counts (distributed as the field) shrinking the learned counterpart histograms toward the field
    property_prior_pseudo_count: float = 20.0
    # one counterpart distribution per catalogue, learned from every density band (a radio star's G, parallax
    # and motion do not depend on the field behind it); False: each band learns its own (crossmatch/posterior.py)
    share_counterpart_priors_across_bands: bool = True
    # fewer shifted-control sources than this: priors and cut fall back to their documented defaults
    prior_fit_min_control_sources: int = 100
    # Gaia <-> Hipparcos same star among one radio source's candidates (crossmatch/samestar.py)
    same_star_min_arcsec: float = _SAME_STAR.same_star_min_arcsec
    same_star_n_sigma: float = _SAME_STAR.same_star_n_sigma
    same_star_g_minus_hp_min: float = _SAME_STAR.same_star_g_minus_hp_min
    same_star_g_minus_hp_max: float = _SAME_STAR.same_star_g_minus_hp_max

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field."""

        def finite_pos(name: str, value: float, allow_zero: bool = False) -> None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name}: must be a finite number, got {value!r}")
            if value < 0 or (value == 0 and not allow_zero):
                raise ValueError(f"{name}: must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")

        finite_pos("radius_arcsec", self.radius_arcsec)
        finite_pos("r_min_arcsec", self.r_min_arcsec, allow_zero=True)
        finite_pos("n_sigma", self.n_sigma)
        finite_pos("sigma_sys_arcsec", self.sigma_sys_arcsec, allow_zero=True)
        finite_pos("margin_arcsec", self.margin_arcsec)
        finite_pos("density_inner_arcsec", self.density_inner_arcsec, allow_zero=True)
        finite_pos("density_outer_arcsec", self.density_outer_arcsec)
        finite_pos("missing_pm_sigma_mas_yr", self.missing_pm_sigma_mas_yr, allow_zero=True)
        finite_pos("pixel_to_margin", self.pixel_to_margin)
        if self.r_min_arcsec > self.radius_arcsec:
            raise ValueError(f"r_min_arcsec: {self.r_min_arcsec} > radius_arcsec {self.radius_arcsec}")
        if self.density_inner_arcsec >= self.density_outer_arcsec:
            raise ValueError("density_inner_arcsec: must be < density_outer_arcsec")
        if self.density_inner_arcsec < self.radius_arcsec:
            raise ValueError(
                f"density_inner_arcsec: {self.density_inner_arcsec} < radius_arcsec {self.radius_arcsec}; "
                "the annulus would count the counterparts themselves"
            )
        if self.margin_arcsec < max(self.radius_arcsec, self.density_outer_arcsec):
            raise ValueError(
                f"margin_arcsec: {self.margin_arcsec} must be >= max(radius_arcsec, density_outer_arcsec) = "
                f"{max(self.radius_arcsec, self.density_outer_arcsec)}"
            )
        if (
            isinstance(self.density_target_count, bool)
            or not isinstance(self.density_target_count, int)
            or self.density_target_count < 1
        ):
            raise ValueError(f"density_target_count: must be an int >= 1, got {self.density_target_count!r}")
        if not (0.0 < self.prior_completeness <= 1.0):
            raise ValueError(f"prior_completeness: must be in (0, 1], got {self.prior_completeness!r}")
        tfr = self.target_false_rate
        if (
            isinstance(tfr, bool)
            or not isinstance(tfr, (int, float))
            or not math.isfinite(tfr)
            or not (0.0 < tfr < 1.0)
        ):
            raise ValueError(f"target_false_rate: must be a number with 0 < x < 1, got {tfr!r}")
        tr = self.target_reliability
        if isinstance(tr, bool) or not isinstance(tr, (int, float)) or not math.isfinite(tr) or not (0.0 < tr < 1.0):
            raise ValueError(f"target_reliability: must be a number with 0 < x < 1, got {tr!r}")
        from .properties import check_features  # numpy: only when a run is validated

        check_features(self.property_features)
        finite_pos("property_prior_pseudo_count", self.property_prior_pseudo_count)
        m = self.prior_fit_min_control_sources
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise ValueError(f"prior_fit_min_control_sources: must be an int >= 1, got {m!r}")
        self.same_star_rule()  # validates the four thresholds
        if not isinstance(self.one_to_one, bool):
            raise ValueError("one_to_one: must be a bool")
        if not isinstance(self.share_counterpart_priors_across_bands, bool):
            raise ValueError("share_counterpart_priors_across_bands: must be a bool")
        if len(self.control_offsets_arcmin) == 0 or len(self.control_position_angles_deg) == 0:
            raise ValueError("control_offsets_arcmin/control_position_angles_deg: must not be empty")
        for off in self.control_offsets_arcmin:
            finite_pos("control_offsets_arcmin", off)
            if off * 60.0 <= 2.0 * self.radius_arcsec:
                raise ValueError(
                    f"control_offsets_arcmin: {off} arcmin must exceed 2 x radius_arcsec so a true "
                    "counterpart can never match its shifted radio source"
                )
        for pa in self.control_position_angles_deg:
            if isinstance(pa, bool) or not isinstance(pa, (int, float)) or not math.isfinite(pa):
                raise ValueError(f"control_position_angles_deg: must be finite numbers, got {pa!r}")
        if isinstance(self.healpix_order, bool) or not isinstance(self.healpix_order, int):
            raise ValueError(f"healpix_order: must be an int, got {self.healpix_order!r}")
        from .partition import check_order_for_margin  # astropy-healpix: only when a run is validated

        check_order_for_margin(self.healpix_order, self.margin_arcsec, self.pixel_to_margin)

    def same_star_rule(self) -> SameStarRule:
        """The same-star thresholds of this run."""
        return SameStarRule(
            self.same_star_min_arcsec,
            self.same_star_n_sigma,
            self.same_star_g_minus_hp_min,
            self.same_star_g_minus_hp_max,
        )

    def control_offsets(self) -> list[tuple[float, float]]:
        """[(offset_arcsec, position_angle_deg), …] for the shifted-position control run."""
        return [(o * 60.0, pa) for o in self.control_offsets_arcmin for pa in self.control_position_angles_deg]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists) for metrics.json."""
        d = asdict(self)
        d["control_offsets_arcmin"] = list(self.control_offsets_arcmin)
        d["control_position_angles_deg"] = list(self.control_position_angles_deg)
        d["property_features"] = list(self.property_features)
        return d


def param_defaults() -> dict[str, Any]:
    """The default of every field of :class:`CrossmatchParams` (the one set of defaults: the DAG's params
    and the job's arguments are derived from it)."""
    from dataclasses import MISSING, fields

    return {f.name: f.default for f in fields(CrossmatchParams) if f.default is not MISSING}
