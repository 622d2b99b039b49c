-- The best candidate of each radio source of the selected run, with the radio and optical attributes and
-- the derived physics: distance (parallax/error > threshold) and L_nu = 4 pi d^2 S_nu. Best: in a run scored
-- by the run posterior, the job's best star (star_rank 1, by joint p_i) on its primary entry; in older runs
-- the rank-1 candidate by position (sep/sigma).
with best as (
    select * from {{ ref('int_run_pairs') }}
    where case when has_run_posterior then star_rank = 1 and is_star_primary else candidate_rank = 1 end
),
radio as (
    select * from {{ ref('stg_radio_sources') }} where run_id = {{ selected_run_id() }}
),
optical as (
    select * from {{ ref('stg_optical_sources') }} where run_id = {{ selected_run_id() }}
),
joined as (
    select
        b.run_id,
        b.radio_source_name,
        b.optical_catalogue,
        b.optical_id,
        o.optical_name,
        b.radio_ra_deg,
        b.radio_dec_deg,
        r.ra_err_arcsec                                         as radio_ra_err_arcsec,
        r.dec_err_arcsec                                        as radio_dec_err_arcsec,
        b.radio_epoch_yr,
        b.optical_ra_radio_epoch_deg,
        b.optical_dec_radio_epoch_deg,
        b.sep_arcsec,
        b.sigma_arcsec,
        b.sep_sigma,
        b.match_radius_arcsec,
        b.n_candidates,
        b.local_density_per_deg2,
        b.p_chance,
        b.ln_bayes_factor,
        b.p_any,
        b.p_i,
        b.p_any_position_only,
        b.p_i_position_only,
        b.ln_property_ratio,
        b.has_run_posterior,
        r.int_flux_mjy,
        r.int_flux_err_mjy,
        r.peak_flux_mjy_beam,
        o.parallax_mas,
        o.parallax_error_mas,
        o.parallax_mas / nullif(o.parallax_error_mas, 0)        as parallax_over_error,
        {{ distance_pc('o.parallax_mas', 'o.parallax_error_mas') }} as distance_pc,
        o.pmra_mas_yr,
        o.pmdec_mas_yr,
        sqrt(o.pmra_mas_yr ^ 2 + o.pmdec_mas_yr ^ 2)            as pm_total_mas_yr,
        o.phot_g_mean_mag,
        o.bp_rp,
        o.hp_mag,
        o.is_synthetic
    from best b
    left join radio r using (run_id, radio_source_name)
    left join optical o using (run_id, optical_catalogue, optical_id)
)
select
    *,
    {{ l_nu_erg_s_hz('int_flux_mjy', 'distance_pc') }} as l_nu_erg_s_hz
from joined
