"""``simulate(scenario) -> Results``: the stages, one after the other.

model (symbols) -> parameter set (per species and product) -> compiled system ->
virtual patients -> dosing events -> engine run -> Results.
"""

from __future__ import annotations

import platform
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import scipy
import xarray as xr

from . import parameters as params_mod
from . import population
from .errors import SolverError
from .model.core import CompiledModel, Model
from .model.hpa import stressor_events
from .model.mood import arm_parameters
from .regimen import DRUGS, dose_events, merge
from .results import Results
from .scenario import DEFAULT_WEIGHT_KG, Scenario, load_scenario

SPECIES_SETS = {"human": ("human",), "rat": ("human", "rodent"), "mouse": ("human", "rodent")}


@lru_cache(maxsize=8)
def _compiled(model: Model) -> CompiledModel:
    return model.compile()


def parameter_set(species: str, drugs: set[str] | frozenset[str] = frozenset()) -> params_mod.ParameterSet:
    """The parameter set for a species, with the product sets of the drugs an arm doses."""
    names = list(SPECIES_SETS[species])
    names += [DRUGS[d].product_set for d in sorted(drugs) if DRUGS[d].product_set]
    ps = params_mod.load(names[0])
    for n in names[1:]:
        ps = ps.overlay(params_mod.load(n))
    return ps


def simulate(
    scenario,
    model: Model | None = None,
    parameters: params_mod.ParameterSet | None = None,
    states: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Results:
    """Run a scenario.

    Parameters
    ----------
    scenario : Scenario, dict or path
        Anything :func:`~nmdalab.load_scenario` accepts.
    model : Model, optional
        Defaults to :meth:`Model.default`.
    parameters : ParameterSet, optional
        Replaces the bundled species/product set for every arm.
    states : bool
        Also keep every state variable (``pk_s.central`` ...), e.g. to check mass balance.
    progress : callable(done, total), optional
        Called after each patient.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    model = model or Model.default()
    times = output_times(sc)
    outs = [o for o in model.outputs if o.public]
    var_names = [o.name for o in outs] + (model.state_names if states else [])
    var_units = {o.name: o.unit for o in outs}
    if states:
        var_units.update({s.name: s.unit for s in model.states})
    n = sc.n
    arr = np.full((len(sc.arms), n, len(times), len(var_names)), np.nan)
    cov_rows, status_rows, param_meta = [], [], {}
    total, done = len(sc.arms) * n, 0
    t_start = _time.perf_counter()
    for arm in sc.arms:
        run = simulate_arm(sc, arm, model, parameters=parameters, states=states, times=times,
                           progress=progress, done=done, total=total)
        a = run.arm_index
        param_meta[arm] = run.param_meta
        if n == 1 and run.status[0] != "ok":
            raise SolverError(run.status[0])
        good = run.good
        if good.any():
            arr[a, run.index[good]] = run.values[good]
        cov_rows.extend(run.covariates)
        status_rows.extend({"arm": arm, "patient": int(i), "status": st} for i, st in zip(run.index, run.status))
        done += len(run.index)
    data = xr.DataArray(arr, dims=("arm", "patient", "time", "variable"),
                        coords={"arm": list(sc.arms), "patient": np.arange(n), "time": times, "variable": var_names})
    prov = provenance(sc, model, param_meta, _time.perf_counter() - t_start)
    return Results(data, var_units, pd.DataFrame(cov_rows), pd.DataFrame(status_rows), prov,
                   [e.model_dump(exclude_none=True) for e in sc.endpoints])


@dataclass
class ArmRun:
    """Patients ``index`` of one arm: public outputs (then states) per patient, time, variable."""

    arm: str
    arm_index: int
    index: np.ndarray  # patient indices (population.sample order)
    values: np.ndarray  # (n_patients, n_times, n_variables), NaN for a failed patient
    variables: list[str]
    units: dict[str, str]
    times: np.ndarray
    status: list[str]
    covariates: list[dict]
    param_meta: dict

    @property
    def good(self) -> np.ndarray:
        return np.array([st == "ok" for st in self.status], dtype=bool)


def output_times(sc: Scenario) -> np.ndarray:
    times = np.arange(0.0, sc.duration_h + 1e-9, sc.output_interval_h)
    if times[-1] < sc.duration_h - 1e-9:
        times = np.append(times, sc.duration_h)
    return times


def simulate_arm(
    sc: Scenario,
    arm: str,
    model: Model | None = None,
    parameters: params_mod.ParameterSet | None = None,
    patients: range | None = None,
    states: bool = False,
    times: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
    done: int = 0,
    total: int = 0,
) -> ArmRun:
    """Simulate patients ``patients`` (default: all ``sc.n``) of one arm.

    Patient ``i`` is the same virtual patient whatever range it is run in: its random numbers
    come from ``(seed, arm index, i)`` (:func:`nmdalab.population.sample`), so any split of an
    arm into ranges gives the numbers of the whole-arm run.
    """
    model = model or Model.default()
    cm = _compiled(model)
    times = output_times(sc) if times is None else times
    outs = [o for o in model.outputs if o.public]
    out_idx = [model.outputs.index(o) for o in outs]
    var_names = [o.name for o in outs] + (model.state_names if states else [])
    var_units = {o.name: o.unit for o in outs}
    if states:
        var_units.update({s.name: s.unit for s in model.states})
    a = list(sc.arms).index(arm)
    doses = sc.arms[arm]
    pop = sc.population
    drugs = {d.drug for d in doses}
    ps = parameters or parameter_set(sc.species, drugs)
    ps = arm_parameters(ps, pop.diagnosis, sc.interventions.get(arm, ()))  # mood layer: diagnosis, interventions
    bound = ps.bind(model)
    param_meta = {"set": ps.name, "hash": ps.hash(), "sources": ps.citations(model)}
    default_w = DEFAULT_WEIGHT_KG[sc.species]
    rng = range(sc.n) if patients is None else patients
    if not pop.variability:
        rng = range(0, 1) if 0 in rng else range(0)
    if rng.step != 1:
        raise ValueError("patients must be a contiguous range")
    sampled = population.sample(arm, a, len(rng), pop.seed, pop.variability, pop.weight, pop.age,
                                default_w, len(bound.names), bound.omega, pop.serum_mg, start=rng.start,
                                names=bound.names, correlation=bound.correlation)
    P = np.empty((len(bound.names), len(sampled)))
    events, cov_rows = [], []
    for k, pat in enumerate(sampled):
        p = pat.parameters(bound)
        P[:, k] = p
        values = dict(zip(bound.names, p))
        events.append(merge([dose_events(d, pat.weight_kg, values, model.state_index)
                             for d in doses]
                            # stressors feed the HPA stress drive (nmdalab.model.hpa)
                            + [stressor_events(sc.stressors.get(arm), pop.chronic_stress, sc.duration_h, values, model)]))
        cov_rows.append({"arm": arm, "patient": pat.index, "weight_kg": pat.weight_kg, "age_years": pat.age_years,
                         "serum_mg_mM": pat.serum_mg_mM})
    idx = np.array([pat.index for pat in sampled], dtype=int)
    vals = np.full((len(sampled), len(times), len(var_names)), np.nan)
    if not len(sampled):
        return ArmRun(arm, a, idx, vals, var_names, var_units, times, [], [], param_meta)
    Y, status = run_engine(cm, P, events, times, sc.solver, progress=progress, done=done, total=total)
    good = np.array([st == "ok" for st in status])
    if good.any():
        Yg = np.moveaxis(Y[good], 0, 1)  # (n_states, n_good, n_times)
        o = np.asarray(cm.outputs(Yg, P[:, good, None], times))[out_idx]  # (n_outputs, n_good, n_times)
        vals[good, :, : len(outs)] = np.moveaxis(o, 0, -1)
        if states:
            vals[good, :, len(outs):] = np.moveaxis(Y[good], 1, -1)
    return ArmRun(arm, a, idx, vals, var_names, var_units, times, list(status), cov_rows, param_meta)


def integrate_patient(cm, p, events, times, sc: Scenario):
    from .engines.scipy_engine import integrate

    s = sc.solver
    return integrate(cm, p, events, times, method=scipy_method(s.method), rtol=s.rtol, atol=s.atol)


# ------------------------------------------------------------------------------------------
# engines: run(cm, P[n_params, n], events[n], times, solver) -> (states[n, n_states, n_times], status[n])
# ------------------------------------------------------------------------------------------

#: scipy ``solve_ivp`` method for the engine-neutral method names
_SCIPY_METHOD = {"auto": "LSODA", "dopri5": "RK45", "rosenbrock": "Radau"}
#: batched-engine method for the SciPy method names
_BATCH_METHOD = {"LSODA": "auto", "RK45": "dopri5", "DOP853": "dopri5", "BDF": "rosenbrock", "Radau": "rosenbrock"}


def scipy_method(method: str) -> str:
    return _SCIPY_METHOD.get(method, method)


def batch_method(method: str) -> str:
    return _BATCH_METHOD.get(method, method)


def _run_scipy(cm, P, events, times, solver, progress=None, done=0, total=0):
    """The reference engine, one patient after the other."""
    from .engines.scipy_engine import integrate

    n = P.shape[1]
    Y = np.full((n, cm.n_states, len(times)), np.nan)
    status = []
    for k in range(n):
        try:
            Y[k] = integrate(cm, P[:, k], events[k], times, method=scipy_method(solver.method),
                             rtol=solver.rtol, atol=solver.atol)
        except SolverError as exc:
            if n == 1:
                raise
            status.append(str(exc))
        else:
            status.append("ok")
        if progress:
            progress(done + k + 1, total)
    return Y, status


def _run_batch(cm, P, events, times, solver, progress=None, done=0, total=0):
    """The batched engine: the whole arm at once."""
    from .engines import batch

    settings = batch.Settings(method=batch_method(solver.method), rtol=solver.rtol, atol=solver.atol)
    Y, status = batch.run(cm, P, events, times, settings)
    if progress:
        progress(done + P.shape[1], total)
    return Y, status


def _run_compiled(cm, P, events, times, solver, progress=None, done=0, total=0):
    """The compiled engine: every patient by Numba-compiled code, in parallel over patients."""
    from .engines import compiled

    settings = compiled.Settings(method=batch_method(solver.method), rtol=solver.rtol, atol=solver.atol)
    Y, status = compiled.run(cm, P, events, times, settings)
    if progress:
        progress(done + P.shape[1], total)
    return Y, status


ENGINES = {"scipy": _run_scipy, "batch": _run_batch, "compiled": _run_compiled}
#: ``engine: auto``: the compiled engine from this many patients in a call (its one-off compilation,
#: cached on disk, pays off), the batched engine from AUTO_BATCH_MIN, else the SciPy engine
AUTO_COMPILED_MIN = 200
AUTO_BATCH_MIN = 20


def choose_engine(n_patients: int) -> str:
    """The engine ``engine: auto`` uses for a call with ``n_patients`` patients."""
    from .engines import compiled

    if n_patients >= AUTO_COMPILED_MIN and compiled.available():
        return "compiled"
    return "batch" if n_patients >= AUTO_BATCH_MIN else "scipy"


def run_engine(cm, P, events, times, solver, progress=None, done=0, total=0):
    """Integrate the patients (columns of ``P``) with the engine the solver settings name."""
    engine = choose_engine(P.shape[1]) if solver.engine == "auto" else solver.engine
    return ENGINES[engine](cm, P, events, times, solver, progress=progress, done=done, total=total)


def provenance(sc: Scenario, model: Model, param_meta: dict, wall_s: float) -> dict:
    from . import __version__

    return {
        "nmdalab_version": __version__,
        "scenario": sc.raw | {"name": sc.name},
        "model_hash": model.hash(),
        "model_states": len(model.states),
        "parameter_sets": param_meta,
        "solver": sc.solver.model_dump(),
        "seed": sc.population.seed,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "wall_time_s": round(wall_s, 3),
    }
