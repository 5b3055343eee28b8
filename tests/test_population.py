"""Virtual-patient draws: independent of chunking and of the rest of the parameter list."""

import numpy as np
from scipy import stats

from nmdalab import population


def _etas(names, omega, n=50, start=0, seed=3):
    pats = population.sample("a", 1, n, seed, True, None, None, 70.0, len(names), np.asarray(omega), start=start,
                             names=list(names))
    return np.array([p.eta for p in pats])


def test_adding_a_parameter_leaves_the_other_draws_alone():
    names, omega = ["pk.cl", "mood.responsiveness", "pk.v1"], [0.3, 1.2, 0.2]
    before = _etas(names, omega)
    after = _etas(["pk.cl", "plasticity.new", "mood.responsiveness", "pk.v1", "mood.madrs_max"], [0.3, 0.5, 1.2, 0.2, 0.0])
    assert np.array_equal(after[:, [0, 2, 3]], before)  # bit-identical, whatever was inserted
    assert np.all(after[:, 4] == 0)  # no variability, no effect
    # more variability on one parameter scales its own effect only
    wider = _etas(names, [0.3, 2.4, 0.2])
    assert np.array_equal(wider[:, [0, 2]], before[:, [0, 2]]) and np.allclose(wider[:, 1], 2 * before[:, 1])


def test_draws_do_not_depend_on_chunking():
    names, omega = ["a", "b"], [1.0, 1.0]
    whole = _etas(names, omega, n=40)
    parts = np.vstack([_etas(names, omega, n=15, start=0), _etas(names, omega, n=25, start=15)])
    assert np.array_equal(whole, parts)


def test_keyed_draws_are_standard_normal_and_independent():
    """4000 patients x 2 parameters: Kolmogorov-Smirnov against N(0, 1) (p > 0.001: a test that
    fails by chance once in a thousand seeds, and this seed is fixed) and no correlation between the
    two parameters' draws (|r| < 4/sqrt(n), four standard errors)."""
    z = _etas(["x.one", "x.two"], [1.0, 1.0], n=4000)
    for k in range(2):
        assert stats.kstest(z[:, k], "norm").pvalue > 1e-3
    assert abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]) < 4 / np.sqrt(4000)


def test_correlated_random_effects_have_the_declared_correlation():
    """A correlation declared by parameter 0 with parameter 1 (``iiv_correlation``): over 4000 patients the
    sample correlation lies within four standard errors ((1 - rho^2) / sqrt(n)) of rho, both marginals stay
    N(0, omega^2) (KS, p > 0.001), and the partner that declares nothing keeps its own draws bit for bit."""
    names, omega, rho, n = ["plasticity.k", "mood.r", "pk.cl"], np.array([0.8, 1.2, 0.3]), -0.7, 4000
    pats = population.sample("a", 1, n, 3, True, None, None, 70.0, 3, omega, names=names, correlation=((0, 1, rho),))
    eta = np.array([p.eta for p in pats])
    assert abs(np.corrcoef(eta[:, 0], eta[:, 1])[0, 1] - rho) < 4 * (1 - rho**2) / np.sqrt(n)
    for k in range(2):
        assert stats.kstest(eta[:, k] / omega[k], "norm").pvalue > 1e-3
    alone = _etas(names, omega, n=n)
    assert np.array_equal(eta[:, 1:], alone[:, 1:])
    assert abs(np.corrcoef(eta[:, 0], eta[:, 2])[0, 1]) < 4 / np.sqrt(n)


def test_bad_correlations_are_refused(tmp_path):
    from dataclasses import replace

    import pytest

    import nmdalab
    from nmdalab import parameters
    from nmdalab.errors import ParameterError
    from nmdalab.model.registry import default_model

    f = tmp_path / "p.yaml"
    f.write_text("a.x: {value: 1, unit: '1', grade: D, source: 'assumed: test', iiv: 0.5, iiv_correlation: {a.y: 1.2}}\n")
    with pytest.raises(ParameterError, match="a.x.*a.y.*strictly between -1 and 1"):
        parameters.load(str(f))
    for text, msg in (("{value: 1, unit: '1', grade: D, source: 'assumed: t', iiv: -0.5}", "iiv -0.5; allowed: >= 0"),
                      ("{value: 1, unit: '1', grade: D, source: 'assumed: t', iiv_correlation: {a.y: 0.5}}", "no iiv"),
                      ("{value: 1, unit: '1', grade: D, source: 'assumed: t', iiv: 0.5, iiv_correlation: {a.x: 0.5}}",
                       "itself")):
        f.write_text(f"a.x: {text}\n")
        with pytest.raises(ParameterError, match=msg):
            parameters.load(str(f))
    # a misspelt partner is an error at bind, not a silently independent random effect
    ps = nmdalab.load_parameters("human")
    bad = ps["plasticity.k_synaptic_turnover"]
    ps.parameters[bad.name] = replace(bad, iiv_correlation=(("mood.responsivness", -0.9),))
    with pytest.raises(ParameterError, match="mood.responsivness"):
        ps.bind(default_model(("pk", "magnesium", "nmda", "circuit", "plasticity", "mood")))
    # the same pair declared twice with different values (0 included)
    with pytest.raises(ParameterError, match="given twice"):
        population.sample("a", 1, 2, 3, True, None, None, 70.0, 2, np.ones(2), names=["a", "b"],
                          correlation=((0, 1, 0.0), (1, 0, 0.5)))
    # three pairwise correlations that no joint normal can have
    with pytest.raises(ParameterError, match="not positive definite"):
        population.sample("a", 1, 2, 3, True, None, None, 70.0, 3, np.ones(3), names=["a", "b", "c"],
                          correlation=((0, 1, 0.9), (0, 2, 0.9), (1, 2, -0.9)))
