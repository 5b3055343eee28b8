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
``mean_change``            variable, at           value at ``at`` minus value at time 0
``response_rate``          scale, at              (mood layer)
``remission_rate``         scale, at              (mood layer)
``median_time_to_relapse`` scale, after           (mood layer)
=========================  =====================  =========================================
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
    raise ValueError(f"endpoint kind {kind!r} is not computed by this layer")


def unit_of(kind: str, var_unit: str) -> str:
    return {"tmax": "h", "auc": f"{var_unit}*h"}.get(kind, var_unit)


def summarise(values: np.ndarray, unit: str) -> dict:
    """``{"value": mean, "unit": unit, "ci95": [2.5th, 97.5th percentile]}`` over patients."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"value": None, "unit": unit, "ci95": [None, None]}
    lo, hi = np.percentile(v, [2.5, 97.5])
    return {"value": float(v.mean()), "unit": unit, "ci95": [float(lo), float(hi)]}
