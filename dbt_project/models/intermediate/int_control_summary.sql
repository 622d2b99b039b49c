-- Control (shifted-position) matches summarised per run: the empirical false-association rate.
select
    run_id,
    count(*)                                                     as n_control_offsets,
    sum(n_matches)::float8 / nullif(sum(n_radio), 0)             as far_control_pooled,
    avg(far_per_source)                                          as far_control_mean,
    min(far_per_source)                                          as far_control_min,
    max(far_per_source)                                          as far_control_max
from {{ ref('stg_crossmatch_control') }}
group by run_id
