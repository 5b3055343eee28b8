"""The stress axis: CRH -> ACTH -> cortisol with glucocorticoid feedback, circadian drive,
the cortisol awakening response, acute and chronic stress, slow gland masses, and ketamine.

Clock
-----
Model time ``t`` (h) is clock time: ``t = 0`` is 00:00 on day 1, a Monday (the scenario
convention of :mod:`nmdalab.regimen`).  Every patient wakes at ``hpa.wake_time`` (07:30 by
default, assumed) every day.  A stressor ``at: 182 h`` is therefore 14:00 on day 8.

Equations (submodel ``hpa``; x = cortisol in nM, ``x_ref`` its baseline 24-h mean)
---------------------------------------------------------------------------------
* circadian drive (Bangsgaard & Ottesen 2017 shape, phase and amplitude calibrated to
  Debono 2009), with ``tm = (t - delta) mod 24``::

      c(t) = tm^k/(tm^k + alpha^k) * (24 - tm)^l/((24 - tm)^l + beta^l) + eps

* cortisol awakening response, a daily Gaussian bump just after waking, with
  ``u = ((t - t_wake - d_car + 12) mod 24) - 12``::

      car(t) = 1 + a_car * exp(-u^2/(2*w_car^2))

* glucocorticoid-receptor feedback (Karin et al. 2020: ``K_GR = 4``, ``n_GR = 3`` in units of
  the baseline)::

      GR(x) = 1/(1 + (x/(K_GR*x_ref))^n_GR)

* CRH is fast (half-life ~4 min) and treated as quasi-steady (algebraic)::

      CRH = (c(t)*car(t) + crh_ref*S)*GR(x)

  (stress adds to the circadian drive, in units of its 24-h mean, so a stressor acts at any
  hour)

* stress drive S (dimensionless, 0 at rest; 1 = one daily-mean CRH drive added): acute stressors and chronic stress are zero-order
  inputs into it (:func:`stressor_events`); it decays with ``k_s``::

      dS/dt = inputs - k_s*S

* ACTH (pg/mL) and cortisol (nM), first-order clearance (half-lives ~20 and ~76 min; Andersen,
  Vinther & Ottesen 2013), pituitary corticotroph mass P and adrenal mass A (Karin 2020)::

      dACTH/dt = k_a*(a_gain*P*CRH*GR(x) - ACTH)
      prod     = k_x*x_gain*A*(ACTH/a_gain)*K(C)              (nM/h)
      dx/dt    = prod - k_x*x
      dP/dt    = g_P*P*(CRH/crh_ref - 1)
      dA/dt    = g_A*A*(ACTH/acth_ref - 1)

  ``crh_ref`` and ``acth_ref`` are the 24-h means of CRH and ACTH on the unstressed baseline
  day, so P = A = 1 is the baseline steady state.

  P and A grow over weeks when CRH and ACTH stay above their daily means (chronic stress) and
  carry the dysregulation for weeks after it ends.

* ketamine raises adrenal cortisol production (Khalili-Mahani et al. 2015: production doubles at
  ~165 ng/mL plasma ketamine in an indirect-response model); a saturable form that is 2 at
  ``c2``::

      K(C) = 1 + e_max*C/(c2*(e_max - 1) + C)

* a slow cortisol load L (24-h running average of x/x_ref), for couplings that act over days::

      dL/dt = (x/x_ref - L)/tau_L

Couplings (outputs for other layers), with their evidence grade
----------------------------------------------------------------
* ``hpa.mg_loss_factor`` = 1 + k_mgc*(x/x_ref - 1) + k_mgs*S: urinary magnesium loss raised by
  cortisol and by the catecholamine surge of stress (S is the catecholamine proxy).  Direction
  grade B (Pickering et al. 2020 Nutrients 12:3672: exams raise urinary Mg; adrenaline lowers
  plasma Mg); magnitudes grade C (assumed).  1 on the daily average at rest.
* ``hpa.cortisol_effect`` = L - 1: sustained cortisol excess for the plasticity layer (lowers
  BDNF, raises spine elimination).  Direction grade B (chronic stress / corticosterone lower
  BDNF and spines in rodents, Li et al. 2011); magnitude of the coupling is the consumer's
  (grade C).  0 on the daily average at rest (ripples about +-0.15 over the day).
* ``hpa.stress`` (S) for the mood and addiction layers (stress raises depression severity and
  relapse; grade C).
* ketamine -> cortisol: grade A (human, Khalili-Mahani 2015).

Only S, ACTH, cortisol, P, A and L are states (6); CRH is algebraic.  Outputs depend on states
only (outputs are evaluated without ``t``), so the circadian drive is not an output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

from .core import Submodel, t

#: stressor kinds a scenario may name
STRESSOR_KINDS = ("acute", "chronic")
#: 1 nM cortisol = 0.036246 ug/dL (molar mass 362.46 g/mol)
CORTISOL_UGDL_PER_NM = 0.036246  # 1 nM = 362.46 ng/L = 0.036246 ug/dL


def hpa_axis() -> Submodel:
    """The HPA submodel ``hpa`` (see the module docstring for its equations)."""
    m = Submodel("hpa", "CRH -> ACTH -> cortisol with GR feedback, circadian drive, stress, gland masses")
    m.notes = ("structure grade B (Karin 2020 gland masses; Bangsgaard & Ottesen 2017 circadian drive); "
               "24-h profile calibrated to Debono 2009 (grade A data); couplings to Mg (B/C) and plasticity (B/C)")
    P = m.parameter
    # kinetics
    k_a = P("k_acth", "1/h", "ACTH elimination rate constant")
    k_x = P("k_cortisol", "1/h", "cortisol elimination rate constant")
    k_s = P("k_stress", "1/h", "decay rate of the stress drive after a stressor ends")
    g_p = P("gamma_p", "1/h", "corticotroph mass turnover rate")
    g_a = P("gamma_a", "1/h", "adrenal cortex mass turnover rate")
    tau_l = P("tau_load", "h", "averaging time of the cortisol load")
    # feedback
    k_gr = P("gr_k", "1", "GR feedback half-maximal cortisol, in units of the baseline mean")
    n_gr = P("gr_n", "1", "GR feedback Hill coefficient")
    # gains and references
    a_gain = P("acth_gain", "pg/mL", "ACTH at unit CRH drive and unit feedback")
    x_gain = P("cortisol_gain", "nM", "steady-state cortisol at ACTH = acth_gain")
    crh_ref = P("crh_ref", "1", "baseline 24-h mean of the CRH drive c*car*GR (reference for P growth)")
    acth_ref = P("acth_ref", "pg/mL", "baseline 24-h mean ACTH (reference for A growth)")
    x_ref = P("cortisol_ref", "nM", "baseline 24-h mean cortisol")
    # circadian drive
    delta = P("circ_delta", "h", "phase of the circadian drive (clock time of its zero)")
    eps = P("circ_eps", "1", "night-time floor of the circadian drive")
    ck = P("circ_k", "1", "rise exponent of the circadian drive")
    cl = P("circ_l", "1", "decline exponent of the circadian drive")
    calpha = P("circ_alpha", "h", "rise half-time of the circadian drive after its zero")
    cbeta = P("circ_beta", "h", "decline half-time of the circadian drive before its next zero")
    t_wake = P("wake_time", "h", "clock time of awakening")
    a_car = P("car_amp", "1", "amplitude of the awakening drive")
    d_car = P("car_delay", "h", "delay of the awakening drive after waking")
    w_car = P("car_width", "h", "width (SD) of the awakening drive")
    # ketamine
    c2 = P("ketamine_c2", "ng/mL", "plasma ketamine that doubles cortisol production")
    e_max = P("ketamine_emax", "1", "largest relative increase of cortisol production by ketamine")
    # couplings
    k_mgc = P("mg_cortisol", "1", "relative urinary Mg loss per relative cortisol excess")
    k_mgs = P("mg_stress", "1", "relative urinary Mg loss per unit stress drive (catecholamines)")
    # stressor levels (used by stressor_events, declared so they are listed and sourced)
    P("acute_level", "1", "stress drive during an acute stressor of intensity 1 (a Trier-like test)")
    P("chronic_level", "1", "stress drive under chronic stress of intensity 1 (severe)")
    # initial values (periodic steady state at 00:00, from the calibration)
    P("acth_init", "pg/mL", "ACTH at 00:00 on the baseline day")
    P("cortisol_init", "nM", "cortisol at 00:00 on the baseline day")
    P("load_init", "1", "cortisol load at 00:00 on the baseline day")

    syms = m.symbols
    s = m.state("stress", "1", "stress drive (0 at rest)", initial=0.0)
    acth = m.state("acth", "pg/mL", "plasma ACTH", initial=syms["hpa.acth_init"])
    x = m.state("cortisol", "nM", "plasma total cortisol", initial=syms["hpa.cortisol_init"])
    pm = m.state("corticotroph_mass", "1", "pituitary corticotroph mass (1 = baseline)", initial=1.0)
    am = m.state("adrenal_mass", "1", "adrenal cortex mass (1 = baseline)", initial=1.0)
    load = m.state("load", "1", "24-h average of cortisol relative to baseline", initial=syms["hpa.load_init"])

    ket = m.input("plasma.ketamine", "ng/mL", default=0.0)

    drive = circadian_drive(t, delta, eps, ck, cl, calpha, cbeta) * awakening_drive(t, t_wake, a_car, d_car, w_car)
    gr = 1 / (1 + (x / (k_gr * x_ref)) ** n_gr)
    crh = (drive + crh_ref * s) * gr
    ket_mult = 1 + e_max * ket / (c2 * (e_max - 1) + ket)
    prod = k_x * x_gain * am * (acth / a_gain) * ket_mult

    m.rate(s, -k_s * s)
    m.rate(acth, k_a * (a_gain * pm * crh * gr - acth))
    m.rate(x, prod - k_x * x)
    m.rate(pm, g_p * pm * (crh / crh_ref - 1))
    m.rate(am, g_a * am * (acth / acth_ref - 1))
    m.rate(load, (x / x_ref - load) / tau_l)

    m.output("cortisol", x * CORTISOL_UGDL_PER_NM, "ug/dL", "plasma total cortisol")
    m.output("cortisol.nM", x, "nM", "plasma total cortisol (interface for other layers)", public=False)
    m.output("acth", acth, "pg/mL", "plasma ACTH")
    m.output("hpa.cortisol_production", prod / 60, "nM/min", "cortisol production rate")
    m.output("hpa.stress", s, "1", "stress drive (0 at rest; 1 = a Trier-like test)")
    m.output("hpa.corticotroph_mass", pm, "1", "pituitary corticotroph mass (1 = baseline)")
    m.output("hpa.adrenal_mass", am, "1", "adrenal cortex mass (1 = baseline)")
    m.output("hpa.mg_loss_factor", 1 + k_mgc * (x / x_ref - 1) + k_mgs * s, "1",
             "relative urinary Mg loss driven by cortisol and stress catecholamines (direction B, size C)")
    m.output("hpa.cortisol_effect", load - 1, "1",
             "sustained cortisol excess (24-h average relative to baseline, minus 1) for plasticity (B/C)")
    return m


class ClockMod(sp.Mod):
    """``sp.Mod`` printed as ``np.mod``.

    The generated NumPy code runs in a namespace holding only ``np``, and the model printer
    writes SymPy functions unqualified (``mod(...)``); this subclass prints itself qualified.
    It is still an ``sp.Mod`` for other exporters.
    """

    def _numpycode(self, printer):
        return f"np.mod({printer._print(self.args[0])}, {printer._print(self.args[1])})"


#: e as a float base: ``E_F**z`` prints as a power, not as the unqualified ``exp(z)``
E_F = sp.Float(math.e)


def circadian_drive(tt, delta, eps, k, l, alpha, beta):
    """Bangsgaard & Ottesen 2017 circadian drive on a 24-h clock (hours)."""
    tm = ClockMod(tt - delta, 24)
    return tm**k / (tm**k + alpha**k) * (24 - tm) ** l / ((24 - tm) ** l + beta**l) + eps


def awakening_drive(tt, t_wake, amp, delay, width):
    """1 + a daily Gaussian bump ``delay`` after waking (the cortisol awakening response)."""
    dt = ClockMod(tt - t_wake - delay + 12, 24) - 12  # signed hours from the bump's centre
    return 1 + amp * E_F ** (-(dt**2) / (2 * width**2))


# ------------------------------------------------------------------------------------------
# stressors as events
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StressorSpec:
    """One validated stressor item: ``kind`` (acute | chronic), start times (h), duration (h) and
    intensity (acute: 1 = a Trier Social Stress Test; chronic: 0-1, 1 = severe)."""

    kind: str
    times_h: tuple[float, ...]
    duration_h: float
    intensity: float


def stressor_events(stressors, chronic_stress: float | None, duration_h: float, values: dict[str, float], model):
    """Dosing-style events that feed the stress drive ``hpa.stress`` for one patient.

    Each stressor is a zero-order input of ``level * k_stress`` per hour over its duration, so
    the drive rises to ``level`` within minutes (``1/k_stress``) and decays after it ends.
    Acute: ``level = intensity * hpa.acute_level``; chronic: ``level = intensity *
    hpa.chronic_level``.  ``chronic_stress`` (the population property, 0-1) is a chronic
    stressor over the whole simulation, present from time 0.

    Returns a :class:`nmdalab.regimen.PatientEvents`; an empty one when there is no stress.
    """
    from ..errors import ScenarioError
    from ..regimen import Event, PatientEvents

    ev = PatientEvents()
    items = list(stressors or [])
    if chronic_stress:
        items.append(StressorSpec("chronic", (0.0,), duration_h, float(chronic_stress)))
    if not items:
        return ev
    if "hpa.stress" not in model.state_names:
        raise ScenarioError("stressors and population.chronic_stress need the HPA layer (Model.default() includes it)")
    idx = model.state_index("hpa.stress")
    k_s = values["hpa.k_stress"]
    for st in items:
        level = st.intensity * values["hpa.acute_level" if st.kind == "acute" else "hpa.chronic_level"]
        for t0 in st.times_h:
            dur = min(st.duration_h, duration_h - t0)
            if dur > 0 and level > 0:
                ev.infusions.append(Event(t0, idx, level * k_s * dur, dur))
    return ev
