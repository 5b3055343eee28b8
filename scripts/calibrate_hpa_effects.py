#!/usr/bin/env python
"""Calibrate the HPA-axis and acute-effects parameters; rerunnable.

    .venv/bin/python scripts/calibrate_hpa_effects.py            # fit and write the YAML files
    .venv/bin/python scripts/calibrate_hpa_effects.py --dry-run  # fit and print only

What is fitted, to which data (rows of src/nmdalab/data/*.csv), with which objective:

HPA (src/nmdalab/parameters/human-hpa.yaml)
  1. circ_delta, circ_eps, car_amp (shape of the 24-h profile), by Nelder-Mead on
       ((t_peak - 08:32)/0.25 h)^2 + ((t_nadir - 00:18)/1 h)^2 + ((nadir/peak - 1.75/15.5)/0.01)^2
       + ((CAR - 0.50)/0.05)^2, from delta 1.4 h, eps 0.02, car_amp 1 (a start near the physiological
       shape: the awakening bump alone can also make an 08:30 peak, with the drive at night)
     data: hpa.debono2009.peak (15.5 ug/dL at 08:32), hpa.debono2009.nadir (<2.0, range 1.5-2.5,
     at 00:18; target 1.75, the middle of 1.5-2.0), hpa.car (+50% within 30 min of waking).
     Not fitted (validation checks): morning ACTH, the production rate, the stressor timing.
  2. cortisol_gain: scales the profile so the peak is 15.5 ug/dL (the profile is exactly
     proportional to it, because GR feedback acts on cortisol relative to cortisol_ref).
  3. cortisol_ref, acth_ref, crh_ref: 24-h means on the baseline day (fixed point), so that the
     gland masses P = A = 1 are the baseline steady state; crh_ref from the drift of ln P over a
     day (d ln P/dt = gamma_p*(CRH/crh_ref - 1)), so the CRH equation is not typed twice.
  4. acth_init, cortisol_init, load_init: the periodic state at 00:00.
  5. acute_level: the Trier-test stress drive, so the cortisol peak is +46.5% over the pre-stress
     value at 14:00 (hpa.tsst: d = 0.93, Gu et al. 2022, times an assumed between-person CV of 0.5).
  6. ketamine_c2: so that the net production (GR feedback included) doubles at 165 ng/mL
     (clin.cortisol.khalili2015).

Effects (src/nmdalab/parameters/human-effects.yaml)
  7. cadss_ec50, cadss_hill: 0.5 mg/kg over 40 min gives a CADSS peak of 15 (clin.cadss.timing,
     memory-grade "typical peak 10-20") and 5% of that peak at 2 h ("near baseline by 80-120 min").
  8. sbp_emax, sbp_ec50: peak SBP rise after 0.5 mg/kg/40 min = 5.35 mmHg (the mean of
     Riva-Posse 2018, +3.3, and Liu 2019, +7.4) and MAP +27% of 90 mmHg at an S-ketamine plateau
     of 1959 ng/mL (Langsjo 2005; MAP = SBP*(1 + 2*dbp_ratio)/3).
  9. hr_slope: peak HR rise after 0.5 mg/kg/40 min = 1.9 bpm (Liu 2019).
 10. harm b50s: steady heavy use (2 g insufflated, 4 days a week) gives uropathy risk 0.77
     (add.uropathy) and cognitive impairment risk 0.76 (add.taipei); both memory-grade use patterns.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
from scipy.optimize import brentq, minimize

from nmdalab import simulate
from nmdalab.model.core import Model
from nmdalab.simulate import parameter_set
from nmdalab.validation import checks_hpa as chk

ROOT = Path(__file__).resolve().parents[1]
HPA_YAML = ROOT / "src/nmdalab/parameters/human-hpa.yaml"
EFFECTS_YAML = ROOT / "src/nmdalab/parameters/human-effects.yaml"

DATA = {
    "debono_peak_ugdl": 15.5, "debono_peak_h": 8 + 32 / 60, "debono_nadir_ugdl": 1.75, "debono_nadir_h": 18 / 60,
    "car_rise": 0.50, "tsst_rise": 0.93 * 0.5, "khalili_c2": 165.0,
    "cadss_peak": 15.0, "cadss_2h_fraction": 0.05,
    "sbp_peak": (3.3 + 7.4) / 2, "langsjo_map_rise": 0.27 * 90.0, "langsjo_s_ngml": 1959.0,
    "hr_peak": 1.9, "uropathy_heavy": 0.771, "cognitive_heavy": 0.76,
}


def _with(ps, **kv):
    return ps.with_values(**{k.replace(".", "__"): v for k, v in kv.items()})


# ------------------------------------------------------------------------------------------
# HPA
# ------------------------------------------------------------------------------------------


def _three_days(ps):
    sc = {"name": "cal", "duration": "48 h", "output_interval": "2 min", "population": {"variability": False},
          "arms": {"rest": {"regimen": []}}}
    return simulate(sc, model=Model.default(("hpa",)), parameters=ps)


def settle(ps, rounds: int = 3):
    """Fixed point of references and initial values for the current shape and gain."""
    for _ in range(rounds):
        res = _three_days(ps)
        t = res.time
        day2 = (t >= 24 - 1e-9) & (t <= 48 + 1e-9)
        cort_nm = res["cortisol"].values[0, 0] / 0.036246
        acth = res["acth"].values[0, 0]
        pmass = res["hpa.corticotroph_mass"].values[0, 0]
        load = res["hpa.cortisol_effect"].values[0, 0] + 1
        i24, i48 = np.argmin(abs(t - 24)), np.argmin(abs(t - 48))
        mean_x = np.trapezoid(cort_nm[day2], t[day2]) / 24
        mean_a = np.trapezoid(acth[day2], t[day2]) / 24
        g = ps["hpa.gamma_p"].value
        crh_rel = 1 + (np.log(pmass[i48]) - np.log(pmass[i24])) / (24 * g)
        ps = _with(ps, **{
            "hpa.cortisol_ref": mean_x, "hpa.acth_ref": mean_a,
            "hpa.crh_ref": ps["hpa.crh_ref"].value * crh_rel,
            "hpa.cortisol_init": cort_nm[i48], "hpa.acth_init": acth[i48], "hpa.load_init": load[i48],
        })
    return ps


def profile_stats(ps):
    t, c, _ = chk.daily_profile(ps)
    wake = ps["hpa.wake_time"].value
    tn = chk._refine(t, -c, int(np.argmin(c)))
    return {
        "peak": float(c.max()), "peak_h": chk._refine(t, c, int(np.argmax(c))), "nadir": float(c.min()),
        "nadir_h": tn - 24 if tn > 12 else tn,
        "car": float(np.interp(wake + 0.5, t, c) / np.interp(wake, t, c) - 1),
    }


def fit_hpa(ps):
    def apply(z, ps):
        delta, log_eps, log_car = z
        return _with(ps, **{"hpa.circ_delta": delta, "hpa.circ_eps": np.exp(log_eps), "hpa.car_amp": np.exp(log_car)})

    def objective(z):
        q = settle(apply(z, ps), rounds=1)
        s = profile_stats(q)
        r = [(s["peak_h"] - DATA["debono_peak_h"]) / 0.25,
             (s["nadir_h"] - DATA["debono_nadir_h"]) / 1.0,
             (s["nadir"] / s["peak"] - DATA["debono_nadir_ugdl"] / DATA["debono_peak_ugdl"]) / 0.01,
             (s["car"] - DATA["car_rise"]) / 0.05]
        return float(np.sum(np.square(r)))

    z0 = [1.4, np.log(0.02), np.log(1.0)]
    opt = minimize(objective, z0, method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-3, "maxiter": 200})
    ps = settle(apply(opt.x, ps))
    # scale: the profile is proportional to cortisol_gain (with cortisol_ref and the inits)
    f = DATA["debono_peak_ugdl"] / profile_stats(ps)["peak"]
    ps = _with(ps, **{k: ps[k].value * f for k in ("hpa.cortisol_gain", "hpa.cortisol_ref", "hpa.cortisol_init")})
    ps = settle(ps)
    print(f"  HPA shape fit: objective {opt.fun:.4g} after {opt.nit} iterations; {profile_stats(ps)}")
    return ps


def fit_tsst(ps):
    def err(level):
        return chk.tsst_rise(_with(ps, **{"hpa.acute_level": level})) - DATA["tsst_rise"]

    level = brentq(err, 0.05, 20.0, xtol=1e-3)
    print(f"  TSST: acute_level {level:.4g} gives a cortisol rise of {DATA['tsst_rise']:+.1%}")
    return _with(ps, **{"hpa.acute_level": level})


def fit_ketamine(ps):
    c2 = ps["hpa.ketamine_c2"].value
    for _ in range(4):
        pred = chk.ketamine_doubling_concentration(parameters=_with(ps, **{"hpa.ketamine_c2": c2}))
        c2 *= DATA["khalili_c2"] / pred
    print(f"  ketamine: c2 {c2:.4g} ng/mL gives net doubling at {pred:.4g} ng/mL")
    return _with(ps, **{"hpa.ketamine_c2": c2})


# ------------------------------------------------------------------------------------------
# effects
# ------------------------------------------------------------------------------------------

INFUSION = {"drug": "ketamine", "route": "iv_infusion", "dose": "0.5 mg/kg", "duration": "40 min", "at": "0 h"}
#: heavy recreational use: 2 g insufflated 4 days a week for a year (Morgan 2010 frequent users:
#: 4+ days a week at 1-4 g per session, memory-grade)
HEAVY_USE = {"drug": "ketamine", "route": "intranasal", "dose": "2 g", "days": ["mon", "tue", "thu", "fri"], "weeks": 52,
             "time": "22 h"}


def _pk_effects(regimen, ps, duration="4 h", interval="1 min"):
    sc = {"name": "cal-effects", "duration": duration, "output_interval": interval,
          "population": {"variability": False}, "arms": {"a": {"regimen": regimen}}}
    return simulate(sc, model=Model.default(("pk", "effects")), parameters=ps)


def fit_effects(ps):
    from scipy.optimize import least_squares

    def cadss_course(z):
        q = _with(ps, **{"effects.cadss_ec50": np.exp(z[0]), "effects.cadss_hill": z[1]})
        r = _pk_effects([INFUSION], q)
        return r.time, r["cadss"].values[0, 0]

    def resid(z):
        t, c = cadss_course(z)
        return [(c.max() - DATA["cadss_peak"]) / 1.0, (np.interp(2.0, t, c) / c.max() - DATA["cadss_2h_fraction"]) / 0.01]

    z0 = [np.log(ps["effects.cadss_ec50"].value), ps["effects.cadss_hill"].value]
    fit = least_squares(resid, z0, bounds=([np.log(50), 1.0], [np.log(5000), 6.0]), diff_step=1e-3)
    ps = _with(ps, **{"effects.cadss_ec50": float(np.exp(fit.x[0])), "effects.cadss_hill": float(fit.x[1])})
    t, c = cadss_course(fit.x)
    print(f"  CADSS: ec50 {np.exp(fit.x[0]):.4g} ng/mL, hill {fit.x[1]:.4g}: peak {c.max():.3g} at {t[c.argmax()]*60:.0f} min, "
          f"{np.interp(2.0, t, c) / c.max():.3f} of it at 2 h")
    # haemodynamics: E(c) = Emax*c/(EC50 + c) through (c1, e1) and (c2, e2)
    r = _pk_effects([INFUSION], ps)
    w = ps["effects.r_potency"].value
    cp = 2 * (r["plasma.s_ketamine"].values[0, 0] + w * r["plasma.r_ketamine"].values[0, 0]) / (1 + w)
    c1, e1 = float(cp.max()), DATA["sbp_peak"]
    c2 = 2 * DATA["langsjo_s_ngml"] / (1 + w)
    e2 = DATA["langsjo_map_rise"] * 3 / (1 + 2 * ps["effects.dbp_ratio"].value)
    ec50 = (e2 - e1) / (e1 / c1 - e2 / c2)
    emax = e1 * (ec50 + c1) / c1
    slope = DATA["hr_peak"] / c1
    ps = _with(ps, **{"effects.sbp_emax": emax, "effects.sbp_ec50": ec50, "effects.hr_slope": slope})
    print(f"  haemodynamics: peak racemic-equivalent plasma {c1:.4g} ng/mL; SBP Emax {emax:.4g} mmHg, EC50 {ec50:.4g} ng/mL "
          f"(Langsjo plateau {c2:.4g} ng/mL -> SBP {e2:.3g}); HR slope {slope:.4g} bpm per ng/mL")
    # harms: burden after a year of heavy use, then B50 so that H(B) = observed prevalence
    r = _pk_effects([HEAVY_USE], ps, duration="364 d", interval="1 d")
    b = float(r["effects.burden"].values[0, 0, -1])
    n = ps["effects.harm_hill"].value
    out = {}
    for key, prev in (("effects.uropathy_b50", DATA["uropathy_heavy"]), ("effects.cognitive_b50", DATA["cognitive_heavy"])):
        out[key] = b * ((1 - prev) / prev) ** (1 / n)
    out["effects.liver_b50"] = 3 * out["effects.uropathy_b50"]
    print(f"  harms: burden after a year of heavy use {b:.4g} mg*h/L; {out}")
    return _with(ps, **out)


EFFECTS_FITTED = ("effects.cadss_ec50", "effects.cadss_hill", "effects.sbp_emax", "effects.sbp_ec50", "effects.hr_slope",
                  "effects.uropathy_b50", "effects.cognitive_b50", "effects.liver_b50")


# ------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------


def write_values(path: Path, values: dict[str, float], dry_run: bool):
    text = path.read_text()
    for key, v in values.items():
        pat = re.compile(rf"^({re.escape(key)}: \{{value: )([-+0-9.eE]+)", re.M)
        if not pat.search(text):
            raise SystemExit(f"{path.name}: no one-line entry for {key}")
        text = pat.sub(lambda m, v=v: m.group(1) + f"{v:.6g}", text, count=1)
    if dry_run:
        print(f"  (dry run: {path.name} not written)")
    else:
        path.write_text(text)
        print(f"  wrote {len(values)} values to {path.relative_to(ROOT)}")


HPA_FITTED = ("hpa.circ_delta", "hpa.circ_eps", "hpa.car_amp", "hpa.cortisol_gain", "hpa.cortisol_ref",
              "hpa.acth_ref", "hpa.crh_ref", "hpa.acth_init", "hpa.cortisol_init", "hpa.load_init",
              "hpa.acute_level", "hpa.ketamine_c2")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--only", choices=("hpa", "effects"), default=None)
    args = ap.parse_args(argv)
    print("data used:", DATA)
    ps = parameter_set("human")
    if args.only in (None, "hpa"):
        print("HPA")
        ps = fit_hpa(ps)
        ps = fit_tsst(ps)
        ps = fit_ketamine(ps)
        write_values(HPA_YAML, {k: ps[k].value for k in HPA_FITTED}, args.dry_run)
    if args.only in (None, "effects"):
        print("effects")
        ps = fit_effects(ps)
        write_values(EFFECTS_YAML, {k: ps[k].value for k in EFFECTS_FITTED}, args.dry_run)


if __name__ == "__main__":
    main()
