"""Virtual-population benchmark: compiled and batched engines vs SciPy vs libRoadRunner on the same patients.

The population: ``--n`` patients (default 10,000) with the published inter-individual variability
of the bundled human parameter set (weight 75 +- 12 kg), 28 days, racemic ketamine 35 mg IV over
40 min every 3.5 days (8 doses), hourly output, on the PK model (``Model.default(("pk",))``).

* compiled engine (``nmdalab.engines.compiled``, Numba, one thread per core): every patient, in
  calls of ``--batch`` patients writing into one reused output buffer, with ``--method`` (default
  rosenbrock) at rtol 1e-6 / atol 1e-9
  (the nominal tolerances of the others) and at ``--match-rtol`` (default 1e-5 / atol 1e-8), the
  tolerance at which its deviation from the reference is about libRoadRunner's at 1e-6;
  its compile/load time is reported separately (cold: run with empty ``NUMBA_CACHE_DIR`` and
  ``NMDALAB_CACHE_DIR``, see docs/performance.md);
* batched engine (``nmdalab.engines.batch``, DOPRI5, rtol 1e-6 / atol 1e-9): ``--batched-n``
  patients (default 1000) at once, one process, extrapolated;
* SciPy engine (``solve_ivp`` LSODA, same tolerances, per patient): a sample of ``--scipy-n``
  patients, throughput extrapolated;
* libRoadRunner (CVODE, same tolerances) on the SBML nmdalab exports (``nmdalab.io.sbml``): one
  model per process, a loop over patients setting their parameters and initial states, in a pool
  of ``--procs`` processes (default: every core), every patient;
* accuracy: on the first ``--ref-n`` patients, the largest deviation of each engine from SciPy
  DOP853 at rtol 1e-11 / atol 1e-14, over every state and time, relative to the state's peak.

Run: ``make bench`` or ``python benchmarks/bench_population.py [--n 10000]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import time

import numpy as np

import nmdalab
from nmdalab import population
from nmdalab.engines import batch, compiled
from nmdalab.engines.scipy_engine import integrate
from nmdalab.regimen import dose_events, merge
from nmdalab.scenario import DEFAULT_WEIGHT_KG
from nmdalab.simulate import _compiled, output_times, parameter_set

RTOL, ATOL = 1e-6, 1e-9

SCENARIO = {
    "name": "bench-population", "duration": "28 d", "output_interval": "1 h",
    "population": {"n": 10_000, "seed": 2024, "weight": {"mean": "75 kg", "sd": "12 kg"}},
    "arms": {"ketamine": {"regimen": [{"drug": "ketamine", "route": "iv_infusion", "dose": "35 mg",
                                       "duration": "40 min", "start": "0 h", "every": "3.5 d", "count": 8}]}},
}


def prepare(n: int):
    """Model, compiled model, parameter matrix (n_params, n), per-patient events, output times."""
    model = nmdalab.Model.default(("pk",))
    cm = _compiled(model)
    sc = nmdalab.load_scenario({**SCENARIO, "population": {**SCENARIO["population"], "n": n}})
    arm, doses = next(iter(sc.arms.items()))
    bound = parameter_set(sc.species, {d.drug for d in doses}).bind(model)
    pop = sc.population
    pats = population.sample(arm, 0, n, pop.seed, True, pop.weight, pop.age, DEFAULT_WEIGHT_KG[sc.species],
                             len(bound.names), bound.omega, names=bound.names)
    P = np.stack([pat.parameters(bound) for pat in pats], axis=1)
    events = [merge([dose_events(d, pat.weight_kg, dict(zip(bound.names, P[:, k])), model.state_index) for d in doses])
              for k, pat in enumerate(pats)]
    return model, cm, P, events, output_times(sc)


# -- libRoadRunner worker ----------------------------------------------------------------------
_RR = {}


def _rr_init(sbml_text: str, param_ids: list[str], state_ids: list[str]):
    import roadrunner

    rr = roadrunner.RoadRunner(sbml_text)
    rr.integrator.relative_tolerance = RTOL
    rr.integrator.absolute_tolerance = ATOL
    _RR.update(rr=rr, params=param_ids, states=state_ids)


def _rr_run(args):
    """Patients P[:, k] with their initial states Y0[:, k]: the states at the output times."""
    P, Y0, t_end, n_out = args
    rr, params, states = _RR["rr"], _RR["params"], _RR["states"]
    out = np.empty((P.shape[1], len(states), n_out))
    for k in range(P.shape[1]):
        rr.resetAll()
        for pid, v in zip(params, P[:, k]):
            rr.setValue(pid, float(v))
        for sid, v in zip(states, Y0[:, k]):
            rr.setValue(sid, float(v))
        res = rr.simulate(0.0, t_end, n_out, states)
        out[k] = np.asarray(res).T
    return out


def _rel_dev(got: np.ndarray, ref: np.ndarray) -> float:
    """max |got - ref| / peak|ref| over patients, times and states (states with a peak > 1e-12)."""
    peak = np.max(np.abs(ref), axis=(0, 2))
    keep = peak > 1e-12
    return float(np.max(np.abs(got - ref)[:, keep] / peak[None, keep, None]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="patients (default 10000)")
    ap.add_argument("--batch", type=int, default=2000, help="patients per compiled-engine call")
    ap.add_argument("--batched-n", type=int, default=1000, help="patients run by the batched NumPy engine (extrapolated)")
    ap.add_argument("--match-rtol", type=float, default=1e-5, help="compiled engine's rtol for matching accuracy (atol = rtol/1000)")
    ap.add_argument("--threads", type=int, default=None, help="compiled-engine threads (default: all cores)")
    ap.add_argument("--scipy-n", type=int, default=50, help="patients run by the SciPy engine (extrapolated)")
    ap.add_argument("--ref-n", type=int, default=5, help="patients in the tight-tolerance accuracy check")
    ap.add_argument("--procs", type=int, default=os.cpu_count(), help="libRoadRunner processes (default: all cores)")
    ap.add_argument("--method", default="rosenbrock", choices=batch.METHODS, help="compiled-engine method")
    args = ap.parse_args(argv)
    n = args.n
    from nmdalab.io import sbml

    load0 = os.getloadavg()
    t = time.perf_counter()
    model, cm, P, events, times = prepare(n)
    prep_s = time.perf_counter() - t
    ev0 = events[0]
    assert all(e == ev0 for e in events), "the benchmark regimen must be the same for every patient (fixed mg)"
    rows = {}

    # compiled engine: compile (or load from the cache) first, timed separately
    t = time.perf_counter()
    compiled.run(cm, P[:, :1], events[:1], times, compiled.Settings(method=args.method, rtol=RTOL, atol=ATOL))
    compile_s = time.perf_counter() - t
    first_rows = {}
    nth = args.threads or compiled.n_threads()
    # one output buffer reused by the calls (as a trial writing chunk after chunk would do)
    buf = np.empty((min(args.batch, n), len(times), cm.n_states))
    for rtol in (RTOL, args.match_rtol):
        atol = rtol * ATOL / RTOL
        t = time.perf_counter()
        nb = 0
        for i0 in range(0, n, args.batch):
            i1 = min(i0 + args.batch, n)
            Y, status = compiled.run(cm, P[:, i0:i1], events[i0:i1], times,
                                     compiled.Settings(method=args.method, rtol=rtol, atol=atol), threads=nth,
                                     buffer=buf[: i1 - i0])
            nb += sum(s == "ok" for s in status)
            if i0 == 0:
                first_rows[rtol] = Y[: args.ref_n].copy()
        tc = time.perf_counter() - t
        rows[f"compiled {args.method} rtol {rtol:g} ({nth} threads)"] = (n / tc, nb, tc)
        n_failed = n - nb

    # batched NumPy engine on a sample
    nbat = min(args.batched_n, n)
    t = time.perf_counter()
    Yb, _ = batch.run(cm, P[:, :nbat], events[:nbat], times, batch.Settings(method="dopri5", rtol=RTOL, atol=ATOL))
    tb = time.perf_counter() - t
    Yb_ref = Yb[: args.ref_n].copy()
    del Yb
    rows[f"batched NumPy dopri5 (1 process, {nbat} patients, extrapolated)"] = (nbat / tb, nbat, tb)

    # SciPy engine on a sample
    ns = min(args.scipy_n, n)
    t = time.perf_counter()
    Ys = [integrate(cm, P[:, k], events[k], times, method="LSODA", rtol=RTOL, atol=ATOL) for k in range(ns)]
    ts = time.perf_counter() - t
    rows[f"SciPy LSODA (1 process, {ns} patients, extrapolated)"] = (ns / ts, ns, ts)

    # libRoadRunner on the exported SBML, every patient, a pool of processes
    text = sbml.to_sbml(model, P[:, 0], ev0, name="bench")
    param_ids = [s.name for s in model.parameter_symbols]
    state_ids = [s.name for s in model.state_symbols]
    Y0 = np.asarray(cm.initial(P), dtype=float).reshape(cm.n_states, n)
    parts = [(P[:, i0:i0 + 250], Y0[:, i0:i0 + 250], float(times[-1]), len(times)) for i0 in range(0, n, 250)]
    t = time.perf_counter()
    with mp.get_context("fork").Pool(args.procs, initializer=_rr_init, initargs=(text, param_ids, state_ids)) as pool:
        first = None
        for j, Yr in enumerate(pool.imap(_rr_run, parts)):
            if j == 0:
                first = Yr[: args.ref_n].copy()
    tr = time.perf_counter() - t
    rows[f"libRoadRunner CVODE ({args.procs} processes)"] = (n / tr, n, tr)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    # accuracy against a tight reference
    k = min(args.ref_n, n, ns)
    ref = np.stack([integrate(cm, P[:, i], events[i], times, method="DOP853", rtol=1e-11, atol=1e-14) for i in range(k)])
    names = list(rows)
    dev = {names[0]: _rel_dev(first_rows[RTOL][:k], ref), names[1]: _rel_dev(first_rows[args.match_rtol][:k], ref),
           names[2]: _rel_dev(Yb_ref[:k], ref), names[3]: _rel_dev(np.stack(Ys[:k]), ref), names[4]: _rel_dev(first[:k], ref)}

    load = os.getloadavg()
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), platform.processor())
    print(f"population: {n} patients x 28 d, hourly output ({len(times)} times), {len(model.states)} states (PK model), "
          f"8 IV infusions; rtol {RTOL:g} / atol {ATOL:g}; preparation {prep_s:.1f} s")
    print(f"machine: {os.cpu_count()} cores, {cpu}; load average (1/5/15 min) at start {load0[0]:.2f} {load0[1]:.2f} "
          f"{load0[2]:.2f}, at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    base = rows[names[4]][0]
    print(f"{'engine':62s} {'sims/s':>10s} {'vs RR':>8s} {'wall s':>8s} {'max rel dev':>12s}")
    for name, (rate, _cnt, wall) in rows.items():
        print(f"{name:62s} {rate:10.1f} {rate / base:8.2f} {wall:8.1f} {dev[name]:12.2e}")
    print(f"ratio compiled / libRoadRunner: {rows[names[0]][0] / base:.1f} at the same tolerances, "
          f"{rows[names[1]][0] / base:.1f} at matching accuracy (compiled rtol {args.match_rtol:g}); "
          f"compiled / SciPy: {rows[names[0]][0] / rows[names[3]][0]:.0f}; compiled / batched: "
          f"{rows[names[0]][0] / rows[names[2]][0]:.1f}")
    print(f"compiled engine: compile or cache load {compile_s:.1f} s (not in its wall time); failed patients: {n_failed}")
    print(f"peak memory (max RSS): driver {peak_mb:.0f} MB, largest child {peak_child_mb:.0f} MB")
    print(f"accuracy: max |x - ref| / peak(ref) over states and times, first {k} patients, ref = DOP853 rtol 1e-11")


if __name__ == "__main__":
    main()
