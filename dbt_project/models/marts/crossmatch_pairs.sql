{{ config(
    indexes=[{'columns': ['radio_source_name', 'candidate_rank']},
             {'columns': ['optical_catalogue', 'optical_id']}],
    post_hook=["{{ q3c_index('radio_ra_deg', 'radio_dec_deg') }}", "analyze {{ this }}"]
) }}
-- Every candidate pair of the selected run (the rows radio_star_candidates picks its best star from:
-- is_best), with its same-star counterpart in the other catalogue and its star-level rank
-- (int_candidate_same_star: the job's, by joint p_i, for a run scored by the run posterior).
select
    p.run_id,
    p.radio_source_name,
    p.optical_catalogue,
    p.optical_id,
    o.optical_name,
    p.candidate_rank,
    case when p.has_run_posterior then s.star_rank = 1 and s.is_star_primary
         else p.candidate_rank = 1 end as is_best,
    p.n_candidates,
    p.radio_ra_deg,
    p.radio_dec_deg,
    p.radio_epoch_yr,
    p.optical_ra_radio_epoch_deg,
    p.optical_dec_radio_epoch_deg,
    p.sep_arcsec,
    p.sigma_arcsec,
    p.sep_sigma,
    p.match_radius_arcsec,
    p.local_density_per_deg2,
    p.p_chance,
    p.ln_bayes_factor,
    p.prior,
    p.p_any,
    p.p_i,
    p.p_single,
    p.sigma_radio_arcsec,
    p.sigma_opt_arcsec,
    p.dt_yr,
    p.pm_missing,
    p.mag,
    p.colour,
    p.p_any_position_only,
    p.p_i_position_only,
    p.p_any_in_catalogue,
    p.p_i_in_catalogue,
    p.ln_property_ratio,
    p.fold,
    p.has_run_posterior,
    s.counterpart_catalogue,
    s.counterpart_id,
    s.counterpart_name,
    s.same_star_offset_arcsec,
    s.star_rank,
    s.is_star_primary,
    s.n_stars
from {{ ref('int_run_pairs') }} p
left join {{ ref('stg_optical_sources') }} o
  on o.run_id = p.run_id and o.optical_catalogue = p.optical_catalogue and o.optical_id = p.optical_id
left join {{ ref('int_candidate_same_star') }} s
  on s.run_id = p.run_id and s.radio_source_name = p.radio_source_name
 and s.optical_catalogue = p.optical_catalogue and s.optical_id = p.optical_id
