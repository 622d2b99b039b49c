"""Sample profiles: which sky, how large, where it goes.

| profile | faint field | radio stars | area | written to |
|---|---|---|---|---|
| ``easy`` | uniform 10⁴ deg⁻² (``faint_stars.faint_star_chunk``) | the first sample's fixed injection | 20 deg² (5 fields) | MySQL (`seed`) |
| ``realistic`` | Galaxy model + open clusters | Egbo share per field + a few high-pm pointings | :data:`REALISTIC_AREA_DEG2` (5 fields) | MySQL (`seed`, `make demo`) |
| ``evaluation`` | same model | same, over SMGPS-like 3°×3° tiles + every Hipparcos star with μ > 1″/yr | :data:`EVALUATION_AREA_DEG2` | the lake's raw zone (`seed --profile evaluation`) |
"""

from __future__ import annotations

import numpy as np
from astropy.time import Time

from radiostars.sample.errors import SampleError
from radiostars.sample.fields import SMGPS_B_MAX_DEG, SMGPS_L_RANGES_DEG, Field, demo_fields, pointing

PROFILES = ("easy", "realistic", "evaluation")
DEFAULT_PROFILE = "realistic"
EASY_AREA_DEG2 = 20.0
REALISTIC_AREA_DEG2 = 4.0
EVALUATION_AREA_DEG2 = 198.0  # 22 tiles of 9 deg²
EASY_FAINT_DENSITY_PER_DEG2 = 1.0e4
REALISTIC_HPM_POINTINGS = 4  # + Barnard's star, always
REALISTIC_HPM_MIN_ABS_B_DEG = 20.0  # the demo's few pointings avoid the dense plane (rows)
HPM_POINTING_AREA_DEG2 = 1.0  # MeerKAT L-band primary beam ~1 deg²
HPM_FIELD_INDEX_BASE = 100  # synthetic-id blocks of pointings (plane fields < 90)
TILE_SIDE_DEG = 2 * SMGPS_B_MAX_DEG  # SMGPS mosaics: 56 tiles over ~500 deg² (Bordiu et al. 2025)
MAX_PLANE_FIELDS = 89  # field indices 90 and 99 are the --update / --dirty id blocks

# Epoch-dependent systematic σ of a field (SARAO knowledge base "Astrometry"): before March 2019 time /
# frequency errors up to 2″ at the pointing edge; calibrator positions wrong by up to several arcsec
# before the November 2019 revision; then ~0.3–0.5″ (assumed ranges)
SYS_RANGES_ARCSEC = ((2019.2, (1.0, 1.5)), (2019.9, (0.4, 0.8)), (9999.0, (0.3, 0.5)))
SMGPS_EPOCHS = (2018.4, 2020.6)  # SMGPS observed 2018–2020 (Goedhart et al. 2024; from memory)
RMS_RANGE_MJY = (0.010, 0.030)  # Mutale et al. 2026: ~10–30 µJy/beam


def default_area(profile: str) -> float:
    return {"easy": EASY_AREA_DEG2, "realistic": REALISTIC_AREA_DEG2, "evaluation": EVALUATION_AREA_DEG2}[profile]


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise SampleError(f"profile {profile!r}: choose one of {', '.join(PROFILES)}")
    return profile


def systematic_sigma_arcsec(rng: np.random.Generator, epoch_year: float) -> float:
    for until, (lo, hi) in SYS_RANGES_ARCSEC:
        if epoch_year < until:
            return float(rng.uniform(lo, hi))
    raise AssertionError("unreachable")


def _mjd(year: float) -> float:
    return float(Time(year, format="jyear", scale="utc").mjd)


def tile_fields(area_deg2: float, rng_for_tile) -> list[Field]:
    """SMGPS-like tiles of 3° × 3° (|b| ≤ 1.5°) spread evenly along the survey's 165° of longitude.

    n = round(area / 9 deg²) tiles (one narrower tile below 9 deg²); each has its own epoch (U over 2018.4–2020.6), rms (U over
    10–30 µJy) and systematic σ (by epoch, :data:`SYS_RANGES_ARCSEC`), from ``rng_for_tile(i)``."""
    band = np.degrees(2 * np.sin(np.radians(SMGPS_B_MAX_DEG)))
    tile_area = TILE_SIDE_DEG * band
    n = max(1, int(round(area_deg2 / tile_area)))
    width = TILE_SIDE_DEG if area_deg2 >= tile_area else area_deg2 / band  # one narrower tile (tests)
    spans = [(lo + TILE_SIDE_DEG / 2, hi - TILE_SIDE_DEG / 2) for lo, hi in SMGPS_L_RANGES_DEG]
    total = sum(hi - lo for lo, hi in spans)
    if n > MAX_PLANE_FIELDS or n * TILE_SIDE_DEG > total + TILE_SIDE_DEG * len(spans):
        raise SampleError(
            f"area_deg2={area_deg2} is too large: at most {MAX_PLANE_FIELDS} tiles of "
            f"{tile_area:.1f} deg² fit the SMGPS footprint here"
        )
    fields = []
    for i in range(n):
        x = (i + 0.5) * total / n
        for lo, hi in spans:
            if x <= hi - lo:
                lc = lo + x
                break
            x -= hi - lo
        rng = rng_for_tile(i)
        year = float(rng.uniform(*SMGPS_EPOCHS))
        rms = float(rng.uniform(*RMS_RANGE_MJY))
        sys = systematic_sigma_arcsec(rng, year)
        fields.append(
            Field(
                f"T{lc:05.1f}",
                i,
                lc - width / 2,
                lc + width / 2,
                -SMGPS_B_MAX_DEG,
                SMGPS_B_MAX_DEG,
                _mjd(year),
                rms,
                sys,
            )
        )
    return fields


def plane_fields(profile: str, area_deg2: float, n_fields: int, rng_for_tile) -> list[Field]:
    if profile == "evaluation":
        return tile_fields(area_deg2, rng_for_tile)
    return demo_fields(area_deg2, n_fields)


def hpm_pointings(hip_rows, rng_for_pointing) -> list[Field]:
    """One ~1 deg² pointing per high-proper-motion Hipparcos star (rows with hip, ra_deg, dec_deg), each
    with its epoch (U over 2018.0–2021.0), rms (U over 10–30 µJy) and systematic σ (by epoch)."""
    out = []
    for i, (hip, ra, dec) in enumerate(zip(hip_rows["hip"], hip_rows["ra_deg"], hip_rows["dec_deg"])):
        rng = rng_for_pointing(i)
        year = float(rng.uniform(2018.0, 2021.0))
        out.append(
            pointing(
                f"HPM{int(hip)}",
                HPM_FIELD_INDEX_BASE + i,
                float(ra),
                float(dec),
                HPM_POINTING_AREA_DEG2,
                _mjd(year),
                float(rng.uniform(*RMS_RANGE_MJY)),
                systematic_sigma_arcsec(rng, year),
            )
        )
    return out
