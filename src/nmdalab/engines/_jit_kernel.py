"""Integrator kernels of the compiled engine (:mod:`nmdalab.engines.compiled`), compiled by Numba.

The kernels are generic over the model: the model's scalar functions (generated per model by
:func:`nmdalab.model.core.numba_source` and :func:`nmdalab.engines.compiled._linear_solver_source`)
come in as first-class function arguments with fixed signatures (:data:`RHS`, :data:`JAC`,
:data:`W_FACTOR`, :data:`W_SOLVE`), so this module is compiled once per machine (cached on disk
by Numba) whatever the model; only the model's own functions are compiled per model.

The methods are those of :mod:`nmdalab.engines.batch`, written per patient with scalar loops:
DOPRI5 with its 4th-order dense output, and Shampine's 4-stage Rosenbrock 4(3) with the analytic
Jacobian (the linear systems solved block by block on the block triangular form of the Jacobian's
sparsity) and cubic Hermite dense output.  Step-size control, failure rules and output rules are
the batched engine's.  Every patient is integrated by itself from its own breakpoints, so a
patient's result does not depend on the other patients, on the chunking or on the number of
threads.  The kernels release the GIL (``nogil``): the engine runs them on several threads.
"""

import math

import numpy as np
from numba import njit, types

_f8 = types.float64
_a1 = types.float64[::1]
_a2 = types.float64[:, ::1]
_a3 = types.float64[:, :, ::1]
_i1 = types.int64[::1]
_i8 = types.int64
#: rhs(t, y, p, u, out), jac(t, y, p, J), w_factor(J, ig, LU, piv, tmp) -> ok, w_solve(J, LU, x)
RHS = types.void(_f8, _a1, _a1, _a1, _a1)
JAC = types.void(_f8, _a1, _a1, _a2)
W_FACTOR = types.boolean(_a2, _f8, _a1, _i1, _a1)
W_SOLVE = types.void(_a2, _a1, _a1)
_RHS, _JAC, _WF, _WS = (types.FunctionType(s) for s in (RHS, JAC, W_FACTOR, W_SOLVE))
_OPT = {"cache": True, "error_model": "numpy", "nogil": True}

# Dormand-Prince 5(4): scipy.integrate.RK45's tableau
_DP_P = np.array([
    [1.0, -8048581381.0 / 2820520608.0, 8663915743.0 / 2820520608.0, -12715105075.0 / 11282082432.0],
    [0.0, 0.0, 0.0, 0.0],
    [0.0, 131558114200.0 / 32700410799.0, -68118460800.0 / 10900136933.0, 87487479700.0 / 32700410799.0],
    [0.0, -1754552775.0 / 470086768.0, 14199869525.0 / 1410260304.0, -10690763975.0 / 1880347072.0],
    [0.0, 127303824393.0 / 49829197408.0, -318862633887.0 / 49829197408.0, 701980252875.0 / 199316789632.0],
    [0.0, -282668133.0 / 205662961.0, 2019193451.0 / 616988883.0, -1453857185.0 / 822651844.0],
    [0.0, 40617522.0 / 29380423.0, -110615467.0 / 29380423.0, 69997945.0 / 29380423.0],
])

# the same tableau as scalars (Numba folds them into the code)
_C2, _C3, _C4, _C5 = 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0
_A21D = 1.0 / 5.0
_A31D, _A32D = 3.0 / 40.0, 9.0 / 40.0
_A41D, _A42D, _A43D = 44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0
_A51D, _A52D, _A53D, _A54D = 19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0
_A61D, _A62D, _A63D, _A64D, _A65D = 9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0
_B1D, _B3D, _B4D, _B5D, _B6D = 35.0 / 384.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0
_E1D, _E3D, _E4D, _E5D, _E6D, _E7D = -71.0 / 57600.0, 71.0 / 16695.0, -71.0 / 1920.0, 17253.0 / 339200.0, -22.0 / 525.0, 1.0 / 40.0

# Shampine's Rosenbrock parameters (as in nmdalab.engines.batch)
_GAM = 0.5
_A21, _A31, _A32 = 2.0, 48.0 / 25.0, 6.0 / 25.0
_C21, _C31, _C32 = -8.0, 372.0 / 25.0, 12.0 / 5.0
_C41, _C42, _C43 = -112.0 / 125.0, -54.0 / 125.0, -2.0 / 5.0
_B1, _B2, _B3, _B4 = 19.0 / 9.0, 0.5, 25.0 / 108.0, 125.0 / 108.0
_E1, _E2, _E4 = 17.0 / 54.0, 7.0 / 36.0, 125.0 / 108.0
_C1X, _C2X, _C3X, _C4X = 0.5, -1.5, 121.0 / 50.0, 29.0 / 250.0
_A2X, _A3X = 1.0, 3.0 / 5.0

# failure codes (engines/compiled.py turns them into messages)
OK, STEP_TOO_SMALL, TOO_MANY_STEPS = 0, 1, 2


@njit(**_OPT)
def _spacing(x):
    return np.spacing(x)


@njit(**_OPT)
def _all_finite(v):
    for i in range(v.shape[0]):
        if not math.isfinite(v[i]):
            return False
    return True


@njit(**_OPT)
def _initial_step(rhs, t, y, f0, t1, order, rtol, atol, p, u, y1, f1):
    """Hairer's starting-step heuristic (the batched engine's, per patient)."""
    n = y.shape[0]
    d0 = 0.0
    d1 = 0.0
    for i in range(n):
        sc = atol + abs(y[i]) * rtol
        d0 += (y[i] / sc) ** 2
        d1 += (f0[i] / sc) ** 2
    d0 = math.sqrt(d0 / n)
    d1 = math.sqrt(d1 / n)
    if d0 < 1e-5 or d1 < 1e-5:
        h0 = 1e-6
    else:
        h0 = 0.01 * d0 / max(d1, 1e-300)
    h0 = min(h0, t1 - t)
    for i in range(n):
        y1[i] = y[i] + h0 * f0[i]
    rhs(t + h0, y1, p, u, f1)
    d2 = 0.0
    for i in range(n):
        sc = atol + abs(y[i]) * rtol
        d2 += ((f1[i] - f0[i]) / sc) ** 2
    d2 = math.sqrt(d2 / n) / h0
    dm = max(d1, d2)
    if dm <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(dm, 1e-300)) ** (1.0 / (order + 1))
    return min(min(100 * h0, h1), t1 - t)


@njit(**_OPT)
def _control(acc, finite, err, hh, t, grow_max, grow_exp, shrink_exp):
    """Next step size (the batched engine's _control) and whether it is too small."""
    if acc:
        if err == 0.0:
            fac = grow_max
        else:
            fac = min(max(0.9 * err**grow_exp, 0.2), grow_max)
    elif finite:
        fac = min(max(0.9 * err**shrink_exp, 0.2), 1.0)
    else:
        fac = 0.2
    h = hh * fac
    small = not (h >= 10.0 * _spacing(max(abs(t), 1.0)))
    return h, small


@njit(**_OPT)
def _dopri5_segment(rhs, t0, t1, y, p, u, h, times, j, j1, outk, rtol, atol, max_steps, K, ynew, work, stats):
    """Integrate one smooth segment [t0, t1]; returns (code, t, h, j)."""
    n = y.shape[0]
    rhs(t0, y, p, u, K[0])
    stats[2] += 1
    if not math.isfinite(h):
        h = _initial_step(rhs, t0, y, K[0], t1, 4, rtol, atol, p, u, ynew, K[1])
        stats[2] += 1
    h = min(h, t1 - t0)
    t = t0
    attempts = 0
    while True:
        h_prop = h
        hh = min(h, t1 - t)
        k1, k2, k3, k4, k5, k6, k7 = K[0], K[1], K[2], K[3], K[4], K[5], K[6]
        for i in range(n):
            work[i] = y[i] + hh * (_A21D * k1[i])
        rhs(t + _C2 * hh, work, p, u, k2)
        for i in range(n):
            work[i] = y[i] + hh * (_A31D * k1[i] + _A32D * k2[i])
        rhs(t + _C3 * hh, work, p, u, k3)
        for i in range(n):
            work[i] = y[i] + hh * (_A41D * k1[i] + _A42D * k2[i] + _A43D * k3[i])
        rhs(t + _C4 * hh, work, p, u, k4)
        for i in range(n):
            work[i] = y[i] + hh * (_A51D * k1[i] + _A52D * k2[i] + _A53D * k3[i] + _A54D * k4[i])
        rhs(t + _C5 * hh, work, p, u, k5)
        for i in range(n):
            work[i] = y[i] + hh * (_A61D * k1[i] + _A62D * k2[i] + _A63D * k3[i] + _A64D * k4[i] + _A65D * k5[i])
        rhs(t + hh, work, p, u, k6)
        for i in range(n):
            ynew[i] = y[i] + hh * (_B1D * k1[i] + _B3D * k3[i] + _B4D * k4[i] + _B5D * k5[i] + _B6D * k6[i])
        t_new = t1 if hh >= t1 - t else t + hh
        rhs(t_new, ynew, p, u, k7)
        stats[2] += 6
        err = 0.0
        for i in range(n):
            e = _E1D * k1[i] + _E3D * k3[i] + _E4D * k4[i] + _E5D * k5[i] + _E6D * k6[i] + _E7D * k7[i]
            sc = atol + max(abs(y[i]), abs(ynew[i])) * rtol
            err += (hh * e / sc) ** 2
        err = math.sqrt(err / n)
        finite = math.isfinite(err) and _all_finite(ynew)
        acc = finite and err <= 1.0
        attempts += 1
        if acc:
            stats[0] += 1
            while j < j1 and times[j] <= t_new:
                th = (times[j] - t) / hh
                th2 = th * th
                for i in range(n):
                    q0 = 0.0
                    q1 = 0.0
                    q2 = 0.0
                    q3 = 0.0
                    for m in range(7):
                        km = K[m, i]
                        q0 += km * _DP_P[m, 0]
                        q1 += km * _DP_P[m, 1]
                        q2 += km * _DP_P[m, 2]
                        q3 += km * _DP_P[m, 3]
                    outk[j, i] = y[i] + hh * (q0 * th + q1 * th2 + q2 * th2 * th + q3 * th2 * th2)
                j += 1
            for i in range(n):
                y[i] = ynew[i]
                K[0, i] = K[6, i]
            t = t_new
        else:
            stats[1] += 1
        h, small = _control(acc, finite, err, hh, t, 10.0, -0.2, -0.2)
        if not acc and (small or attempts > max_steps):
            return (STEP_TOO_SMALL if small else TOO_MANY_STEPS), t, h, j
        if acc and t >= t1:
            return OK, t, max(h, h_prop), j


@njit(**_OPT)
def _dense_lu(LU, off, m, piv, pos):
    """In-place LU with partial pivoting of the m x m block stored row-major at LU[off:];
    pivots in piv[pos:pos + m].  False for a singular block."""
    for k in range(m):
        pk = k
        big = abs(LU[off + k * m + k])
        for i in range(k + 1, m):
            a = abs(LU[off + i * m + k])
            if a > big:
                big = a
                pk = i
        piv[pos + k] = pk
        if not (big > 0.0):
            return False
        if pk != k:
            for c in range(m):
                tmp = LU[off + k * m + c]
                LU[off + k * m + c] = LU[off + pk * m + c]
                LU[off + pk * m + c] = tmp
        inv = 1.0 / LU[off + k * m + k]
        for i in range(k + 1, m):
            a = LU[off + i * m + k]
            if a != 0.0:
                f = a * inv
                LU[off + i * m + k] = f
                for c in range(k + 1, m):
                    LU[off + i * m + c] -= f * LU[off + k * m + c]
    return True


@njit(**_OPT)
def _dense_solve(LU, off, m, piv, pos, tmp):
    for k in range(m):
        pk = piv[pos + k]
        if pk != k:
            a = tmp[k]
            tmp[k] = tmp[pk]
            tmp[pk] = a
    for r in range(m):
        s = tmp[r]
        for c in range(r):
            s -= LU[off + r * m + c] * tmp[c]
        tmp[r] = s
    for r in range(m - 1, -1, -1):
        s = tmp[r]
        for c in range(r + 1, m):
            s -= LU[off + r * m + c] * tmp[c]
        tmp[r] = s / LU[off + r * m + r]


@njit(**_OPT)
def _dense_inverse(LU, off, m, piv, pos, inv, tmp):
    """LU-factorise the block at LU[off:] and write its inverse (row-major) at LU[inv:]."""
    if not _dense_lu(LU, off, m, piv, pos):
        return False
    for c in range(m):
        for r in range(m):
            tmp[r] = 1.0 if r == c else 0.0
        _dense_solve(LU, off, m, piv, pos, tmp)
        for r in range(m):
            LU[inv + r * m + c] = tmp[r]
    return True


@njit(**_OPT)
def _dfdt(rhs, uses_t, t, y, p, u, f0, ft, work):
    if not uses_t:
        for i in range(y.shape[0]):
            ft[i] = 0.0
        return
    d = 1e-7 * max(1.0, abs(t))
    rhs(t + d, y, p, u, work)
    for i in range(y.shape[0]):
        ft[i] = (work[i] - f0[i]) / d


@njit(**_OPT)
def _rosenbrock_segment(rhs, jac, w_factor, w_solve, uses_t, t0, t1, y, p, u, h, times, j, j1, outk, rtol, atol,
                        max_steps, J, LU, piv, G, f0, ft,
                        fnew, ynew, work, stats):
    """Integrate one smooth segment [t0, t1] with Rosenbrock 4(3); returns (code, t, h, j)."""
    n = y.shape[0]
    rhs(t0, y, p, u, f0)
    stats[2] += 1
    if not math.isfinite(h):
        h = _initial_step(rhs, t0, y, f0, t1, 3, rtol, atol, p, u, ynew, fnew)
        stats[2] += 1
    h = min(h, t1 - t0)
    jac(t0, y, p, J)
    stats[3] += 1
    _dfdt(rhs, uses_t, t0, y, p, u, f0, ft, work)
    t = t0
    attempts = 0
    g1, g2, g3, g4 = G[0], G[1], G[2], G[3]
    while True:
        h_prop = h
        hh = min(h, t1 - t)
        ok_lu = w_factor(J, 1.0 / (_GAM * hh), LU, piv, work)
        if ok_lu:
            for i in range(n):
                g1[i] = f0[i] + hh * _C1X * ft[i]
            w_solve(J, LU, g1)
            for i in range(n):
                work[i] = y[i] + _A21 * g1[i]
            rhs(t + _A2X * hh, work, p, u, fnew)
            for i in range(n):
                g2[i] = fnew[i] + hh * _C2X * ft[i] + _C21 * g1[i] / hh
            w_solve(J, LU, g2)
            for i in range(n):
                work[i] = y[i] + _A31 * g1[i] + _A32 * g2[i]
            rhs(t + _A3X * hh, work, p, u, fnew)
            stats[2] += 2
            for i in range(n):
                g3[i] = fnew[i] + hh * _C3X * ft[i] + (_C31 * g1[i] + _C32 * g2[i]) / hh
                g4[i] = fnew[i] + hh * _C4X * ft[i] + (_C41 * g1[i] + _C42 * g2[i]) / hh
            w_solve(J, LU, g3)
            for i in range(n):
                g4[i] += _C43 * g3[i] / hh
            w_solve(J, LU, g4)
            err = 0.0
            for i in range(n):
                ynew[i] = y[i] + _B1 * g1[i] + _B2 * g2[i] + _B3 * g3[i] + _B4 * g4[i]
                e = _E1 * g1[i] + _E2 * g2[i] + _E4 * g4[i]
                sc = atol + max(abs(y[i]), abs(ynew[i])) * rtol
                err += (e / sc) ** 2
            err = math.sqrt(err / n)
            finite = math.isfinite(err) and _all_finite(ynew)
        else:
            err = np.nan
            finite = False
        acc = finite and err <= 1.0
        attempts += 1
        t_new = t1 if hh >= t1 - t else t + hh
        if acc:
            stats[0] += 1
            rhs(t_new, ynew, p, u, fnew)
            stats[2] += 1
            while j < j1 and times[j] <= t_new:
                th = (times[j] - t) / hh
                h00 = (1 + 2 * th) * (1 - th) ** 2
                h10 = th * (1 - th) ** 2
                h01 = th**2 * (3 - 2 * th)
                h11 = th**2 * (th - 1)
                for i in range(n):
                    outk[j, i] = h00 * y[i] + h10 * hh * f0[i] + h01 * ynew[i] + h11 * hh * fnew[i]
                j += 1
            for i in range(n):
                y[i] = ynew[i]
                f0[i] = fnew[i]
            t = t_new
            jac(t, y, p, J)
            stats[3] += 1
            _dfdt(rhs, uses_t, t, y, p, u, f0, ft, work)
        else:
            stats[1] += 1
        h, small = _control(acc, finite, err, hh, t, 4.0, -0.25, -1.0 / 3.0)
        if not acc and (small or attempts > max_steps):
            return (STEP_TOO_SMALL if small else TOO_MANY_STEPS), t, h, j
        if acc and t >= t1:
            return OK, t, max(h, h_prop), j


@njit(**_OPT)
def _patient(rhs, jac, w_factor, w_solve, uses_t, lu_size, k, method, P, Y0, times, pat_ptr, seg_t, bol_ptr, bol_idx,
             bol_amt, inf_ptr, inf_idx, inf_rate,
             t_end, rtol, atol, max_steps, out, code, fail_t, fail_y, stats):
    """One patient from its own breakpoints: jumps and infusion rates per segment, the segment
    integrated by ``method`` (0 dopri5, 1 rosenbrock), outputs written into ``out[k]`` (n_times, n_states)."""
    n = Y0.shape[1]
    nt = times.shape[0]
    y = Y0[k].copy()
    p = P[k]
    outk = out[k]
    st = stats[k]
    u = np.zeros(n)
    ynew = np.empty(n)
    work = np.empty(n)
    K = np.empty((7, n))
    J = np.zeros((n, n))
    LU = np.empty(lu_size)
    piv = np.empty(n, dtype=np.int64)
    G = np.empty((4, n))
    f0 = np.empty(n)
    ft = np.empty(n)
    fnew = np.empty(n)
    h = np.nan
    j = 0
    s0 = pat_ptr[k]
    s1 = pat_ptr[k + 1]
    for s in range(s0, s1):
        t0 = seg_t[s]
        last = s == s1 - 1
        t1 = t_end if last else seg_t[s + 1]
        for e in range(bol_ptr[s], bol_ptr[s + 1]):
            y[bol_idx[e]] += bol_amt[e]
        for i in range(n):
            u[i] = 0.0
        for e in range(inf_ptr[s], inf_ptr[s + 1]):
            u[inf_idx[e]] += inf_rate[e]
        h = np.nan  # every breakpoint of a patient is one of its own events: a fresh first step
        while j < nt and times[j] < t0:  # (output times before 0: never reached)
            for i in range(n):
                outk[j, i] = np.nan
            j += 1
        if j < nt and times[j] == t0:
            for i in range(n):
                outk[j, i] = y[i]
            j += 1
        j1 = j
        while j1 < nt and (times[j1] < t1 or (last and times[j1] <= t1)):
            j1 += 1
        if t1 <= t0:
            continue
        if method == 0:
            c, t, h, j = _dopri5_segment(rhs, t0, t1, y, p, u, h, times, j, j1, outk, rtol, atol, max_steps, K, ynew, work, st)
        else:
            c, t, h, j = _rosenbrock_segment(rhs, jac, w_factor, w_solve, uses_t, t0, t1, y, p, u, h, times, j, j1, outk,
                                             rtol, atol, max_steps, J, LU, piv,
                                             G, f0, ft, fnew, ynew, work, st)
        if c != OK:
            code[k] = c
            fail_t[k] = t
            for i in range(n):
                fail_y[k, i] = y[i]
            for i in range(n):
                for jj in range(nt):
                    outk[jj, i] = np.nan
            return
    for jj in range(j, nt):  # (none for output times within [0, t_end])
        for i in range(n):
            outk[jj, i] = np.nan


@njit(types.void(_RHS, _JAC, _WF, _WS, types.boolean, _i8, _i1, _i8, _a2, _a2, _a1, _i1, _a1, _i1, _i1, _a1, _i1, _i1, _a1,
                 _f8, _f8, _f8, _i8, _a3, _i1, _a1, _a2, types.int64[:, ::1]), **_OPT)
def run_patients(rhs, jac, w_factor, w_solve, uses_t, lu_size, ks, method, P, Y0, times, pat_ptr, seg_t, bol_ptr, bol_idx, bol_amt,
                 inf_ptr, inf_idx, inf_rate, t_end, rtol, atol, max_steps, out, code, fail_t, fail_y, stats):
    """The patients ``ks`` (rows of P and Y0), one after the other (threads take disjoint sets)."""
    for q in range(ks.shape[0]):
        _patient(rhs, jac, w_factor, w_solve, uses_t, lu_size, ks[q], method, P, Y0, times, pat_ptr, seg_t, bol_ptr, bol_idx,
                 bol_amt, inf_ptr, inf_idx, inf_rate, t_end, rtol, atol, max_steps, out, code, fail_t, fail_y, stats)
