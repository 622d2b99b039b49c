-- Known objects (SIMBAD-like) snapshot per run.
select
    run_id::text                                   as run_id,
    name::text                                     as object_name,
    ra_deg::float8                                 as ra_deg,
    dec_deg::float8                                as dec_deg,
    object_type::text                              as object_type,
    object_type in {{ sql_list(var('nonstellar_types')) }} as is_nonstellar,
    _loaded_at                                     as loaded_at
from {{ source('raw', 'known_objects') }}
