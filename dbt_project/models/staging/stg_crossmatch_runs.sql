-- One row per loaded run: metrics.json key numbers and parameters, typed.
select
    run_id::text                                   as run_id,
    committed_at                                   as committed_at,
    _loaded_at                                     as loaded_at,
    n_radio::bigint                                as n_radio,
    n_optical::bigint                              as n_optical,
    n_pairs::bigint                                as n_pairs,
    n_best::bigint                                 as n_best,
    n_control_offsets::bigint                      as n_control_offsets,
    n_known_objects::bigint                        as n_known_objects,
    known_objects_source::text                     as known_objects_source,
    far_analytic::float8                           as far_analytic,
    far_control::float8                            as far_control,
    nullif(parameters ->> 'n_sigma', '')::float8            as n_sigma,
    nullif(parameters ->> 'r_min_arcsec', '')::float8       as r_min_arcsec,
    nullif(coalesce(parameters ->> 'r_max_arcsec', parameters ->> 'radius_arcsec'), '')::float8 as r_max_arcsec,
    nullif(parameters ->> 'sigma_sys_arcsec', '')::float8   as sigma_sys_arcsec,
    nullif(parameters ->> 'healpix_order', '')::int         as healpix_order,
    parameters                                     as parameters,
    metrics                                        as metrics,
    -- metrics.json "calibration": the p_any cut calibrated on the shifted control (NULL for older runs)
    target_false_rate::float8                      as target_false_rate,
    p_any_cut::float8                              as p_any_cut,
    false_rate_at_cut::float8                      as false_rate_at_cut,
    n_selected_at_cut::bigint                      as n_selected_at_cut,
    n_control_sources::bigint                      as n_control_sources,
    calibration_curve                              as calibration_curve
from {{ source('raw', 'crossmatch_runs') }}
