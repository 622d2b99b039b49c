-- The radio snapshot each run matched, one row per (run, radio source).
select
    run_id::text                                   as run_id,
    source_name::text                              as radio_source_name,
    ra_deg::float8                                 as ra_deg,
    dec_deg::float8                                as dec_deg,
    ra_err_arcsec::float8                          as ra_err_arcsec,
    dec_err_arcsec::float8                         as dec_err_arcsec,
    peak_flux_mjy::float8                          as peak_flux_mjy_beam,
    int_flux_mjy::float8                           as int_flux_mjy,
    int_flux_err_mjy::float8                       as int_flux_err_mjy,
    rms_mjy::float8                                as rms_mjy_beam,
    obs_epoch_mjd::float8                          as obs_epoch_mjd,
    {{ mjd_to_jyear('obs_epoch_mjd') }}            as obs_epoch_yr,
    field::text                                    as field,
    healpix::bigint                                as healpix,
    _loaded_at                                     as loaded_at
from {{ source('raw', 'radio_sources') }}
