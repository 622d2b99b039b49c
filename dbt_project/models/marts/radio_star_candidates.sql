{{ config(
    indexes=[{'columns': ['radio_source_name'], 'unique': True}, {'columns': ['distance_pc']}],
    post_hook=["{{ q3c_index('radio_ra_deg', 'radio_dec_deg') }}", "analyze {{ this }}"]
) }}
-- One row per radio source of the selected run with a stellar (Gaia / Hipparcos) counterpart: its
-- best candidate, physics, flags and reliability class, and the same star's entry in the other
-- catalogue when it is also a candidate (int_candidate_same_star; docs/warehouse.md).
with c as (
    select * from {{ ref('int_candidates_physics') }}
),
near as (
    select * from {{ ref('int_known_object_proximity') }}
),
same_star as (
    select * from {{ ref('int_candidate_same_star') }}
),
run as (
    select run_id,
           known_objects_source <> 'none'              as has_known_objects,
           {{ effective_p_any_cut('p_any_cut') }}      as class_p_any_cut
    from {{ ref('stg_crossmatch_runs') }}
),
flagged as (
    select
        c.*,
        case when run.has_known_objects then near.nearest_nonstellar_name is not null end
                                                                     as near_known_nonstellar,
        near.nearest_nonstellar_name,
        near.nearest_nonstellar_type,
        near.nearest_nonstellar_sep_arcsec,
        c.pm_total_mas_yr > {{ var('high_pm_mas_yr') }}             as high_proper_motion,
        c.n_candidates > 1                                           as multiple_candidates,
        coalesce(c.is_synthetic, false)                              as synthetic_source,
        run.class_p_any_cut,
        s.counterpart_catalogue,
        s.counterpart_id,
        s.counterpart_name,
        s.same_star_offset_arcsec,
        s.n_stars,
        s.n_stars > 1                                                as multiple_stars
    from c
    left join near using (run_id, radio_source_name)
    left join run using (run_id)
    left join same_star s using (run_id, radio_source_name, optical_catalogue, optical_id)
)
select
    run_id,
    radio_source_name,
    optical_catalogue,
    optical_id,
    optical_name,
    radio_ra_deg,
    radio_dec_deg,
    radio_ra_err_arcsec,
    radio_dec_err_arcsec,
    radio_epoch_yr,
    optical_ra_radio_epoch_deg,
    optical_dec_radio_epoch_deg,
    sep_arcsec,
    sigma_arcsec,
    sep_sigma,
    match_radius_arcsec,
    n_candidates,
    local_density_per_deg2,
    p_chance,
    ln_bayes_factor,
    p_any,
    p_i,
    int_flux_mjy,
    int_flux_err_mjy,
    peak_flux_mjy_beam,
    parallax_mas,
    parallax_error_mas,
    parallax_over_error,
    distance_pc,
    l_nu_erg_s_hz,
    pmra_mas_yr,
    pmdec_mas_yr,
    pm_total_mas_yr,
    phot_g_mean_mag,
    bp_rp,
    hp_mag,
    near_known_nonstellar,
    nearest_nonstellar_name,
    nearest_nonstellar_type,
    nearest_nonstellar_sep_arcsec,
    high_proper_motion,
    multiple_candidates,
    n_stars,
    multiple_stars,
    counterpart_catalogue,
    counterpart_id,
    counterpart_name,
    same_star_offset_arcsec,
    synthetic_source,
    class_p_any_cut,
    {{ reliability_class('p_any', 'p_i', 'p_chance', 'n_candidates', 'near_known_nonstellar', 'class_p_any_cut') }}
        as reliability_class
from flagged
