-- The optical sources of each run's pairs (Gaia DR3 and Hipparcos 2 in one shape).
select
    run_id::text                                   as run_id,
    optical_catalogue::text                        as optical_catalogue,
    optical_id::bigint                             as optical_id,
    case optical_catalogue
        when 'gaia_dr3' then 'Gaia DR3 ' || optical_id::text
        when 'hipparcos2' then 'HIP ' || optical_id::text
        else optical_catalogue || ' ' || optical_id::text
    end                                            as optical_name,
    ra_deg::float8                                 as ra_deg,
    dec_deg::float8                                as dec_deg,
    ref_epoch_yr::float8                           as ref_epoch_yr,
    ra_error_mas::float8                           as ra_error_mas,
    dec_error_mas::float8                          as dec_error_mas,
    parallax_mas::float8                           as parallax_mas,
    parallax_error_mas::float8                     as parallax_error_mas,
    pmra_mas_yr::float8                            as pmra_mas_yr,
    pmdec_mas_yr::float8                           as pmdec_mas_yr,
    pmra_error_mas_yr::float8                      as pmra_error_mas_yr,
    pmdec_error_mas_yr::float8                     as pmdec_error_mas_yr,
    -- the Spark job writes generic mag/colour; the lake.md reading has per-catalogue names
    coalesce(phot_g_mean_mag, case when optical_catalogue = 'gaia_dr3' then mag end)::float8 as phot_g_mean_mag,
    coalesce(bp_rp, case when optical_catalogue = 'gaia_dr3' then colour end)::float8        as bp_rp,
    coalesce(hp_mag, case when optical_catalogue = 'hipparcos2' then mag end)::float8        as hp_mag,
    coalesce(b_v, case when optical_catalogue = 'hipparcos2' then colour end)::float8        as b_v,
    coalesce(is_synthetic,
             optical_catalogue = 'gaia_dr3' and optical_id >= 7000000000000000000) as is_synthetic,
    _loaded_at                                     as loaded_at
from {{ source('raw', 'optical_sources') }}
