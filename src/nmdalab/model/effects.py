"""Acute effects and harms of ketamine: dissociation, psychotomimetic effects, haemodynamics,
EEG slowing, sedation/anaesthesia, respiratory depression, and risks of chronic heavy use.

Concentrations (submodel ``effects``)
-------------------------------------
S- and R-ketamine are combined into a *racemic-equivalent* concentration with the relative
potency ``w`` of R to S (Schuttler et al. 1987 EEG: S 0.8, R 1.8 ug/mL, w = 0.44)::

    rac(S, R) = 2*(S + w*R)/(1 + w)          (= S + R for the racemate)

* CNS effects follow the brain effect site, expressed as the plasma concentration in
  equilibrium with it (``C_e = brain_uM/kp * mw``, ng/mL): dissociation, psychotomimetic
  intensity, EEG, sedation, respiratory depression.
* Haemodynamic effects follow plasma (sympathomimetic, partly peripheral: Langsjo et al. 2005
  related them to plasma concentration).

With ``H(C; C50, n) = |C|^n/(C50^n + |C|^n)`` (|C| guards against solver round-off below 0):

* ``cadss = E_cadss * H(C_e; EC50_cadss, n_cadss) / (1 + T)`` (0-92 scale), with a slow tolerance
  state ``dT/dt = k_T*H(C_e; EC50_cadss, n_cadss) - T/tau_T`` (dissociation attenuates with repeated
  dosing, Singh et al. 2016; blood pressure does not, Riva-Posse et al. 2018).  Grade: time
  course A (clinical), tolerance size C.
* ``psychotomimetic = 100 * H(C_e; EC50_psy, n_psy)`` (0-100 intensity; threshold ~70 ng/mL
  S-ketamine, Hartvig 1995).  Grade B.
* ``sbp_change = f_cov * E_sbp*C_p/(EC50_sbp + C_p)``, ``dbp_change = r_dbp * sbp_change``,
  ``hr_change = f_cov_hr * s_hr * C_p`` (linear: no saturation up to ~2000 ng/mL, Langsjo 2005),
  with the covariate factor ``f_cov = (1 + b_age*pos(age - age_ref)/10) * (1 + b_htn*hypertension)``
  (larger rises with age >= 50 and hypertension, Liu 2019; sizes assumed, grade C).
* ``eeg.median_frequency_change = -E_eeg * H(C_e; IC50_eeg, n_eeg)`` (Hz; Schuttler 1987).  Grade A.
* ``sedation = H(C_e; C50_awake, n_sed)``: probability of unresponsiveness; emergence at ~640
  ng/mL (Idvall 1979), >= 0.95 in the anaesthetic band (>= 1200 ng/mL).  Grade A/B.
* ``respiratory_depression = E_resp * H(C_e; C50_resp, 2)``: fractional fall in ventilation,
  negligible at antidepressant doses.  Grade C (opioid co-administration is not modelled: no
  quantitative data in nmdalab/data).
* harms of chronic heavy use: an exposure burden ``dB/dt = C_plasma/1000 - B/tau_B`` (mg*h/L,
  cumulative plasma AUC forgetting over months) and risks ``H(B; B50_x, n_harm)`` for
  ``harm.uropathy_risk``, ``harm.liver_injury_risk``, ``harm.cognitive_impairment_risk``.
  Direction grade A/B (Chan 2022, Morgan 2010); exposure-response shape grade C.

States: ``effects.tolerance`` and ``effects.burden`` only; every effect is algebraic.
"""

from __future__ import annotations

import sympy as sp

from .core import Submodel


def pos(x):
    """Positive part ``(x + |x|)/2`` (for covariates; ``Abs`` prints as the builtin ``abs``)."""
    return (x + sp.Abs(x)) / 2


#: concentration floor (in the unit of the concentration) that keeps the Hill terms smooth at 0
_EPS = 1e-9


def hill(c, c50, n):
    """``|c|^n/(c50^n + |c|^n)``, written ``(c^2 + e^2)^(n/2) - e^n`` (e = 1e-9): solver round-off
    below zero gives no NaN, and the Jacobian has no 0/0 at c = 0 (``(c^2)^(n/2)`` differentiates
    to ``n*(c^2)^(n/2)/c``)."""
    cn = (c**2 + _EPS**2) ** (n / 2) - _EPS**n
    return cn / (c50**n + cn)


def acute_effects() -> Submodel:
    """The ``effects`` submodel (see the module docstring for its equations)."""
    m = Submodel("effects", "dissociation, psychotomimetic effects, haemodynamics, EEG, sedation, "
                            "respiratory depression and harms of chronic use")
    m.notes = "CNS effects on the brain effect site; haemodynamics on plasma; grades per output in the docstring"
    P = m.parameter
    w = P("r_potency", "1", "potency of R- relative to S-ketamine")
    kp = P("brain.kp", "1", "unbound brain : total plasma concentration ratio, ketamine")
    mw = P("mw.ketamine", "g/mol", "molar mass of ketamine")
    e_cadss, ec_cadss, n_cadss = (P("cadss_emax", "1", "largest CADSS score"),
                                  P("cadss_ec50", "ng/mL", "racemic-equivalent effect-site concentration of half-maximal CADSS"),
                                  P("cadss_hill", "1", "Hill coefficient of CADSS"))
    k_tol = P("tolerance_rate", "1/h", "build-up of dissociation tolerance")
    tau_tol = P("tolerance_tau", "h", "decay time of tolerance")
    ec_psy = P("psy_ec50", "ng/mL", "half-maximal psychotomimetic concentration")
    n_psy = P("psy_hill", "1", "Hill coefficient, psychotomimetic")
    e_sbp, ec_sbp = P("sbp_emax", "mmHg", "largest SBP rise"), P("sbp_ec50", "ng/mL", "plasma concentration of half-maximal SBP rise")
    r_dbp = P("dbp_ratio", "1", "DBP rise / SBP rise")
    s_hr = P("hr_slope", "1/(ng/mL)", "HR rise (bpm) per ng/mL racemic-equivalent plasma ketamine")
    age = P("covariate.age", "year", "age")
    htn = P("covariate.hypertension", "1", "hypertension (0 no, 1 yes; a fraction averages)")
    age_ref = P("age_ref", "year", "age above which BP rises grow")
    b_age = P("bp_age_per_decade", "1", "relative BP rise per decade above age_ref")
    b_htn = P("bp_hypertension", "1", "relative BP rise with hypertension")
    e_eeg, ic_eeg, n_eeg = (P("eeg_emax", "1", "largest fall in EEG median frequency (Hz)"),
                            P("eeg_ic50", "ng/mL", "half-maximal EEG slowing"), P("eeg_hill", "1", "Hill coefficient, EEG"))
    c_awake = P("awakening_c50", "ng/mL", "concentration at awakening (50% unresponsive)")
    n_sed = P("sedation_hill", "1", "Hill coefficient, sedation")
    e_resp = P("resp_emax", "1", "largest fractional fall in ventilation")
    c_resp = P("resp_c50", "ng/mL", "half-maximal respiratory depression")
    tau_b = P("burden_tau", "h", "forgetting time of the exposure burden (tissue recovery)")
    b_uro, b_liv, b_cog = (P("uropathy_b50", "mg*h/L", "burden with 50% uropathy risk"),
                           P("liver_b50", "mg*h/L", "burden with 50% liver-injury risk"),
                           P("cognitive_b50", "mg*h/L", "burden with 50% cognitive-impairment risk"))
    n_harm = P("harm_hill", "1", "Hill coefficient of the harm risks")

    tol = m.state("tolerance", "1", "tolerance to dissociation (0 naive)", initial=0.0)
    burden = m.state("burden", "mg*h/L", "ketamine exposure burden (plasma AUC forgetting over months)", initial=0.0)

    bs, br = m.input("brain.s_ketamine", "uM"), m.input("brain.r_ketamine", "uM")
    ps_, pr_ = m.input("plasma.s_ketamine", "ng/mL"), m.input("plasma.r_ketamine", "ng/mL")
    ptot = m.input("plasma.ketamine", "ng/mL")

    def rac(s, r):
        return 2 * (s + w * r) / (1 + w)

    ce = rac(bs, br) / kp * mw  # ng/mL, plasma-equivalent of the effect site
    cp = rac(ps_, pr_)
    h_cadss = hill(ce, ec_cadss, n_cadss)
    cov = (1 + b_age * pos(age - age_ref) / 10) * (1 + b_htn * htn)

    m.rate(tol, k_tol * h_cadss - tol / tau_tol)
    m.rate(burden, ptot / 1000 - burden / tau_b)

    m.output("effects.effect_site", ce, "ng/mL", "racemic-equivalent effect-site concentration (plasma units)")
    m.output("cadss", e_cadss * h_cadss / (1 + tol), "1", "dissociation, CADSS total score (0-92)")
    m.output("effects.tolerance", tol, "1", "tolerance to dissociation (peak CADSS divided by 1 + T)")
    m.output("psychotomimetic", 100 * hill(ce, ec_psy, n_psy), "1", "psychotomimetic intensity (0-100)")
    sbp = cov * e_sbp * cp / (ec_sbp + cp)
    m.output("sbp_change", sbp, "mmHg", "systolic blood pressure change")
    m.output("dbp_change", r_dbp * sbp, "mmHg", "diastolic blood pressure change")
    m.output("map_change", sbp * (1 + 2 * r_dbp) / 3, "mmHg", "mean arterial pressure change")
    m.output("hr_change", cov * s_hr * cp, "1/min", "heart rate change (bpm)")
    m.output("eeg.median_frequency_change", -e_eeg * hill(ce, ic_eeg, n_eeg), "1", "EEG median frequency change (Hz)")
    m.output("sedation", hill(ce, c_awake, n_sed), "1", "probability of unresponsiveness (anaesthesia); < 0.5 awake")
    m.output("respiratory_depression", e_resp * hill(ce, c_resp, 2), "1", "fractional fall in minute ventilation")
    m.output("effects.burden", burden, "mg*h/L", "ketamine exposure burden")
    for name, b50, desc in (("uropathy", b_uro, "ketamine uropathy (bladder) risk"),
                            ("liver_injury", b_liv, "liver injury risk"),
                            ("cognitive_impairment", b_cog, "cognitive (memory) impairment risk")):
        m.output(f"harm.{name}_risk", hill(burden, b50, n_harm), "1", f"{desc}, chronic heavy use (grade C)")
    return m
