"""The model layer and the SciPy engine against closed-form pharmacokinetics.

Hand-built 1- and 2-compartment models (written with the same Submodel API users extend the
model with) are integrated by the engine and compared with textbook solutions (Gibaldi &
Perrier, Pharmacokinetics, 2nd ed., ch. 1-2).  Tolerance: relative error < 1e-5, as issue #2
asks; the solver runs at rtol 1e-10 so the error budget is the solver's, not the model's.
"""

import numpy as np
import pytest

from nmdalab.engines.scipy_engine import integrate
from nmdalab.model.core import Submodel, compose
from nmdalab.regimen import Event, PatientEvents

RTOL = 1e-5  # issue #2 acceptance
TIGHT = {"method": "Radau", "rtol": 1e-11, "atol": 1e-14}


def one_compartment(absorption: bool = False):
    m = Submodel("c1", "one compartment")
    a = m.state("central", "umol", "amount", amount=True, balance="x")
    k = m.parameter("k", "1/h")
    v = m.parameter("v", "L")
    rate = -k * a
    if absorption:
        g = m.state("depot", "umol", "depot", amount=True, balance="x")
        ka = m.parameter("ka", "1/h")
        m.rate(g, -ka * g)
        rate = rate + ka * g
    m.rate(a, rate)
    m.output("c1.conc", a / v, "uM", "concentration")
    return compose(m)


def two_compartment():
    m = Submodel("c2", "two compartments, elimination from central")
    a1 = m.state("central", "umol", "central", amount=True)
    a2 = m.state("peripheral", "umol", "peripheral", amount=True)
    cl, q, v1, v2 = (m.parameter(n, u) for n, u in (("cl", "L/h"), ("q", "L/h"), ("v1", "L"), ("v2", "L")))
    m.rate(a1, -cl * a1 / v1 - q * (a1 / v1 - a2 / v2))
    m.rate(a2, q * (a1 / v1 - a2 / v2))
    m.output("c2.conc", a1 / v1, "uM", "concentration")
    return compose(m)


def _p(model, **values):
    return np.array([values[p.name.split(".")[-1]] for p in model.parameters])


def _conc(model, p, events, times):
    cm = model.compile()
    y = integrate(cm, p, events, times, **TIGHT)
    return cm.outputs(y, p)[0]


T = np.linspace(0, 24, 97)


def test_one_compartment_bolus():
    model = one_compartment()
    dose, k, v = 100.0, 0.3, 20.0
    c = _conc(model, _p(model, k=k, v=v), PatientEvents(boluses=[Event(0.0, 0, dose)]), T)
    exact = dose / v * np.exp(-k * T)
    np.testing.assert_allclose(c, exact, rtol=RTOL)


def test_one_compartment_infusion_during_and_after():
    model = one_compartment()
    dose, k, v, tinf = 100.0, 0.3, 20.0, 2.0
    c = _conc(model, _p(model, k=k, v=v), PatientEvents(infusions=[Event(0.0, 0, dose, tinf)]), T)
    r = dose / tinf
    during = r / (k * v) * (1 - np.exp(-k * T))
    after = r / (k * v) * (1 - np.exp(-k * tinf)) * np.exp(-k * (T - tinf))
    exact = np.where(T <= tinf, during, after)
    np.testing.assert_allclose(c[T > 0], exact[T > 0], rtol=RTOL)


def test_one_compartment_first_order_absorption():
    model = one_compartment(absorption=True)
    dose, k, v, ka, f = 100.0, 0.3, 20.0, 1.7, 1.0
    depot = model.state_index("c1.depot")
    c = _conc(model, _p(model, k=k, v=v, ka=ka), PatientEvents(boluses=[Event(0.0, depot, f * dose)]), T)
    exact = f * dose * ka / (v * (ka - k)) * (np.exp(-k * T) - np.exp(-ka * T))  # Bateman
    np.testing.assert_allclose(c[T > 0], exact[T > 0], rtol=RTOL)


def _biexp(cl, q, v1, v2):
    k10, k12, k21 = cl / v1, q / v1, q / v2
    s = k10 + k12 + k21
    alpha = (s + np.sqrt(s * s - 4 * k10 * k21)) / 2
    beta = (s - np.sqrt(s * s - 4 * k10 * k21)) / 2
    return k21, alpha, beta


def test_two_compartment_bolus():
    model = two_compartment()
    cl, q, v1, v2, dose = 10.0, 15.0, 20.0, 60.0, 100.0
    c = _conc(model, _p(model, cl=cl, q=q, v1=v1, v2=v2), PatientEvents(boluses=[Event(0.0, 0, dose)]), T)
    k21, a, b = _biexp(cl, q, v1, v2)
    exact = dose / v1 * ((a - k21) / (a - b) * np.exp(-a * T) + (k21 - b) / (a - b) * np.exp(-b * T))
    np.testing.assert_allclose(c, exact, rtol=RTOL)


def test_two_compartment_infusion():
    model = two_compartment()
    cl, q, v1, v2, dose, tinf = 10.0, 15.0, 20.0, 60.0, 100.0, 1.5
    c = _conc(model, _p(model, cl=cl, q=q, v1=v1, v2=v2), PatientEvents(infusions=[Event(0.0, 0, dose, tinf)]), T)
    k21, a, b = _biexp(cl, q, v1, v2)
    r = dose / tinf
    A = (a - k21) / (v1 * a * (a - b))
    B = (k21 - b) / (v1 * b * (a - b))

    def during(t):
        return r * (A * (1 - np.exp(-a * t)) + B * (1 - np.exp(-b * t)))

    def after(t):
        return r * (A * (1 - np.exp(-a * tinf)) * np.exp(-a * (t - tinf)) + B * (1 - np.exp(-b * tinf)) * np.exp(-b * (t - tinf)))

    exact = np.where(T <= tinf, during(T), after(T))
    np.testing.assert_allclose(c[T > 0], exact[T > 0], rtol=RTOL)


def test_repeated_boluses_superpose():
    """Linear PK: three doses = the sum of three shifted single-dose curves."""
    model = one_compartment()
    k, v = 0.3, 20.0
    doses = [(0.0, 50.0), (6.0, 80.0), (12.5, 30.0)]
    c = _conc(model, _p(model, k=k, v=v), PatientEvents(boluses=[Event(t, 0, d) for t, d in doses]), T)
    exact = sum(np.where(T >= t, d / v * np.exp(-k * (T - t)), 0.0) for t, d in doses)
    np.testing.assert_allclose(c, exact, rtol=RTOL)


def test_dose_at_an_output_time_is_seen_after_the_dose():
    """Right-continuous outputs: at t = 6 h the second dose is already in."""
    model = one_compartment()
    times = np.array([0.0, 6.0, 12.0])
    c = _conc(model, _p(model, k=0.0, v=1.0), PatientEvents(boluses=[Event(0.0, 0, 1.0), Event(6.0, 0, 2.0)]), times)
    np.testing.assert_allclose(c, [1.0, 3.0, 3.0], rtol=1e-12)


def test_compose_rejects_missing_interface_and_unit_mismatch():
    from nmdalab.errors import ModelError

    m = Submodel("a")
    x = m.state("x", "uM", "x")
    m.rate(x, -m.input("b.y", "uM"))
    with pytest.raises(ModelError, match="needs input 'b.y'"):
        compose(m)
    b = Submodel("b")
    y = b.state("y", "uM", "y")
    b.rate(y, 0)
    b.output("b.y", y, "nM", "y in nM")
    with pytest.raises(ModelError, match="expects 'b.y' in uM"):
        compose(m, b)


def test_optional_input_uses_its_default():
    m = Submodel("a")
    x = m.state("x", "1", "x", initial=1.0)
    m.rate(x, -m.input("hpa.factor", "1", default=2.0) * x)
    model = compose(m)
    cm = model.compile()
    assert cm.rhs(0.0, np.array([1.0]), np.array([]), np.zeros(1))[0] == pytest.approx(-2.0)


def test_generated_jacobian_matches_finite_differences():
    from nmdalab.model.core import Model
    from nmdalab.simulate import parameter_set

    model = Model.default(("pk",))
    cm = model.compile()
    p = parameter_set("human").bind(model).typical
    rng = np.random.default_rng(0)
    y = rng.uniform(0.1, 10.0, cm.n_states)
    J = cm.jac(0.0, y, p)
    h = 1e-6
    u = np.zeros_like(y)
    fd = np.column_stack([(cm.rhs(0.0, y + h * e, p, u) - cm.rhs(0.0, y - h * e, p, u)) / (2 * h) for e in np.eye(len(y))])
    np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-8)  # central differences: O(h^2) error


def test_chain_rule_jacobian_through_intermediates_matches_finite_differences():
    """A deep chain of outputs (a -> b -> c used by the rates) and a nonlinear rate: the generated
    Jacobian, built by the chain rule through the intermediates, equals central differences."""
    import sympy as sp

    m = Submodel("chain")
    x = m.state("x", "1", "x", initial=1.0)
    z = m.state("z", "1", "z", initial=0.5)
    k = m.parameter("k", "1/h")
    m.output("chain.a", x * z + sp.exp(-x), "1", "a")
    a = m.input("chain.a", "1")
    m.output("chain.b", a**2 / (1 + a), "1", "b")
    b = m.input("chain.b", "1")
    m.output("chain.c", sp.sqrt(b + z**2), "1", "c")
    c = m.input("chain.c", "1")
    m.rate(x, -k * c * x + b)
    m.rate(z, c - z**3)
    model = compose(m)
    cm = model.compile()
    y, p, u = np.array([0.7, 1.3]), np.array([0.4]), np.zeros(2)
    h = 1e-6
    fd = np.column_stack([(cm.rhs(0.0, y + h * e, p, u) - cm.rhs(0.0, y - h * e, p, u)) / (2 * h) for e in np.eye(2)])
    np.testing.assert_allclose(cm.jac(0.0, y, p), fd, rtol=1e-7, atol=1e-10)  # O(h^2) differencing error


def test_initial_value_from_another_layers_output():
    """A state may start at an input: composition resolves it through the providing layer's output and
    initial states (here y = 2 x with x(0) = p, so z(0) = 2 p + 1); a circle of such initials is an error."""
    from nmdalab.errors import ModelError

    a = Submodel("a")
    p = a.parameter("p", "1")
    x = a.state("x", "1", "x", initial=p)
    a.rate(x, -x)
    a.output("a.y", 2 * x, "1", "y")
    b = Submodel("b")
    z = b.state("z", "1", "z", initial=b.input("a.y", "1") + 1)
    b.rate(z, 0)
    cm = compose(a, b).compile()
    np.testing.assert_allclose(cm.initial(np.array([3.0])), [3.0, 7.0])
    c = Submodel("c")
    u = c.state("u", "1", "u", initial=c.input("c.v_out", "1"))
    v = c.state("v", "1", "v", initial=c.input("c.u_out", "1"))
    c.rate(u, 0)
    c.rate(v, 0)
    c.output("c.u_out", u, "1", "u")
    c.output("c.v_out", v, "1", "v")
    with pytest.raises(ModelError, match="circular initial values"):
        compose(c)


def test_initial_value_from_a_default_a_self_named_output_and_time():
    """The other paths of the initial-value resolution: an optional input's default, an output that
    publishes a state under the state's own name, and time (taken at t = 0)."""
    import sympy as sp

    from nmdalab.model.core import t

    a = Submodel("a")
    k = a.parameter("k", "1")
    x = a.state("x", "1", "x", initial=2 * k)
    a.rate(x, 0)
    a.output("a.x", x, "1", "x, under its own name")
    b = Submodel("b")
    w = b.state("w", "1", "w", initial=b.input("a.x", "1") * b.input("hpa.gain", "1", default=3.0) + sp.exp(-t))
    b.rate(w, 0)
    cm = compose(a, b).compile()
    np.testing.assert_allclose(cm.initial(np.array([1.5])), [3.0, 3.0 * 3.0 + 1.0])  # x0 = 3, w0 = 3 x0 + e^0


def test_algebraic_loop_is_an_error():
    from nmdalab.errors import ModelError

    m = Submodel("loop")
    x = m.state("x", "1", "x")
    m.output("loop.a", m.input("loop.b", "1") + x, "1", "a")
    m.output("loop.b", m.input("loop.a", "1"), "1", "b")
    m.rate(x, 0)
    with pytest.raises(ModelError, match="algebraic loop"):
        compose(m)


def test_generated_code_cache_round_trip(tmp_path, monkeypatch):
    """A cached compile gives the same functions as a fresh one."""
    monkeypatch.setenv("NMDALAB_CACHE_DIR", str(tmp_path))
    model = two_compartment()
    first = model.compile()
    assert list(tmp_path.glob("model-*.json"))
    second = model.compile()
    assert second.source == first.source
    np.testing.assert_array_equal(second.jacobian_sparsity, first.jacobian_sparsity)
