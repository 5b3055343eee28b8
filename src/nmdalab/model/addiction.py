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
  composed, ``a_ket = pos(dopamine_nac - 1)``.  Without it a **fallback** (documented, grade D):
  disinhibition of VTA/NAc dopamine by block of interneuron NMDA receptors, divided by the
  receptor up-regulation (so up-regulation is tolerance)::

      a_ket = e_ket * db_int / R_int

  (``a_ket`` and the pyramidal block ``db_pyr`` are carried by two fast first-order filter states,
  time constant ``tau_fast`` ~1 min, so the slow rates refer to state symbols)

  with ``db_int = nmda.interneuron.drug_blocked`` and ``R_int = nmda.interneuron.receptors``.
  Ketamine also has an **aversive** component (dissociation/dysphoria; conditioned taste
  aversion at 10 mg/kg), steep in pyramidal-cell block ``db_pyr``::

      v_ket = e_av * db_pyr^h / (db_pyr^h + db50^h)

* morphine, cocaine: Emax on their brain concentration ``a = Emax * C / (C + EC50)``;
* magnesium: a small reward from an acute rise of serum Mg above the patient's set point
  (Kantak 1991, Nechifor 2010; mechanism unknown, grade D)::

      a_mg = e_mg * pos(serum.mg / covariate.serum_mg - 1.1)

``a_raw = sum a_d``; after tolerance ``T`` the felt reward is ``a = a_raw * (1 - T)``; the
hedonic signal is ``h = a - v_ket`` and the net affect ``h - B`` (opponent ``B``).

NMDA-dependent plasticity gate (Mg and ketamine modulate learning and neuroadaptation)
-------------------------------------------------------------------------------------
``g = (mg_ref / csf.mg_ionised)^n_mg * (1 - db_pyr)``: higher brain Mg or ketamine block of
pyramidal NMDA receptors slows every acquisition rate below (sensitisation, value learning,
tolerance, dependence).  Mg acts on *acquisition*, not on the expression of withdrawal, so Mg
given during withdrawal does little (consistent with the failed Mg trials in alcohol
withdrawal); tolerance is fully gated, dependence only in part (``f_dep``), so Mg prevents
tolerance more than withdrawal (DESIGN.md known results).

States (all dimensionless)
--------------------------
* sensitisation ``S`` (incentive salience multiplier - 1; Robinson & Berridge)::

      dS/dt = k_S * g * a_raw * (1 - S/S_max) - S/tau_S

* learned drug value ``V`` (continuous-time TD with a non-compensable drug term, Redish 2004:
  the prediction error never falls below ``eps * h``)::

      u = a_raw / (a_raw + a_on);  dV/dt = eta * g * u * (h - V + eps * a_raw) - V/tau_V

  (a linear continuous-time form of Redish's max(delta, D): the drug's own signal ``eps*a_raw``
  is added to every prediction error, so V settles above the experienced reward)

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
``drug_value`` (V, reward units); ``addiction.relapse_risk`` (probability of use within a day
for an abstinent user, ``1 - exp(-(h0 + h1*craving)*1 d)``); ``addiction.reward`` (a),
``addiction.aversion``, ``addiction.affect`` (h - B), ``addiction.sensitisation`` (S),
``addiction.opponent`` (B), ``addiction.allostasis`` (A), ``addiction.bdi`` (Beck Depression
Inventory estimate ``bdi0 + k_bdi*(W + A)``, calibrated to Fan 2016).

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
    # parameters
    e_ket = P("ket_da_gain", "1", "fallback: NAc dopamine excess per unit net interneuron NMDA block")
    e_av = P("ket_aversion_max", "1", "largest aversive (dysphoric) signal of ketamine")
    db50 = P("ket_aversion_db50", "1", "pyramidal drug-blocked fraction at half-maximal aversion")
    n_av = P("ket_aversion_hill", "1", "steepness of the aversive component")
    e_mg = P("mg_reward_gain", "1", "reward per relative rise of serum Mg above the set point")
    mg_set = P("covariate.serum_mg", "mM", "patient's serum total Mg set point")
    mg_ref = P("mg_ref", "mM", "reference brain ionised Mg (gate = 1)")
    n_mg = P("mg_gate_n", "1", "exponent of the Mg gate on NMDA-dependent plasticity")
    n_crav = P("mg_craving_n", "1", "exponent of low brain Mg on craving")
    emax_m = P("morphine_da_emax", "1", "morphine: largest dopamine excess")
    ec50_m = P("morphine_da_ec50", "uM", "morphine: brain concentration at half of it")
    emax_c = P("cocaine_da_emax", "1", "cocaine: largest dopamine excess")
    ec50_c = P("cocaine_da_ec50", "uM", "cocaine: brain concentration at half of it")
    k_s = P("sens_rate", "1/h", "sensitisation rate per unit reward")
    tau_s = P("sens_tau", "h", "sensitisation decay time")
    s_max = P("sens_max", "1", "largest sensitisation")
    eta, tau_v = P("learn_rate", "1/h", "value learning rate"), P("value_tau", "h", "value forgetting time (no extinction)")
    eps = P("td_floor", "1", "non-compensable fraction of the drug prediction error (Redish)")
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
    a_ket_in = _optional(da_in, e_ket * db_int / r_int, _pos(da_in - 1))
    a_ket = m.state("ketamine_da", "1", "ketamine-evoked NAc dopamine excess (filtered)")
    db_pyr_in = db_pyr
    db_pyr = m.state("pyramidal_block", "1", "pyramidal NMDA drug-blocked fraction (filtered)")
    m.rate(a_ket, k_fast * (a_ket_in - a_ket))
    m.rate(db_pyr, k_fast * (db_pyr_in - db_pyr))
    # threshold 10% above the set point: keeps the kink of max(., 0) away from the resting state,
    # where diet-driven ripples would make it flip (solver steps); i.p./IV doses rise far above it
    a_mg = _optional(mg_serum, 0, e_mg * _pos(mg_serum / mg_set - 1.1))
    a_raw = a_ket + emax_m * c_mor / (c_mor + ec50_m) + emax_c * c_coc / (c_coc + ec50_c) + a_mg
    x_av = db_pyr + 1e-12  # keeps d/dx x**n = n*x**n/x finite at x = 0 (Jacobian)
    aversion = e_av * x_av**n_av / (x_av**n_av + db50**n_av)
    a = a_raw * (1 - T)
    h = a - aversion
    mg_safe = _pos(mg_csf - 0.01) + 0.01  # finite even at the sentinel (both branches are evaluated)
    gate_mg = _optional(mg_csf, 1, (mg_ref / mg_safe) ** n_mg)
    g = gate_mg * (1 - db_pyr)
    u = a_raw / (a_raw + a_on)
    m.rate(S, k_s * g * a_raw * (1 - S / s_max) - S / tau_s)
    m.rate(V, eta * g * u * (h - V + eps * a_raw) - V / tau_v)
    m.rate(T, k_t * g * a_raw * (1 - T) - T / tau_t)
    m.rate(D, k_d * (1 - f_dep + f_dep * g) * a_raw * (1 - D) - D / tau_d)
    m.rate(B, (g_b * D * a_raw - B) / tau_b)
    drive = B * a_on / (a_on + a) + w_r * (r_pyr - 1) * (1 - db_pyr)  # r_pyr >= 1 (its ODE relaxes to 1 + gain*block)
    m.rate(W, (drive - W) / tau_w)
    m.rate(A, k_a * B - A / tau_a)
    m.rate(Q, -Q / tau_q)

    gm = _optional(mg_csf, 1, (mg_ref / mg_safe) ** n_crav)
    c_raw = (w_w * W + w_q * (Q + q0) * V * (1 + S) + w_s * stress) * gm
    craving = c_raw / (c_raw + c50)
    m.output("craving", craving, "1", "craving index (0-1)")
    m.output("withdrawal", W / (W + w50), "1", "withdrawal severity index (0-1)")
    m.output("dependence", D, "1", "dependence (0-1)")
    m.output("tolerance", 1 - (1 - T) / r_int, "1", "tolerance: fraction of the naive reward lost at a fixed brain concentration (0-1)")
    m.output("drug_value", V, "1", "learned drug value (reward units: 1 = NAc dopamine doubled)")
    m.output("addiction.reward", a, "1", "felt drug reward after tolerance (dopamine excess; 1 = doubled)")
    m.output("addiction.aversion", aversion, "1", "aversive (dysphoric) drug signal, ketamine")
    m.output("addiction.affect", h - B, "1", "net hedonic affect (reward - aversion - opponent)")
    m.output("addiction.sensitisation", S, "1", "incentive sensitisation")
    m.output("addiction.opponent", B, "1", "opponent process (b-process)")
    m.output("addiction.allostasis", A, "1", "allostatic load")
    m.output("addiction.withdrawal_drive", drive, "1", "instantaneous withdrawal drive (rebound)", public=False)
    m.output("addiction.plasticity_gate", g, "1", "NMDA-dependent plasticity gate (1 at reference Mg, no drug)", public=False)
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
