-- The candidate pairs of the selected run (var run_id, default: the latest successful load).
select *
from {{ ref('stg_crossmatch_pairs') }}
where run_id = {{ selected_run_id() }}
