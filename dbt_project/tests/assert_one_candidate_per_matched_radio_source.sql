-- radio_star_candidates holds exactly the radio sources that have a best pair in the run — in a run scored by
-- the run posterior only those whose best p_any reaches the run's reliability cut — once each.
with run as (
    select run_id, {{ effective_p_any_cut('p_any_cut') }} as cut from {{ ref('stg_crossmatch_runs') }}
),
expected as (
    select distinct p.radio_source_name
    from {{ ref('crossmatch_pairs') }} p join run using (run_id)
    where p.is_best and (p.has_run_posterior is not true or p.p_any >= run.cut)
),
cands as (select radio_source_name from {{ ref('radio_star_candidates') }})
select coalesce(m.radio_source_name, c.radio_source_name) as radio_source_name
from expected m full outer join cands c using (radio_source_name)
where m.radio_source_name is null or c.radio_source_name is null
