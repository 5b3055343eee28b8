"""The reference engine: SciPy ``solve_ivp`` per patient, piecewise between dosing events.

Boluses are jumps of the state at their time; infusions are constant input rates ``u`` over
their interval.  Between consecutive event times the system is smooth and is integrated with a
stiff-capable method (LSODA by default) using the generated analytic Jacobian.  Output times
that coincide with a dose see the state just after the dose (right-continuous).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from ..errors import SolverError
from ..model.core import CompiledModel
from ..regimen import PatientEvents

IMPLICIT = {"BDF", "Radau", "LSODA"}


def integrate(
    cm: CompiledModel,
    p: np.ndarray,
    events: PatientEvents,
    times: np.ndarray,
    y0: np.ndarray | None = None,
    method: str = "LSODA",
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> np.ndarray:
    """States at ``times`` (shape (n_states, n_times)) for one patient.

    Raises
    ------
    SolverError
        Naming the time the solver stopped and the state there.
    """
    n = cm.n_states
    t_end = float(times[-1])
    y = np.array(cm.initial(p), dtype=float) if y0 is None else np.array(y0, dtype=float)
    out = np.empty((n, len(times)))
    bps = events.breakpoints(t_end)
    kw = {"method": method, "rtol": rtol, "atol": atol}
    if method in IMPLICIT:
        kw["jac"] = lambda tt, yy: cm.jac(tt, yy, p)
    for k in range(len(bps)):
        t0 = bps[k]
        for e in events.boluses:
            if e.time == t0:
                y[e.index] += e.amount
        u = np.zeros(n)
        for e in events.infusions:
            if e.time <= t0 < e.time + e.duration:
                u[e.index] += e.amount / e.duration
        last = k == len(bps) - 1
        t1 = bps[k + 1] if not last else t_end
        sel = (times >= t0) & ((times < t1) | (last & (times <= t1)))
        if sel.any() and times[sel][0] == t0:
            out[:, np.flatnonzero(sel)[0]] = y
        if t1 <= t0:
            continue
        t_eval = times[sel]
        t_eval = t_eval[t_eval > t0]
        if len(t_eval) == 0 or t_eval[-1] < t1:
            t_eval = np.append(t_eval, t1)
        sol = solve_ivp(lambda tt, yy, u=u: cm.rhs(tt, yy, p, u), (t0, t1), y, t_eval=t_eval, **kw)
        if sol.status != 0 or not np.all(np.isfinite(sol.y)):
            tf = float(sol.t[-1]) if len(sol.t) else t0
            state = {s.name: float(v) for s, v in zip(cm.model.states, sol.y[:, -1] if sol.y.size else y)}
            worst = sorted(state.items(), key=lambda kv: -abs(kv[1]) if np.isfinite(kv[1]) else -np.inf)[:5]
            raise SolverError(
                f"solver {method} failed at t = {tf:.6g} h (segment {t0:g}-{t1:g} h): {sol.message}; "
                f"largest states: {', '.join(f'{k}={v:.4g}' for k, v in worst)}",
                t=tf,
                state=state,
            )
        idx = np.flatnonzero(sel)
        idx = idx[times[idx] > t0]
        out[:, idx] = sol.y[:, : len(idx)]
        y = sol.y[:, -1].copy()
    return out
