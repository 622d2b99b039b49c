-- For each radio source with a stellar candidate in the selected run: the nearest known non-stellar
-- object (var nonstellar_types) within var near_known_arcsec of the radio position (q3c cone join).
with candidates as (
    select run_id, radio_source_name, radio_ra_deg, radio_dec_deg
    from {{ ref('int_run_pairs') }}
    where candidate_rank = 1
),
nonstellar as (
    select object_name, object_type, ra_deg, dec_deg
    from {{ ref('stg_known_objects') }}
    where run_id = {{ selected_run_id() }} and is_nonstellar
)
select
    c.run_id,
    c.radio_source_name,
    n.object_name                         as nearest_nonstellar_name,
    n.object_type                         as nearest_nonstellar_type,
    n.sep_arcsec                          as nearest_nonstellar_sep_arcsec,
    coalesce(n.n_within, 0)               as n_nonstellar_within
from candidates c
left join lateral (
    select k.object_name,
           k.object_type,
           q3c_dist(c.radio_ra_deg, c.radio_dec_deg, k.ra_deg, k.dec_deg) * 3600.0 as sep_arcsec,
           count(*) over () as n_within
    from nonstellar k
    where q3c_join(c.radio_ra_deg, c.radio_dec_deg, k.ra_deg, k.dec_deg, {{ var('near_known_arcsec') }} / 3600.0)
    order by sep_arcsec, k.object_name
    limit 1
) n on true
