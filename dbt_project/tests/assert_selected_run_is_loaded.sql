-- The run the marts are built for (var run_id, or the latest successful load) must be a loaded run.
select {{ selected_run_id() }} as selected_run_id
where not exists (
    select 1 from {{ ref('stg_crossmatch_runs') }} where run_id = {{ selected_run_id() }}
)
