"""Density from a count map (issue 16) against the row-by-row annulus count, on a uniform and a
clustered field: the count-map estimate must agree with the exact row count within the Poisson
error of that count (the row count's own statistical error)."""

import numpy as np
import pytest

from radiostars.crossmatch.density import (
    annulus_area_arcsec2,
    cell_centres_xyz,
    cell_density,
    cell_half_width_arcsec,
    count_map,
    density_cell_order,
    local_density,
)
from radiostars.crossmatch.separation import radec_to_xyz

pytestmark = pytest.mark.unit

INNER, OUTER = 30.0, 180.0


def _compare(ra, dec, rra, rdec):
    order = density_cell_order(INNER, OUTER)
    cells, counts = count_map(ra, dec, order)
    rxyz = radec_to_xyz(rra, rdec).reshape(-1, 3)
    n_cells, rho_cells = cell_density(
        rxyz, cell_centres_xyz(cells, order), counts, INNER, OUTER, cell_half_width_arcsec(order)
    )
    # the exact count: every row, no subsample (target_count above any annulus count)
    n_rows, rho_rows, frac = local_density(rxyz, radec_to_xyz(ra, dec).reshape(-1, 3), INNER, OUTER, target_count=10**9)
    assert frac == 1.0
    return n_cells, n_rows.astype(float), rho_cells, rho_rows


def test_cell_order_follows_the_annulus_width():
    from radiostars.crossmatch.partition import pixel_resolution_arcsec

    order = density_cell_order(INNER, OUTER)
    assert pixel_resolution_arcsec(order) <= (OUTER - INNER) / 4 < pixel_resolution_arcsec(order - 1)
    assert density_cell_order(20.0, 60.0) > order
    with pytest.raises(ValueError):
        density_cell_order(60.0, 20.0)


def test_count_map_density_equals_row_density_on_a_uniform_field():
    rng = np.random.default_rng(1)
    # 1 deg² around (40, 0) at 2e5 deg⁻² (the benchmark's Galactic-plane density is 1e5)
    n = 200_000
    ra, dec = (
        rng.uniform(39.5, 40.5, n),
        np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-0.5)), np.sin(np.radians(0.5)), n))),
    )
    rra, rdec = rng.uniform(39.6, 40.4, 400), rng.uniform(-0.4, 0.4, 400)
    n_cells, n_rows, rho_cells, rho_rows = _compare(ra, dec, rra, rdec)
    z = (n_cells - n_rows) / np.sqrt(n_rows)
    # the pixelisation error is well inside the Poisson error of the count (z ~ N(0, 1) would be "as bad")
    assert np.sqrt(np.mean(z**2)) < 0.35, np.sqrt(np.mean(z**2))
    assert abs(np.mean(n_cells) / np.mean(n_rows) - 1) < 0.005
    expected = n / 1.0 / 3600**2 * (np.cos(0) ** -1)  # per arcsec² (≈ flat at the equator)
    assert abs(np.mean(rho_cells) / expected - 1) < 0.01


def test_count_map_density_equals_row_density_on_a_clustered_field():
    rng = np.random.default_rng(2)
    background = 50_000
    ra = [rng.uniform(39.5, 40.5, background)]
    dec = [rng.uniform(-0.5, 0.5, background)]
    for _ in range(30):  # clusters 1′–4′ wide with 2e3–1e4 members: the density gradient over an annulus
        c_ra, c_dec = rng.uniform(39.6, 40.4), rng.uniform(-0.4, 0.4)
        size = rng.uniform(60, 240) / 3600
        m = int(rng.integers(2000, 10000))
        ra.append(c_ra + rng.normal(0, size, m))
        dec.append(c_dec + rng.normal(0, size, m))
    ra, dec = np.concatenate(ra), np.concatenate(dec)
    ra, dec = np.mod(ra, 360.0), np.clip(dec, -89.9, 89.9)
    rra = np.concatenate([rng.uniform(39.6, 40.4, 300), ra[background:][:300]])  # field and cluster members
    rdec = np.concatenate([rng.uniform(-0.4, 0.4, 300), dec[background:][:300]])
    n_cells, n_rows, _, _ = _compare(ra, dec, rra, rdec)
    z = (n_cells - n_rows) / np.sqrt(np.maximum(n_rows, 1))
    assert np.sqrt(np.mean(z**2)) < 0.5, np.sqrt(np.mean(z**2))
    assert abs(np.sum(n_cells) / np.sum(n_rows) - 1) < 0.01


def test_cell_density_validates_and_handles_empty_inputs():
    n, rho = cell_density(np.zeros((0, 3)), np.zeros((0, 3)), [], INNER, OUTER, 10.0)
    assert n.size == 0 and rho.size == 0
    n, rho = cell_density(radec_to_xyz([1.0], [1.0]), np.zeros((0, 3)), [], INNER, OUTER, 10.0)
    assert n.tolist() == [0.0] and rho.tolist() == [0.0]
    with pytest.raises(ValueError, match="cell_counts"):
        cell_density(radec_to_xyz([1.0], [1.0]), radec_to_xyz([1.0], [1.0]), [-1], INNER, OUTER, 10.0)
    with pytest.raises(ValueError, match="half_width"):
        cell_density(radec_to_xyz([1.0], [1.0]), radec_to_xyz([1.0], [1.0]), [1], INNER, OUTER, 0.0)
    assert annulus_area_arcsec2(INNER, OUTER) > 0
