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


@lru_cache(maxsize=4)
def _rat(dose_mgkg: float = 10.0, intervention: str = ""):
    from .. import simulate

    arm = {"regimen": [{"drug": "ketamine", "route": "ip", "dose": f"{dose_mgkg} mg/kg", "at": "0 h"}]}
    if intervention:
        arm["interventions"] = [{"name": intervention}]
    sc = {"name": "rat", "species": "rat", "duration": "72 h", "output_interval": "5 min",
          "population": {"variability": False, "weight": "0.3 kg"}, "arms": {"a": arm}}
    return simulate(sc, model=_model())


def _at(res, var, t, arm="a"):
    k = int(np.argmin(np.abs(res.time - t)))
    return float(res[var].sel(arm=arm).values[..., k].mean())


def rat_value(variable: str, times, dose_mgkg: float = 10.0, intervention: str = ""):
    """``variable`` at ``times`` (h) after ketamine i.p. in a typical rat (a float or a list)."""
    res = _rat(float(dose_mgkg), intervention)
    out = [_at(res, variable, t) for t in np.atleast_1d(times)]
    return out if np.ndim(times) else out[0]


def rat_peak(variable: str, dose_mgkg: float = 10.0, window_h: float = 2.0) -> float:
    res = _rat(float(dose_mgkg), "")
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


@lru_cache(maxsize=2)
def _trial(n: int = 300, seed: int = 2016):
    from .. import simulate

    arms = {"ketamine": {"regimen": [{"drug": "ketamine", "dose": "0.5 mg/kg", **INF}]},
            "midazolam": {"regimen": [{"drug": "midazolam", "dose": "0.045 mg/kg", **INF}]},
            "saline": {"regimen": [{"drug": "placebo", **INF}]}}
    # n = 300 per arm (batched engine, ~1 min): at n = 80 the saline arm has ~8 expected responders
    # and the odds ratio of one seed swung between ~9 and ~27 on sampling noise alone
    sc = {"name": "single-infusion-trial", "duration": "10 d", "output_interval": "1 h", "solver": {"engine": "batch"},
          "population": {"n": n, "seed": seed, "weight": {"mean": "80 kg", "sd": "15 kg"}, "diagnosis": "trd"},
          "arms": arms}
    return simulate(sc, model=_model())


def trial_endpoint(arm: str, kind: str, at: str, scale: str = "madrs") -> float:
    """Mean over a TRD virtual trial (n = 300 per arm) of a scale endpoint."""
    res = _trial()
    v = res.endpoint_values({"name": "x", "kind": kind, "scale": scale, "at": at}, arm)
    return float(np.nanmean(v))


def odds_ratio(at: str = "24 h") -> float:
    """Odds ratio of response, ketamine vs saline (0.5 added to every cell, Haldane)."""
    n = _trial().data.sizes["patient"]
    k = trial_endpoint("ketamine", "response_rate", at) * n
    p = trial_endpoint("saline", "response_rate", at) * n
    return float(((k + 0.5) / (n - k + 0.5)) / ((p + 0.5) / (n - p + 0.5)))


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
