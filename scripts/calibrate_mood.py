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
``mood.placebo_susceptibility`` (the logit-normal spread of the placebo fraction).  The population
also varies in how long the effect lasts (the IIV of ``plasticity.k_synaptic_turnover`` and its
correlation with responsiveness, :data:`DURATION_KEYS`): read from the parameter set, chosen on a
profile (``--duration-omega``, ``--duration-corr``), not fitted.
Objective: least squares of the rates (weight 1 per fraction) and of the MADRS changes (per 5
points), minimised with scipy.optimize (Nelder-Mead from a fixed start, so reruns reproduce).
Rates enter the objective as smooth probabilities (a normal CDF of width 0.03 in relative change,
1 MADRS point for remission: rater noise), so the objective is not piecewise flat; the printed
rates use the hard thresholds of the trial endpoints.

Speed: the mood outputs (``madrs``) are algebraic in the states and parameters, and the
expectation state is linear in the per-visit amount.  So the script simulates each arm for the
typical patient (TRD, 0.5 mg/kg over 40 min; saline; midazolam 0.045 mg/kg) once per synaptic
return rate of a log-spaced grid, keeps the states, and evaluates the compiled model's own output
function for a quadrature population of responsiveness, placebo susceptibility, baseline severity
and return rate (normal quantiles, :data:`QUAD`; a patient's states are interpolated between grid
rates) at 0, 2, 24, 72 and 168 h; no equation is typed twice.  PK variability is not included:
it adds spread in the full trials.  (Tried for issue 4 with 12 sampled PK patients per arm: the
fitted 24-h remission moved only 0.303 -> 0.307, so that option was removed.)

Usage: ``.venv/bin/python scripts/calibrate_mood.py [--write]`` (``--write`` updates
src/nmdalab/parameters/human-mood.yaml).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
from scipy.interpolate import interp1d
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
#: how long the effect lasts in each patient: the IIV of the synaptic return rate and the correlation of
#: its random effect with responsiveness.  Not fitted: read from human-plasticity.yaml (or set with
#: --duration-omega / --duration-corr to profile them).  Free, the fit runs to the edge of what the
#: grid can represent (omega 3.4, rho -1: two classes of patients whose effect lasts hours or months),
#: so they were chosen on a profile with the six mood parameters refitted at each point, within an
#: assumed bound on omega of 1 (return half-lives from ~12 h to ~26 days at +-2 SD).  Profile
#: (2026-12-01, this script, objective smoothed): (0, 0) 0.0861; (0.8, -0.95) 0.0530; (1.0, -0.7) 0.0554;
#: (1.0, -0.9) 0.0496 (adopted); (1.2, -0.9) 0.0461, past the bound, with the same 24-h remission (0.287
#: vs 0.289).  (An exploratory run with a coarser quadrature, not kept, had ranked them the same.)
DURATION_KEYS = ("omega:plasticity.k_synaptic_turnover", "corr:plasticity.k_synaptic_turnover:mood.responsiveness")
#: fixed start of the six fitted parameters (reruns reproduce): the optimum of the profile point
#: (1.0, -0.9).  The objective has a shallow ridge along which expectation and the placebo spread trade
#: against each other: from the neutral start (5, 1, 0.9, 0.5, 2, 2) the fit stops at 0.0501 (expectation
#: 0.21 / 0.62, placebo SD 2.2; day-7 remission 0.16, the 24-h one 0.28), from this one at 0.0496
#: (written; day-7 remission 0.20, the 24-h one 0.29)
START = (11.0, 0.01, 0.86, 0.023, 0.15, 4.3)


#: the duration random effect: the typical patient is simulated at each synaptic return rate of a
#: log-spaced grid around the typical value (DURATION_SPAN natural-log units either side); a patient's
#: states are interpolated linearly in the log rate between grid points
DURATION_PARAM = "plasticity.k_synaptic_turnover"
DURATION_GRID, DURATION_SPAN = 25, 3.0
#: quadrature nodes: responsiveness, placebo susceptibility, baseline severity, duration (the part
#: of the duration random effect not shared with responsiveness)
QUAD = (25, 13, 7, 7)


def scenario():
    infusion = {"route": "iv_infusion", "duration": "40 min", "at": "0 h"}
    return {
        "name": "calibrate-mood", "duration": "7 d", "output_interval": "1 h",
        "population": {"variability": False, "weight": "75 kg", "diagnosis": "trd"},
        "arms": {"ketamine": {"regimen": [{"drug": "ketamine", "dose": "0.5 mg/kg", **infusion}]},
                 "saline": {"regimen": [{"drug": "placebo", **infusion}]},
                 "midazolam": {"regimen": [{"drug": "midazolam", "dose": "0.045 mg/kg", **infusion}]}},
    }


class States:
    """The three arms' states of the typical patient on the grid of synaptic return rates."""

    def __init__(self, fixed: dict[str, float] | None = None, times=(0.0, *TIMES)):
        self.model = default_model(LAYERS)
        ps = nmdalab.load_parameters("human")
        if fixed:
            ps = ps.with_values(**{k.replace(".", "__"): v for k, v in fixed.items()})
        self.bound = ps.bind(self.model)
        par = ps[DURATION_PARAM]
        self.duration = (par.iiv, dict(par.iiv_correlation).get("mood.responsiveness", 0.0))
        self.k_typical = self.bound.typical[self.bound.names.index(DURATION_PARAM)]
        self.log_grid = np.log(self.k_typical) + np.linspace(-DURATION_SPAN, DURATION_SPAN, DURATION_GRID)
        self.times = np.asarray(times)
        n_states = len(self.model.state_names)
        ys = []
        for lk in self.log_grid:
            res = nmdalab.simulate(scenario(), model=self.model,
                                   parameters=ps.with_values(**{DURATION_PARAM.replace(".", "__"): float(np.exp(lk))}),
                                   states=True)
            k = [int(np.argmin(np.abs(res.time - t))) for t in times]
            # states are the last n_states variables (some share a name with an output)
            ys.append(np.stack([np.asarray(res.data.values[a][0][k][:, -n_states:]).T for a in range(len(res.arms))]))
        self.arms = list(res.arms)
        y = np.stack(ys)  # (grid, arm, state, time)
        self._interp = [interp1d(self.log_grid, y[:, a], axis=0) for a in range(len(self.arms))]

    def at(self, arm: int, log_k: np.ndarray) -> np.ndarray:
        """States ``(n_pop, n_states, n_times)`` of arm ``arm`` at the log return rates ``log_k``
        (linear in the log rate; rates beyond the grid take its end values)."""
        return self._interp[arm](np.clip(log_k, self.log_grid[0], self.log_grid[-1]))


def population_scores(st: States, x, quad=QUAD):
    """Per-arm MADRS (quadrature population x ``st.times``) for parameter vector ``x``.

    The population is a product quadrature over the four random effects that act here:
    responsiveness (normal quantiles ``z_r``), placebo susceptibility, baseline severity and the
    synaptic return rate, whose standard normal is ``rho z_r + sqrt(1 - rho^2) z_d`` (its
    correlation with responsiveness); every point has equal weight.
    """
    model, bound = st.model, st.bound
    cm = _compiled(model)
    b_syn, b_lhb, omega, e_sal, e_act, omega_pl, omega_d, rho = x
    z = [norm.ppf((np.arange(n) + 0.5) / n) for n in quad]
    zr, zs, zb, zd = (a.ravel() for a in np.meshgrid(*z, indexing="ij"))
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
    log_k = np.log(st.k_typical) + omega_d * (rho * zr + np.sqrt(1.0 - rho**2) * zd)
    pb = np.broadcast_to(P[:, :, None], (*P.shape, st.times.size))
    out = {}
    for a, arm in enumerate(st.arms):
        y = st.at(a, log_k).transpose(1, 0, 2).copy()  # (n_states, n_pop, n_times)
        # expectation states are linear in the per-visit amount: rescale them
        old = bound.typical[names.index("mood.expectation_active" if arm != "saline" else "mood.expectation_saline")]
        new = e_act if arm != "saline" else e_sal
        for s in ("mood.expectation", "mood.placebo_response"):
            y[model.state_index(s)] *= new / old
        out[arm] = cm.outputs(y, pb)[model.output_names.index("madrs")]
    return out, st.times


#: smoothing of the response / remission thresholds in the objective (rater noise, about one
#: MADRS point): a hard threshold makes the objective piecewise flat in the parameters
SMOOTH_REL, SMOOTH_POINTS = 0.03, 1.0


def summary(st: States, x, smooth=True):
    madrs, time = population_scores(st, x)
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


def objective(x, st: States):
    if min(x[:6]) <= 0:
        return 1e6
    s = summary(st, x)
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
    """Update each fitted number in place in human-mood.yaml (all or nothing)."""
    text = YAML.read_text()
    for key, val in values.items():
        if key.startswith("omega:"):
            pattern = rf"^({re.escape(key[6:])}: {{.*?iiv: )[0-9.eE+-]+"
        else:
            pattern = rf"^({re.escape(key)}: {{value: )[0-9.eE+-]+"
        text, n = re.subn(pattern, rf"\g<1>{val:.4g}", text, flags=re.M)
        if n != 1:
            raise SystemExit(f"could not update {key} in {YAML}")
    YAML.write_text(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write the fitted values into human-mood.yaml")
    ap.add_argument("--duration-omega", type=float, default=None,
                    help="experiment: IIV of plasticity.k_synaptic_turnover (default: the parameter set's)")
    ap.add_argument("--duration-corr", type=float, default=None,
                    help="experiment: its correlation with mood.responsiveness (default: the parameter set's)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="experiment: fix another parameter first (e.g. plasticity.k_synaptic_turnover=0.005); "
                         "not written by --write")
    args = ap.parse_args(argv)
    if (args.set or args.duration_omega is not None or args.duration_corr is not None) and args.write:
        ap.error("--write cannot be combined with --set or --duration-*: the fitted values would belong to parameters "
                 "that are not written")
    fixed = {}
    for item in args.set:
        name, _, val = item.partition("=")
        try:
            fixed[name.strip()] = float(val)
        except ValueError:
            raise SystemExit(f"--set {item!r}: expected NAME=number") from None
    st = States(fixed)
    # fixed start: reruns reproduce.  mood.expectation_saline acts only on the saline arm, so it is
    # fitted in one dimension to the saline term between Nelder-Mead rounds over the others (a
    # simplex stalls in this nearly separable direction)
    omega_d, rho = st.duration
    omega_d = omega_d if args.duration_omega is None else args.duration_omega
    rho = rho if args.duration_corr is None else args.duration_corr
    if omega_d < 0 or not -1 < rho < 1:
        raise SystemExit(f"duration random effect: omega {omega_d} must be >= 0 and the correlation {rho} in (-1, 1)")
    x = np.array([*START, omega_d, rho])
    free = [0, 1, 2, 4, 5]
    for _ in range(3):

        def full(v, x=x):
            y = x.copy()
            y[free] = v
            return y

        fit = minimize(lambda v: objective(full(v), st), x[free], method="Nelder-Mead",
                       options={"maxiter": 400, "xatol": 1e-3, "fatol": 1e-6})
        x = full(fit.x)

        def saline_err(e, x=x):
            y = x.copy()
            y[3] = e
            return (summary(st, y)[("saline", "response", 24.0)] - saline_target()) ** 2

        x[3] = minimize_scalar(saline_err, bounds=(1e-3, 5.0), method="bounded", options={"xatol": 1e-3}).x
    fit.x, fit.fun = x, objective(x, st)
    s = summary(st, fit.x, smooth=False)  # reported with the hard thresholds of the endpoints
    print(f"objective {fit.fun:.4g} ({fit.nit} iterations, {fit.message})")
    for name, v in zip(FITTED + DURATION_KEYS, fit.x):
        print(f"  {name:58s} {v:.4g}" + ("" if name in FITTED else "  (fixed)"))
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
