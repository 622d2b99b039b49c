{{ config(
    indexes=[{'columns': ['radio_source_name'], 'unique': True}, {'columns': ['distance_pc']}],
    post_hook=["{{ q3c_index('radio_ra_deg', 'radio_dec_deg') }}", "analyze {{ this }}"]
) }}
-- One row per radio source of the selected run with a stellar (Gaia / Hipparcos) counterpart: its best
-- star (one row per star: a Gaia and a Hipparcos entry of the same star merged, both ids side by side),
-- physics, flags and reliability class (docs/warehouse.md). A run scored by the run posterior publishes only
-- the sources at or above its reliability cut (p_any >= the run's p_any_cut, chosen for
-- target_reliability; classes A/B/C grade them); an older run every source with a candidate.
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
        s.n_stars > 1                                                as multiple_stars,
        case when c.optical_catalogue = 'gaia_dr3' then c.optical_id
             when s.counterpart_catalogue = 'gaia_dr3' then s.counterpart_id end   as gaia_source_id,
        case when c.optical_catalogue = 'hipparcos2' then c.optical_id
             when s.counterpart_catalogue = 'hipparcos2' then s.counterpart_id end as hip
    from c
    left join near using (run_id, radio_source_name)
    left join run using (run_id)
    left join same_star s using (run_id, radio_source_name, optical_catalogue, optical_id)
    -- the run's reliability cut: a posterior run publishes the sources at or above it
    where c.has_run_posterior is not true or c.p_any >= run.class_p_any_cut
)
select
    run_id,
    radio_source_name,
    optical_catalogue,
    optical_id,
    optical_name,
    gaia_source_id,
    hip,
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
    p_any_position_only,
    p_i_position_only,
    ln_property_ratio,
    coalesce(has_run_posterior, false)   as selected_by_reliability_cut,
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
