-- The Gaia <-> Hipparcos same-star rule (macros/same_star.sql) on hand-made candidates with the default
-- vars (same_star_min_arcsec 0.5, same_star_n_sigma 5, G - Hp in [-3, +1]). One row per candidate:
-- (label, radio source, catalogue, id, candidate_rank, ra_deg, dec_deg at the radio epoch,
--  sigma_opt_arcsec, mag (G or Hp), pmra, pmdec [mas/yr], dt_yr, expected counterpart id, expected star_rank).
-- tests/unit/test_evaluate_samestar.py runs the same cases through radiostars.evaluate.samestar.
with cases (label, radio_source_name, optical_catalogue, optical_id, candidate_rank, ra_deg, dec_deg,
            sigma_opt_arcsec, mag, pmra_mas_yr, pmdec_mas_yr, dt_yr, expected_counterpart_id, expected_star_rank) as (
    values
    ('0.1" apart: linked',                          'R01', 'gaia_dr3',   101::bigint, 1, 10.0::float8, 0.0::float8, 0.2::float8, 8.0::float8, null::float8, null::float8, 3.0::float8, 201::bigint, 1),
    ('0.1" apart: linked (Hip side)',               'R01', 'hipparcos2', 201, 2, 10.0, 0.000027777778, 0.02, 8.3, 1.0, 1.0, 28.0, 101, 1),
    ('3" apart, Gaia moves with the Hip pm: linked', 'R02', 'gaia_dr3',  102, 2, 20.0, 0.0, 0.15, 9.0, null, null, 3.0, 202, 1),
    ('1000 mas/yr east Hip star',                   'R02', 'hipparcos2', 202, 1, 20.000833333333, 0.0, 0.03, 9.5, 1000.0, 0.0, 28.0, 102, 1),
    ('0.6" apart, tolerance 0.5": two stars',       'R03', 'gaia_dr3',   103, 1, 30.0, 0.0, 0.01, 7.0, 5.0, 5.0, 3.0, null, 1),
    ('0.6" apart, tolerance 0.5" (Hip side)',       'R03', 'hipparcos2', 203, 2, 30.0, 0.000166666667, 0.02, 7.2, 5.0, 5.0, 28.0, null, 2),
    ('0.6" apart within 5 sigma of 0.2": linked',   'R04', 'gaia_dr3',   104, 1, 40.0, 0.0, 0.2, 8.0, null, null, 3.0, 204, 1),
    ('0.6" apart within 5 sigma (Hip side)',        'R04', 'hipparcos2', 204, 2, 40.0, 0.000166666667, 0.03, 8.1, 0.0, 0.0, 28.0, 104, 1),
    ('G - Hp = 6: two stars',                       'R05', 'gaia_dr3',   105, 2, 50.0, 0.0, 0.01, 15.0, 1.0, 1.0, 3.0, null, 2),
    ('G - Hp = 6: two stars (Hip side)',            'R05', 'hipparcos2', 205, 1, 50.0, 0.000027777778, 0.02, 9.0, 1.0, 1.0, 28.0, null, 1),
    ('red star, G - Hp = -2.5: linked',             'R06', 'gaia_dr3',   106, 1, 60.0, 0.0, 0.01, 6.0, 2.0, 2.0, 3.0, 206, 1),
    ('red star (Hip side)',                         'R06', 'hipparcos2', 206, 2, 60.0, 0.000013888889, 0.02, 8.5, 2.0, 2.0, 28.0, 106, 1),
    ('Gaia 0.3" from the Hip: not its nearest',     'R07', 'gaia_dr3',   107, 1, 70.0, 0.000083333333, 0.01, 8.0, 0.0, 0.0, 3.0, null, 1),
    ('Hip with two Gaia within 0.5": the nearer',   'R07', 'hipparcos2', 207, 2, 70.0, 0.0, 0.02, 9.2, 0.0, 0.0, 28.0, 117, 2),
    ('Gaia 0.2" from the Hip: mutual nearest',      'R07', 'gaia_dr3',   117, 3, 70.0, -0.000055555556, 0.01, 9.0, 0.0, 0.0, 3.0, 207, 2),
    ('two Gaia entries: never one star',            'R08', 'gaia_dr3',   108, 1, 80.0, 0.0, 0.01, 8.0, 0.0, 0.0, 3.0, null, 1),
    ('two Gaia entries (second)',                   'R08', 'gaia_dr3',   118, 2, 80.0, 0.000027777778, 0.01, 8.0, 0.0, 0.0, 3.0, null, 2),
    ('no sigma_opt nor Hp: 0.4" within 0.5"',       'R09', 'gaia_dr3',   109, 1, 90.0, 0.0, null, 8.0, 0.0, 0.0, 3.0, 209, 1),
    ('no sigma_opt nor Hp (Hip side)',              'R09', 'hipparcos2', 209, 2, 90.0, 0.000111111111, null, null, 0.0, 0.0, 28.0, 109, 1),
    ('across RA 0/360: 0.072" apart',               'R10', 'gaia_dr3',   110, 1, 359.99999, 0.0, 0.01, 8.0, 0.0, 0.0, 3.0, 210, 1),
    ('across RA 0/360 (Hip side)',                  'R10', 'hipparcos2', 210, 2, 0.00001, 0.0, 0.02, 8.0, 0.0, 0.0, 28.0, 110, 1),
    ('at the pole, Gaia moves 0.6" with the Hip pm', 'R11', 'gaia_dr3',  111, 1, 0.0, 90.0, 0.005, 8.0, null, null, 2.0, 211, 1),
    ('at the pole (Hip side)',                      'R11', 'hipparcos2', 211, 2, 0.0, 89.999833333333, 0.01, 8.0, 0.0, -300.0, 28.0, 111, 1),
    ('Hip without pm moves with the Gaia pm',       'R12', 'gaia_dr3',   112, 1, 100.0, 0.0, 0.01, 8.0, 0.0, 400.0, 3.0, 212, 1),
    ('Hip without pm, 11.2" south (Hip side)',      'R12', 'hipparcos2', 212, 2, 100.0, -0.003111111111, 0.05, 8.0, null, null, 28.0, 112, 1),
    ('one star, two radio sources: Gaia',           'R13a', 'gaia_dr3',  113, 1, 110.0, 0.0, 0.01, 8.0, 0.0, 0.0, 3.0, null, 1),
    ('one star, two radio sources: Hip',            'R13b', 'hipparcos2', 213, 1, 110.0, 0.0, 0.02, 8.0, 0.0, 0.0, 28.0, null, 1),
    ('binary: Hip photocentre, poor solution',      'R14', 'hipparcos2', 214, 1, 110.0, -60.0, 0.234, 9.8, -40.0, 10.0, 28.0, 114, 1),
    ('binary: Gaia primary 0.8" away',              'R14', 'gaia_dr3',   114, 2, 110.000314268188, -59.999842864787, 0.16, 9.36, null, null, 3.0, 214, 1),
    ('binary: Gaia secondary 1.2" away',            'R14', 'gaia_dr3',   124, 3, 109.999771984412, -60.000313230677, 0.16, 9.85, null, null, 3.0, null, 2),
    ('G - Hp = +1, the limit: linked',              'R15', 'gaia_dr3',   115, 1, 120.0, 0.0, 0.01, 9.0, 0.0, 0.0, 3.0, 215, 1),
    ('G - Hp = +1 (Hip side)',                      'R15', 'hipparcos2', 215, 2, 120.0, 0.000027777778, 0.02, 8.0, 0.0, 0.0, 28.0, 115, 1),
    ('near the pole, RA 180 deg apart, 0.1"',       'R16', 'gaia_dr3',   116, 2, 0.0, 89.999986111111, 0.01, 8.0, 0.0, 0.0, 3.0, 216, 1),
    ('near the pole (Hip side)',                    'R16', 'hipparcos2', 216, 1, 180.0, 89.999986111111, 0.02, 8.0, 0.0, 0.0, 28.0, 116, 1)
),
candidates as (
    select 'hand-cases'::text as run_id, * from cases
),
got as (
    select * from ({{ same_star_links('candidates') }}) s
)
select c.label, c.expected_counterpart_id, g.counterpart_id, c.expected_star_rank, g.star_rank
from candidates c
left join got g using (run_id, radio_source_name, optical_catalogue, optical_id)
where g.star_rank is null
   or g.counterpart_id is distinct from c.expected_counterpart_id
   or g.star_rank <> c.expected_star_rank
