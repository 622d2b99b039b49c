import numpy as np
import pytest

from radiostars.crossmatch.bayes import (
    ln_bayes_factor,
    ln_bayes_factor_two,
    nway_probabilities,
    posterior_single,
    prior_from_density,
)
from radiostars.crossmatch.separation import ARCSEC_PER_RAD

pytestmark = pytest.mark.unit


def test_bayes_factor_formula_and_limits():
    s = 1.0
    # ψ = 0: B = 2/σ² (σ in rad) — huge for arcsec errors
    assert ln_bayes_factor(0.0, s) == pytest.approx(np.log(2 * ARCSEC_PER_RAD**2))
    assert ln_bayes_factor(0.0, 1e-3) > ln_bayes_factor(0.0, 1.0) > 20
    # huge σ: B → 2/σ² of order 1 → no evidence (σ = sqrt(2) rad gives exactly ln B = 0 at ψ = 0)
    assert ln_bayes_factor(0.0, np.sqrt(2) * ARCSEC_PER_RAD) == pytest.approx(0.0, abs=1e-12)
    # Gaussian fall-off
    assert ln_bayes_factor(3.0, 1.0) - ln_bayes_factor(0.0, 1.0) == pytest.approx(-4.5)
    assert ln_bayes_factor_two(2.0, 0.6, 0.8) == pytest.approx(ln_bayes_factor(2.0, 1.0))
    with pytest.raises(ValueError, match="sigma_arcsec"):
        ln_bayes_factor(1.0, 0.0)


def test_prior_and_single_posterior():
    rho = 1e-3  # per arcsec^2
    p = prior_from_density(rho, 0.5)
    assert p == pytest.approx(0.5 / (4 * np.pi * rho * ARCSEC_PER_RAD**2))
    # posterior odds = B P/(1-P): B·P equals c·(Gaussian density)/ρ for the pair
    lnb = ln_bayes_factor(0.5, 1.0)
    f = np.exp(-0.125) / (2 * np.pi)  # per arcsec^2
    assert np.exp(lnb) * p == pytest.approx(0.5 * f / rho, rel=1e-9)
    assert posterior_single(lnb, p) == pytest.approx(1 / (1 + (1 - p) / (np.exp(lnb) * p)))
    assert posterior_single(1e6, 1e-9) == 1.0 and posterior_single(-1e6, 1e-3) == pytest.approx(0.0)


def test_nway_one_vs_many_candidates():
    p = prior_from_density(1e-4, 0.5)
    lb_good = float(ln_bayes_factor(0.1, 0.5))
    # one strong candidate: p_any ≈ 1, p_i = 1
    pa, pi = nway_probabilities(["a"], [lb_good], p)
    assert pa[0] > 0.99 and pi[0] == 1.0
    # two identical candidates: p_i = 1/2 each, same p_any as the sum of weights
    pa, pi = nway_probabilities(["a", "a"], [lb_good, lb_good], p)
    assert np.allclose(pi, 0.5) and pa[0] == pa[1]
    # far candidate only: p_any small; groups are independent
    lb_far = float(ln_bayes_factor(4.0, 0.5))
    pa, pi = nway_probabilities(["a", "b", "b"], [lb_far, lb_good, lb_far], p)
    assert pa[0] < 0.01 and pa[1] > 0.99 and pi[1] > 0.999 and pi[2] < 1e-3 and pi[0] == 1.0
    w = np.exp(lb_far) * p
    assert pa[0] == pytest.approx(w / (1 + w))
