"""Calibrate the mood layer's clinical couplings to published single-infusion trials.

Data used (rows of src/nmdalab/data/clinical.csv; validation cases marked ``calibrated: true``):

* clin.han2016.pooled: pooled response / remission after one 0.5 mg/kg infusion at 24 h, 72 h,
  day 7 (52.2/20.6, 47.9/23.8, 39.8/26.2 %; 9 RCTs, n = 368);
* clin.murrough2013.madrs24: MADRS change at 24 h, ketamine -16.5 vs midazolam -8.8;
* clin.zarate2006.hdrs_shape: the fall by ~2 h (HDRS 24.5 -> ~17.5), shape only, low weight;
* clin.newport2015: 24-h odds ratio of response 9.87, giving the saline placebo response rate
  implied by the pooled ketamine rate (about 10%);
* clin.murrough2013.response24, midazolam half only: 24-h response 28% on midazolam (the
  ketamine half, 64%, stays an uncalibrated check).

Fitted parameters: ``mood.beta_connectivity``, ``mood.beta_lhb``, the IIV (omega) of
``mood.responsiveness``, ``mood.expectation_saline``, ``mood.expectation_active`` and the IIV of
``mood.placebo_susceptibility`` (the logit-normal spread of the placebo fraction).
Objective: least squares of the rates (weight 1 per fraction) and of the MADRS changes (per 5
points), minimised with scipy.optimize (Nelder-Mead from a fixed start, so reruns reproduce).
Rates enter the objective as smooth probabilities (a normal CDF of width 0.03 in relative change,
1 MADRS point for remission: rater noise), so the objective is not piecewise flat; the printed
rates use the hard thresholds of the trial endpoints.

Speed: the mood outputs (``madrs``) are algebraic in the states and parameters, and the
expectation state is linear in the per-visit amount.  So the script simulates each arm once for
the typical patient (TRD, 0.5 mg/kg over 40 min; saline; midazolam 0.045 mg/kg), keeps the
states, and evaluates the compiled model's own output function for a quadrature population of
responsiveness (41 normal quantiles), placebo susceptibility (21) and baseline severity (9
quantiles) at 0, 2, 24, 72 and 168 h; no equation is typed twice.  PK variability is not included
here: it adds spread in the full trials (24-h remission ~0.36 sampled vs ~0.30 here).

Usage: ``.venv/bin/python scripts/calibrate_mood.py [--write]`` (``--write`` updates
src/nmdalab/parameters/human-mood.yaml).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize, minimize_scalar
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
#: Murrough 2013 midazolam 24-h response (row clin.murrough2013.response24; the ketamine half of the
#: row, 0.64, is the uncalibrated case clinical.murrough2013.response24)
MURROUGH_MID_RESPONSE = 0.28
FITTED = ("mood.beta_connectivity", "mood.beta_lhb", "omega:mood.responsiveness",
          "mood.expectation_saline", "mood.expectation_active", "omega:mood.placebo_susceptibility")


#: ``--n-pk N`` (experiment, default off): N patients per arm whose PK / receptor / circuit /
#: plasticity states are simulated with their inter-individual variability (sampled once, fixed
#: seed, trial weights 80 +- 15 kg); the mood-layer random effects are integrated by a coarser
#: quadrature (QUAD_PK) on top of each.  Tried for issue 4 (N = 12): it moved the fitted 24-h
#: remission only from 0.303 to 0.307 and the refit left clinical.han2016.remission24 at 0.363 in
#: the trial, so the written parameters come from the typical-patient fit.
PK_SEED = 2016
QUAD = (41, 21, 9)
QUAD_PK = (21, 11, 5)


def scenario(n_pk: int = 0):
    infusion = {"route": "iv_infusion", "duration": "40 min", "at": "0 h"}
    pop = ({"n": n_pk, "seed": PK_SEED, "weight": {"mean": "80 kg", "sd": "15 kg"}, "diagnosis": "trd"} if n_pk
           else {"variability": False, "weight": "75 kg", "diagnosis": "trd"})
    return {
        "name": "calibrate-mood", "duration": "7 d", "output_interval": "1 h",
        **({"solver": {"engine": "batch"}} if n_pk else {}), "population": pop,
        "arms": {"ketamine": {"regimen": [{"drug": "ketamine", "dose": "0.5 mg/kg", **infusion}]},
                 "saline": {"regimen": [{"drug": "placebo", **infusion}]},
                 "midazolam": {"regimen": [{"drug": "midazolam", "dose": "0.045 mg/kg", **infusion}]}},
    }


def simulate_states(n_pk: int = 0, fixed: dict[str, float] | None = None):
    """Simulate the three arms once and keep every state; ``fixed``: other parameters set first
    (``--set``: to explore the ones that change the states, e.g. time constants)."""
    model = default_model(LAYERS)
    ps = nmdalab.load_parameters("human")
    if fixed:
        ps = ps.with_values(**{k.replace(".", "__"): v for k, v in fixed.items()})
    res = nmdalab.simulate(scenario(n_pk), model=model, parameters=ps, states=True)
    bound = ps.bind(model)
    return model, res, bound


def population_scores(model, res, bound, x, n_r=None, n_s=None, n_b=None, times=(0.0, *TIMES)):
    """Per-arm MADRS (quadrature population x ``times``) for parameter vector ``x``.

    The population is a product quadrature over the three random effects that act in the mood
    layer: responsiveness (``n_r`` normal quantiles), placebo susceptibility (``n_s``) and
    baseline severity (``n_b``); every point has equal weight.
    """
    cm = _compiled(model)
    if n_r is None:
        n_r, n_s, n_b = QUAD if res.data.sizes["patient"] == 1 else QUAD_PK
    b_syn, b_lhb, omega, e_sal, e_act, omega_pl = x
    z = {k: norm.ppf((np.arange(n) + 0.5) / n) for k, n in (("r", n_r), ("s", n_s), ("b", n_b))}
    zr, zs, zb = (a.ravel() for a in np.meshgrid(z["r"], z["s"], z["b"], indexing="ij"))
    names = bound.names
    keys = ("mood.beta_connectivity", "mood.beta_lhb", "mood.responsiveness", "mood.baseline_scale",
            "mood.placebo_susceptibility")
    idx = {n: names.index(n) for n in keys}
    omega_b = bound.omega[idx["mood.baseline_scale"]]
    P = np.repeat(bound.typical[:, None], zr.size, axis=1)  # (n_params, n_pop)
    P[idx["mood.beta_connectivity"]], P[idx["mood.beta_lhb"]] = b_syn, b_lhb
    P[idx["mood.responsiveness"]] = np.exp(omega * zr)
    P[idx["mood.placebo_susceptibility"]] = np.exp(omega_pl * zs)
    P[idx["mood.baseline_scale"]] = np.exp(omega_b * zb)
    k = [int(np.argmin(np.abs(res.time - t))) for t in times]
    out = {}
    n_states = len(model.state_names)
    n_pk = res.data.sizes["patient"]
    for a, arm in enumerate(res.arms):
        # states are the last n_states variables (some share a name with an output)
        y = np.array(res.data.values[a][:, k][:, :, -n_states:].transpose(2, 0, 1))  # (n_states, n_pk, n_times)
        # expectation states are linear in the per-visit amount: rescale them
        old = bound.typical[names.index("mood.expectation_active" if arm != "saline" else "mood.expectation_saline")]
        new = e_act if arm != "saline" else e_sal
        for s in ("mood.expectation", "mood.placebo_response"):
            y[model.state_index(s)] *= new / old
        # every PK patient's states under every quadrature point of the mood random effects
        shape = (n_pk, P.shape[1], y.shape[2])
        yb = np.broadcast_to(y[:, :, None, :], (y.shape[0], *shape)).reshape(y.shape[0], -1, y.shape[2])
        pb = np.broadcast_to(P[:, None, :, None], (P.shape[0], *shape)).reshape(P.shape[0], -1, y.shape[2])
        o = cm.outputs(yb, pb)  # (n_outputs, n_pk * n_pop, n_times)
        out[arm] = o[model.output_names.index("madrs")]
    return out, np.asarray(times)


#: smoothing of the response / remission thresholds in the objective (rater noise, about one
#: MADRS point): a hard threshold makes the objective piecewise flat in the parameters
SMOOTH_REL, SMOOTH_POINTS = 0.03, 1.0


def summary(model, res, bound, x, smooth=True):
    madrs, time = population_scores(model, res, bound, x)
    s = {}
    for arm, m in madrs.items():
        base = m[:, 0]
        for k, t in enumerate(time[1:], start=1):
            red = (base - m[:, k]) / base
            if smooth:
                s[(arm, "response", t)] = float(np.mean(norm.cdf((red - 0.5) / SMOOTH_REL)))
                s[(arm, "remission", t)] = float(np.mean(norm.cdf((10 - m[:, k]) / SMOOTH_POINTS)))
            else:
                s[(arm, "response", t)] = float(np.mean(red >= 0.5))
                s[(arm, "remission", t)] = float(np.mean(m[:, k] <= 10))
            s[(arm, "change", t)] = float(np.mean(m[:, k] - base))
            s[(arm, "relative", t)] = float(np.mean(m[:, k] / base - 1))
    return s


def saline_target() -> float:
    """Saline 24-h response implied by the pooled ketamine rate and Newport's odds ratio (~10%)."""
    r_k = HAN_RESPONSE[0]
    odds_p = r_k / (1 - r_k) / NEWPORT_OR
    return odds_p / (1 + odds_p)


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
    err += (s[("saline", "response", 24.0)] - saline_target()) ** 2
    err += (s[("midazolam", "response", 24.0)] - MURROUGH_MID_RESPONSE) ** 2
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
    ap.add_argument("--n-pk", type=int, default=0,
                    help="experiment: simulate N patients per arm with PK/PD variability (default 0: typical patient)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="experiment: fix another parameter first (e.g. plasticity.k_synaptic_turnover=0.005); "
                         "not written by --write")
    args = ap.parse_args(argv)
    if args.set and args.write:
        ap.error("--write cannot be combined with --set: the fitted values would belong to parameters that are not written")
    fixed = {}
    for item in args.set:
        name, _, val = item.partition("=")
        try:
            fixed[name.strip()] = float(val)
        except ValueError:
            raise SystemExit(f"--set {item!r}: expected NAME=number") from None
    model, res, bound = simulate_states(args.n_pk, fixed)
    # fixed start: reruns reproduce.  mood.expectation_saline acts only on the saline arm, so it is
    # fitted in one dimension to the saline term between Nelder-Mead rounds over the others (a
    # 6-D simplex stalls in this nearly separable direction)
    x = np.array([5.0, 1.0, 0.9, 0.5, 2.0, 2.0])
    free = [0, 1, 2, 4, 5]
    for _ in range(3):

        def full(v, x=x):
            y = x.copy()
            y[free] = v
            return y

        fit = minimize(lambda v: objective(full(v), model, res, bound), x[free], method="Nelder-Mead",
                       options={"maxiter": 400, "xatol": 1e-3, "fatol": 1e-6})
        x = full(fit.x)

        def saline_err(e, x=x):
            y = x.copy()
            y[3] = e
            return (summary(model, res, bound, y)[("saline", "response", 24.0)] - saline_target()) ** 2

        x[3] = minimize_scalar(saline_err, bounds=(1e-3, 5.0), method="bounded", options={"xatol": 1e-3}).x
    fit.x, fit.fun = x, objective(x, model, res, bound)
    s = summary(model, res, bound, fit.x, smooth=False)  # reported with the hard thresholds of the endpoints
    print(f"objective {fit.fun:.4g} ({fit.nit} iterations, {fit.message})")
    for name, v in zip(FITTED, fit.x):
        print(f"  {name:34s} {v:.4g}")
    print("ketamine response / remission (model vs Han 2016):")
    print(f"  2 h relative change {s[('ketamine', 'relative', 2.0)]:.3f} vs {ZARATE_ONSET[1]:.3f} (Zarate 2006 shape)")
    for t, r, q in zip(TIMES[1:], HAN_RESPONSE, HAN_REMISSION):
        print(f"  {t:5.0f} h  {s[('ketamine', 'response', t)]:.3f} vs {r:.3f}   {s[('ketamine', 'remission', t)]:.3f} vs {q:.3f}")
    for arm, ch in MURROUGH_CHANGE.items():
        print(f"  24 h MADRS change {arm}: {s[(arm, 'change', 24.0)]:.2f} vs {ch}")
    for arm in ("saline", "midazolam"):
        print(f"  24 h {arm} response: {s[(arm, 'response', 24.0)]:.3f}")
    print(f"  (saline target {saline_target():.3f} from Newport OR {NEWPORT_OR}; Murrough midazolam 0.28)")
    r_k, r_p = s[("ketamine", "response", 24.0)], s[("saline", "response", 24.0)]
    if 0 < r_p < 1 and r_k < 1:
        print(f"  24 h odds ratio ketamine vs saline (population quadrature): {r_k / (1 - r_k) / (r_p / (1 - r_p)):.2f}")
    if args.write:
        write(dict(zip(FITTED, fit.x)))
        print(f"wrote {YAML}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
