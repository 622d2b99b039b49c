-- radio_star_candidates holds exactly the radio sources that have at least one pair in the run.
with matched as (select distinct radio_source_name from {{ ref('crossmatch_pairs') }}),
     cands as (select radio_source_name from {{ ref('radio_star_candidates') }})
select coalesce(m.radio_source_name, c.radio_source_name) as radio_source_name
from matched m full outer join cands c using (radio_source_name)
where m.radio_source_name is null or c.radio_source_name is null
