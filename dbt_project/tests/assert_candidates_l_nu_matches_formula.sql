-- Every candidate's L_nu equals 4 pi d^2 S_nu from its own distance and integrated flux,
-- and is null exactly when the distance is (parallax / error <= threshold).
select radio_source_name, distance_pc, int_flux_mjy, l_nu_erg_s_hz
from {{ ref('radio_star_candidates') }}
where (distance_pc is null) <> (l_nu_erg_s_hz is null)
   or abs(l_nu_erg_s_hz / {{ l_nu_erg_s_hz('int_flux_mjy', 'distance_pc') }} - 1) > 1e-12
