"""Calibrate the mood layer's clinical couplings to published single-infusion trials.

Data used (rows of src/nmdalab/data/clinical.csv; validation cases marked ``calibrated: true``):

* clin.han2016.pooled: pooled response / remission after one 0.5 mg/kg infusion at 24 h, 72 h,
  day 7 (52.2/20.6, 47.9/23.8, 39.8/26.2 %; 9 RCTs, n = 368);
* clin.murrough2013.madrs24: MADRS change at 24 h, ketamine -16.5 vs midazolam -8.8;
* clin.zarate2006.hdrs_shape: the fall by ~2 h (HDRS 24.5 -> ~17.5), shape only, low weight;
* clin.newport2015: 24-h odds ratio of response 9.87, giving the saline placebo response rate
  implied by the pooled ketamine rate (about 10%).

Fitted parameters: ``mood.beta_connectivity``, ``mood.beta_lhb``, the IIV (omega) of
``mood.responsiveness``, ``mood.expectation_saline`` and ``mood.expectation_active``.
Objective: least squares of the rates (weight 1 per fraction) and of the MADRS changes (per 5
points), minimised with scipy.optimize (Nelder-Mead from a fixed start, so reruns reproduce).

Speed: the mood outputs (``madrs``) are algebraic in the states and parameters, and the
expectation state is linear in the per-visit amount.  So the script simulates each arm once for
the typical patient (TRD, 0.5 mg/kg over 40 min; saline; midazolam 0.045 mg/kg), keeps the
states, and evaluates the compiled model's own output function for a quadrature population of
responsiveness (41 normal quantiles) and baseline severity (9 quantiles); no equation is typed
twice.  PK variability is not included here (it adds a little spread in the full trials).

Usage: ``.venv/bin/python scripts/calibrate_mood.py [--write]`` (``--write`` updates
src/nmdalab/parameters/human-mood.yaml).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.stats import norm

import nmdalab
from nmdalab.model.registry import default_model
from nmdalab.simulate import _compiled

ROOT = Path(__file__).resolve().parents[1]
YAML = ROOT / "src/nmdalab/parameters/human-mood.yaml"
LAYERS = ("pk", "magnesium", "nmda", "circuit", "plasticity", "mood")
TIMES = (2.0, 24.0, 72.0, 168.0)
#: Zarate 2006 HDRS-21 ~24.5 at baseline and ~17.5 at 110-230 min (shape only, memory-grade)
ZARATE_ONSET = (2.0, (17.5 - 24.5) / 24.5)
HAN_RESPONSE = (0.522, 0.479, 0.398)
HAN_REMISSION = (0.206, 0.238, 0.262)
MURROUGH_CHANGE = {"ketamine": -16.5, "midazolam": -8.8}
NEWPORT_OR = 9.87
FITTED = ("mood.beta_connectivity", "mood.beta_lhb", "omega:mood.responsiveness",
          "mood.expectation_saline", "mood.expectation_active")


def scenario():
    infusion = {"route": "iv_infusion", "duration": "40 min", "at": "0 h"}
    return {
        "name": "calibrate-mood", "duration": "7 d", "output_interval": "1 h",
        "population": {"variability": False, "weight": "75 kg", "diagnosis": "trd"},
        "arms": {"ketamine": {"regimen": [{"drug": "ketamine", "dose": "0.5 mg/kg", **infusion}]},
                 "saline": {"regimen": [{"drug": "placebo", **infusion}]},
                 "midazolam": {"regimen": [{"drug": "midazolam", "dose": "0.045 mg/kg", **infusion}]}},
    }


def simulate_states():
    model = default_model(LAYERS)
    res = nmdalab.simulate(scenario(), model=model, states=True)
    ps = nmdalab.load_parameters("human")
    bound = ps.bind(model)
    return model, res, bound


def population_scores(model, res, bound, x, n_r=41, n_b=9):
    """Per-arm MADRS (quadrature population x time) for parameter vector ``x``."""
    cm = _compiled(model)
    b_syn, b_lhb, omega, e_sal, e_act = x
    z_r = norm.ppf((np.arange(n_r) + 0.5) / n_r)
    z_b = norm.ppf((np.arange(n_b) + 0.5) / n_b)
    names = bound.names
    idx = {n: names.index(n) for n in ("mood.beta_connectivity", "mood.beta_lhb", "mood.responsiveness", "mood.baseline_scale")}
    omega_b = bound.omega[idx["mood.baseline_scale"]]
    out = {}
    n_states = len(model.state_names)
    for a, arm in enumerate(res.arms):
        # states are the last n_states variables (some share a name with an output)
        y = np.array(res.data.values[a, 0, :, -n_states:].T)  # (n_states, n_times)
        # expectation states are linear in the per-visit amount: rescale them
        old = bound.typical[names.index("mood.expectation_active" if arm != "saline" else "mood.expectation_saline")]
        new = e_act if arm != "saline" else e_sal
        for s in ("mood.expectation", "mood.placebo_response"):
            y[model.state_index(s)] *= new / old
        pts = []
        for zr in z_r:
            for zb in z_b:
                p = bound.typical.copy()
                p[idx["mood.beta_connectivity"]], p[idx["mood.beta_lhb"]] = b_syn, b_lhb
                p[idx["mood.responsiveness"]] = np.exp(omega * zr)
                p[idx["mood.baseline_scale"]] = np.exp(omega_b * zb)
                pts.append(p)
        P = np.array(pts).T  # (n_params, n_pop)
        shape = (P.shape[1], y.shape[1])
        yb = np.broadcast_to(y[:, None, :], (y.shape[0], *shape))
        pb = np.broadcast_to(P[:, :, None], (P.shape[0], *shape))
        o = cm.outputs(yb, pb)  # (n_outputs, n_pop, n_times)
        out[arm] = o[model.output_names.index("madrs")]
    return out, res.time


def summary(model, res, bound, x):
    madrs, time = population_scores(model, res, bound, x)
    s = {}
    for arm, m in madrs.items():
        base = m[:, 0]
        for t in TIMES:
            k = int(np.argmin(np.abs(time - t)))
            s[(arm, "response", t)] = float(np.mean((base - m[:, k]) / base >= 0.5))
            s[(arm, "remission", t)] = float(np.mean(m[:, k] <= 10))
            s[(arm, "change", t)] = float(np.mean(m[:, k] - base))
            s[(arm, "relative", t)] = float(np.mean(m[:, k] / base - 1))
    return s


def objective(x, model, res, bound):
    if min(x) <= 0:
        return 1e6
    s = summary(model, res, bound, x)
    err = 0.0
    t_on, rel_on = ZARATE_ONSET
    err += 0.25 * ((s[("ketamine", "relative", t_on)] - rel_on) / 0.1) ** 2  # memory-grade: low weight
    for t, r, q in zip(TIMES[1:], HAN_RESPONSE, HAN_REMISSION):
        err += (s[("ketamine", "response", t)] - r) ** 2 + (s[("ketamine", "remission", t)] - q) ** 2
    for arm, ch in MURROUGH_CHANGE.items():
        err += ((s[(arm, "change", 24.0)] - ch) / 5.0) ** 2
    r_k = HAN_RESPONSE[0]
    odds_p = r_k / (1 - r_k) / NEWPORT_OR
    err += (s[("saline", "response", 24.0)] - odds_p / (1 + odds_p)) ** 2
    return err


def write(values: dict[str, float]) -> None:
    text = YAML.read_text()
    for key, val in values.items():
        if key.startswith("omega:"):
            name = key[6:]
            text, n = re.subn(rf"^({re.escape(name)}: {{.*?iiv: )[0-9.eE+-]+", rf"\g<1>{val:.4g}", text, flags=re.M)
        else:
            text, n = re.subn(rf"^({re.escape(key)}: {{value: )[0-9.eE+-]+", rf"\g<1>{val:.4g}", text, flags=re.M)
        if n != 1:
            raise SystemExit(f"could not update {key} in {YAML}")
    YAML.write_text(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write the fitted values into human-mood.yaml")
    args = ap.parse_args(argv)
    model, res, bound = simulate_states()
    x0 = np.array([5.0, 1.0, 0.9, 0.3, 1.0])  # fixed start: reruns reproduce
    fit = minimize(objective, x0, args=(model, res, bound), method="Nelder-Mead",
                   options={"maxiter": 600, "xatol": 1e-3, "fatol": 1e-6})
    s = summary(model, res, bound, fit.x)
    print(f"objective {fit.fun:.4g} ({fit.nit} iterations, {fit.message})")
    for name, v in zip(FITTED, fit.x):
        print(f"  {name:34s} {v:.4g}")
    print("ketamine response / remission (model vs Han 2016):")
    print(f"  2 h relative change {s[('ketamine', 'relative', 2.0)]:.3f} vs {ZARATE_ONSET[1]:.3f} (Zarate 2006 shape)")
    for t, r, q in zip(TIMES[1:], HAN_RESPONSE, HAN_REMISSION):
        print(f"  {t:5.0f} h  {s[('ketamine', 'response', t)]:.3f} vs {r:.3f}   {s[('ketamine', 'remission', t)]:.3f} vs {q:.3f}")
    for arm, ch in MURROUGH_CHANGE.items():
        print(f"  24 h MADRS change {arm}: {s[(arm, 'change', 24.0)]:.2f} vs {ch}")
    print(f"  24 h saline response: {s[('saline', 'response', 24.0)]:.3f}")
    if args.write:
        write(dict(zip(FITTED, fit.x)))
        print(f"wrote {YAML}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
