"""Documented example queries for analysts (the README shows them; tests run each one as the
``analyst`` role against a published sample). Parameters use psycopg's ``%(name)s`` style;
``example`` holds the values the README shows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Query:
    name: str
    title: str
    description: str
    sql: str
    example: dict

    def render(self, params: dict | None = None) -> str:
        """The SQL with literal values (for docs / psql), never for execution."""
        text = self.sql
        for key, value in {**self.example, **(params or {})}.items():
            text = text.replace(f"%({key})s", repr(value) if not isinstance(value, str) else f"'{value}'")
        return text.strip()


QUERIES: dict[str, Query] = {
    q.name: q
    for q in (
        Query(
            "cone_search",
            "Cone search around a position",
            "Radio-star candidates whose radio position lies within `radius_arcsec` of (ra, dec), nearest "
            "first. `q3c_radial_query` uses the q3c index on (radio_ra_deg, radio_dec_deg); `q3c_dist` "
            "returns degrees.",
            """
SELECT radio_source_name, optical_name, reliability_class,
       q3c_dist(%(ra_deg)s, %(dec_deg)s, radio_ra_deg, radio_dec_deg) * 3600 AS dist_arcsec,
       sep_arcsec, p_chance, distance_pc, l_nu_erg_s_hz
FROM marts.radio_star_candidates
WHERE q3c_radial_query(radio_ra_deg, radio_dec_deg, %(ra_deg)s, %(dec_deg)s, %(radius_arcsec)s / 3600.0)
ORDER BY dist_arcsec
""",
            {"ra_deg": 266.4, "dec_deg": -28.9, "radius_arcsec": 300.0},
        ),
        Query(
            "top_l_nu",
            "Most luminous radio stars",
            "Candidates with a distance (parallax/error > 5), by radio spectral luminosity L_ν = 4π d² S_ν "
            "[erg s⁻¹ Hz⁻¹], restricted to reliability classes A and B.",
            """
SELECT radio_source_name, optical_name, reliability_class, distance_pc, int_flux_mjy,
       l_nu_erg_s_hz, log(l_nu_erg_s_hz) AS log10_l_nu
FROM marts.radio_star_candidates
WHERE l_nu_erg_s_hz IS NOT NULL AND reliability_class IN ('A', 'B')
ORDER BY l_nu_erg_s_hz DESC
LIMIT %(limit)s
""",
            {"limit": 20},
        ),
        Query(
            "near_known_nonstellar",
            "Candidates near known non-stellar objects",
            "Candidates with a known AGN, pulsar, planetary nebula or H II region within 10″ of the radio "
            "position: the radio emission may well come from that object rather than from the star.",
            """
SELECT radio_source_name, optical_name, reliability_class,
       nearest_nonstellar_name, nearest_nonstellar_type, nearest_nonstellar_sep_arcsec, sep_arcsec
FROM marts.radio_star_candidates
WHERE near_known_nonstellar
ORDER BY nearest_nonstellar_sep_arcsec
""",
            {},
        ),
        Query(
            "far_per_run",
            "False-association rate per run",
            "Every loaded cross-match run with its analytic (Σ p_chance / n_radio) and empirical control "
            "false-association rates, the number of false matches they predict, and the p_any cut calibrated "
            "on the control for its target false-selection rate (NULL for runs without it); `is_selected` marks "
            "the run the marts show.",
            """
SELECT run_id, is_selected, committed_at, n_radio, n_radio_with_candidates,
       far_analytic, far_control, far_control_pooled,
       round((far_control_pooled * n_radio)::numeric, 1) AS expected_false_matches,
       target_false_rate, p_any_cut, false_rate_at_cut,
       n_sigma, r_min_arcsec, r_max_arcsec
FROM marts.crossmatch_runs
ORDER BY committed_at DESC
""",
            {},
        ),
        Query(
            "within_distance",
            "Radio stars within 50 pc",
            "Candidates whose counterpart has a parallax distance (parallax/error > 5) within "
            "`max_distance_pc`, nearest first.",
            """
SELECT radio_source_name, optical_name, distance_pc, parallax_mas, parallax_over_error,
       int_flux_mjy, l_nu_erg_s_hz, pm_total_mas_yr, high_proper_motion, reliability_class
FROM marts.radio_star_candidates
WHERE distance_pc <= %(max_distance_pc)s
ORDER BY distance_pc
""",
            {"max_distance_pc": 50.0},
        ),
        Query(
            "class_summary",
            "Candidates per reliability class",
            "How many candidates fall in each reliability class, with the flags that demote them.",
            """
SELECT reliability_class, count(*) AS n,
       count(*) FILTER (WHERE multiple_candidates) AS n_multiple_candidates,
       count(*) FILTER (WHERE near_known_nonstellar) AS n_near_nonstellar,
       count(*) FILTER (WHERE high_proper_motion) AS n_high_pm,
       count(distance_pc) AS n_with_distance,
       round(avg(p_chance)::numeric, 4) AS mean_p_chance
FROM marts.radio_star_candidates
GROUP BY reliability_class
ORDER BY reliability_class
""",
            {},
        ),
    )
}


def run_query(conn, name: str, **params) -> list[dict]:
    """Execute one documented query on an open psycopg connection; rows as dicts."""
    from psycopg.rows import dict_row

    q = QUERIES[name]
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(q.sql, {**q.example, **params})
        return cur.fetchall()


def queries_markdown() -> str:
    """The README section: one heading, description and SQL block per query."""
    out = [
        "### Example queries (as the read-only `analyst` role)",
        "",
        'Connect with `psql "host=127.0.0.1 port=15432 dbname=warehouse user=analyst"` '
        "(password: `ANALYST_PASSWORD` in `.env`). Only the `marts` schema is readable.",
        "",
    ]
    for q in QUERIES.values():
        out += [f"**{q.title}** — {q.description}", "", "```sql", q.render(), "```", ""]
    return "\n".join(out)
