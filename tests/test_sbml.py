"""SBML export checked by an independent engine: libRoadRunner simulates the exported file and must
match nmdalab's own (SciPy, tight tolerance) solution to 1e-4 relative."""

from __future__ import annotations

import numpy as np
import pytest

from nmdalab.model.registry import default_model

libsbml = pytest.importorskip("libsbml")
roadrunner = pytest.importorskip("roadrunner")

from nmdalab.engines.scipy_engine import integrate  # noqa: E402
from nmdalab.io import sbml  # noqa: E402

LAYERS = ("pk", "magnesium", "hpa")  # every route, an explicitly time-dependent rate, compiles fast


def _scenario(route, dose, **extra):
    item = {"drug": "ketamine", "route": route, "dose": dose, "at": ["0 h", "12 h"], **extra}
    return {"name": f"sbml-{route}", "duration": "24 h", "output_interval": "15 min",
            "population": {"n": 1, "variability": False}, "arms": {"a": {"regimen": [item]}}}


CASES = {
    "iv_bolus": _scenario("iv_bolus", "0.5 mg/kg"),
    "iv_infusion": _scenario("iv_infusion", "0.5 mg/kg", duration="40 min"),
    "oral": _scenario("oral", "50 mg"),
    "intranasal": {**_scenario("intranasal", "56 mg"), "arms": {"a": {"regimen": [
        {"drug": "esketamine", "route": "intranasal", "dose": "56 mg", "at": ["0 h", "12 h"]}]}}},
}


@pytest.fixture(scope="module")
def model():
    return default_model(LAYERS)


@pytest.mark.parametrize("case", list(CASES))
def test_roadrunner_on_exported_sbml_matches_nmdalab(case, model, tmp_path):
    m, p, ev = sbml.scenario_patient(CASES[case], model=model)
    path = tmp_path / f"{case}.xml"
    text = sbml.write(path, m, p, ev)
    assert sbml.check(text) == []
    cm = m.compile()
    times = np.arange(0, 24.001, 0.25)
    ref = integrate(cm, p, ev, times, method="DOP853", rtol=1e-11, atol=1e-14)
    rr = roadrunner.RoadRunner(str(path))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-14
    names = [s.name for s in m.state_symbols]
    res = rr.simulate(0, 24, len(times), ["time", *names])
    got = np.asarray(res)[:, 1:].T
    np.testing.assert_allclose(np.asarray(res)[:, 0], times, atol=1e-9)
    # relative 1e-4 of each state's peak (states that stay ~0 compared at 1e-12 absolute)
    peak = np.max(np.abs(ref), axis=1, keepdims=True)
    bad = np.abs(got - ref) > 1e-4 * peak + 1e-12
    assert not bad.any(), [names[i] for i in np.unique(np.nonzero(bad)[0])][:5]


def test_export_carries_units_initial_assignments_and_events(model):
    m, p, ev = sbml.scenario_patient(CASES["iv_infusion"], model=model)
    doc = libsbml.readSBMLFromString(sbml.to_sbml(m, p, ev))
    sm = doc.getModel()
    assert sm.getNumEvents() == 2 * len(ev.infusions) + len(ev.boluses)  # an infusion: on and off
    assert sum(1 for r in sm.getListOfRules() if r.isRate()) == len(m.states)
    assert sm.getNumUnitDefinitions() > 3
    n_expr_init = sum(1 for s in m.states if not s.initial.is_number)
    assert sm.getNumInitialAssignments() == n_expr_init
