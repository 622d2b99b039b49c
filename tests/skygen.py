"""Sky positions for cross-match tests: uniform sky, dense polar caps, clusters on seams and pixel corners."""

from __future__ import annotations

import numpy as np

# order-2 HEALPix corners where 3 base pixels meet, and the RA 0/360 seam
SPOTS_DEG = [(0.0, 0.0), (45.0, 41.8103149), (90.0, 0.0), (0.0, -41.8103149), (359.99, 60.0)]


def uniform_sky(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(0, 360, n), np.rad2deg(np.arcsin(rng.uniform(-1, 1, n)))


def polar_cap(rng: np.random.Generator, n: int, pole: int, radius_deg: float) -> tuple[np.ndarray, np.ndarray]:
    z = rng.uniform(np.cos(np.deg2rad(radius_deg)), 1, n)
    return rng.uniform(0, 360, n), pole * np.rad2deg(np.arcsin(z))


def blob(rng: np.random.Generator, n: int, ra0: float, dec0: float, width_deg: float) -> tuple[np.ndarray, np.ndarray]:
    return (ra0 + rng.normal(0, width_deg, n)) % 360, np.clip(dec0 + rng.normal(0, width_deg, n), -90, 90)


def hard_sky(rng: np.random.Generator, n_sky: int, n_cap: int, n_blob: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform sky + dense caps (0.2°) at both poles + clusters (0.03°) on the seam and pixel corners."""
    parts = [uniform_sky(rng, n_sky), polar_cap(rng, n_cap, 1, 0.2), polar_cap(rng, n_cap, -1, 0.2)]
    parts += [blob(rng, n_blob, ra, dec, 0.03) for ra, dec in SPOTS_DEG]
    ra, dec = map(np.concatenate, zip(*parts))
    return ra, dec
