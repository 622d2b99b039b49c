-- L_nu = 4 pi d^2 S_nu, computed by hand (1 pc = 3.0856775814913673e18 cm, 1 mJy = 1e-26 cgs):
--   d = 10 pc  (parallax 100 mas +- 0.1), S = 1.0 mJy:
--     4 pi (3.0856775814913673e19 cm)^2 * 1e-26 = 1.1964951828635066e14 erg/s/Hz
--   d = 50 pc  (parallax 20 mas +- 0.5),  S = 2.5 mJy:
--     4 pi (1.5428387907456837e20 cm)^2 * 2.5e-26 = 7.478094892896916e15 erg/s/Hz
--   parallax 2 mas +- 0.5 (parallax/error = 4 <= 5): no distance, no L_nu.
with cases as (
    select 100.0::float8 as plx, 0.1::float8 as plx_err, 1.0::float8 as s_mjy,
           10.0::float8 as d_expected, 1.1964951828635066e14::float8 as l_expected
    union all
    select 20.0, 0.5, 2.5, 50.0, 7.478094892896916e15
    union all
    select 2.0, 0.5, 1.0, null, null
),
computed as (
    select *, {{ distance_pc('plx', 'plx_err') }} as d_got
    from cases
)
select *, {{ l_nu_erg_s_hz('s_mjy', 'd_got') }} as l_got
from computed
where (d_expected is null) <> (d_got is null)
   or abs(d_got / d_expected - 1) > 1e-12
   or abs({{ l_nu_erg_s_hz('s_mjy', 'd_got') }} / l_expected - 1) > 1e-12
