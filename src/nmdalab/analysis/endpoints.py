"""Endpoints computed from a population's time courses.

Exposure endpoints are computed on the output grid, as non-compartmental analysis would on
densely sampled data: ``cmax`` and ``tmax`` are the largest sampled value and its time,
``auc`` the linear trapezoid (window edges interpolated).  Choose ``output_interval`` to suit
(10 min resolves an IV infusion peak; 1-2 min an intranasal one).

Each kind returns one value per patient; :func:`summarise` turns them into the ``summary.json``
entry ``{"value": mean, "unit": U, "ci95": [p2.5, p97.5]}``.

=========================  =====================  =========================================
kind                       needs                  per-patient value
=========================  =====================  =========================================
``cmax``                   variable [, window]    max of the variable (in window)
``tmax``                   variable [, window]    time of the max (h)
``auc``                    variable [, window]    trapezoid integral (unit x h)
``value_at``               variable, at           value at ``at`` (linear interpolation)
``mean_change``            variable|scale, at     value at ``at`` minus value at time 0
``response_rate``          scale, at [, threshold] 1 if (x0 - x(at))/x0 >= threshold (0.5), else 0
``remission_rate``         scale, at [, cutoff]   1 if x(at) <= cutoff (MADRS 10, HDRS 7), else 0
``median_time_to_relapse`` scale, after [, thr.]  time (h from 0) of the first loss of response
                                                  after ``after``, among responders at ``after``
                                                  (NaN: not a responder; inf: no relapse seen)
=========================  =====================  =========================================

Scale endpoints (``scale: madrs`` or ``hdrs``) read the mood layer's variable of that name.
Rates are summarised as the fraction of patients with a Wilson 95% interval of the rate
(:func:`summarise_rate`); the time to relapse as the median over responders, with censored
patients counted as relapsing after the end (:func:`summarise_relapse`).
"""

from __future__ import annotations

import numpy as np

ENDPOINT_KINDS: dict[str, set[str]] = {
    "cmax": {"variable"},
    "tmax": {"variable"},
    "auc": {"variable"},
    "value_at": {"variable", "at"},
    "mean_change": {"variable", "at"},
    "response_rate": {"scale", "at"},
    "remission_rate": {"scale", "at"},
    "median_time_to_relapse": {"scale", "after"},
}


def _window(time: np.ndarray, values: np.ndarray, window: tuple[float, float] | None):
    """Restrict (time, values[patient, time]) to a window, interpolating the edges."""
    if window is None:
        return time, values
    lo, hi = window
    inner = (time > lo) & (time < hi)
    t = np.concatenate([[lo], time[inner], [hi]])
    v = np.concatenate(
        [_interp(time, values, lo)[:, None], values[:, inner], _interp(time, values, hi)[:, None]], axis=1
    )
    return t, v


def _interp(time: np.ndarray, values: np.ndarray, at: float) -> np.ndarray:
    i = np.searchsorted(time, at)
    if i < len(time) and np.isclose(time[i], at, rtol=0, atol=1e-9):
        return values[:, i]
    if i == 0 or i >= len(time):
        raise ValueError(f"time {at:g} h lies outside the simulated times")
    w = (at - time[i - 1]) / (time[i] - time[i - 1])
    return (1 - w) * values[:, i - 1] + w * values[:, i]


def per_patient(kind: str, time: np.ndarray, values: np.ndarray, at: float | None = None, window=None) -> np.ndarray:
    """Per-patient endpoint values; ``values`` has shape (patient, time)."""
    if kind in ("cmax", "tmax", "auc"):
        t, v = _window(time, values, window)
        if kind == "cmax":
            return np.nanmax(v, axis=1)
        if kind == "tmax":
            # undefined (NaN) for a curve that never leaves zero, e.g. a placebo arm
            tm = t[np.nanargmax(v, axis=1)]
            return np.where(np.nanmax(v, axis=1) > 0, tm, np.nan)
        return np.trapezoid(v, t, axis=1)
    if kind == "value_at":
        return _interp(time, values, at)
    if kind == "mean_change":
        return _interp(time, values, at) - values[:, 0]
    if kind in ("response_rate", "remission_rate", "median_time_to_relapse"):
        raise ValueError(f"endpoint kind {kind!r} needs its scale settings: use scale_per_patient")
    raise ValueError(f"endpoint kind {kind!r} is not computed by this layer")


def scale_per_patient(kind: str, time: np.ndarray, values: np.ndarray, at: float | None = None,
                      threshold: float | None = None, cutoff: float | None = None,
                      after: float | None = None) -> np.ndarray:
    """Per-patient values of the depression-scale kinds; ``values`` has shape (patient, time).

    ``threshold`` is the fractional reduction from the time-0 score that defines response
    (default 0.5); ``cutoff`` the score at or below which a patient remits.
    """
    threshold = 0.5 if threshold is None else threshold
    base = values[:, 0]
    ok = np.isfinite(base)
    if kind == "response_rate":
        red = (base - _interp(time, values, at)) / base
        return np.where(ok, (red >= threshold).astype(float), np.nan)
    if kind == "remission_rate":
        return np.where(ok, (_interp(time, values, at) <= cutoff).astype(float), np.nan)
    if kind == "median_time_to_relapse":
        responder = (base - _interp(time, values, after)) / base >= threshold
        later = time > after
        lost = (base[:, None] - values[:, later]) / base[:, None] < threshold  # (patient, later times)
        first = np.where(lost.any(axis=1), time[later][np.argmax(lost, axis=1)], np.inf)
        return np.where(ok & responder, first, np.nan)
    raise ValueError(f"endpoint kind {kind!r} is not a depression-scale endpoint")


#: kinds whose per-patient values are 0/1 (summarised as a rate)
RATE_KINDS = ("response_rate", "remission_rate")


def unit_of(kind: str, var_unit: str) -> str:
    return {"tmax": "h", "auc": f"{var_unit}*h", "response_rate": "1", "remission_rate": "1",
            "median_time_to_relapse": "h"}.get(kind, var_unit)


def wilson_interval(k: float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval of a binomial rate ``k/n`` (Wilson 1927, JASA 22:209)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    den = 1 + z**2 / n
    mid = (p + z**2 / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    # the bounds are exactly 0 at k = 0 and 1 at k = n (mid - half and mid + half round to 1e-17 off)
    lo = 0.0 if k <= 0 else max(0.0, mid - half)
    hi = 1.0 if k >= n else min(1.0, mid + half)
    return (float(lo), float(hi))


def summarise_rate(values: np.ndarray) -> dict:
    """``{"value": fraction, "unit": "1", "ci95": Wilson interval}`` over patients with a value."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"value": None, "unit": "1", "ci95": [None, None]}
    lo, hi = wilson_interval(float(v.sum()), int(v.size))
    return {"value": float(v.mean()), "unit": "1", "ci95": [lo, hi]}


def summarise_relapse(values: np.ndarray) -> dict:
    """Median time to relapse among responders (censored = relapse after the end).

    ``value`` is None when no patient responded or when half or more never relapsed (median not
    reached); ``ci95`` holds the 2.5th and 97.5th percentiles of the relapse times (None where
    they fall among the censored patients); ``n_responders`` and ``n_censored`` say how many.
    """
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    out = {"value": None, "unit": "h", "ci95": [None, None], "n_responders": int(v.size),
           "n_censored": int(np.isinf(v).sum())}
    if v.size == 0:
        return out
    med, lo, hi = np.percentile(v, [50, 2.5, 97.5], method="lower")
    fin = lambda x: float(x) if np.isfinite(x) else None  # noqa: E731
    out["value"], out["ci95"] = fin(med), [fin(lo), fin(hi)]
    return out


def summarise(values: np.ndarray, unit: str) -> dict:
    """``{"value": mean, "unit": unit, "ci95": [2.5th, 97.5th percentile]}`` over patients."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"value": None, "unit": unit, "ci95": [None, None]}
    lo, hi = np.percentile(v, [2.5, 97.5])
    return {"value": float(v.mean()), "unit": unit, "ci95": [float(lo), float(hi)]}
