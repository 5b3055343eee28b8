"""Python predictors for PK validation cases: quantities that are not a single endpoint
(clearance, Vss, bioavailability, half-life, accumulation), computed from simulations of a
typical patient, exactly as they would be computed from dense observed data."""

from __future__ import annotations

import numpy as np

from .. import simulate


def _typical(drug: str, route: str, dose: str, hours: float = 96.0, interval: str = "2 min", weight: str = "70 kg",
             species: str = "human", variable: str | None = None, **dose_extra):
    item = {"drug": drug, "route": route, "dose": dose, "at": "0 h", **dose_extra}
    sc = {"name": "check", "species": species, "duration": f"{hours} h", "output_interval": interval,
          "population": {"variability": False, "weight": weight}, "arms": {"a": {"regimen": [item]}}}
    res = simulate(sc)
    var = variable or ("plasma.s_ketamine" if drug == "esketamine" else
                       "plasma.r_ketamine" if drug == "arketamine" else "plasma.ketamine")
    return res.time, res[var].sel(arm="a").values[0]


def _auc_inf(t, c):
    """AUC(0-inf): trapezoid plus the log-linear tail from the last quarter of the curve."""
    auc = np.trapezoid(c, t)
    k = terminal_slope(t, c)
    return auc + c[-1] / k


def terminal_slope(t, c, start_fraction: float = 0.75) -> float:
    sel = (t >= t[-1] * start_fraction) & (c > 0)
    return -np.polyfit(t[sel], np.log(c[sel]), 1)[0]


def clearance(drug: str = "ketamine", dose_mg: float = 10.0, species: str = "human", weight: str = "70 kg",
              hours: float = 96.0, interval: str = "2 min") -> float:
    """Total clearance (L/h) = IV bolus dose / AUC(0-inf), typical patient of the given weight.

    Choose ``hours`` and ``interval`` to the species' time scale (the trapezoid needs a grid much
    finer than the distribution half-life)."""
    t, c = _typical(drug, "iv_bolus", f"{dose_mg} mg", species=species, weight=weight, hours=hours, interval=interval)
    return dose_mg * 1000.0 / _auc_inf(t, c)  # ug / (ug/L*h) = L/h


def vss(drug: str = "ketamine", dose_mg: float = 10.0) -> float:
    """Volume at steady state (L) = CL x MRT, MRT = AUMC/AUC after an IV bolus."""
    t, c = _typical(drug, "iv_bolus", f"{dose_mg} mg", hours=240.0, interval="5 min")
    k = terminal_slope(t, c)
    auc = np.trapezoid(c, t) + c[-1] / k
    aumc = np.trapezoid(c * t, t) + c[-1] * t[-1] / k + c[-1] / k**2
    return dose_mg * 1000.0 / auc * (aumc / auc)


def bioavailability(drug: str, route: str, dose_mg: float) -> float:
    """AUC(0-inf) ratio to an IV bolus of the same dose (parent drug)."""
    t, c = _typical(drug, route, f"{dose_mg} mg")
    ti, ci = _typical(drug, "iv_bolus", f"{dose_mg} mg")
    return _auc_inf(t, c) / _auc_inf(ti, ci)


def auc_ratio(drug: str, route: str, dose_mg: float, numerator: str, denominator: str) -> float:
    """AUC(0-inf) of one variable over another after one dose (e.g. norketamine/ketamine)."""
    t, n = _typical(drug, route, f"{dose_mg} mg", variable=numerator)
    _, d = _typical(drug, route, f"{dose_mg} mg", variable=denominator)
    return _auc_inf(t, n) / _auc_inf(t, d)


def terminal_half_life(drug: str = "ketamine", route: str = "iv_bolus", dose_mg: float = 10.0,
                       t_from: float = 12.0, t_to: float = 24.0) -> float:
    """Half-life (h) of the log-linear decline between two times."""
    t, c = _typical(drug, route, f"{dose_mg} mg", hours=t_to)
    sel = (t >= t_from) & (t <= t_to)
    k = -np.polyfit(t[sel], np.log(c[sel]), 1)[0]
    return float(np.log(2) / k)


def tmax(drug: str, route: str, dose_mg: float, species: str = "human", weight: str = "70 kg") -> float:
    t, c = _typical(drug, route, f"{dose_mg} mg", hours=6.0, interval="1 min", species=species, weight=weight)
    return float(t[np.argmax(c)])


def accumulation_ratio(drug: str = "esketamine", dose_mg: float = 56.0) -> float:
    """Cmax after the 8th twice-weekly dose / Cmax after the first (Monday, Thursday)."""
    sc = {"name": "acc", "duration": "4 weeks", "output_interval": "2 min", "population": {"variability": False},
          "arms": {"a": {"regimen": [{"drug": drug, "route": "intranasal", "dose": f"{dose_mg} mg",
                                      "days": ["mon", "thu"], "weeks": 4}]}}}
    res = simulate(sc)
    var = "plasma.s_ketamine" if drug == "esketamine" else "plasma.ketamine"
    t, c = res.time, res[var].sel(arm="a").values[0]
    first = c[t < 24].max()
    last_dose = 24 * (7 * 3 + 3)
    last = c[(t >= last_dose) & (t < last_dose + 24)].max()
    return float(last / first)


def peak(drug: str, route: str, dose: str, variable: str, duration: str | None = None, weight: str = "70 kg") -> float:
    extra = {"duration": duration} if duration else {}
    t, c = _typical(drug, route, dose, hours=24.0, interval="5 min", variable=variable, weight=weight, **extra)
    return float(c.max())


def time_of_peak(drug: str, route: str, dose: str, variable: str, duration: str | None = None) -> float:
    extra = {"duration": duration} if duration else {}
    t, c = _typical(drug, route, dose, hours=24.0, interval="5 min", variable=variable, **extra)
    return float(t[np.argmax(c)])
