"""Gaia DR3 ↔ Hipparcos 2 "same star" among the candidates of one radio source — the one home of the rule and
of its thresholds' defaults (:class:`SameStarRule`; `CrossmatchParams.same_star_*` carry them into a run).

A bright star is in both catalogues, so the cross-match lists it twice among a radio source's candidates.
A Gaia candidate g and a Hipparcos candidate h of the same radio source are the same star when

1. their positions at the radio epoch agree: offset ≤ max(same_star_min_arcsec, same_star_n_sigma ·
   √(σ_opt,g² + σ_opt,h²)); when exactly one of them has no proper motion it is first moved by the other's
   proper motion over its own Δt (radio epoch − its reference epoch);
2. G − Hp lies in [same_star_g_minus_hp_min, same_star_g_minus_hp_max] when both are known;
3. each is the other's nearest such candidate (mutual nearest; ties by id).

The joint posterior (:mod:`radiostars.crossmatch.posterior`) merges the two entries of a linked star into one
hypothesis with this rule, on the driver, once per run. The warehouse's SQL copy
(``dbt_project/macros/same_star.sql``, model ``int_candidate_same_star``, thresholds in the dbt vars
``same_star_*``) must give the same links: both run the hand cases of the dbt unit test ``same_star_hand_cases``
(``dbt_project/models/intermediate/int_candidate_same_star.yml``; tests/unit/test_evaluate_samestar.py), a unit test
checks the dbt vars equal :class:`SameStarRule`'s defaults, and the warehouse integration tests compare the
links row by row. (Once the job writes its links, dbt should read them instead of recomputing: see
docs/crossmatch.md §6.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy/pandas are imported where used: CrossmatchParams (DAG parse time) imports this module
    import numpy as np
    import pandas as pd

GAIA, HIPPARCOS = "gaia_dr3", "hipparcos2"
MAS_TO_RAD = math.pi / 648_000_000.0
# input of same_star_links (the macro's `candidates` columns; run_id optional)
CANDIDATE_COLUMNS = (
    "radio_source_name",
    "optical_catalogue",
    "optical_id",
    "candidate_rank",
    "ra_deg",
    "dec_deg",
    "sigma_opt_arcsec",
    "mag",
    "pmra_mas_yr",
    "pmdec_mas_yr",
    "dt_yr",
)
LINK_COLUMNS = (
    "counterpart_catalogue",
    "counterpart_id",
    "counterpart_rank",
    "same_star_offset_arcsec",
    "same_star_tolerance_arcsec",
    "star_rank",
    "is_star_primary",
    "n_stars",
)


@dataclass(frozen=True)
class SameStarRule:
    """Thresholds of the same-star rule; the defaults here are the project's (the dbt vars of the same names
    must equal them until dbt reads the job's links: tests/unit/test_evaluate_samestar.py checks it)."""

    same_star_min_arcsec: float = 0.5  # positions agree within max(this, n_sigma x sigma) [arcsec]
    same_star_n_sigma: float = 5.0  # sigma = sqrt(sigma_opt_g^2 + sigma_opt_h^2), both at the radio epoch
    same_star_g_minus_hp_min: float = -3.0  # G - Hp allowed range when both are known (red stars: G is up to
    same_star_g_minus_hp_max: float = 1.0  # ~2-3 mag brighter than Hp; never much fainter)

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{name}: must be a finite number, got {v!r}")
        if self.same_star_min_arcsec < 0 or self.same_star_n_sigma < 0:
            raise ValueError("same_star_min_arcsec/same_star_n_sigma: must be >= 0")
        if self.same_star_g_minus_hp_min > self.same_star_g_minus_hp_max:
            raise ValueError("same_star_g_minus_hp_min: must be <= same_star_g_minus_hp_max")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str = "the mapping") -> SameStarRule:
        """The rule from a mapping holding every field (e.g. the dbt vars); ValueError naming a missing one."""
        try:
            return cls(**{f: float(values[f]) for f in cls.__dataclass_fields__})
        except KeyError as exc:
            raise ValueError(f"same-star threshold {exc.args[0]} is missing from {source}") from None

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    def tolerance_arcsec(self, sigma_a, sigma_b) -> np.ndarray:
        """max(min, n_sigma · √(σ_a² + σ_b²)) [arcsec]; a NaN σ counts as 0 (as the SQL's coalesce)."""
        import numpy as np

        a = np.nan_to_num(np.asarray(sigma_a, float), nan=0.0)
        b = np.nan_to_num(np.asarray(sigma_b, float), nan=0.0)
        return np.maximum(self.same_star_min_arcsec, self.same_star_n_sigma * np.sqrt(a * a + b * b))

    def mags_agree(self, g_mag, hp_mag) -> np.ndarray:
        """G − Hp within the window, or either magnitude unknown."""
        import numpy as np

        g, hp = np.asarray(g_mag, float), np.asarray(hp_mag, float)
        with np.errstate(invalid="ignore"):
            inside = (g - hp >= self.same_star_g_minus_hp_min) & (g - hp <= self.same_star_g_minus_hp_max)
        return ~np.isfinite(g) | ~np.isfinite(hp) | inside

    def definition(self) -> str:
        return (
            f"a Gaia DR3 and a Hipparcos 2 candidate of one radio source are one star when their positions at "
            f'the radio epoch agree within max({self.same_star_min_arcsec:g}", {self.same_star_n_sigma:g} x '
            f"sqrt(sigma_opt_g^2 + sigma_opt_h^2)) (an entry without proper motion first moves with the "
            f"other's), G - Hp is in [{self.same_star_g_minus_hp_min:g}, {self.same_star_g_minus_hp_max:g}] "
            "when both are known, and each is the other's nearest such candidate"
        )


def offsets_arcsec(ra_g, dec_g, ra_h, dec_h, shift_ra_mas, shift_dec_mas) -> np.ndarray:
    """Angle [arcsec] between the Gaia position moved by (shift_ra_mas along α*, shift_dec_mas along δ) in
    its tangent plane and the Hipparcos position: atan2(|q × h|, q · h), exact at the poles and RA 0/360."""
    import numpy as np

    from .separation import radec_to_xyz

    ra, dec = np.radians(np.asarray(ra_g, float)), np.radians(np.asarray(dec_g, float))
    s_ra = np.asarray(shift_ra_mas, float) * MAS_TO_RAD
    s_dec = np.asarray(shift_dec_mas, float) * MAS_TO_RAD
    e_ra = np.stack([-np.sin(ra), np.cos(ra), np.zeros_like(ra)], axis=-1)
    e_dec = np.stack([-np.sin(dec) * np.cos(ra), -np.sin(dec) * np.sin(ra), np.cos(dec)], axis=-1)
    q = radec_to_xyz(ra_g, dec_g) + s_ra[..., None] * e_ra + s_dec[..., None] * e_dec
    h = radec_to_xyz(ra_h, dec_h)
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(q, h), axis=-1), np.sum(q * h, axis=-1))) * 3600.0


def same_star_links(
    candidates: pd.DataFrame, rule: SameStarRule | None = None, keys: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per candidate (columns :data:`CANDIDATE_COLUMNS`, ``run_id`` optional) with its same-star
    counterpart and star-level rank — the columns and meanings of ``int_candidate_same_star``:
    ``counterpart_catalogue``/``counterpart_id`` (nullable Int64)/``counterpart_rank``, ``same_star_offset_arcsec``,
    ``same_star_tolerance_arcsec``, ``star_rank`` (1 = the best candidate's star; both entries share it),
    ``is_star_primary`` (the better-ranked entry of its star), ``n_stars`` (distinct stars of the radio source).

    ``rule``: the thresholds (default :class:`SameStarRule`'s defaults). ``keys``: the columns naming one radio
    source (default ``run_id`` when present and ``radio_source_name``); links never cross two keys."""
    import numpy as np
    import pandas as pd

    rule = rule if rule is not None else SameStarRule()
    missing = [c for c in CANDIDATE_COLUMNS if c not in candidates.columns]
    if missing:
        raise ValueError(f"same_star_links: missing columns {missing}")
    if keys is None:
        keys = [k for k in ("run_id", "radio_source_name") if k in candidates.columns]  # radio_source_name always
    else:
        keys = list(keys)
        absent = [k for k in keys if k not in candidates.columns]
        if absent or not keys:
            raise ValueError(f"same_star_links: key columns {absent or keys} missing")
    c = candidates.reset_index(drop=True).copy()
    c["optical_catalogue"] = c["optical_catalogue"].astype(str)
    c["optical_id"] = c["optical_id"].astype("int64")
    c["candidate_rank"] = c["candidate_rank"].astype("int64")
    num = ["ra_deg", "dec_deg", "sigma_opt_arcsec", "mag", "pmra_mas_yr", "pmdec_mas_yr", "dt_yr"]
    for col in num:
        c[col] = pd.to_numeric(c[col], errors="coerce").astype(float)

    side = ["optical_catalogue", "optical_id", "candidate_rank", *num]
    g = c.loc[c["optical_catalogue"] == GAIA, keys + side]
    h = c.loc[c["optical_catalogue"] == HIPPARCOS, keys + side]
    m = g.merge(h, on=keys, suffixes=("_g", "_h"))
    if len(m):
        has_g = np.isfinite(m["pmra_mas_yr_g"]) & np.isfinite(m["pmdec_mas_yr_g"])
        has_h = np.isfinite(m["pmra_mas_yr_h"]) & np.isfinite(m["pmdec_mas_yr_h"])
        borrow_g, borrow_h = (~has_g & has_h).to_numpy(), (has_g & ~has_h).to_numpy()

        def shift(axis: str) -> np.ndarray:  # the entry without pm moves with the other's over its own dt
            return np.where(
                borrow_g,
                m[f"pm{axis}_mas_yr_h"] * m["dt_yr_g"],
                np.where(borrow_h, -m[f"pm{axis}_mas_yr_g"] * m["dt_yr_h"], 0.0),
            )

        m["offset"] = offsets_arcsec(
            m["ra_deg_g"], m["dec_deg_g"], m["ra_deg_h"], m["dec_deg_h"], shift("ra"), shift("dec")
        )
        m["tolerance"] = rule.tolerance_arcsec(m["sigma_opt_arcsec_g"], m["sigma_opt_arcsec_h"])
        with np.errstate(invalid="ignore"):
            ok = (m["offset"] <= m["tolerance"]).to_numpy() & rule.mags_agree(m["mag_g"], m["mag_h"])
        adm = m[ok].copy()
    else:
        adm = m.assign(offset=pd.Series(dtype=float), tolerance=pd.Series(dtype=float))
    # mutual nearest (row_number() = 1 from both sides, ties by the other's id)
    g_first = (
        adm.sort_values([*keys, "optical_id_g", "offset", "optical_id_h"])
        .groupby([*keys, "optical_id_g"])
        .cumcount()
        .eq(0)
    )
    h_first = (
        adm.sort_values([*keys, "optical_id_h", "offset", "optical_id_g"])
        .groupby([*keys, "optical_id_h"])
        .cumcount()
        .eq(0)
    )
    links = adm[g_first.reindex(adm.index, fill_value=False) & h_first.reindex(adm.index, fill_value=False)]

    def sided(a: str, b: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                **{k: links[k].to_numpy() for k in keys},
                "optical_catalogue": links[f"optical_catalogue_{a}"].to_numpy(),
                "optical_id": links[f"optical_id_{a}"].to_numpy(np.int64),
                "counterpart_catalogue": links[f"optical_catalogue_{b}"].to_numpy(),
                "counterpart_id": pd.array(links[f"optical_id_{b}"].to_numpy(np.int64), dtype="Int64"),
                "counterpart_rank": pd.array(links[f"candidate_rank_{b}"].to_numpy(np.int64), dtype="Int64"),
                "same_star_offset_arcsec": links["offset"].to_numpy(float),
                "same_star_tolerance_arcsec": links["tolerance"].to_numpy(float),
            }
        )

    both = pd.concat([sided("g", "h"), sided("h", "g")], ignore_index=True)
    out = c[[*keys, "optical_catalogue", "optical_id", "candidate_rank"]].merge(
        both, on=[*keys, "optical_catalogue", "optical_id"], how="left", validate="one_to_one"
    )
    out["counterpart_id"] = out["counterpart_id"].astype("Int64")  # exact ids, never through float
    out["counterpart_rank"] = out["counterpart_rank"].astype("Int64")
    first = np.minimum(
        out["candidate_rank"].to_numpy(np.int64),
        out["counterpart_rank"].fillna(np.iinfo(np.int64).max).to_numpy(np.int64),
    )
    out["_first"] = first
    out["star_rank"] = out.groupby(keys)["_first"].rank(method="dense").astype("int64")
    out["is_star_primary"] = out["candidate_rank"].to_numpy(np.int64) == first
    out["n_stars"] = out.groupby(keys)["is_star_primary"].transform("sum").astype("int64")
    return out.drop(columns="_first")
