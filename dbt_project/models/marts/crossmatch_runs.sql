{{ config(indexes=[{'columns': ['run_id'], 'unique': True}]) }}
-- Every loaded cross-match run with its parameters and reliability metrics (analytic and control
-- false-association rates; the p_any cut: for a run scored by the run posterior the cut chosen for
-- target_reliability, with its estimated reliability, completeness proxy, fitted c and prior status), and
-- which one the other marts show.
with last_load as (
    select distinct on (run_id) run_id, finished_at as loaded_at
    from {{ ref('stg_load_log') }}
    where status = 'succeeded'
    order by run_id, finished_at desc
)
select
    r.run_id,
    r.run_id = {{ selected_run_id() }}        as is_selected,
    r.committed_at,
    l.loaded_at,
    r.n_radio,
    r.n_optical,
    r.n_pairs,
    r.n_best                                 as n_radio_with_candidates,
    r.n_best::float8 / nullif(r.n_radio, 0)  as fraction_with_candidates,
    r.n_known_objects,
    r.known_objects_source,
    r.far_analytic,
    r.far_control,
    c.n_control_offsets,
    c.far_control_pooled,
    c.far_control_mean,
    c.far_control_min,
    c.far_control_max,
    r.n_sigma,
    r.r_min_arcsec,
    r.r_max_arcsec,
    r.sigma_sys_arcsec,
    r.healpix_order,
    r.target_false_rate,
    r.p_any_cut,
    r.false_rate_at_cut,
    r.n_selected_at_cut,
    r.n_control_sources,
    r.calibration_curve,
    r.cut_method,
    r.target_reliability,
    r.reliability_estimated,
    r.reliability_estimated_err,
    r.completeness_proxy,
    r.n_candidates_at_cut,
    r.cut_reached,
    r.cut_status,
    r.c_fitted,
    r.c_fitted_err,
    r.c_by_class,
    r.c_err_by_class,
    r.c_per_catalogue,
    r.prior_status,
    r.prior_reason,
    r.property_prior_source,
    r.scoring_fallbacks,
    r.p_any_cut_position_only,
    r.reliability_estimated_position_only,
    r.parameters,
    r.metrics
from {{ ref('stg_crossmatch_runs') }} r
left join {{ ref('int_control_summary') }} c using (run_id)
left join last_load l using (run_id)
