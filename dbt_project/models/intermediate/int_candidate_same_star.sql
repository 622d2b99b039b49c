-- Each candidate pair of the selected run with its same-star counterpart in the other catalogue (a Gaia
-- DR3 and a Hipparcos 2 entry of one physical star among one radio source's candidates) and its
-- star-level rank. Rule and thresholds: macros/same_star.sql, vars same_star_* (docs/warehouse.md).
with optical as (
    select * from {{ ref('stg_optical_sources') }} where run_id = {{ selected_run_id() }}
),
candidates as (
    select p.run_id, p.radio_source_name, p.optical_catalogue, p.optical_id, p.candidate_rank,
           p.optical_ra_radio_epoch_deg                     as ra_deg,
           p.optical_dec_radio_epoch_deg                    as dec_deg,
           p.sigma_opt_arcsec,
           case p.optical_catalogue when 'gaia_dr3' then o.phot_g_mean_mag
                                    when 'hipparcos2' then o.hp_mag end as mag,
           o.pmra_mas_yr,
           o.pmdec_mas_yr,
           p.radio_epoch_yr - o.ref_epoch_yr                as dt_yr
    from {{ ref('int_run_pairs') }} p
    left join optical o using (run_id, optical_catalogue, optical_id)
),
linked as (
    select * from ({{ same_star_links('candidates') }}) s
)
select l.run_id, l.radio_source_name, l.optical_catalogue, l.optical_id, l.candidate_rank,
       l.counterpart_catalogue, l.counterpart_id, c.optical_name as counterpart_name, l.counterpart_rank,
       l.same_star_offset_arcsec, l.same_star_tolerance_arcsec,
       l.star_rank, l.is_star_primary, l.n_stars
from linked l
left join optical c
  on c.run_id = l.run_id and c.optical_catalogue = l.counterpart_catalogue and c.optical_id = l.counterpart_id
