{{ config(
    indexes=[{'columns': ['radio_source_name'], 'unique': True}],
    post_hook=["{{ q3c_index('ra_deg', 'dec_deg') }}", "analyze {{ this }}"]
) }}
-- The radio snapshot of the selected run, with how many optical candidates each source has.
with pairs as (
    select radio_source_name, count(*) as n_candidates
    from {{ ref('int_run_pairs') }}
    group by radio_source_name
)
select
    r.run_id,
    r.radio_source_name,
    r.ra_deg,
    r.dec_deg,
    r.ra_err_arcsec,
    r.dec_err_arcsec,
    r.peak_flux_mjy_beam,
    r.int_flux_mjy,
    r.int_flux_err_mjy,
    r.rms_mjy_beam,
    r.obs_epoch_mjd,
    r.obs_epoch_yr,
    r.field,
    r.healpix,
    coalesce(p.n_candidates, 0)    as n_candidates,
    p.n_candidates is not null     as has_stellar_candidate
from {{ ref('stg_radio_sources') }} r
left join pairs p using (radio_source_name)
where r.run_id = {{ selected_run_id() }}
