"""The batched engine against the SciPy reference engine and a tight-tolerance reference solve.

The batched engine integrates a whole arm at once over the generated vectorised right-hand side
(:mod:`nmdalab.engines.batch`).  Independent truths here: the per-patient SciPy engine (LSODA)
on every bundled example scenario (two patients, over the first day of its events: the whole
file runs in about half a minute), and DOP853 at rtol 1e-11 for a multi-dose population over 6 d.

The model is composed from the PK, magnesium and HPA layers: it covers every route, the
circadian (explicitly time-dependent) cortisol drive and the stressor inputs, and compiles in
about a second (the full default model takes much longer to generate, and the engine is
generic over the model).
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import nmdalab
from nmdalab.engines import batch
from nmdalab.examples import __file__ as _examples_init
from nmdalab.model.registry import default_model
from nmdalab.regimen import Event, PatientEvents

EXAMPLES = sorted(p for p in __import__("pathlib").Path(_examples_init).parent.glob("*.yaml"))
LAYERS = ("pk", "magnesium", "hpa")

#: both engines run at rtol 1e-6 / atol 1e-9; their global errors differ by a few rtol, so
#: agreement is asked within 2e-5 of each variable's peak over the population (plus 1e-9 absolute)
AGREE_REL = 2e-5


@pytest.fixture(scope="module")
def model():
    return default_model(LAYERS)


def _small(path, n=3, engine="scipy", method="LSODA", **solver):
    raw = yaml.safe_load(path.read_text())
    raw["population"]["n"] = n
    if str(raw.get("output_interval", "")).strip() in ("1 min", "5 min"):
        raw["output_interval"] = "15 min"  # fewer output points: the comparison is the same
    raw["solver"] = {"engine": engine, "method": method, **solver}
    return raw


#: every example is compared over its first day, or up to a day after its first dose or stressor
#: when that comes later (chronic-recreational-use doses first on Thursday evening, 93 h)
WINDOW_H = 24.0


def _first_event_h(sc) -> float:
    times = [t for doses in sc.arms.values() for d in doses for t in d.times_h]
    times += [t for items in sc.stressors.values() for st in (items or ()) for t in st.times_h]
    return min(times, default=0.0)


def _truncated(raw):
    """The scenario as validated in full, simulated over its first hours only: the same doses,
    stressors and patients, the events after the window simply not reached (the engines ignore
    breakpoints after the last output time)."""
    sc = nmdalab.load_scenario(raw)
    sc.duration_h = min(sc.duration_h, max(WINDOW_H, _first_event_h(sc) + WINDOW_H))
    return sc


def _max_dev(a, b):
    """Largest |a - b| per variable, relative to the variable's peak |b| (arm x patient x time)."""
    scale = np.nanmax(np.abs(b), axis=(0, 1, 2))
    dev = np.nanmax(np.abs(a - b), axis=(0, 1, 2))
    return dev, scale


_REF: dict = {}


def _cases():
    for path in EXAMPLES:
        for m in ("dopri5", "rosenbrock"):
            yield pytest.param(path, m, id=f"{path.stem}-{m}")


@pytest.mark.parametrize("path, method", list(_cases()))
def test_batch_agrees_with_scipy_on_every_example(path, method, model):
    """Every bundled example (two patients when it has variability, its own regimen, stressors,
    diagnosis and species), truncated to its first day of events: batched against SciPy LSODA
    at the same rtol/atol, within AGREE_REL of each variable's peak."""
    raw = _small(path, n=2)
    if path not in _REF:
        _REF[path] = nmdalab.simulate(_truncated(raw), model=model, states=True)
    ref = _REF[path]
    got = nmdalab.simulate(_truncated({**raw, "solver": {"engine": "batch", "method": method}}), model=model, states=True)
    assert np.array_equal(got.data["time"], ref.data["time"])
    assert (ref.status["status"] == "ok").all() and (got.status["status"] == "ok").all()
    dev, scale = _max_dev(got.data.values, ref.data.values)
    bad = [(v, d, s) for v, d, s in zip(got.variables, dev, scale) if d > AGREE_REL * s + 1e-9]
    assert not bad, bad[:5]


def test_truncation_keeps_the_first_doses():
    """The truncated window holds at least one dose or stressor of every example."""
    for path in EXAMPLES:
        sc = _truncated(_small(path, n=2))
        assert _first_event_h(sc) < sc.duration_h, path.stem


def test_batch_matches_tight_reference_multi_dose_population(model):
    """Four IV boluses 1.5 d apart to a varied population: batched (rtol 1e-6) against SciPy DOP853 at
    rtol 1e-11 / atol 1e-14."""
    raw = {"name": "multi", "duration": "6 d", "output_interval": "1 h",
           "population": {"n": 3, "seed": 5, "weight": {"mean": "75 kg", "sd": "12 kg"}},
           "arms": {"k": {"regimen": [{"drug": "ketamine", "route": "iv_bolus", "dose": "0.5 mg/kg",
                                       "start": "0 h", "every": "1.5 d", "count": 4}]}}}
    ref = nmdalab.simulate({**raw, "solver": {"engine": "scipy", "method": "DOP853", "rtol": 1e-11, "atol": 1e-14}},
                           model=model)
    for method in ("dopri5", "rosenbrock"):
        got = nmdalab.simulate({**raw, "solver": {"engine": "batch", "method": method}}, model=model)
        for var in ("plasma.ketamine", "plasma.norketamine", "brain.ketamine"):
            r, g = ref[var].values, got[var].values
            # 1e-5 of the peak: global error of a 5th/4th-order method at rtol 1e-6 over 4 doses
            assert np.max(np.abs(g - r)) <= 1e-5 * np.max(np.abs(r)), (method, var)


def test_per_patient_failure_does_not_abort_the_batch(model):
    """A patient with a NaN parameter fails alone, with a message naming the time and the states."""
    cm = model.compile()
    sc = nmdalab.load_scenario(_small(EXAMPLES[0], n=1))
    ps = nmdalab.simulate.__globals__["parameter_set"]("human")
    p = ps.bind(model).typical
    P = np.stack([p, p, p], axis=1)
    P[model.parameter_names.index("pk_s.vc"), 1] = np.nan
    k = model.state_index("pk_s.central")
    ev = PatientEvents(boluses=[Event(0.0, k, 100.0)])
    times = np.linspace(0, 24, 49)
    for method in ("dopri5", "rosenbrock"):
        Y, status = batch.run(cm, P, [ev, ev, ev], times, batch.Settings(method=method))
        assert status[0] == "ok" and status[2] == "ok", status
        assert status[1].startswith("batch solver failed at t = "), status[1]
        assert np.isnan(Y[1]).all() and np.isfinite(Y[[0, 2]]).all()
        np.testing.assert_array_equal(Y[0], Y[2])
    del sc


def test_different_event_times_per_patient(model):
    """Patients dosed at different times (union of breakpoints, per-patient jumps) match SciPy one by one."""
    from nmdalab.engines.scipy_engine import integrate

    cm = model.compile()
    p = nmdalab.simulate.__globals__["parameter_set"]("human").bind(model).typical
    k = model.state_index("pk_s.central")
    g = model.state_index("pk_s.gut")
    evs = [PatientEvents(boluses=[Event(0.0, k, 50.0)]),
           PatientEvents(boluses=[Event(3.3, g, 80.0)], infusions=[Event(1.0, k, 20.0, 0.5)]),
           PatientEvents(infusions=[Event(0.0, k, 30.0, 2.0)]),
           PatientEvents()]
    times = np.arange(0, 12.01, 0.25)
    P = np.repeat(p[:, None], len(evs), axis=1)
    for method in ("dopri5", "rosenbrock"):
        Y, status = batch.run(cm, P, evs, times, batch.Settings(method=method, rtol=1e-8, atol=1e-12))
        assert all(s == "ok" for s in status)
        for i, ev in enumerate(evs):
            ref = integrate(cm, p, ev, times, method="DOP853", rtol=1e-11, atol=1e-14)
            # rtol 1e-8: within 1e-6 of each state's peak (dense output included)
            peak = np.max(np.abs(ref), axis=1, keepdims=True)
            assert np.all(np.abs(Y[i] - ref) <= 1e-6 * peak + 1e-10), (method, i)


def test_auto_method_picks_by_stiffness(model):
    cm = model.compile()
    p = nmdalab.simulate.__globals__["parameter_set"]("human").bind(model).typical[:, None]
    y = cm.initial(p)
    assert batch.choose_method(cm, p, y, 1.0) == "dopri5"  # one hour: stability costs little
    assert batch.choose_method(cm, p, y, 1e6) == "rosenbrock"


def test_unknown_method_is_an_error():
    with pytest.raises(ValueError, match="allowed"):
        batch.Settings(method="euler")
