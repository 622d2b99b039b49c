{#- Gaia DR3 <-> Hipparcos 2 "same star" among the candidates of one radio source (docs/warehouse.md,
    "Same star in both catalogues"). Thresholds are dbt vars (dbt_project.yml, same_star_*);
    radiostars.evaluate.samestar applies the same rule with the same vars, and both run the hand cases
    of the unit test same_star_hand_cases (models/intermediate/int_candidate_same_star.yml).

    A Gaia candidate g and a Hipparcos candidate h of the same radio source are the same star when
      1. their positions at the radio epoch agree: offset <= max(same_star_min_arcsec,
         same_star_n_sigma * sqrt(sigma_opt_g^2 + sigma_opt_h^2)). When exactly one of them has no
         proper motion, it is first moved by the other's proper motion over its own dt (radio epoch -
         its reference epoch): one star has one motion, and the sample's real Gaia stars carry none;
      2. their magnitudes agree, when both are known: same_star_g_minus_hp_min <= G - Hp <=
         same_star_g_minus_hp_max;
      3. each is the other's nearest such candidate (mutual nearest, ties by id): one counterpart at most. -#}

{#- The offset allowed between two positions of one star [arcsec]; a NULL sigma counts as 0. -#}
{% macro same_star_tolerance_arcsec(sigma_a, sigma_b) -%}
  greatest({{ var('same_star_min_arcsec') }}::float8,
           {{ var('same_star_n_sigma') }} * sqrt(coalesce(({{ sigma_a }}) ^ 2, 0) + coalesce(({{ sigma_b }}) ^ 2, 0)))
{%- endmacro %}

{#- G and Hp consistent with one star (true when either is unknown). -#}
{% macro same_star_mags_agree(g_mag, hp_mag) -%}
  (({{ g_mag }}) is null or ({{ hp_mag }}) is null
   or (({{ g_mag }}) - ({{ hp_mag }}) between {{ var('same_star_g_minus_hp_min') }} and {{ var('same_star_g_minus_hp_max') }}))
{%- endmacro %}

{#- One row per candidate of `candidates` (a relation or CTE name) with its same-star counterpart and
    its star-level rank. `candidates` columns: run_id, radio_source_name, optical_catalogue, optical_id,
    candidate_rank, ra_deg, dec_deg (position at the radio epoch), sigma_opt_arcsec (at the radio epoch,
    nullable), mag (G for Gaia, Hp for Hipparcos; nullable), pmra_mas_yr, pmdec_mas_yr (nullable),
    dt_yr (radio epoch - catalogue reference epoch). Emits a complete select (with its own CTEs): use it
    as a subquery. -#}
{% macro same_star_links(candidates) -%}
with cand as (
    select run_id, radio_source_name, optical_catalogue, optical_id, candidate_rank,
           radians(ra_deg) as ra_r, radians(dec_deg) as dec_r, sigma_opt_arcsec, mag,
           pmra_mas_yr, pmdec_mas_yr, dt_yr,
           (pmra_mas_yr is not null and pmdec_mas_yr is not null) as has_pm
    from {{ candidates }}
),
gaia_hip as (  -- every Gaia x Hipparcos candidate pair of one radio source, once
    select g.run_id, g.radio_source_name,
           g.optical_catalogue as g_catalogue, g.optical_id as g_id, g.candidate_rank as g_rank,
           h.optical_catalogue as h_catalogue, h.optical_id as h_id, h.candidate_rank as h_rank,
           g.ra_r, g.dec_r, h.ra_r as h_ra_r, h.dec_r as h_dec_r,
           -- shift applied to the Gaia position [rad] along (alpha*, delta): the candidate without a
           -- proper motion moves with the other's over its own dt (to first order, moving h by -v = moving g by +v)
           case when not g.has_pm and h.has_pm then h.pmra_mas_yr * g.dt_yr
                when g.has_pm and not h.has_pm then -g.pmra_mas_yr * h.dt_yr
                else 0 end * pi() / 648000000.0 as s_ra,
           case when not g.has_pm and h.has_pm then h.pmdec_mas_yr * g.dt_yr
                when g.has_pm and not h.has_pm then -g.pmdec_mas_yr * h.dt_yr
                else 0 end * pi() / 648000000.0 as s_dec,
           {{ same_star_tolerance_arcsec('g.sigma_opt_arcsec', 'h.sigma_opt_arcsec') }} as tolerance_arcsec,
           g.mag as g_mag, h.mag as hp_mag
    from cand g
    join cand h on h.run_id = g.run_id and h.radio_source_name = g.radio_source_name
    where g.optical_catalogue = 'gaia_dr3' and h.optical_catalogue = 'hipparcos2'
),
vectors as (  -- unit vectors; q = Gaia + shift in its tangent plane (exact at the poles and RA 0/360)
    select *,
           cos(dec_r) * cos(ra_r) - s_ra * sin(ra_r) - s_dec * sin(dec_r) * cos(ra_r) as qx,
           cos(dec_r) * sin(ra_r) + s_ra * cos(ra_r) - s_dec * sin(dec_r) * sin(ra_r) as qy,
           sin(dec_r) + s_dec * cos(dec_r)                                              as qz,
           cos(h_dec_r) * cos(h_ra_r) as hx, cos(h_dec_r) * sin(h_ra_r) as hy, sin(h_dec_r) as hz
    from gaia_hip
),
measured as (  -- angle between q and h: atan2(|q x h|, q . h), accurate at any angle
    select *,
           degrees(atan2(sqrt((qy * hz - qz * hy) ^ 2 + (qz * hx - qx * hz) ^ 2 + (qx * hy - qy * hx) ^ 2),
                         qx * hx + qy * hy + qz * hz)) * 3600.0 as offset_arcsec
    from vectors
),
admissible as (
    select *,
           row_number() over (partition by run_id, radio_source_name, g_id order by offset_arcsec, h_id) as g_choice,
           row_number() over (partition by run_id, radio_source_name, h_id order by offset_arcsec, g_id) as h_choice
    from measured
    where offset_arcsec <= tolerance_arcsec and {{ same_star_mags_agree('g_mag', 'hp_mag') }}
),
links as (  -- mutual nearest, seen from both sides
    select run_id, radio_source_name, g_catalogue as optical_catalogue, g_id as optical_id,
           h_catalogue as counterpart_catalogue, h_id as counterpart_id, h_rank as counterpart_rank,
           offset_arcsec, tolerance_arcsec
    from admissible where g_choice = 1 and h_choice = 1
    union all
    select run_id, radio_source_name, h_catalogue, h_id, g_catalogue, g_id, g_rank, offset_arcsec, tolerance_arcsec
    from admissible where g_choice = 1 and h_choice = 1
),
per_candidate as (
    select c.run_id, c.radio_source_name, c.optical_catalogue, c.optical_id, c.candidate_rank,
           l.counterpart_catalogue, l.counterpart_id, l.counterpart_rank,
           l.offset_arcsec    as same_star_offset_arcsec,
           l.tolerance_arcsec as same_star_tolerance_arcsec,
           least(c.candidate_rank, coalesce(l.counterpart_rank, c.candidate_rank)) as star_first_rank
    from cand c
    left join links l
      on l.run_id = c.run_id and l.radio_source_name = c.radio_source_name
     and l.optical_catalogue = c.optical_catalogue and l.optical_id = c.optical_id
)
select run_id, radio_source_name, optical_catalogue, optical_id, candidate_rank,
       counterpart_catalogue, counterpart_id, counterpart_rank,
       same_star_offset_arcsec, same_star_tolerance_arcsec,
       dense_rank() over (partition by run_id, radio_source_name order by star_first_rank)::int as star_rank,
       candidate_rank = star_first_rank as is_star_primary,
       (count(*) filter (where candidate_rank = star_first_rank)
            over (partition by run_id, radio_source_name))::int as n_stars
from per_candidate
{%- endmacro %}
