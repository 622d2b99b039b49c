-- Each candidate pair of the selected run with its same-star counterpart in the other catalogue (a Gaia
-- DR3 and a Hipparcos 2 entry of one physical star among one radio source's candidates) and its
-- star-level rank. A run scored by the run posterior (has_run_posterior) carries the job's links and star
-- ranks (by joint p_i; crossmatch/samestar.py, the same rule): they are used as they are. Older runs get the
-- links recomputed here (macros/same_star.sql, vars same_star_*) and stars ranked by position
-- (docs/warehouse.md).
with optical as (
    select * from {{ ref('stg_optical_sources') }} where run_id = {{ selected_run_id() }}
),
pairs as (
    select * from {{ ref('int_run_pairs') }}
),
from_job as (
    select p.run_id, p.radio_source_name, p.optical_catalogue, p.optical_id, p.candidate_rank,
           p.same_star_catalogue                            as counterpart_catalogue,
           p.same_star_id                                   as counterpart_id,
           c.candidate_rank                                 as counterpart_rank,
           p.same_star_offset_arcsec, p.same_star_tolerance_arcsec,
           p.star_rank, p.is_star_primary, p.n_stars
    from pairs p
    left join pairs c
      on c.run_id = p.run_id and c.radio_source_name = p.radio_source_name
     and c.optical_catalogue = p.same_star_catalogue and c.optical_id = p.same_star_id
    where p.has_run_posterior
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
    from pairs p
    left join optical o using (run_id, optical_catalogue, optical_id)
    where p.has_run_posterior is not true
),
linked as (
    select run_id, radio_source_name, optical_catalogue, optical_id, candidate_rank, counterpart_catalogue,
           counterpart_id, counterpart_rank, same_star_offset_arcsec, same_star_tolerance_arcsec,
           star_rank, is_star_primary, n_stars, false as ranked_by_posterior
    from ({{ same_star_links('candidates') }}) s
    union all
    select run_id, radio_source_name, optical_catalogue, optical_id, candidate_rank, counterpart_catalogue,
           counterpart_id, counterpart_rank, same_star_offset_arcsec, same_star_tolerance_arcsec,
           star_rank, is_star_primary, n_stars, true as ranked_by_posterior
    from from_job
)
select l.run_id, l.radio_source_name, l.optical_catalogue, l.optical_id, l.candidate_rank,
       l.counterpart_catalogue, l.counterpart_id, c.optical_name as counterpart_name, l.counterpart_rank,
       l.same_star_offset_arcsec, l.same_star_tolerance_arcsec,
       l.star_rank, l.is_star_primary, l.n_stars, l.ranked_by_posterior
from linked l
left join optical c
  on c.run_id = l.run_id and c.optical_catalogue = l.counterpart_catalogue and c.optical_id = l.counterpart_id
