"""Predictors for the circuit, signalling and clinical validation cases (issue 4).

Each function returns a float or a list; the simulations behind them are cached per process so
the cases that read one experiment share one run.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

LAYERS = ("pk", "magnesium", "nmda", "circuit", "plasticity", "mood")
INF = {"route": "iv_infusion", "duration": "40 min", "at": "0 h"}


def _model():
    from ..model.registry import default_model

    return default_model(LAYERS)


#: typical body weights of the rodent experiments (Sprague-Dawley rat, C57BL/6 mouse)
RODENT_WEIGHT = {"rat": "0.3 kg", "mouse": "0.025 kg"}


@lru_cache(maxsize=8)
def _rodent(dose_mgkg: float = 10.0, intervention: str = "", species: str = "rat"):
    from .. import simulate

    arm = {"regimen": [{"drug": "ketamine", "route": "ip", "dose": f"{dose_mgkg} mg/kg", "at": "0 h"}]}
    if intervention:
        arm["interventions"] = [{"name": intervention}]
    sc = {"name": species, "species": species, "duration": "72 h", "output_interval": "5 min",
          "population": {"variability": False, "weight": RODENT_WEIGHT[species]}, "arms": {"a": arm}}
    return simulate(sc, model=_model())


def dose_contrasts(variable: str, t: float, dose_mgkg: float, others, species: str = "rat") -> list[float]:
    """``variable(dose) - variable(other)`` at ``t`` h after ketamine i.p., for each other dose
    (typical animal): all positive = ``dose`` beats every other (an inverted U when ``others``
    lie on both sides)."""
    v = _at(_rodent(float(dose_mgkg), "", species), variable, t)
    return [v - _at(_rodent(float(o), "", species), variable, t) for o in others]


def _at(res, var, t, arm="a"):
    k = int(np.argmin(np.abs(res.time - t)))
    return float(res[var].sel(arm=arm).values[..., k].mean())


def rat_value(variable: str, times, dose_mgkg: float = 10.0, intervention: str = ""):
    """``variable`` at ``times`` (h) after ketamine i.p. in a typical rat (a float or a list)."""
    res = _rodent(float(dose_mgkg), intervention)
    out = [_at(res, variable, t) for t in np.atleast_1d(times)]
    return out if np.ndim(times) else out[0]


def rat_peak(variable: str, dose_mgkg: float = 10.0, window_h: float = 2.0) -> float:
    res = _rodent(float(dose_mgkg), "")
    x = res[variable].sel(arm="a").values[0]
    return float(x[res.time <= window_h].max())


def fraction_left(variable: str, intervention: str, t: float, dose_mgkg: float = 10.0) -> float:
    """(intervention - 1) / (no intervention - 1) of ``variable`` at ``t``: 0 = abolished."""
    return (rat_value(variable, t, dose_mgkg, intervention) - 1) / (rat_value(variable, t, dose_mgkg) - 1)


def clamped_glutamate(conc_uM: float) -> float:
    """Steady prefrontal glutamate at a clamped brain ketamine concentration (receptor layer QSS)."""
    from ..model.circuit import pfc_rates
    from ..model.nmda import population_steady_state
    from ..parameters import load

    ps = load("human")
    keys = ("w_ee", "nmda_share_ee", "loop_gain", "nmda_share_ie", "nmda_share_input", "interneuron_threshold", "smooth_q")
    args = [ps[f"circuit.{k}"].value for k in keys]
    mg = ps["circuit.mg_ref"].value
    g = [population_steady_state(p, {"ketamine": conc_uM}, mg)["open"] / population_steady_state(p, {}, mg)["open"]
         for p in ("pyramidal", "interneuron")]
    return float(pfc_rates(g[0], g[1], *args)[0] / pfc_rates(1.0, 1.0, *args)[0])


def _trd_trial(name: str, duration: str, interval: str, arms: dict, n: int, seed: int):
    """A virtual TRD trial of the mood-layer model: ``n`` patients per arm (80 +- 15 kg), compiled
    engine (every patient's numbers independent of the others and of threads)."""
    from .. import simulate

    sc = {"name": name, "duration": duration, "output_interval": interval, "solver": {"engine": "compiled"},
          "population": {"n": n, "seed": seed, "weight": {"mean": "80 kg", "sd": "15 kg"}, "diagnosis": "trd"},
          "arms": arms}
    return simulate(sc, model=_model())


@lru_cache(maxsize=2)
def _trial(n: int = 1000, seed: int = 2016):
    arms = {"ketamine": {"regimen": [{"drug": "ketamine", "dose": "0.5 mg/kg", **INF}]},
            "midazolam": {"regimen": [{"drug": "midazolam", "dose": "0.045 mg/kg", **INF}]},
            "saline": {"regimen": [{"drug": "placebo", **INF}]}}
    # n = 1000 per arm (compiled engine, ~30 s): at n = 80 the saline arm has ~8 expected responders
    # and the odds ratio of one seed swung between ~9 and ~27 on sampling noise alone; at n = 300 a
    # re-draw of the population moved the 24-h response by 0.07 (binomial SE at n = 1000: 0.016)
    return _trd_trial("single-infusion-trial", "10 d", "1 h", arms, n, seed)


def trial_endpoint(arm: str, kind: str, at: str, scale: str = "madrs") -> float:
    """Mean over a TRD virtual trial (n = 300 per arm) of a scale endpoint."""
    res = _trial()
    v = res.endpoint_values({"name": "x", "kind": kind, "scale": scale, "at": at}, arm)
    return float(np.nanmean(v))


def response_kept(visits=(24.0, 48.0, 72.0, 168.0), arm: str = "ketamine") -> float:
    """Fraction of all patients who are responders at every visit (Zarate 2006: "maintained response
    for at least 1 week"; visits in h after the start of the infusion)."""
    res = _trial()
    first, *later = visits
    resp = {t: res.endpoint_values({"name": "x", "kind": "response_rate", "scale": "madrs", "at": f"{t:g} h"}, arm) > 0.5
            for t in visits}
    kept = np.logical_and.reduce([resp[first], *(resp[t] for t in later)])
    return float(kept.mean())


def odds_ratio(at: str = "24 h") -> float:
    """Odds ratio of response, ketamine vs saline (0.5 added to every cell, Haldane)."""
    n = _trial().data.sizes["patient"]
    k = trial_endpoint("ketamine", "response_rate", at) * n
    p = trial_endpoint("saline", "response_rate", at) * n
    return float(((k + 0.5) / (n - k + 0.5)) / ((p + 0.5) / (n - p + 0.5)))


def effect_size(at: str = "24 h", control: str = "saline") -> float:
    """Hedges' g of the MADRS change from baseline at ``at``, ketamine vs ``control`` (positive:
    ketamine better): difference of the mean changes over the pooled SD, small-sample factor
    1 - 3/(4(n1 + n2) - 9); patients whose solve failed are left out, as by the trial endpoints."""
    res = _trial()
    spec = {"name": "x", "kind": "mean_change", "scale": "madrs", "at": at}
    ch = {a: v[np.isfinite(v)] for a in ("ketamine", control) for v in [res.endpoint_values(spec, a)]}
    n1, n2 = ch["ketamine"].size, ch[control].size
    sd = np.sqrt(((n1 - 1) * ch["ketamine"].var(ddof=1) + (n2 - 1) * ch[control].var(ddof=1)) / (n1 + n2 - 2))
    return float((ch[control].mean() - ch["ketamine"].mean()) / sd * (1 - 3 / (4 * (n1 + n2) - 9)))


def effect_size_ratio(at: str = "168 h", reference: str = "24 h", control: str = "saline") -> float:
    """Hedges' g at ``at`` over g at ``reference`` (how much of the standardised effect is left)."""
    return effect_size(at, control) / effect_size(reference, control)


def peak_effect_time() -> float:
    """Time (h) of the largest mean MADRS difference ketamine - saline."""
    res = _trial()
    d = res["madrs"].sel(arm="saline").values.mean(axis=0) - res["madrs"].sel(arm="ketamine").values.mean(axis=0)
    return float(res.time[int(np.argmax(d))])


def onset_time(points: float = 3.0) -> float:
    """First time (h) the mean MADRS difference ketamine - saline exceeds ``points``."""
    res = _trial()
    d = res["madrs"].sel(arm="saline").values.mean(axis=0) - res["madrs"].sel(arm="ketamine").values.mean(axis=0)
    k = np.flatnonzero(d > points)
    return float(res.time[k[0]]) if k.size else float("inf")


#: Murrough et al. 2013 Biol Psychiatry: six infusions Mon/Wed/Fri over 12 days (10:00), relapse
#: followed up to 83 days after the last one
COURSE_TIMES_H = tuple(24.0 * d + 10.0 for d in (0, 2, 4, 7, 9, 11))


@lru_cache(maxsize=1)
def _course(n: int = 100, seed: int = 2013):
    arm = {"regimen": [{"drug": "ketamine", "dose": "0.5 mg/kg", "route": "iv_infusion", "duration": "40 min",
                        "days": ["mon", "wed", "fri"], "weeks": 2, "time": "10 h"}]}
    return _trd_trial("repeated-infusion-course", f"{COURSE_TIMES_H[-1] + 84 * 24:g} h", "2 h", {"course": arm}, n, seed)


def course_endpoint(what: str) -> float:
    """Six-infusion course in TRD (n = 100): ``response_end`` (response 24 h after the sixth
    infusion), ``fall_2h`` (mean MADRS fall from baseline 2 h after the end of the first 40-min infusion) or
    ``relapse_days`` (median days from the last infusion to the first loss of response, among
    responders at the end; censored patients count as relapsing after the follow-up)."""
    res = _course()
    t_last = COURSE_TIMES_H[-1]
    if what == "response_end":
        return float(np.nanmean(res.endpoint_values({"name": "x", "kind": "response_rate", "scale": "madrs",
                                                     "at": f"{t_last + 24:g} h"}, "course")))
    if what == "fall_2h":
        at = f"{COURSE_TIMES_H[0] + 2 / 3 + 2.0:g} h"
        return -float(np.mean(res.endpoint_values({"name": "x", "kind": "mean_change", "scale": "madrs", "at": at}, "course")))
    if what == "relapse_days":
        from ..analysis.endpoints import summarise_relapse

        v = res.endpoint_values({"name": "x", "kind": "median_time_to_relapse", "scale": "madrs",
                                 "after": f"{t_last + 24:g} h"}, "course")
        med = summarise_relapse(v)["value"]
        return float("inf") if med is None else (med - t_last) / 24.0
    raise ValueError(f"what: {what!r}; allowed: response_end, fall_2h, relapse_days")


#: TRANSFORM-2 (Popova 2019): twice weekly (Mon, Thu, 10:00) for 4 weeks; esketamine 56 mg on day 1,
#: then 84 mg (flexible 56/84 mg in the trial, most on 84 mg by the end: assumed 84 mg); the placebo
#: arm gets a placebo spray at the same visits.  Both arms' new oral antidepressant is not modelled:
#: it is the same in both arms, and the endpoint is the difference between them
TRANSFORM2_TIMES_H = tuple(24.0 * d + 10.0 for d in (0, 3, 7, 10, 14, 17, 21, 24))


@lru_cache(maxsize=1)
def _transform2(n: int = 300, seed: int = 2019):
    t = [f"{x:g} h" for x in TRANSFORM2_TIMES_H]
    spray = {"route": "intranasal"}
    arms = {"esketamine": {"regimen": [{"drug": "esketamine", "dose": "56 mg", "at": t[0], **spray},
                                       {"drug": "esketamine", "dose": "84 mg", "at": t[1:], **spray}]},
            "placebo": {"regimen": [{"drug": "placebo", "at": t, **spray}]}}
    return _trd_trial("transform-2", "29 d", "6 h", arms, n, seed)


def transform2_difference(at: str = "28 d") -> float:
    """Mean MADRS change from baseline at ``at``, esketamine arm minus placebo arm (points)."""
    res = _transform2()
    spec = {"name": "x", "kind": "mean_change", "scale": "madrs", "at": at}
    return float(np.nanmean(res.endpoint_values(spec, "esketamine")) - np.nanmean(res.endpoint_values(spec, "placebo")))
