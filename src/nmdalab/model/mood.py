"""Mood: depression severity (MADRS, HDRS) from connectivity, the habenula and stress; placebo.

Severity (submodel ``mood``; all algebraic except the expectation state)::

    effect  = r ( beta_syn (C - 1) + beta_lhb s ) - beta_cort cort
    p_typ   = pl_max X / (X + K_x)                       (typical patient's placebo fraction)
    placebo = S o / (1 + S o),   o = p_typ / (1 - p_typ)  (logit(placebo) = logit(p_typ) + ln S)
    madrs   = M_b e^(-e+) W(e-) (1 - placebo),            e+ = pos(effect), e- = pos(-effect)
    W(x)    = 1 + (R / M_b) (1 - e^(-x M_b / R)),         R = pos(M_max - M_b)
    hdrs    = hdrs_per_madrs * madrs

* ``C`` = ``plasticity.connectivity`` (1 at rest; spines x synaptic strength): the sustained
  component, days (Li 2010; Moda-Sava 2019: new spines maintain the effect);
* ``s`` = ``circuit.lhb_suppression``: the fast component, hours (Yang 2018);
* ``cort`` = ``plasticity.cortisol_excess`` (the HPA layer's cortisol excess averaged over days,
  above the plasticity layer's threshold; 0 when the HPA layer is absent): sustained stress
  raises severity (grade C);
* the scale's ceiling ``M_max`` = ``mood.madrs_max`` (60: ten items scored 0-6): an improvement
  (``effect > 0``) lowers the score as ``e^(-effect)``, a worsening raises it with the same slope
  at 0 (``W'(0) = 1``) but saturating at ``M_max``.  Before this bound (issue 4's chronic-stress
  check) a synaptic loss under chronic stress gave MADRS scores of 10^5;
* ``r`` = ``mood.responsiveness``: one patient's sensitivity of mood to the synaptic and
  habenular changes (typical 1, log-normal inter-individual variability: responders and
  non-responders);
* ``M_b`` = baseline severity by diagnosis: ``sum_k dx_k * baseline_k`` with one-hot ``dx_k``
  set from ``population.diagnosis`` (:func:`arm_parameters`), times a log-normal
  ``baseline_scale``;
* ``S`` = ``mood.placebo_susceptibility``: one patient's placebo responsiveness (typical 1,
  log-normal, i.e. a **logit-normal random effect on the placebo fraction itself**).  Without it
  no patient could fall more than ``pl_max`` (40%) on expectation alone, so a saline arm would
  have no responders (>= 50% fall), whereas trials report ~10-30% (Newport 2015's pooled odds
  ratio 9.87 against a ~52% ketamine response implies ~10% on saline; Murrough 2013 midazolam 28%).
  The same ``S`` acts in every arm of a patient (the expectation in a ketamine arm is the same
  kind of effect);
* ``X`` = placebo response (state): every administration visit adds ``mood.expectation_saline``
  (placebo) or ``mood.expectation_active`` (drugs with noticeable effects: ketamine, midazolam
  as an active placebo) to the expectation ``E`` (:mod:`nmdalab.regimen`), which turns into
  felt improvement over hours and fades over days (so the score at time 0 is the baseline)::

      dE/dt = -k_in E,        dX/dt = k_in E - k_x X

Because ``madrs`` is an algebraic function of states and parameters, a population's MADRS can be
re-evaluated for other mood parameters from one set of simulated states (the calibration
script does this).  Evidence: clinical curves A; the mapping of connectivity to severity C;
placebo structure C.

This module also registers ``midazolam`` (active placebo, no PK: it only adds expectation) and
turns an arm's ``interventions`` and the population's diagnosis into parameter overrides
(:func:`arm_parameters`, called once per arm by :func:`nmdalab.simulate`).
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from ..errors import ScenarioError, did_you_mean
from ..regimen import DRUGS, Drug, register_drug
from .circuit import E_F, smooth_pos
from .core import Submodel
from .plasticity import INTERVENTIONS

#: diagnoses with their own baseline (``population.diagnosis``)
DIAGNOSES = ("healthy", "mdd", "trd", "bipolar")
#: depression scales: name -> model variable; default remission cutoff (MADRS <= 10; HDRS-17 <= 7)
SCALES = {"madrs": "madrs", "hdrs": "hdrs"}
REMISSION_CUTOFF = {"madrs": 10.0, "hdrs": 7.0}


def mood_layer() -> Submodel:
    """The mood submodel ``mood`` (equations in the module docstring)."""
    m = Submodel("mood", "depression severity (MADRS, HDRS): connectivity, habenula, stress, expectation")
    m.notes = "clinical time courses A; connectivity -> severity C; placebo/expectation C"
    P = m.parameter
    c = m.input("plasticity.connectivity", "1")
    s = m.input("circuit.lhb_suppression", "1")
    cort = m.input("plasticity.cortisol_excess", "1")
    r = P("responsiveness", "1", "sensitivity of mood to synaptic and habenular change (1 typical)")
    b_syn = P("beta_connectivity", "1", "severity fall (log) per unit connectivity rise")
    b_lhb = P("beta_lhb", "1", "severity fall (log) per fraction of LHb bursting suppressed")
    b_cort = P("beta_cortisol", "1", "severity rise (log) per unit sustained cortisol excess")
    pl_max = P("placebo_max", "1", "largest fractional severity fall from expectation")
    k_half = P("expectation_half", "1", "expectation giving half the largest placebo effect")
    s_pl = P("placebo_susceptibility", "1", "one patient's odds of the placebo fraction relative to the typical patient (1 typical)")
    k_x = P("k_expectation", "1/h", "fading rate of expectation")
    P("expectation_saline", "1", "expectation added by one visit with an inert placebo")
    P("expectation_active", "1", "expectation added by one visit with a drug the patient feels")
    scale = P("baseline_scale", "1", "individual baseline severity relative to the diagnosis mean")
    base = sum(P(f"dx_{d}", "1", f"1 when the population's diagnosis is {d}, else 0") * P(f"baseline_{d}", "1",
               f"mean baseline MADRS, {d}") for d in DIAGNOSES)
    h_per_m = P("hdrs_per_madrs", "1", "HDRS-17 points per MADRS point")
    k_in = P("k_placebo_onset", "1/h", "rate at which a visit's expectation turns into improvement")
    e = m.state("expectation", "1", "expectation of benefit raised by visits, not yet felt", initial=0.0)
    x = m.state("placebo_response", "1", "felt improvement from expectation (drives the placebo effect)", initial=0.0)
    m.rate(e, -k_in * e)
    m.rate(x, k_in * e - k_x * x)
    effect = r * (b_syn * (c - 1) + b_lhb * s) - b_cort * cort
    pl_typ = pl_max * x / (x + k_half)
    odds = s_pl * pl_typ / (1 - pl_typ)
    placebo = odds / (1 + odds)
    m_b = scale * base
    m_max = P("madrs_max", "1", "highest possible MADRS total score")
    room = smooth_pos(m_max - m_b, sp.Float(1e-3))
    e_up, e_dn = smooth_pos(effect, sp.Float(1e-4)), smooth_pos(-effect, sp.Float(1e-4))  # e_up - e_dn = effect
    worse = 1 + room / m_b * (1 - E_F ** (-e_dn * m_b / room))
    madrs = m_b * E_F ** (-e_up) * worse * (1 - placebo)
    m.output("madrs", madrs, "1", "MADRS total score (0-60)")
    m.output("hdrs", h_per_m * madrs, "1", "HDRS-17 total score (0-52)")
    m.output("mood.placebo", placebo, "1", "fractional severity fall from expectation")
    m.output("mood.drug_effect", effect, "1", "log severity fall from connectivity and habenula (drug effect)")
    return m


# ------------------------------------------------------------------------------------------
# drugs: midazolam as an active placebo
# ------------------------------------------------------------------------------------------

register_drug(Drug("midazolam", {}, routes=("iv_infusion", "iv_bolus"), max_mg_per_kg={"human": 0.2},
                   expectation="mood.expectation_active",
                   description="active placebo (Murrough 2013: 0.045 mg/kg over 40 min); no PK in nmdalab, "
                               "it adds expectation only (mood layer)"))


# ------------------------------------------------------------------------------------------
# per-arm parameters: diagnosis and interventions
# ------------------------------------------------------------------------------------------


def check_interventions(items, where: str) -> list[str]:
    """Validate ``[{name: rapamycin}, ...]``; unknown names raise a did-you-mean error."""
    names = []
    allowed = tuple(INTERVENTIONS)
    for i, item in enumerate(items):
        name = item.name
        if name not in INTERVENTIONS:
            raise ScenarioError(f"{where}[{i}].name: {name!r} is not a known intervention; allowed: "
                                f"{', '.join(allowed)}.{did_you_mean(name, allowed)}")
        if name in names:
            raise ScenarioError(f"{where}[{i}].name: {name!r} is given twice")
        names.append(name)
    return names


def arm_parameters(ps, diagnosis: str | None, interventions=()):
    """``ps`` with the diagnosis one-hot parameters and the arm's interventions applied.

    Parameters absent from ``ps`` (a set without the mood layer) are left absent.
    """
    from ..parameters import ParameterSet

    over = {}
    if diagnosis is not None and "mood.dx_trd" in ps:
        for d in DIAGNOSES:
            key = f"mood.dx_{d}"
            over[key] = replace(ps[key], value=1.0 if d == diagnosis else 0.0,
                                source=f"scenario: population.diagnosis = {diagnosis}")
    for name in interventions:
        key = INTERVENTIONS[name]
        if key in ps:
            over[key] = replace(ps[key], value=1.0, source=f"scenario: intervention {name}")
    if not over:
        return ps
    return ps.overlay(ParameterSet("arm", over))


def _ensure_expectation():
    """Give the comparator drugs of the regimen module their expectation parameter."""
    for name, key in (("placebo", "mood.expectation_saline"), ("ketamine", "mood.expectation_active"),
                      ("esketamine", "mood.expectation_active"), ("arketamine", "mood.expectation_active")):
        if name in DRUGS and DRUGS[name].expectation is None:
            register_drug(replace(DRUGS[name], expectation=key))


_ensure_expectation()
