"""The batched engine: a whole arm of virtual patients integrated at once.

The generated right-hand side of :class:`~nmdalab.model.core.CompiledModel` accepts a trailing
batch dimension, so one call evaluates ``dy/dt`` for every patient (``y`` of shape
``(n_states, batch)``).  This engine drives that vectorised function with

* ``dopri5``: the explicit Dormand-Prince 5(4) pair (the tableau of :class:`scipy.integrate.RK45`),
  with its 4th-order dense output for the output times;
* ``rosenbrock``: a 4-stage linearly implicit Rosenbrock method of order 4(3) with Shampine's
  coefficients (Kaps-Rentrop form, A-stable), using the generated analytic Jacobian; one
  batched matrix inverse per step, cubic Hermite dense output;
* ``auto``: the Rosenbrock method when the model is stiff over the simulated span, judged from
  the spectral radius of the Jacobian at the initial state of a sample of patients (an explicit
  method would need more than :data:`STIFF_STEPS` steps for stability alone), else ``dopri5``.

Every patient has its own time, step size and error control (the batch advances in lock-step
iterations, each patient taking one attempt of its own size per iteration) and its own status:
a patient whose step size collapses or whose state becomes non-finite is marked failed, with
the time and its largest states, and the others go on.

Dosing is piecewise, as in the SciPy reference engine: the union of every patient's event
times splits the run into segments; at a segment start the boluses due then are added to the
states (jumps) and the infusion rates ``u`` in force are set per patient.  A patient with no
event at a breakpoint keeps its step size across it.  Output times equal to an event time see
the state just after the event (right-continuous).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import RK45

from ..model.core import CompiledModel
from ..model.core import t as _t_symbol
from ..regimen import PatientEvents

METHODS = ("auto", "dopri5", "rosenbrock")
#: ``auto`` picks the implicit method when stability alone would cost an explicit method more
#: steps than this over the simulated span (DOPRI5 is stable for h * rho <= ~3.3)
STIFF_STEPS = 4000.0
_DOPRI_STABILITY = 3.3

# Shampine's 4-stage Rosenbrock parameters (Kaps-Rentrop form; Numerical Recipes "stiff").
_GAM = 0.5
_A21, _A31, _A32 = 2.0, 48.0 / 25.0, 6.0 / 25.0
_C21, _C31, _C32 = -8.0, 372.0 / 25.0, 12.0 / 5.0
_C41, _C42, _C43 = -112.0 / 125.0, -54.0 / 125.0, -2.0 / 5.0
_B = (19.0 / 9.0, 0.5, 25.0 / 108.0, 125.0 / 108.0)
_E = (17.0 / 54.0, 7.0 / 36.0, 0.0, 125.0 / 108.0)
_C1X, _C2X, _C3X, _C4X = 0.5, -1.5, 121.0 / 50.0, 29.0 / 250.0
_A2X, _A3X = 1.0, 3.0 / 5.0


@dataclass(frozen=True)
class Settings:
    """Solver settings of the batched and the compiled engine."""

    method: str = "auto"
    rtol: float = 1e-6
    atol: float = 1e-9
    #: step attempts per patient and segment before the patient is marked failed
    max_steps: int = 200_000

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"solver method {self.method!r}; allowed: {', '.join(METHODS)}")


def run(
    cm: CompiledModel,
    P: np.ndarray,
    events: list[PatientEvents],
    times: np.ndarray,
    settings: Settings | None = None,
    y0: np.ndarray | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Integrate ``n`` patients at once.

    Parameters
    ----------
    cm : CompiledModel
    P : array (n_params, n)
        Each column one patient's parameter values (model order).
    events : list of PatientEvents
        One per patient.
    times : array (n_times,)
        Output times in h, increasing, starting at or after 0.
    settings : Settings
    y0 : array (n_states, n), optional
        Initial states; default ``cm.initial(P)``.

    Returns
    -------
    states : array (n, n_states, n_times)
        NaN for a failed patient.
    status : list of str
        ``"ok"`` or a message saying when and in which state the patient's solve failed.
    """
    s = settings or Settings()
    P = np.ascontiguousarray(np.asarray(P, dtype=float))
    if P.ndim != 2:
        raise ValueError("P must have shape (n_params, n_patients)")
    n_pat = P.shape[1]
    if len(events) != n_pat:
        raise ValueError(f"{len(events)} event lists for {n_pat} patients")
    times = np.asarray(times, dtype=float)
    ns = cm.n_states
    nt = len(times)
    t_end = float(times[-1])
    y = np.array(cm.initial(P) if y0 is None else y0, dtype=float).reshape(ns, n_pat).copy()
    out = np.full((n_pat, ns, nt), np.nan)
    status = ["ok"] * n_pat
    if n_pat == 0:
        return out, status
    method = s.method if s.method != "auto" else choose_method(cm, P, y, t_end)
    uses_t = getattr(cm.model, "uses_time", None)
    if uses_t is None:
        uses_t = any(_t_symbol in r.free_symbols for r in cm.model.rates)

    # union of breakpoints; boluses and infusions per breakpoint as index arrays
    bps = set()
    for ev in events:
        bps.update(ev.breakpoints(t_end).tolist())
    bps = np.array(sorted(bps))
    bolus_at: dict[float, tuple[list, list, list]] = {}
    inf_rows = []  # (patient, state, rate, t_on, t_off)
    for k, ev in enumerate(events):
        for e in ev.boluses:
            if 0.0 <= e.time <= t_end:
                b = bolus_at.setdefault(float(e.time), ([], [], []))
                b[0].append(k), b[1].append(e.index), b[2].append(e.amount)
        for e in ev.infusions:
            inf_rows.append((k, e.index, e.amount / e.duration, e.time, e.time + e.duration))
    inf = np.array(inf_rows, dtype=float).reshape(-1, 5)
    inf_starts = {float(x) for x in inf[:, 3]} | {float(x) for x in inf[:, 4]}

    h = np.full(n_pat, np.nan)  # NaN: choose an initial step
    ok = np.ones(n_pat, dtype=bool)
    stepper = _dopri5 if method == "dopri5" else _rosenbrock
    for k, t0 in enumerate(bps):
        last = k == len(bps) - 1
        t1 = t_end if last else float(bps[k + 1])
        if t0 in bolus_at:
            pat, idx, amt = (np.array(v) for v in bolus_at[t0])
            np.add.at(y, (idx.astype(int), pat.astype(int)), amt)
            h[pat.astype(int)] = np.nan
        U = np.zeros((ns, n_pat))
        if len(inf):
            on = (inf[:, 3] <= t0) & (t0 < inf[:, 4])
            np.add.at(U, (inf[on, 1].astype(int), inf[on, 0].astype(int)), inf[on, 2])
            if t0 in inf_starts:
                changed = inf[(inf[:, 3] == t0) | (inf[:, 4] == t0), 0].astype(int)
                h[changed] = np.nan
        sel = (times >= t0) & ((times < t1) | (last & (times <= t1)))
        idx = np.flatnonzero(sel)
        if len(idx) and times[idx[0]] == t0:
            out[:, :, idx[0]] = y.T
            idx = idx[1:]
        if t1 <= t0:
            continue
        j0 = int(idx[0]) if len(idx) else 0
        j1 = int(idx[-1]) + 1 if len(idx) else 0
        stepper(cm, y, P, U, h, ok, status, t0, t1, times, j0, j1, out, s, uses_t)
    out[~ok] = np.nan
    return out, status


def choose_method(cm: CompiledModel, P: np.ndarray, y: np.ndarray, t_end: float, sample: int = 16,
                  stiff_steps: float = STIFF_STEPS) -> str:
    """``rosenbrock`` when an explicit method would need more than ``stiff_steps`` steps for
    stability alone, else ``dopri5``."""
    k = np.unique(np.linspace(0, P.shape[1] - 1, min(sample, P.shape[1])).astype(int))
    J = np.asarray(cm.jac(0.0, y[:, k], P[:, k]), dtype=float)
    J = np.moveaxis(J, -1, 0)
    if not np.all(np.isfinite(J)):
        return "rosenbrock"
    rho = float(np.max(np.abs(np.linalg.eigvals(J))))
    return "rosenbrock" if rho * t_end / _DOPRI_STABILITY > stiff_steps else "dopri5"


# ------------------------------------------------------------------------------------------
# shared pieces
# ------------------------------------------------------------------------------------------


def _rms(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(x * x, axis=0))


def _initial_step(f, t, y, f0, t1, order, rtol, atol):
    """Vectorised version of Hairer's starting-step heuristic (as in SciPy)."""
    scale = atol + np.abs(y) * rtol
    d0, d1 = _rms(y / scale), _rms(f0 / scale)
    h0 = np.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / np.maximum(d1, 1e-300))
    h0 = np.minimum(h0, t1 - t)
    f1 = f(t + h0, y + h0 * f0)
    d2 = _rms((f1 - f0) / scale) / h0
    dm = np.maximum(d1, d2)
    h1 = np.where(dm <= 1e-15, np.maximum(1e-6, h0 * 1e-3), (0.01 / np.maximum(dm, 1e-300)) ** (1.0 / (order + 1)))
    return np.minimum(np.minimum(100 * h0, h1), t1 - t)


def _fail(status, ok, gidx, t, y, cm, reason):
    names = cm.model.state_names
    for g, tt, col in zip(gidx, t, y.T):
        vals = sorted(zip(names, col), key=lambda kv: -abs(kv[1]) if np.isfinite(kv[1]) else -np.inf)[:5]
        status[g] = (f"batch solver failed at t = {tt:.6g} h: {reason}; largest states: "
                     + ", ".join(f"{k}={v:.4g}" for k, v in vals))
        ok[g] = False


class _Active:
    """The patients still integrating a segment, gathered into contiguous arrays."""

    def __init__(self, gidx, y, P, U, h, t0, j0):
        self.g = gidx
        self.y = y[:, gidx]
        self.p = P[:, gidx]
        self.u = U[:, gidx]
        self.h = h[gidx]
        self.t = np.full(len(gidx), t0)
        self.j = np.full(len(gidx), j0, dtype=int)

    def keep(self, mask, extra):
        self.g = self.g[mask]
        self.y, self.p, self.u = self.y[:, mask], self.p[:, mask], self.u[:, mask]
        self.h, self.t, self.j = self.h[mask], self.t[mask], self.j[mask]
        return [e[..., mask] for e in extra]


def _finish(a: _Active, mask, y, h):
    g = a.g[mask]
    y[:, g] = a.y[:, mask]
    h[g] = a.h[mask]


def _control(a: _Active, acc, err, finite, hh, h_prop, attempts, t1, y, h, ok, status, cm, s: Settings,
             grow_max: float, grow_exp: float, shrink_exp: float):
    """Per-patient step control shared by both methods: next step sizes from the error norm,
    patients that fail (step too small, NaN step, too many attempts) and patients that reached
    the end of the segment.  Returns the (bad, done) masks over the active patients."""
    with np.errstate(divide="ignore", invalid="ignore"):
        grow = np.where(err == 0, grow_max, np.clip(0.9 * err**grow_exp, 0.2, grow_max))
        shrink = np.where(finite, np.clip(0.9 * err**shrink_exp, 0.2, 1.0), 0.2)
    a.h = np.where(acc, hh * grow, hh * shrink)
    small = ~(a.h >= 10 * np.spacing(np.maximum(np.abs(a.t), 1.0)))  # NaN step (NaN parameter): fails now
    bad = ~acc & (small | (attempts > s.max_steps))
    done = acc & (a.t >= t1)
    a.h = np.where(done, np.maximum(a.h, h_prop), a.h)  # the next segment starts from the unclipped step
    if bad.any():
        _fail(status, ok, a.g[bad], a.t[bad], a.y[:, bad], cm,
              "step size too small" if small[bad].any() else "too many steps")
    if done.any():
        _finish(a, done, y, h)
    return bad, done


def _write_outputs(a: _Active, acc, t_old, hh, t_new, times, j1, out, interp):
    """Dense output for every accepted patient's output times in (t_old, t_new]."""
    while True:
        jj = np.minimum(a.j, len(times) - 1)
        need = acc & (a.j < j1) & (times[jj] <= t_new)
        if not need.any():
            return
        w = np.flatnonzero(need)
        theta = (times[jj[w]] - t_old[w]) / hh[w]
        out[a.g[w], :, jj[w]] = interp(w, theta).T
        a.j[w] += 1


# ------------------------------------------------------------------------------------------
# Dormand-Prince 5(4)
# ------------------------------------------------------------------------------------------

_RK_A, _RK_B, _RK_C, _RK_E, _RK_P = RK45.A, RK45.B, RK45.C, RK45.E, RK45.P


def _dopri5(cm, y, P, U, h, ok, status, t0, t1, times, j0, j1, out, s: Settings, uses_t):
    gidx = np.flatnonzero(ok)
    if not len(gidx):
        return
    a = _Active(gidx, y, P, U, h, t0, j0)
    rhs = cm.rhs

    def f(tt, yy):
        return rhs(tt, yy, a.p, a.u)

    f0 = f(a.t, a.y)
    new = ~np.isfinite(a.h)
    if new.any():
        a.h[new] = _initial_step(lambda tt, yy: rhs(tt, yy, a.p[:, new], a.u[:, new]), a.t[new], a.y[:, new],
                                 f0[:, new], t1, 4, s.rtol, s.atol)
    a.h = np.minimum(a.h, t1 - t0)
    ns = y.shape[0]
    K = np.empty((7, ns, len(gidx)))
    attempts = np.zeros(len(gidx), dtype=int)
    while len(a.g):
        h_prop = a.h
        hh = np.minimum(a.h, t1 - a.t)
        K = K[:, :, : len(a.g)] if K.shape[2] != len(a.g) else K
        K[0] = f0
        for i in range(1, 6):
            dy = np.tensordot(_RK_A[i, :i], K[:i], axes=(0, 0)) * hh
            K[i] = f(a.t + _RK_C[i] * hh, a.y + dy)
        y_new = a.y + hh * np.tensordot(_RK_B, K[:6], axes=(0, 0))
        t_new = np.where(hh >= t1 - a.t, t1, a.t + hh)
        K[6] = f(t_new, y_new)
        scale = s.atol + np.maximum(np.abs(a.y), np.abs(y_new)) * s.rtol
        err = _rms(hh * np.tensordot(_RK_E, K, axes=(0, 0)) / scale)
        finite = np.isfinite(err) & np.all(np.isfinite(y_new), axis=0)
        acc = finite & (err <= 1.0)
        attempts += 1
        if acc.any():
            t_old, y_old, Ka = a.t.copy(), a.y.copy(), K.copy()

            def interp(w, theta, Ka=Ka, y_old=y_old, hh=hh):  # bound now: called in this iteration
                Q = np.einsum("kna,kj->naj", Ka[:, :, w], _RK_P)
                x = theta[None, :]
                poly = Q[:, :, 0] * x + Q[:, :, 1] * x**2 + Q[:, :, 2] * x**3 + Q[:, :, 3] * x**4
                return y_old[:, w] + hh[w] * poly

            _write_outputs(a, acc, t_old, hh, t_new, times, j1, out, interp)
            a.y[:, acc] = y_new[:, acc]
            a.t[acc] = t_new[acc]
            f0[:, acc] = K[6][:, acc]
        bad, done = _control(a, acc, err, finite, hh, h_prop, attempts, t1, y, h, ok, status, cm, s,
                             grow_max=10.0, grow_exp=-0.2, shrink_exp=-0.2)
        if (bad | done).any():
            keep = ~(bad | done)
            f0, attempts = a.keep(keep, [f0, attempts])
            K = K[:, :, keep]


# ------------------------------------------------------------------------------------------
# Rosenbrock 4(3), Shampine's parameters
# ------------------------------------------------------------------------------------------


def _rosenbrock(cm, y, P, U, h, ok, status, t0, t1, times, j0, j1, out, s: Settings, uses_t):
    gidx = np.flatnonzero(ok)
    if not len(gidx):
        return
    a = _Active(gidx, y, P, U, h, t0, j0)
    rhs, jac = cm.rhs, cm.jac
    ns = y.shape[0]
    eye = np.eye(ns)

    def f(tt, yy):
        return rhs(tt, yy, a.p, a.u)

    def dfdt(tt, yy, ff):
        if not uses_t:
            return np.zeros_like(yy)
        d = 1e-7 * np.maximum(1.0, np.abs(tt))
        return (f(tt + d, yy) - ff) / d

    f0 = f(a.t, a.y)
    new = ~np.isfinite(a.h)
    if new.any():
        a.h[new] = _initial_step(lambda tt, yy: rhs(tt, yy, a.p[:, new], a.u[:, new]), a.t[new], a.y[:, new],
                                 f0[:, new], t1, 3, s.rtol, s.atol)
    a.h = np.minimum(a.h, t1 - t0)
    J = np.moveaxis(np.asarray(jac(a.t, a.y, a.p), dtype=float), -1, 0)  # (batch, ns, ns)
    ft = dfdt(a.t, a.y, f0)
    attempts = np.zeros(len(gidx), dtype=int)
    while len(a.g):
        h_prop = a.h
        hh = np.minimum(a.h, t1 - a.t)
        W = eye / (_GAM * hh)[:, None, None] - J
        with np.errstate(all="ignore"):
            try:
                Winv = np.linalg.inv(W)
            except np.linalg.LinAlgError:
                Winv = _safe_inv(W)

        def solve(v, Winv=Winv):
            return np.einsum("aij,ja->ia", Winv, v)

        g1 = solve(f0 + hh * _C1X * ft)
        f2 = f(a.t + _A2X * hh, a.y + _A21 * g1)
        g2 = solve(f2 + hh * _C2X * ft + _C21 * g1 / hh)
        f3 = f(a.t + _A3X * hh, a.y + _A31 * g1 + _A32 * g2)
        g3 = solve(f3 + hh * _C3X * ft + (_C31 * g1 + _C32 * g2) / hh)
        g4 = solve(f3 + hh * _C4X * ft + (_C41 * g1 + _C42 * g2 + _C43 * g3) / hh)
        y_new = a.y + _B[0] * g1 + _B[1] * g2 + _B[2] * g3 + _B[3] * g4
        errv = _E[0] * g1 + _E[1] * g2 + _E[3] * g4
        scale = s.atol + np.maximum(np.abs(a.y), np.abs(y_new)) * s.rtol
        with np.errstate(all="ignore"):
            err = _rms(errv / scale)
        finite = np.isfinite(err) & np.all(np.isfinite(y_new), axis=0)
        acc = finite & (err <= 1.0)
        attempts += 1
        t_new = np.where(hh >= t1 - a.t, t1, a.t + hh)
        if acc.any():
            w_acc = np.flatnonzero(acc)
            f_new = np.array(f0)
            f_new[:, w_acc] = rhs(t_new[w_acc], y_new[:, w_acc], a.p[:, w_acc], a.u[:, w_acc])
            t_old, y_old, f_old = a.t.copy(), a.y.copy(), f0.copy()

            def interp(w, theta, hh=hh, y_old=y_old, f_old=f_old, y_new=y_new, f_new=f_new):  # cubic Hermite
                th = theta[None, :]
                h_ = hh[w][None, :]
                h00 = (1 + 2 * th) * (1 - th) ** 2
                h10 = th * (1 - th) ** 2
                h01 = th**2 * (3 - 2 * th)
                h11 = th**2 * (th - 1)
                return (h00 * y_old[:, w] + h10 * h_ * f_old[:, w] + h01 * y_new[:, w] + h11 * h_ * f_new[:, w])

            _write_outputs(a, acc, t_old, hh, t_new, times, j1, out, interp)
            a.y[:, w_acc] = y_new[:, w_acc]
            a.t[w_acc] = t_new[w_acc]
            f0[:, w_acc] = f_new[:, w_acc]
            J[w_acc] = np.moveaxis(np.asarray(jac(a.t[w_acc], a.y[:, w_acc], a.p[:, w_acc]), dtype=float), -1, 0)
            if uses_t:
                ft[:, w_acc] = dfdt(a.t, a.y, f0)[:, w_acc]
        bad, done = _control(a, acc, err, finite, hh, h_prop, attempts, t1, y, h, ok, status, cm, s,
                             grow_max=4.0, grow_exp=-0.25, shrink_exp=-1.0 / 3.0)
        if (bad | done).any():
            keep = ~(bad | done)
            f0, ft, attempts = a.keep(keep, [f0, ft, attempts])
            J = J[keep]


def _safe_inv(W: np.ndarray) -> np.ndarray:
    """Batched inverse where singular matrices give NaN (that patient's step is then rejected)."""
    out = np.full_like(W, np.nan)
    for i in range(W.shape[0]):
        try:
            out[i] = np.linalg.inv(W[i])
        except np.linalg.LinAlgError:
            pass
    return out
