-- Every load attempt of a run into raw.
select
    load_id::bigint                                as load_id,
    run_id::text                                   as run_id,
    status::text                                   as status,
    started_at                                     as started_at,
    finished_at                                    as finished_at,
    rows                                           as rows_loaded,
    known_objects_source::text                     as known_objects_source,
    error::text                                    as error
from {{ source('raw', 'load_log') }}
