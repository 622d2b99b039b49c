"""Parameters of a cross-match run, validated once and recorded in metrics.json."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from .partition import DEFAULT_PIXEL_TO_MARGIN, check_order_for_margin


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
    prior_completeness: float = 0.001
    one_to_one: bool = False
    pixel_to_margin: float = DEFAULT_PIXEL_TO_MARGIN
    # false-selection rate the p_any cut is calibrated to on the shifted control (calibration.py)
    target_false_rate: float = 0.01

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
        if isinstance(self.density_target_count, bool) or not isinstance(self.density_target_count, int) or self.density_target_count < 1:
            raise ValueError(f"density_target_count: must be an int >= 1, got {self.density_target_count!r}")
        if not (0.0 < self.prior_completeness <= 1.0):
            raise ValueError(f"prior_completeness: must be in (0, 1], got {self.prior_completeness!r}")
        tfr = self.target_false_rate
        if isinstance(tfr, bool) or not isinstance(tfr, (int, float)) or not math.isfinite(tfr) or not (0.0 < tfr < 1.0):
            raise ValueError(f"target_false_rate: must be a number with 0 < x < 1, got {tfr!r}")
        if not isinstance(self.one_to_one, bool):
            raise ValueError("one_to_one: must be a bool")
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
        check_order_for_margin(self.healpix_order, self.margin_arcsec, self.pixel_to_margin)

    def control_offsets(self) -> list[tuple[float, float]]:
        """[(offset_arcsec, position_angle_deg), …] for the shifted-position control run."""
        return [(o * 60.0, pa) for o in self.control_offsets_arcmin for pa in self.control_position_angles_deg]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists) for metrics.json."""
        d = asdict(self)
        d["control_offsets_arcmin"] = list(self.control_offsets_arcmin)
        d["control_position_angles_deg"] = list(self.control_position_angles_deg)
        return d
