-- Control runs (radio positions shifted by a fixed offset): one row per (run, offset).
select
    run_id::text                                   as run_id,
    offset_name::text                              as offset_name,
    offset_ra_arcsec::float8                       as offset_ra_arcsec,
    offset_dec_arcsec::float8                      as offset_dec_arcsec,
    n_radio::bigint                                as n_radio,
    n_matches::bigint                              as n_matches,
    far_per_source::float8                         as far_per_source,
    _loaded_at                                     as loaded_at
from {{ source('raw', 'crossmatch_control') }}
