"""Python predictors for the HPA and acute-effects validation cases (and the calibration script).

Each public function returns one float, computed through the public API (:func:`nmdalab.simulate`)
on the layers it needs, so a case checks the model exactly as users run it.
"""

from __future__ import annotations

import numpy as np

from .. import simulate
from ..model.core import Model

#: clock time of the Debono 2009 peak and nadir (h after midnight)
DEBONO_PEAK_H = 8 + 32 / 60
DEBONO_NADIR_H = 18 / 60


def _sim(scenario: dict, layers=("hpa",), parameters=None):
    return simulate(scenario, model=Model.default(tuple(layers)), parameters=parameters)


def daily_profile(parameters=None, day: int = 2, step_min: float = 2.0):
    """(clock time h, cortisol ug/dL, ACTH pg/mL) over one baseline day (day 1 = first day).

    The model starts on its periodic steady state at 00:00, so day 2 is a rested day.
    """
    sc = {"name": "hpa-baseline", "duration": f"{day * 24} h", "output_interval": f"{step_min} min",
          "population": {"variability": False}, "arms": {"rest": {"regimen": []}}}
    res = _sim(sc, parameters=parameters)
    t = res.time
    sel = (t >= (day - 1) * 24 - 1e-9) & (t <= day * 24 + 1e-9)
    cort = res["cortisol"].values[0, 0][sel]
    acth = res["acth"].values[0, 0][sel]
    return t[sel] - (day - 1) * 24, cort, acth


def _refine(t, v, i):
    """Vertex time of the parabola through samples i-1, i, i+1."""
    if 0 < i < len(v) - 1:
        a, b, c = v[i - 1], v[i], v[i + 1]
        den = a - 2 * b + c
        if den != 0:
            return float(t[i] + 0.5 * (a - c) / den * (t[1] - t[0]))
    return float(t[i])


def peak_value(parameters=None) -> float:
    """Largest cortisol of a baseline day (ug/dL)."""
    return float(daily_profile(parameters)[1].max())


def peak_time(parameters=None) -> float:
    """Clock time (h) of the cortisol peak of a baseline day."""
    t, c, _ = daily_profile(parameters)
    return _refine(t, c, int(np.argmax(c)))


def nadir_value(parameters=None) -> float:
    """Lowest cortisol of a baseline day (ug/dL)."""
    return float(daily_profile(parameters)[1].min())


def nadir_time(parameters=None) -> float:
    """Clock time (h) of the cortisol nadir, in (-12, 12] (so 23:30 is -0.5)."""
    t, c, _ = daily_profile(parameters)
    tn = _refine(t, -c, int(np.argmin(c)))
    return tn - 24 if tn > 12 else tn


def car_rise(parameters=None, after_min: float = 30.0) -> float:
    """Cortisol awakening response: cortisol ``after_min`` after waking relative to the value at
    waking, minus 1 (0.5 = +50%)."""
    from ..simulate import parameter_set

    ps = parameters or parameter_set("human")
    wake = ps["hpa.wake_time"].value
    t, c, _ = daily_profile(ps)
    return float(np.interp(wake + after_min / 60, t, c) / np.interp(wake, t, c) - 1)


def morning_acth(parameters=None) -> float:
    """Mean ACTH 07:00-10:00 of a baseline day (pg/mL)."""
    t, _, a = daily_profile(parameters)
    return float(a[(t >= 7) & (t <= 10)].mean())


# -- acute stress (Trier-like test) ------------------------------------------------------------

TSST_AT_H = 182.0  # 14:00 on day 8
TSST_MIN = 15.0


def tsst_course(parameters=None, at_h: float = TSST_AT_H, duration_min: float = TSST_MIN, intensity: float = 1.0):
    """(t h, cortisol with the stressor, cortisol without) around an acute stressor."""
    base = {"duration": f"{at_h + 4} h", "output_interval": "1 min", "population": {"variability": False}}
    arms = {"stress": {"regimen": [], "stressors": [{"kind": "acute", "at": f"{at_h} h", "duration": f"{duration_min} min",
                                                    "intensity": intensity}]},
            "rest": {"regimen": []}}
    res = _sim({"name": "tsst", **base, "arms": arms}, parameters=parameters)
    sel = res.time >= at_h - 1
    c = res["cortisol"].values[:, 0, sel]
    return res.time[sel], c[0], c[1]


def _tsst_window(parameters):
    t, cs, cr = tsst_course(parameters)
    pre = float(np.interp(TSST_AT_H, t, cs))
    w = (t >= TSST_AT_H) & (t <= TSST_AT_H + 2)
    i = int(np.argmax(np.where(w, cs, -np.inf)))
    return t, cs, pre, i


def tsst_rise(parameters=None) -> float:
    """Peak cortisol within 2 h of a Trier-like stressor's start relative to the pre-stress
    value, minus 1 (how stress studies report reactivity: peak against baseline)."""
    t, cs, pre, i = _tsst_window(parameters)
    return float(cs[i] / pre - 1)


def tsst_peak_delay_min(parameters=None) -> float:
    """Minutes from the end of the stressor to the cortisol peak."""
    t, cs, pre, i = _tsst_window(parameters)
    return float((t[i] - TSST_AT_H) * 60 - TSST_MIN)


def tsst_rise_left(parameters=None, after_end_min: float = 90.0) -> float:
    """Fraction of the cortisol rise (peak minus pre-stress) still present ``after_end_min``
    after the stressor ends (0: back to the pre-stress value)."""
    t, cs, pre, i = _tsst_window(parameters)
    te = TSST_AT_H + (TSST_MIN + after_end_min) / 60
    return float((np.interp(te, t, cs) - pre) / (cs[i] - pre))


# -- ketamine ------------------------------------------------------------------------------------


def ketamine_doubling_concentration(rate_mg_per_h: float = 13.0, hours: float = 3.0, parameters=None) -> float:
    """Plasma ketamine (ng/mL) at which the model's net cortisol production doubles.

    A constant infusion (default 13 mg/h, a plateau near 160 ng/mL) against no drug, both from
    09:00; at the end, with production ratio r and plasma concentration C, the doubling
    concentration of a linear effect is ``C/(r - 1)`` -- the quantity Khalili-Mahani et al.
    2015 estimated with an indirect-response model.  GR feedback is included.
    """
    start = 9.0
    sc = {"name": "ket-cortisol", "duration": f"{start + hours} h", "output_interval": "5 min",
          "population": {"variability": False},
          "arms": {"ket": {"regimen": [{"drug": "ketamine", "route": "iv_infusion", "dose": f"{rate_mg_per_h * hours} mg",
                                        "duration": f"{hours} h", "at": f"{start} h"}]},
                   "none": {"regimen": []}}}
    res = _sim(sc, layers=("pk", "hpa"), parameters=parameters)
    prod = res["hpa.cortisol_production"].values[:, 0, -1]
    conc = res["plasma.ketamine"].values[0, 0, -1]
    return float(conc / (prod[0] / prod[1] - 1))


def production_at(clock_h: float = 9.0, parameters=None) -> float:
    """Cortisol production (nM/min) at a clock time of a baseline day."""
    sc = {"name": "hpa-production", "duration": "48 h", "output_interval": "5 min",
          "population": {"variability": False}, "arms": {"rest": {"regimen": []}}}
    res = _sim(sc, parameters=parameters)
    return float(np.interp(24 + clock_h, res.time, res["hpa.cortisol_production"].values[0, 0]))


# -- acute effects -------------------------------------------------------------------------------

INFUSION = {"drug": "ketamine", "route": "iv_infusion", "dose": "0.5 mg/kg", "duration": "40 min"}


def value_where(variable: str, driver: str = "effects.effect_site", level: float = 640.0, drug: str = "ketamine",
                dose: str = "3 mg/kg", parameters=None) -> float:
    """``variable`` at the moment ``driver`` falls through ``level`` after an IV bolus of
    ``dose`` (interpolated on a 30-s grid): a concentration-effect read-out, as a study at
    steady concentrations would report it (the effects are direct functions of concentration)."""
    sc = {"name": "where", "duration": "8 h", "output_interval": "0.5 min", "population": {"variability": False},
          "arms": {"a": {"regimen": [{"drug": drug, "route": "iv_bolus", "dose": dose, "at": "0 h"}]}}}
    res = _sim(sc, layers=("pk", "effects"), parameters=parameters)
    d, v = res[driver].values[0, 0], res[variable].values[0, 0]
    k0 = int(np.argmax(d))
    dd, vv = d[k0:], v[k0:]
    j = int(np.argmax(dd < level))
    if j == 0:
        raise ValueError(f"{driver} never falls through {level} after {dose} {drug}")
    w = (dd[j - 1] - level) / (dd[j - 1] - dd[j])
    return float(vv[j - 1] + w * (vv[j] - vv[j - 1]))


def bowdle_linearity(parameters=None) -> float:
    """Pearson r of psychotomimetic intensity against plasma-equivalent racemic ketamine at
    50, 100, 150, 200 ng/mL (Bowdle 1998 steady-state steps: linear, R = 0.93-0.99)."""
    levels = [50.0, 100.0, 150.0, 200.0]
    y = [value_where("psychotomimetic", level=c, dose="1 mg/kg", parameters=parameters) for c in levels]
    return float(np.corrcoef(levels, y)[0, 1])


def _repeated(parameters=None):
    reg = [{**INFUSION, "days": ["mon", "wed", "fri"], "weeks": 2, "time": "9 h"}]
    sc = {"name": "repeated", "duration": "12 d", "output_interval": "2 min", "population": {"variability": False},
          "arms": {"a": {"regimen": reg}}}
    res = _sim(sc, layers=("pk", "effects"), parameters=parameters)
    t = res.time
    first, sixth = (t >= 9) & (t < 12), (t >= 11 * 24 + 9) & (t < 11 * 24 + 12)
    return res, first, sixth


def cadss_change_sixth_infusion(parameters=None) -> float:
    """Peak CADSS at the 6th thrice-weekly infusion relative to the 1st, minus 1."""
    res, first, sixth = _repeated(parameters)
    c = res["cadss"].values[0, 0]
    return float(c[sixth].max() / c[first].max() - 1)


def sbp_ratio_sixth_infusion(parameters=None) -> float:
    """Peak SBP rise at the 6th thrice-weekly infusion relative to the 1st."""
    res, first, sixth = _repeated(parameters)
    s = res["sbp_change"].values[0, 0]
    return float(s[sixth].max() / s[first].max())


def harm_after_heavy_use(variable: str = "harm.uropathy_risk", weeks: int = 52, parameters=None) -> float:
    """A harm risk after ``weeks`` of heavy use: 2 g insufflated 4 days a week (Morgan 2010
    frequent users, 4+ days a week at 1-4 g; memory-grade pattern)."""
    reg = [{"drug": "ketamine", "route": "intranasal", "dose": "2 g", "days": ["mon", "tue", "thu", "fri"],
            "weeks": weeks, "time": "22 h"}]
    sc = {"name": "heavy", "duration": f"{7 * weeks} d", "output_interval": "1 d", "population": {"variability": False},
          "arms": {"a": {"regimen": reg}}}
    res = _sim(sc, layers=("pk", "effects"), parameters=parameters)
    return float(res[variable].values[0, 0, -1])


def infusion_endpoint(kind: str, variable: str, at: str | None = None, parameters=None) -> float:
    """An endpoint (``cmax``, ``tmax`` h, ``value_at``) of 0.5 mg/kg racemic ketamine over 40 min,
    typical 70-kg patient, 1-min grid, on the PK + effects layers only."""
    sc = {"name": "infusion", "duration": "5 h", "output_interval": "1 min", "population": {"variability": False},
          "arms": {"ket": {"regimen": [{**INFUSION, "at": "0 h"}]}}}
    res = _sim(sc, layers=("pk", "effects"), parameters=parameters)
    spec = {"kind": kind, "variable": variable}
    if at is not None:
        spec["at"] = at
    return float(res.endpoint_values(spec, "ket")[0])
