-- The reliability-class rule (macros/reliability_class.sql) on hand-made cases with the default vars
-- (class_a_p_any 0.9, class_a_p_i 0.9, class_b_p_i 0.5, p_any_cut_uncalibrated 0.5,
-- class_a_p_chance 0.001, class_b_p_chance 0.01). tests/unit/test_evaluate_metrics.py runs the same
-- cases through radiostars.evaluate.metrics.reliability_class.
with cases (label, p_any, p_i, p_chance, n_candidates, near, cut, expected) as (
    values
    -- Bayesian path: the run's calibrated cut 0.83
    ('a: secure',                     0.95::float8, 0.95::float8, 0.2::float8,   2, false, 0.83::float8, 'A'),
    ('a: at both limits',             0.9,  0.9,  0.5,   3, false, 0.83, 'A'),
    ('b: p_any below 0.9',            0.89, 0.99, 0.0,   1, false, 0.83, 'B'),
    ('a: a cut above 0.9 is the limit', 0.98, 0.95, 0.0, 1, false, 0.97, 'A'),
    ('c: p_any below a cut of 0.97',  0.95, 0.95, 0.0,   1, false, 0.97, 'C'),
    ('b: p_i below 0.9',              0.99, 0.89, 0.0,   1, false, 0.83, 'B'),
    ('b: known objects unknown',      0.99, 0.99, 0.0,   1, null,  0.83, 'B'),
    ('c: near a non-stellar object',  0.99, 0.99, 0.0,   1, true,  0.83, 'C'),
    ('c: p_any below the cut',        0.82, 0.99, 0.0,   1, false, 0.83, 'C'),
    ('b: p_any at the cut',           0.83, 0.5,  0.9,   2, false, 0.83, 'B'),
    ('c: another candidate likelier', 0.99, 0.49, 0.0,   2, false, 0.83, 'C'),
    ('b: uncalibrated run, cut 0.5',  0.5,  0.5,  0.9,   2, false, null, 'B'),
    ('c: uncalibrated run',           0.49, 0.99, 0.0,   1, false, null, 'C'),
    -- without p_any / p_i: p_chance path
    ('a: p_chance',                   null, null, 0.0009, 1, false, 0.83, 'A'),
    ('b: two candidates',             null, null, 0.0009, 2, false, null, 'B'),
    ('b: p_chance at the A limit',    null, null, 0.001, 1, false, null, 'B'),
    ('b: known objects unknown',      null, null, 0.0001, 1, null,  null, 'B'),
    ('c: p_chance at the B limit',    null, null, 0.01,  1, false, null, 'C'),
    ('c: near, p_chance path',        null, null, 0.0001, 1, true,  null, 'C'),
    ('c: p_any without p_i',          0.99, null, 0.02,  1, false, 0.83, 'C')
)
select label, expected,
       {{ reliability_class('p_any', 'p_i', 'p_chance', 'n_candidates', 'near', 'cut') }} as got
from cases
where {{ reliability_class('p_any', 'p_i', 'p_chance', 'n_candidates', 'near', 'cut') }} <> expected
