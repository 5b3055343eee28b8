"""Addiction: reward, learned drug value, incentive sensitisation, tolerance, dependence,
withdrawal, craving and relapse risk; plus the simple PK of morphine and cocaine (so the
published magnesium experiments, run with those drugs, can be re-run).

Everything here is slow (hours to months) or algebraic; the evidence grade of the structure is
C and of every ketamine- and magnesium-specific number D (research notes 8.5), unless the
parameter file says otherwise.

Reward signal (algebraic; "dopamine excess", dimensionless, 1 = NAc dopamine doubled)
--------------------------------------------------------------------------------------
Per drug, ``a_d >= 0``:

* ketamine: the circuit layer's ``circuit.dopamine_nac`` (relative to baseline 1) when it is
  composed (every experiment in :mod:`nmdalab.experiments.addiction`, the calibration and the
  full default model compose it), counted while ketamine is on board::

      a_ket = pos(dopamine_nac - 1) * db_int / (db_int + d0)

  (the attribution factor keeps circadian, stress-driven and post-drug excursions of circuit
  dopamine from being learned as drug reward).  Without the circuit a **fallback** (documented,
  grade D): disinhibition of VTA/NAc dopamine by block of interneuron NMDA receptors, divided by
  the receptor up-regulation (so up-regulation is tolerance)::

      a_ket = e_ket * db_int / R_int

  (``a_ket`` and the pyramidal block ``db_pyr`` are carried by two fast first-order filter states,
  time constant ``tau_fast`` ~1 min, so the slow rates refer to state symbols)

  with ``db_int = nmda.interneuron.drug_blocked`` and ``R_int = nmda.interneuron.receptors``.
  Ketamine also has an **aversive** component (dissociation/dysphoria; conditioned taste
  aversion at 10 mg/kg), steep in pyramidal-cell block ``db_pyr``::

      v_ket = e_av * db_pyr^h / (db_pyr^h + db50^h)

* morphine, cocaine: Emax on their brain concentration ``a = Emax * C / (C + EC50)``; the
  morphine term is multiplied by ``1 - mu_block``, the fraction of its mu-opioid action left by
  an antagonist (``addiction.mu_antagonist``, 0 by default; a naloxone challenge sets it to 1,
  see :func:`nmdalab.experiments.addiction.withdrawal_score`);
* magnesium: a small reward from an acute rise of serum Mg above the patient's set point
  (Kantak 1991, Nechifor 2010; mechanism unknown, grade D)::

      a_mg = e_mg * pos(serum.mg / covariate.serum_mg - 1.1)

``a_raw = sum a_d``; after tolerance ``T`` the felt reward is ``a = a_raw * (1 - T)``; the
hedonic signal is ``h = a - v_ket`` and the net affect ``h - B`` (opponent ``B``).

NMDA-dependent plasticity gate (Mg and ketamine modulate learning and neuroadaptation)
-------------------------------------------------------------------------------------
Receptor part (grade C: Jahr-Stevens block is grade A, the Ca2+ switch is a hypothesis): the
NMDA Ca2+ influx of pyramidal cells relative to the reference (brain ionised Mg ``mg_ref``, no
drug), from the Jahr & Stevens 1990 block at the pyramidal voltage (the receptor layer's
``nmda.mg_k0_2a``, ``nmda.mg_delta``, ``nmda.pyramidal.v_rest``) and the drug block::

    K = K0 * exp(delta * V_pyr);   x = (1 + mg_ref/K) / (1 + Mg_csf/K) * (1 - db_pyr)

drives a cooperative Ca2+-dependent plasticity switch (calcium control hypothesis; CaMKII),
normalised to 1 at the reference::

    g_rec = x^n * (1 + th^n) / (x^n + th^n)

Its elasticity to Mg is at most ``n`` x the receptor's (~0.95 at -70 mV), and it is bounded
(``g_rec <= 1 + th^n``): Mg deficiency raises every NMDA-gated rate by at most ~2x.

Supplement part (phenomenological, grade D, one-sided): brain Mg raised above the reference
(i.p./IV Mg) slows the same rates far more than its extra receptor block can explain (Nechifor
2004: a ~5-12% CSF Mg rise cuts morphine withdrawal ~40%), so a separate term, calibrated to that
study and acting only above the reference, carries it (it lumps actions of supplemental Mg the
model lacks: spinal/peripheral NMDA receptors, Ca-channel block)::

    y = Mg_csf/mg_ref - 1;   g_sup = 1 / (1 + k * pos(y)^2)

(quadratic so that it is smooth at the reference, where diet-driven ripples cross it; exactly 1
at and below the reference, so Mg deficiency acts through the receptor part only).

``g = g_rec * g_sup``.  Mg acts on *acquisition*, not on the expression of withdrawal, so Mg
given during withdrawal does little (consistent with the failed Mg trials in alcohol
withdrawal); tolerance is fully gated, dependence only in part (``f_dep``), so Mg prevents
tolerance more than withdrawal (DESIGN.md known results).

States (all dimensionless)
--------------------------
* sensitisation ``S`` (incentive salience multiplier - 1; Robinson & Berridge)::

      dS/dt = k_S * g * a_raw * (1 - S/S_max) - S/tau_S

* learned drug value ``V`` (TD learning with a non-compensable drug surge, Redish 2004; per
  event, not per unit time in the drug state).  Three teaching signals::

      u = a_raw / (a_raw + a_on);   surge = pos(a - a_ref);   d a_ref/dt = (a - a_ref)/tau_ph
      dV/dt = g * (eta * u * (a - V) + k_surge/tau_ph * surge - k_av * v_ket) - V/tau_V

  - the **surge**: the phasic rise of the felt reward above its recent (tonic) level.  While
    ``a > a_ref``, ``d a_ref/dt = surge/tau_ph``, so the surge integral of one dose is exactly
    ``tau_ph * max(a_ref)`` (of the order of the dopamine rise: ~0.6x the peak for an IV infusion,
    ~1x for a slow i.p. rise), and each dose adds ``~ k_surge * g * max(a_ref)`` to V: an IV
    infusion teaches in proportion to its dopamine rise, not to the minutes it lasts (Redish's
    max(delta, D): the drug's own dopamine signal enters the prediction error at every dose and
    is not learned away; the prediction part of the per-response update is applied by the
    closed loop, :func:`nmdalab.closed_loop.reinforce`);
  - the continuous TD term pulls V towards the tonic reward while the drug state is visited;
  - **aversion learning** (conditioned taste/place aversion) accumulates with the time spent in
    the dysphoric state ``v_ket``: a large i.p. dose holds pyramidal block above the aversive
    range for an hour (adult rats: place aversion), while IV unit doses stay below it (so they are
    self-administered).  The route difference in the model comes from dose and time in the
    aversive state, not from the rate of rise: the circuit layer's dopamine rise after an IV
    unit dose (0.1-0.3 mg/kg, peak in ~5 min) is not faster in absolute terms than after 3-10
    mg/kg i.p.

* instrumental (action) value ``Va`` of taking the drug, which the closed-loop choices use (self-
  administration, the virtual user): taught only by the response-contingent surge, with the
  prediction part of the per-response TD update applied by the closed loop::

      dVa/dt = g * k_surge/tau_ph * surge - Va/tau_V

  Instrumental learning credits the immediate consequence of a response (delay-of-reinforcement
  gradient of seconds to a minute); ketamine's dysphoric effect builds over minutes and lasts an
  hour, so it is learned by the context (``V``: place and taste aversion) but not credited to the
  lever (Ettenberg's account of immediate rewarding vs delayed aversive drug effects; grade C).
  So adult rats self-administer IV unit doses (0.03-1 mg/kg/inf, add.age_cpp, add.deluca2011)
  whose cumulative block would make a place aversive.

* tolerance ``T`` (cellular, NMDA-dependent; in [0, 1))::

      dT/dt = k_T * g * a_raw * (1 - T) - T/tau_T

* dependence ``D`` (in [0, 1)), partly NMDA-gated::

      dD/dt = k_D * (1 - f_dep + f_dep * g) * a_raw * (1 - D) - D/tau_D

* opponent b-process ``B`` (Solomon & Corbit 1974; gain = dependence)::

      dB/dt = (g_B * D * a_raw - B)/tau_B

  (driven by the drug's raw signal, so blocking tolerance does not remove withdrawal: Mg
  prevents opioid tolerance more than withdrawal)

* withdrawal ``W``: the rebound when the drug is absent (opponent unmasked) plus NMDA
  hyperfunction from up-regulated receptors once ketamine has gone (the opponent is unmasked
  smoothly as the drug effect ``a`` falls below ``a_on``), low-pass filtered so that
  symptoms build over a day or two and settle over about two weeks::

      drive = B * a_on/(a_on + a) + w_R * (R_pyr - 1) * (1 - db_pyr);   dW/dt = (drive - W)/tau_W

* allostatic load ``A`` (Koob & Le Moal 2001: a slow shift of the hedonic set point that
  outlasts withdrawal; carries low mood in abstinent users)::

      dA/dt = k_A * B - A/tau_A

* cue exposure ``Q`` (decays; cue presentations are jumps of it)::

      dQ/dt = -Q/tau_Q

Outputs
-------
``craving`` (0-1 index) ``= c / (c + c50)``, ``c = (w_W*W + w_Q*(Q + q0)*V*(1 + S) +
w_s*stress) * gm``, ``gm = (mg_ref/csf.mg_ionised)^n_crav`` (low Mg raises craving, D);
``withdrawal`` (0-1 index) ``= W / (W + w50)``; ``dependence`` (= D, 0-1); ``tolerance``
(fraction of the naive reward lost at a fixed brain concentration, 0-1, ``1 - (1 - T)/R_int``);
``drug_value`` (V, reward units); ``addiction.action_value`` (Va); ``addiction.relapse_risk`` (probability of use within a day
for an abstinent user, ``1 - exp(-(h0 + h1*craving)*1 d)``); ``addiction.reward`` (a),
``addiction.aversion``, ``addiction.affect`` (h - B), ``addiction.sensitisation`` (S),
``addiction.opponent`` (B), ``addiction.allostasis`` (A), ``addiction.bdi`` (Beck Depression
Inventory estimate ``bdi0 + k_bdi*(W + A)``, calibrated to Fan 2016).

Withdrawal components (the rebound named in issue 6; 0-1 indices on the scale of
``withdrawal``, weights ``f_*`` grade D, assumed: the shared rows add.taipei and
add.hk.dependence list anxiety, dysphoria/low mood, irritability and sleep problems on stopping,
with no relative severities, so the weights are 1; craving is ``craving`` above)::

    addiction.withdrawal_anxiety    = x / (x + w50),  x = f_anx * W
    addiction.withdrawal_sleep      = x / (x + w50),  x = f_sleep * W
    addiction.withdrawal_dysphoria  = x / (x + w50),  x = f_dys * (W + A)

(dysphoria also carries the allostatic load, so low mood outlasts the other signs by weeks:
add.withdrawal.course, add.morgan2010; the same ``W + A`` drives ``addiction.bdi``).

Optional inputs (neutral defaults, so the layer composes with whichever layers are present):
``circuit.dopamine_nac``, ``nmda.interneuron.drug_blocked``/``receptors``,
``nmda.pyramidal.drug_blocked``/``receptors``, ``csf.mg_ionised``, ``serum.mg``, ``hpa.stress``.
"""

from __future__ import annotations

import sympy as sp

from ..regimen import Drug, register_drug
from .core import Submodel
from .pk import Input

#: e as a float base (``exp`` would print unqualified in the generated code)
_E = sp.Float(2.718281828459045)

#: sentinel default of an optional input: "not composed" (every real value is >= 0)
_ABSENT = -1.0


class _Step(sp.Function):
    """Heaviside step (1 for x > 0), the derivative of :class:`_Pos`; printed ``np.heaviside``."""

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    def _numpycode(self, printer):
        return f"np.heaviside({printer._print(self.args[0])}, 0.0)"


class _Pos(sp.Function):
    """max(x, 0), printed qualified (``np.maximum``): the model printer leaves SymPy's own
    functions (``Abs`` -> ``sign`` in the Jacobian) unqualified."""

    def fdiff(self, argindex=1):
        return _Step(self.args[0])

    def _numpycode(self, printer):
        return f"np.maximum({printer._print(self.args[0])}, 0.0)"


def _pos(x):
    return _Pos(x)


class _IfComposed(sp.Function):
    """``_IfComposed(x, fallback, present)`` for an optional input ``x`` with the sentinel
    default -1: ``fallback`` when ``x`` was left at the sentinel, ``present`` when a submodel
    provides it.  Resolved symbolically when the composer substitutes a number or an expression
    for ``x``; while ``x`` is a bare symbol (a composer that keeps interface variables as named
    intermediates) it is printed as ``np.where(x < 0, fallback, present)``."""

    @classmethod
    def eval(cls, x, fallback, present):
        if x.is_Number:
            return fallback if x < 0 else present
        if isinstance(x, sp.Symbol):
            return None
        return present

    def fdiff(self, argindex=1):
        x = self.args[0]
        if argindex == 2:
            return _IfComposed(x, sp.Integer(1), sp.Integer(0))
        if argindex == 3:
            return _IfComposed(x, sp.Integer(0), sp.Integer(1))
        return sp.Integer(0)

    def _numpycode(self, printer):
        x, fb, pr = (printer._print(a) for a in self.args)
        return f"np.where(({x}) < 0, {fb}, {pr})"


def _optional(sym, fallback, present):
    """``present`` when the input ``sym`` is composed, else ``fallback`` (sentinel -1)."""
    return _IfComposed(sym, fallback, present)


def addiction_layer() -> Submodel:
    """The submodel ``addiction`` (equations in the module docstring)."""
    m = Submodel("addiction", "reward, value learning, sensitisation, tolerance, dependence, withdrawal, craving")
    m.notes = ("structure C (Redish 2004 TD; Solomon-Corbit opponent process; Koob allostasis; Robinson-Berridge "
               "sensitisation); every ketamine- and Mg-specific parameter D; Mg magnitudes calibrated to Nechifor 2004/2010")
    P = m.parameter
    # inputs
    da_in = m.input("circuit.dopamine_nac", "1", default=_ABSENT)
    db_int = m.input("nmda.interneuron.drug_blocked", "1", default=0.0)
    r_int = m.input("nmda.interneuron.receptors", "1", default=1.0)
    db_pyr = m.input("nmda.pyramidal.drug_blocked", "1", default=0.0)
    r_pyr = m.input("nmda.pyramidal.receptors", "1", default=1.0)
    mg_csf = m.input("csf.mg_ionised", "mM", default=_ABSENT)
    mg_serum = m.input("serum.mg", "mM", default=_ABSENT)
    stress = m.input("hpa.stress", "1", default=0.0)
    c_mor = m.input("brain.morphine", "uM", default=0.0)
    c_coc = m.input("brain.cocaine", "uM", default=0.0)
    mu_block = P("mu_antagonist", "1", "fraction of morphine's mu-opioid action blocked by an antagonist (naloxone challenge: 1)")
    # parameters
    e_ket = P("ket_da_gain", "1", "fallback: NAc dopamine excess per unit net interneuron NMDA block")
    e_av = P("ket_aversion_max", "1", "largest aversive (dysphoric) signal of ketamine")
    db50 = P("ket_aversion_db50", "1", "pyramidal drug-blocked fraction at half-maximal aversion")
    n_av = P("ket_aversion_hill", "1", "steepness of the aversive component")
    k_pun = P("aversion_learn_rate", "1/h", "value lost per hour in the aversive drug state, per unit aversion")
    e_mg = P("mg_reward_gain", "1", "reward per relative rise of serum Mg above the set point")
    mg_set = P("covariate.serum_mg", "mM", "patient's serum total Mg set point")
    mg_ref = P("mg_ref", "mM", "reference brain ionised Mg (gate = 1)")
    k0_mg = P("nmda.mg_k0_2a", "mM", "Jahr-Stevens Mg2+ dissociation constant at 0 mV, GluN2A/2B")
    d_mg = P("nmda.mg_delta", "1/mV", "Jahr-Stevens voltage dependence of Mg2+ block")
    v_pl = P("nmda.pyramidal.v_rest", "mV", "voltage of the pyramidal NMDA receptors that gate plasticity")
    n_ca = P("ca_switch_n", "1", "Hill coefficient of the Ca2+-dependent plasticity switch")
    th_ca = P("ca_switch_half", "1", "NMDA Ca2+ influx (relative to reference) at half-activation of the switch")
    k_sup = P("mg_supp_gain", "1", "fall of plasticity rates per squared relative rise of brain Mg above the reference (phenomenological)")
    n_crav = P("mg_craving_n", "1", "exponent of low brain Mg on craving")
    emax_m = P("morphine_da_emax", "1", "morphine: largest dopamine excess")
    ec50_m = P("morphine_da_ec50", "uM", "morphine: brain concentration at half of it")
    emax_c = P("cocaine_da_emax", "1", "cocaine: largest dopamine excess")
    ec50_c = P("cocaine_da_ec50", "uM", "cocaine: brain concentration at half of it")
    k_s = P("sens_rate", "1/h", "sensitisation rate per unit reward")
    tau_s = P("sens_tau", "h", "sensitisation decay time")
    s_max = P("sens_max", "1", "largest sensitisation")
    eta, tau_v = P("learn_rate", "1/h", "value learning rate"), P("value_tau", "h", "value forgetting time (no extinction)")
    k_surge = P("surge_gain", "1", "value learned per unit phasic dopamine rise (non-compensable surge, Redish)")
    tau_ph = P("surge_tau", "h", "time constant of the tonic dopamine reference that phasic rises are measured against")
    a_on = P("drug_on_a50", "1", "reward at which the drug state counts as half visited")
    k_t, tau_t = P("tol_rate", "1/h", "tolerance acquisition rate per unit reward"), P("tol_tau", "h", "tolerance decay time")
    k_d, tau_d = P("dep_rate", "1/h", "dependence acquisition rate per unit reward"), P("dep_tau", "h", "dependence decay time")
    f_dep = P("dep_nmda_fraction", "1", "fraction of dependence acquisition that is NMDA-gated")
    g_b, tau_b = P("opp_gain", "1", "opponent level per unit reward at full dependence"), P("opp_tau", "h", "opponent time constant")
    w_r = P("wd_upreg_gain", "1", "withdrawal drive per unit NMDA hyperfunction")
    tau_w = P("wd_tau", "h", "withdrawal symptom time constant")
    w50 = P("wd_half", "1", "withdrawal state at half of the 0-1 index")
    k_a, tau_a = P("allo_rate", "1/h", "allostatic load growth per unit opponent"), P("allo_tau", "h", "allostatic load recovery time")
    tau_q = P("cue_tau", "h", "decay time of a cue exposure")
    q0 = P("cue_background", "1", "cue exposure of the everyday environment")
    w_w = P("crave_withdrawal", "1", "craving weight of withdrawal")
    w_q = P("crave_cue", "1", "craving weight of cue x incentive value")
    w_s = P("crave_stress", "1", "craving weight of stress")
    c50 = P("crave_half", "1", "raw craving at half of the 0-1 index")
    h0, h1 = P("relapse_h0", "1/h", "relapse hazard without craving"), P("relapse_h1", "1/h", "relapse hazard per unit craving index")
    bdi0, k_bdi = P("bdi_base", "1", "BDI of non-users"), P("bdi_gain", "1", "BDI points per unit withdrawal + allostatic load")
    P("mw_mgcl2", "g/mol", "molar mass of anhydrous MgCl2 (the magnesium_chloride dose)")

    S = m.state("incentive_sensitisation", "1", "incentive sensitisation (salience multiplier - 1)")
    V = m.state("value", "1", "learned drug value (reward units)")
    T = m.state("tolerance", "1", "cellular (NMDA-dependent) tolerance, fraction of reward lost")
    D = m.state("dependence", "1", "dependence (0-1)")
    B = m.state("b_process", "1", "opponent b-process (reward units)")
    W = m.state("withdrawal", "1", "withdrawal symptom state (reward units)")
    A = m.state("allostatic_load", "1", "allostatic load (slow hedonic set-point shift)")
    Q = m.state("cue", "1", "recent cue exposure")

    # the receptor and circuit expressions are large; two fast filter states (time constant
    # tau_fast, about a minute) carry them, so every slow rate below uses a state symbol
    # (compile time) and the dopamine/dysphoria signals lag block by about a minute (assumed)
    k_fast = 1 / P("tau_fast", "h", "time constant of the ketamine dopamine and block signals")
    # with the circuit composed, the NAc dopamine excess counts as ketamine reward while ketamine
    # blocks interneuron NMDA receptors (attribution d/(d + d0)): endogenous excursions of dopamine
    # (circadian cortisol, stress, post-drug rebound) are not drug reward
    attr = db_int / (db_int + P("ket_attr_block", "1", "interneuron drug block at which circuit dopamine is half attributed to ketamine"))
    a_ket_in = _optional(da_in, e_ket * db_int / r_int, _pos(da_in - 1) * attr)
    a_ket = m.state("ketamine_da", "1", "ketamine-evoked NAc dopamine excess (filtered)")
    db_pyr_in = db_pyr
    db_pyr = m.state("pyramidal_block", "1", "pyramidal NMDA drug-blocked fraction (filtered)")
    m.rate(a_ket, k_fast * (a_ket_in - a_ket))
    m.rate(db_pyr, k_fast * (db_pyr_in - db_pyr))
    # threshold 10% above the set point: keeps the kink of max(., 0) away from the resting state,
    # where diet-driven ripples would make it flip (solver steps); i.p./IV doses rise far above it
    a_mg = _optional(mg_serum, 0, e_mg * _pos(mg_serum / mg_set - 1.1))
    a_mor = emax_m * c_mor / (c_mor + ec50_m) * (1 - mu_block)
    a_raw = a_ket + a_mor + emax_c * c_coc / (c_coc + ec50_c) + a_mg
    x_av = db_pyr + 1e-12  # keeps d/dx x**n = n*x**n/x finite at x = 0 (Jacobian)
    aversion = e_av * x_av**n_av / (x_av**n_av + db50**n_av)
    a = a_raw * (1 - T)
    h = a - aversion
    mg_safe = _pos(mg_csf - 0.01) + 0.01  # finite even at the sentinel (both branches are evaluated)
    k_mg_v = k0_mg * _E ** (d_mg * v_pl)  # Jahr-Stevens K_Mg at the pyramidal voltage (mM)
    # Mg-unblocked fraction relative to the reference (Jahr & Stevens 1990)
    x_mg = _optional(mg_csf, 1, (1 + mg_ref / k_mg_v) / (1 + mg_safe / k_mg_v))
    x_ca = x_mg * (1 - db_pyr)  # relative NMDA Ca2+ influx of pyramidal cells
    g_rec = x_ca**n_ca * (1 + th_ca**n_ca) / (x_ca**n_ca + th_ca**n_ca)  # Ca2+ switch, 1 at the reference
    # supplemental Mg (brain Mg raised above the reference): phenomenological, one-sided (exactly
    # 1 at and below the reference); quadratic, so smooth where diet-driven ripples cross it
    y_mg = _optional(mg_csf, 0, mg_safe / mg_ref - 1)
    g_sup = 1 / (1 + k_sup * _pos(y_mg) ** 2)
    g = g_rec * g_sup
    u = a_raw / (a_raw + a_on)
    a_ref = m.state("surge_ref", "1", "tonic dopamine reference (slow filter of the felt reward)")
    m.rate(a_ref, (a - a_ref) / tau_ph)
    surge = _pos(a - a_ref)  # phasic rise of dopamine above its recent level
    m.rate(S, k_s * g * a_raw * (1 - S / s_max) - S / tau_s)
    m.rate(V, g * (eta * u * (a - V) + k_surge / tau_ph * surge - k_pun * aversion) - V / tau_v)
    Va = m.state("action_value", "1", "instrumental value of drug taking (response-contingent: taught by the surge)")
    m.rate(Va, g * k_surge / tau_ph * surge - Va / tau_v)
    m.rate(T, k_t * g * a_raw * (1 - T) - T / tau_t)
    m.rate(D, k_d * (1 - f_dep + f_dep * g) * a_raw * (1 - D) - D / tau_d)
    m.rate(B, (g_b * D * a_raw - B) / tau_b)
    drive = B * a_on / (a_on + a) + w_r * (r_pyr - 1) * (1 - db_pyr)  # r_pyr >= 1 (its ODE relaxes to 1 + gain*block)
    m.rate(W, (drive - W) / tau_w)
    m.rate(A, k_a * B - A / tau_a)
    m.rate(Q, -Q / tau_q)

    gm = _optional(mg_csf, 1, (mg_ref / mg_safe) ** n_crav)
    c_raw = (w_w * W + w_q * (Q + q0) * _pos(V) * (1 + S) + w_s * stress) * gm  # an aversive memory (V < 0) gives no cue craving
    craving = c_raw / (c_raw + c50)
    m.output("craving", craving, "1", "craving index (0-1)")
    m.output("withdrawal", W / (W + w50), "1", "withdrawal severity index (0-1)")
    f_anx = P("wd_anxiety_weight", "1", "anxiety per unit withdrawal state")
    f_sleep = P("wd_sleep_weight", "1", "sleep disruption per unit withdrawal state")
    f_dys = P("wd_dysphoria_weight", "1", "dysphoria per unit withdrawal state + allostatic load")
    for key, x, what in (("anxiety", f_anx * W, "anxiety"), ("sleep", f_sleep * W, "sleep disruption (insomnia)"),
                         ("dysphoria", f_dys * (W + A), "dysphoria / low mood (withdrawal + allostatic load)")):
        m.output(f"addiction.withdrawal_{key}", x / (x + w50), "1", f"withdrawal {what} index (0-1)")
    m.output("dependence", D, "1", "dependence (0-1)")
    m.output("tolerance", 1 - (1 - T) / r_int, "1", "tolerance: fraction of the naive reward lost at a fixed brain concentration (0-1)")
    m.output("drug_value", V, "1", "learned drug value (reward units: 1 = NAc dopamine doubled)")
    m.output("addiction.action_value", Va, "1", "instrumental value of drug taking (drives self-administration choices)")
    m.output("addiction.reward", a, "1", "felt drug reward after tolerance (dopamine excess; 1 = doubled)")
    m.output("addiction.aversion", aversion, "1", "aversive (dysphoric) drug signal, ketamine")
    m.output("addiction.affect", h - B, "1", "net hedonic affect (reward - aversion - opponent)")
    m.output("addiction.sensitisation", S, "1", "incentive sensitisation")
    m.output("addiction.opponent", B, "1", "opponent process (b-process)")
    m.output("addiction.allostasis", A, "1", "allostatic load")
    m.output("addiction.withdrawal_drive", drive, "1", "instantaneous withdrawal drive (rebound)", public=False)
    m.output("addiction.plasticity_gate", g, "1", "NMDA-dependent plasticity gate (1 at reference Mg, no drug)", public=False)
    m.output("addiction.surge", surge, "1", "phasic dopamine rise above the tonic reference (teaches value per event)", public=False)
    m.output("addiction.relapse_risk", 1 - _E ** (-(h0 + h1 * craving) * 24), "1",
             "probability of use within a day for an abstinent user")
    m.output("addiction.bdi", bdi0 + k_bdi * (W + A), "1", "depressive symptoms, Beck Depression Inventory estimate (0-63)")
    return m


# ------------------------------------------------------------------------------------------
# morphine and cocaine: one-compartment PK with depots and a brain effect site
# ------------------------------------------------------------------------------------------

_DEPOTS = {"morphine": ("sc_depot", "ip_depot", "gut"), "cocaine": ("ip_depot", "nasal")}


def drug_pk(drug: str) -> Submodel:
    """``morphine`` or ``cocaine``: depots -> central (V, CL) -> brain effect site (ke0, kp).

    ``d depot/dt = -ka * depot``; ``d central/dt = sum ka*depot - CL/V * central``;
    ``d Ce/dt = ke0 * (kp * central/V - Ce)`` (uM); ``eliminated`` keeps the mass balance.
    Oral morphine: fraction ``f_oral`` of the gut depot reaches the central compartment.
    """
    m = Submodel(drug, f"{drug} one-compartment PK and brain effect site")
    m.notes = "rat and human values from textbook PK (grade B/C); see human-addiction.yaml"
    P = m.parameter
    vc, cl = P("vc", "L", "volume of distribution"), P("cl", "L/h", "clearance")
    ke0, kp = P("ke0", "1/h", "brain equilibration rate constant"), P("kp", "1", "brain effect-site : plasma ratio")
    P("mw", "g/mol", f"molar mass of {drug} base (doses are given as base)")
    cen = m.state("central", "umol", f"{drug} in the body", amount=True, balance=drug)
    el = m.state("eliminated", "umol", f"{drug} eliminated", amount=True, balance=drug)
    ce = m.state("brain", "uM", f"brain effect-site {drug}")
    into = 0
    for dep in _DEPOTS[drug]:
        x = m.state(dep, "umol", f"{drug} {dep.replace('_', ' ')}", amount=True, balance=drug)
        ka = P(f"ka_{dep.split('_')[0]}", "1/h", f"absorption rate constant, {dep.split('_')[0]}")
        m.rate(x, -ka * x)
        into += ka * x * (P("f_oral", "1", "oral bioavailability") if dep == "gut" else 1)
        if dep == "gut":
            lost_gut = ka * x * (1 - m.symbols["morphine.f_oral"])
    lost = lost_gut if drug == "morphine" else 0
    m.rate(cen, into - cl / vc * cen)
    m.rate(el, cl / vc * cen + lost)
    m.rate(ce, ke0 * (kp * cen / vc - ce))
    m.output(f"plasma.{drug}", cen / vc * m.symbols[f"{drug}.mw"], "ng/mL", f"plasma {drug}")
    m.output(f"brain.{drug}", ce, "uM", f"brain effect-site {drug}")
    return m


def _route_fn(drug: str):
    def route_inputs(route: str, duration_h: float, p: dict, devices: int = 1) -> list[Input]:
        if route == "iv_bolus":
            return [Input("central", 1.0)]
        if route == "iv_infusion":
            return [Input("central", 1.0, duration_h)]
        table = {"sc": "sc_depot", "im": "sc_depot", "ip": "ip_depot", "oral": "gut", "intranasal": "nasal"}
        if route in table and table[route] in _DEPOTS[drug]:
            return [Input(table[route], 1.0)]
        raise ValueError(f"{drug} cannot be given by route {route!r}")
    return route_inputs


def _mgcl2_route_inputs(route: str, duration_h: float, p: dict, devices: int = 1) -> list[Input]:
    """MgCl2: i.p. and IV doses enter the extracellular pool (i.p. absorption of Mg takes
    minutes, treated as a bolus: assumed); oral as the magnesium layer's oral route."""
    from .magnesium import mg_route_inputs

    if route in ("ip", "iv_bolus"):
        return [Input("ecf", 1.0)]
    return mg_route_inputs(route, duration_h, p, devices)


register_drug(Drug("morphine", {"morphine": 1.0}, "morphine.mw", _route_fn("morphine"),
                   routes=("iv_bolus", "iv_infusion", "sc", "im", "ip", "oral"),
                   max_mg_per_kg={"human": 5.0, "rat": 150.0, "mouse": 300.0},
                   description="morphine (dose as base); one-compartment PK, brain effect site (addiction layer)"))
register_drug(Drug("cocaine", {"cocaine": 1.0}, "cocaine.mw", _route_fn("cocaine"),
                   routes=("iv_bolus", "iv_infusion", "ip", "intranasal"),
                   max_mg_per_kg={"human": 5.0, "rat": 60.0, "mouse": 100.0},
                   description="cocaine (dose as base); one-compartment PK, brain effect site (addiction layer)"))
register_drug(Drug("magnesium_chloride", {"magnesium": 1.0}, "addiction.mw_mgcl2", _mgcl2_route_inputs,
                   amount_per_mmol=1.0, routes=("ip", "iv_bolus", "iv_infusion", "oral"),
                   max_mg_per_kg={"human": 60.0, "rat": 1000.0, "mouse": 1000.0},
                   description="MgCl2 (anhydrous salt, 95.21 g/mol) for rodent i.p./IV Mg experiments (addiction layer)"))


def addiction_submodels() -> list[Submodel]:
    return [drug_pk("morphine"), drug_pk("cocaine"), addiction_layer()]
