"""Calibrate the addiction layer's magnesium and read-out parameters (issue 6).

Rerunnable: ``.venv/bin/python scripts/calibrate_addiction.py [--write]``.  With ``--write`` the
fitted values replace those in ``src/nmdalab/parameters/human-addiction.yaml`` (the ``source``
of each already says ``calibrated: <case>``).  Run it again after changing any other value of
the layer; the fits are sequential because later targets depend on earlier parameters.

Composition: the same as the validation cases and the experiments (``nmdalab.experiments.addiction``):
ketamine with ``pk, magnesium, nmda, circuit, addiction`` (the ketamine reward is the circuit
layer's ``circuit.dopamine_nac``, as in the full default model; no fallback), morphine/MgCl2 with
``magnesium, addiction``; rat parameters are the human set overlaid with ``rodent.yaml``.

Data used (rows of ``nmdalab/data/preclinical.csv`` / ``addiction.csv``):

1. ``addiction.mg_supp_gain`` <- pre.mg.nechifor2004: naloxone-withdrawal grooming 19.9 (morphine +
   Mg) vs 33 (morphine): ratio 0.603 (case addiction.nechifor2004.withdrawal).  The receptor part
   of the Mg gate (Jahr-Stevens block through the Ca2+ switch, ``ca_switch_n`` assumed) is fixed.
2. ``addiction.grooming_per_unit`` <- the same row, control group 33 counts.
   Both steps read the naloxone-precipitated signs of ``withdrawal_score`` (``"signs"``: the
   unmasked withdrawal drive averaged over the 30 min after naloxone, which removes morphine's
   action through ``addiction.mu_antagonist``), the same quantity the score and the cases use.
3. ``addiction.cpp_beta`` <- pre.mg.nechifor2010: morphine 3 mg/kg CPP 462 s vs saline 295 s
   (case addiction.nechifor2010.morphine_cpp; the Mg + morphine group, 262 s, is NOT used).
4. ``addiction.mg_reward_gain`` <- pre.mg.nechifor2010: MgCl2 10 mg/kg alone 328 s
   (case addiction.nechifor2010.mg_alone).
5. ``addiction.bdi_gain`` <- add.fan2016: BDI 13.1 in chronic users (typical user assumed: 4
   days a week, 1 g per session, 26 weeks; case addiction.fan2016.bdi).

Calibrated by hand, not by this script: ``addiction.opp_tau`` and ``addiction.wd_tau`` <-
add.withdrawal.course (memory-grade: begins within ~24 h, peaks days 1-4, settles in 1-2 weeks;
cases addiction.human.withdrawal_onset/peak/settle, all marked calibrated);
``addiction.ket_aversion_db50`` and the rat ``addiction.aversion_learn_rate`` (rodent.yaml) <-
add.age_cpp, adults: place aversion at 3 and 10 mg/kg i.p. (a direction, so set by hand; cases
addiction.ketamine.adult_ip_aversion and _3, marked calibrated).  The IV self-administration
half of the same row (0.03-0.3 mg/kg/infusion acquired) is NOT used: cases
addiction.ketamine.sa_acquired_* stay predictions.

Objective: each parameter solves its target exactly (one equation, one unknown; Brent's method
or closed form).
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

from scipy.optimize import brentq

from nmdalab.experiments import addiction as ex

YAML = Path(__file__).resolve().parents[1] / "src/nmdalab/parameters/human-addiction.yaml"
MG_NECHIFOR2004_MGCL2 = 0.25 * 95.21  # 0.5 mEq/kg/day Mg = 0.25 mmol/kg as MgCl2 (mg/kg)


def logit(p):
    return math.log(p / (1 - p))


def main(write: bool, passes: int = 3) -> dict:
    """Fit in sequence; repeat ``passes`` times because the Mg reward (step 4) feeds back on the
    withdrawal ratio (step 1)."""
    fit: dict = {}
    for _ in range(passes):
        fit = _one_pass(fit)
        print("pass:", fit, flush=True)
    for k, v in fit.items():
        print(f"{k}: {v}")
    if write:
        text = YAML.read_text()
        for k, v in fit.items():
            text, n_sub = re.subn(rf"^({re.escape(k)}: {{value: )[^,]+,", rf"\g<1>{v},", text, flags=re.M)
            assert n_sub == 1, k
        YAML.write_text(text)
        print(f"written to {YAML}")
    return fit


def _one_pass(prev: dict) -> dict:
    fit = {}
    base = {k: v for k, v in prev.items() if k in ("addiction.mg_reward_gain",)}

    def ratio(k):
        o = {**base, "addiction.mg_supp_gain": k}
        return (ex.withdrawal_score(MG_NECHIFOR2004_MGCL2, overrides=o)["signs"]
                / ex.withdrawal_score(0.0, overrides=o)["signs"])

    target = 19.9 / 33.0
    k = brentq(lambda x: ratio(x) - target, 0.0, 1e5, xtol=1e-1)
    fit["addiction.mg_supp_gain"] = round(k, 1)
    o = {**base, "addiction.mg_supp_gain": fit["addiction.mg_supp_gain"]}
    b_ctl = ex.withdrawal_score(0.0, overrides=o)["signs"]
    fit["addiction.grooming_per_unit"] = round(33.0 / b_ctl, 1)
    v_mor = ex.place_preference("morphine", 3.0, "sc", overrides=o)["value"]
    p0 = ex.CPP_BASELINE_S / ex.CPP_SESSION_S
    fit["addiction.cpp_beta"] = round((logit(462.0 / 900.0) - logit(p0)) / v_mor, 3)
    beta = fit["addiction.cpp_beta"]

    def mg_time(g):
        v = ex.place_preference("magnesium_chloride", 10.0, "ip", overrides={**o, "addiction.mg_reward_gain": g})["value"]
        return ex.CPP_SESSION_S / (1 + math.exp(-(logit(p0) + beta * v)))

    fit["addiction.mg_reward_gain"] = round(brentq(lambda g: mg_time(g) - 328.0, 0.0, 20.0, xtol=1e-4), 4)
    r = ex.chronic_use(4, 1.0, 26, abstinence_days=1, overrides=o)
    from nmdalab.simulate import parameter_set

    ps = parameter_set("human")
    bdi0, k0 = ps["addiction.bdi_base"].value, ps["addiction.bdi_gain"].value
    load = (r["bdi"] - bdi0) / k0
    fit["addiction.bdi_gain"] = round((13.1 - bdi0) / load, 2)
    return fit


if __name__ == "__main__":
    main("--write" in sys.argv)
