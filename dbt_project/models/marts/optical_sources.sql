{{ config(
    indexes=[{'columns': ['optical_catalogue', 'optical_id'], 'unique': True}],
    post_hook=["{{ q3c_index('ra_deg', 'dec_deg') }}", "analyze {{ this }}"]
) }}
-- The optical sources appearing in the selected run's pairs, with distance and total proper motion.
select
    run_id,
    optical_catalogue,
    optical_id,
    optical_name,
    ra_deg,
    dec_deg,
    ref_epoch_yr,
    ra_error_mas,
    dec_error_mas,
    parallax_mas,
    parallax_error_mas,
    parallax_mas / nullif(parallax_error_mas, 0)                  as parallax_over_error,
    {{ distance_pc('parallax_mas', 'parallax_error_mas') }}       as distance_pc,
    pmra_mas_yr,
    pmdec_mas_yr,
    pmra_error_mas_yr,
    pmdec_error_mas_yr,
    sqrt(pmra_mas_yr ^ 2 + pmdec_mas_yr ^ 2)                      as pm_total_mas_yr,
    phot_g_mean_mag,
    bp_rp,
    hp_mag,
    b_v,
    is_synthetic
from {{ ref('stg_optical_sources') }}
where run_id = {{ selected_run_id() }}
