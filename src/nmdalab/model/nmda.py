"""NMDA receptor: Mg2+ block, open-channel trapping block by ketamine, receptor populations.

Pore model (one deep pore site shared by Mg2+ and the drugs)
------------------------------------------------------------
Mg2+ block follows Jahr & Stevens 1990 (J Neurosci 10:3178, doi:10.1523/JNEUROSCI.10-09-03178.1990)::

    K_Mg,s(V) = K0_s * exp(delta_Mg * V)           (K0 = 3.57 mM, delta_Mg = 0.062 / mV for GluN2A/B)
    B(V, Mg)  = 1 / (1 + Mg / K_Mg,s(V))           (unblocked fraction without drug)

GluN2C/2D receptors are much less Mg-sensitive: their ``K0_s`` is larger, derived from the
shift of the ketamine IC50 by 1 mM Mg2+ at -66 mV (Kotermanski & Johnson 2009, memory-grade
values, grade C; see ``human-nmda.yaml``).

Drugs (S-/R-ketamine, S-/R-norketamine) bind the same site with a Woodhull voltage dependence
(Gilling et al. 2009, delta = 0.79, z = +1)::

    K_d,i(V) = K_d,i(V_ref) * exp(delta_K * (V - V_ref) / (RT/F))

Because Mg2+ and the drugs exclude each other at the site, at equilibrium (per subunit ``s``;
``m = Mg / K_Mg,s(V)``, ``c_i = C_i / K_d,i(V)``)::

    open         = 1 / (1 + m + sum_i c_i)
    mg_blocked   = m / (1 + m + sum_i c_i)
    drug_blocked = sum_i c_i / (1 + m + sum_i c_i)

so the IC50 of a drug measured against the current in Mg is ``K_d (1 + Mg/K_Mg(V))``: several-fold
higher for GluN2A/B than for GluN2C/D in 1 mM Mg (the Kotermanski & Johnson observation).
``drug_blocked`` equals the fractional loss of NMDA conductance caused by the drug.

Quasi-steady state vs kinetics (the choice)
-------------------------------------------
Ketamine enters and leaves only open, Mg-free channels and is trapped when they close, so its
block relaxes at ``~ P_open * (k_on C / (1 + m) + k_off)``: seconds to minutes.  Brain ketamine
changes over tens of minutes and the layers built on this one over hours to weeks, so the
composed model uses the **quasi-steady state** above (algebraic outputs, no fast ODE states;
DESIGN.md "time-scale honesty").  Trapping does not change that equilibrium (the unbinding path
needs an open channel exactly as the binding path does); it changes how fast it is reached and
makes the result depend on the **order** of Mg and ketamine.  That is shown by
:func:`kinetic_block`, an explicit gating + trapping scheme (closed/open, drug-bound open,
drug-trapped closed; Mg in fast equilibrium), used for the Savic Vujovic 2017 order-dependence
check; its long-time limit equals :func:`steady_state` (tested).

Receptor populations
--------------------
``pyramidal`` (GluN2A/2B, rest near -70 mV), ``interneuron`` (fast-spiking, GluN2D-rich, more
depolarised at rest, more tonic NMDA drive) and ``habenula`` (lateral habenula neurons, depolarised,
bursting).  Each population mixes subunits (``f_2A ... f_2D``) at its own mean membrane voltage.
Nothing says "interneurons are more sensitive": the preference for interneurons at subanaesthetic
concentrations comes out of their lower Mg block (GluN2D, depolarisation), which frees the pore for
ketamine.

Slow state: receptor number
---------------------------
Per population, the receptor number relative to the drug-free baseline is an ODE state
(homeostatic up-regulation under chronic block; research notes 8.2 item 8, grade C/D)::

    d R / dt = (1 + g_up * drug_blocked - R) / tau_up,      R(0) = 1

Outputs (per population ``p``): ``nmda.p.open``, ``nmda.p.mg_blocked``, ``nmda.p.drug_blocked``
(fractions of receptors, sum 1), ``nmda.p.receptors`` (relative to baseline, 1) and
``nmda.p.conductance`` (= receptors x open: tonic NMDA conductance relative to the same number of
Mg-free, drug-free receptors).

Inputs: ``brain.{s,r}_ketamine``, ``brain.{s,r}_norketamine`` (uM, unbound brain; PK layer) and
``csf.mg_ionised`` (mM, ionised brain extracellular Mg; magnesium layer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
import sympy as sp

from ..errors import NmdalabError, ParameterError
from .core import Submodel

SUBUNITS = ("2A", "2B", "2C", "2D")
POPULATIONS = ("pyramidal", "interneuron", "habenula")
#: drugs acting at the pore; ``hnk`` ((2R,6R)-HNK) only in :func:`steady_state` (no brain HNK output yet)
BLOCKERS = ("s_ketamine", "r_ketamine", "s_norketamine", "r_norketamine", "hnk")
MODEL_BLOCKERS = BLOCKERS[:4]
#: racemic names accepted by :func:`steady_state` (split 1:1 into enantiomers)
RACEMATES = {"ketamine": ("s_ketamine", "r_ketamine"), "norketamine": ("s_norketamine", "r_norketamine")}


class ReceptorError(NmdalabError, ValueError):
    """A bad argument to a receptor function (unknown drug, subunit, population, negative value)."""


# ------------------------------------------------------------------------------------------
# parameters (numbers live in parameters/human-nmda.yaml)
# ------------------------------------------------------------------------------------------

#: parameter name -> unit this module computes in
_UNITS = {
    "nmda.mg_delta": "1/mV",
    "nmda.ket_delta": "1",
    "nmda.rt_over_f": "mV",
    "nmda.kd_v_ref": "mV",
    "nmda.kon": "1/(uM*s)",
    "nmda.gating_rate": "1/s",
    "nmda.upreg_tau": "h",
    "nmda.upreg_gain": "1",
}
for _s in SUBUNITS:
    _UNITS[f"nmda.mg_k0_{_s.lower()}"] = "mM"
for _d in BLOCKERS:
    _UNITS[f"nmda.kd_{_d}"] = "uM"
for _p in POPULATIONS:
    _UNITS[f"nmda.{_p}.v_rest"] = "mV"
    _UNITS[f"nmda.{_p}.tonic_po"] = "1"
    for _s in SUBUNITS:
        _UNITS[f"nmda.{_p}.f_{_s.lower()}"] = "1"


@lru_cache(maxsize=4)
def _bundled(species: str = "human") -> dict[str, float]:
    from .. import parameters as pmod
    from ..units import convert

    ps = pmod.load(species)
    out = {}
    for name, unit in _UNITS.items():
        if name not in ps:
            raise ParameterError(f"parameter set {species} lacks {name} (needed by the NMDA receptor functions)")
        par = ps[name]
        out[name] = convert(par.value, par.unit, unit, field=name)
    return out


def receptor_parameters(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """The receptor constants (bundled human set, in this module's units) with ``overrides``."""
    p = dict(_bundled("human"))
    for k, v in (overrides or {}).items():
        if k not in p:
            raise ReceptorError(f"unknown receptor parameter {k!r}; known: {', '.join(sorted(p))}")
        p[k] = float(v)
    return p


def _subunit(subunit: str) -> str:
    s = str(subunit).upper().removeprefix("GLUN")
    if s not in SUBUNITS:
        raise ReceptorError(f"subunit {subunit!r} is not known; allowed: {', '.join(SUBUNITS)} (GluN2A ... GluN2D)")
    return s


def _drugs(drug_uM: Mapping[str, float] | None) -> dict[str, float]:
    out = dict.fromkeys(BLOCKERS, 0.0)
    for name, conc in (drug_uM or {}).items():
        c = float(conc)
        if not np.isfinite(c) or c < 0:
            raise ReceptorError(f"drug_uM[{name!r}] = {conc!r}: a concentration must be finite and >= 0 (uM)")
        if name in RACEMATES:
            for e in RACEMATES[name]:
                out[e] += c / 2
        elif name in out:
            out[name] += c
        else:
            allowed = (*BLOCKERS, *RACEMATES)
            raise ReceptorError(f"drug_uM: {name!r} is not a known NMDA blocker; allowed: {', '.join(allowed)}")
    return out


# ------------------------------------------------------------------------------------------
# equilibrium (quasi-steady state)
# ------------------------------------------------------------------------------------------


def mg_k(voltage_mV, subunit: str = "2A", params: Mapping[str, float] | None = None):
    """Apparent Mg2+ dissociation constant ``K0_s * exp(delta_Mg * V)`` (mM)."""
    p = receptor_parameters(params)
    s = _subunit(subunit)
    return p[f"nmda.mg_k0_{s.lower()}"] * np.exp(p["nmda.mg_delta"] * np.asarray(voltage_mV, dtype=float))


def mg_unblocked(voltage_mV, mg_mM, subunit: str = "2A", params: Mapping[str, float] | None = None):
    """Jahr & Stevens unblocked fraction ``1 / (1 + Mg / K_Mg(V))`` (no drug)."""
    return 1.0 / (1.0 + np.asarray(mg_mM, dtype=float) / mg_k(voltage_mV, subunit, params))


def drug_kd(drug: str, voltage_mV, params: Mapping[str, float] | None = None):
    """Dissociation constant of a blocker at ``voltage_mV`` (uM), Woodhull voltage dependence."""
    p = receptor_parameters(params)
    if drug not in BLOCKERS:
        raise ReceptorError(f"drug {drug!r} is not a known NMDA blocker; allowed: {', '.join(BLOCKERS)}")
    v = np.asarray(voltage_mV, dtype=float)
    return p[f"nmda.kd_{drug}"] * np.exp(p["nmda.ket_delta"] * (v - p["nmda.kd_v_ref"]) / p["nmda.rt_over_f"])


def steady_state(
    drug_uM: Mapping[str, float] | None = None,
    mg_mM: float = 1.0,
    voltage_mV: float = -70.0,
    subunit: str = "2A",
    params: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Equilibrium fractions of one receptor subtype.

    Parameters
    ----------
    drug_uM : dict
        Unbound concentrations (uM) by blocker: ``s_ketamine``, ``r_ketamine``, ``s_norketamine``,
        ``r_norketamine``, ``hnk``; ``ketamine`` / ``norketamine`` mean the racemate (split 1:1).
    mg_mM : float
        Extracellular (ionised) Mg2+ (mM).
    voltage_mV : float
        Membrane voltage (mV).
    subunit : str
        ``2A``, ``2B``, ``2C`` or ``2D`` (GluN1/GluN2x).
    params : dict, optional
        Overrides of receptor constants (names as in ``human-nmda.yaml``).

    Returns
    -------
    dict
        ``open`` (pore free), ``mg_blocked``, ``drug_blocked`` (sum 1) and ``drug_blocked_by``
        (per blocker)::

            open = 1 / (1 + Mg/K_Mg(V) + sum_i C_i/K_d,i(V))
    """
    if mg_mM is None or not np.isfinite(mg_mM) or mg_mM < 0:
        raise ReceptorError(f"mg_mM = {mg_mM!r}: Mg2+ must be finite and >= 0 (mM)")
    if voltage_mV is None or not np.isfinite(voltage_mV) or not -150 <= voltage_mV <= 80:
        raise ReceptorError(f"voltage_mV = {voltage_mV!r}: give a membrane voltage between -150 and 80 mV")
    p = receptor_parameters(params)
    conc = _drugs(drug_uM)
    m = float(mg_mM / mg_k(voltage_mV, subunit, p))
    c = {d: conc[d] / float(drug_kd(d, voltage_mV, p)) for d in BLOCKERS}
    den = 1.0 + m + sum(c.values())
    return {
        "open": 1.0 / den,
        "mg_blocked": m / den,
        "drug_blocked": sum(c.values()) / den,
        "drug_blocked_by": {d: v / den for d, v in c.items()},
    }


def population_steady_state(
    population: str,
    drug_uM: Mapping[str, float] | None = None,
    mg_mM: float = 0.8,
    params: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """:func:`steady_state` averaged over a population's subunit mix at its resting voltage."""
    if population not in POPULATIONS:
        raise ReceptorError(f"population {population!r} is not known; allowed: {', '.join(POPULATIONS)}")
    p = receptor_parameters(params)
    v = p[f"nmda.{population}.v_rest"]
    out = {"open": 0.0, "mg_blocked": 0.0, "drug_blocked": 0.0}
    for s in SUBUNITS:
        f = p[f"nmda.{population}.f_{s.lower()}"]
        if f:
            ss = steady_state(drug_uM, mg_mM, v, s, p)
            for k in out:
                out[k] += f * ss[k]
    return out


def ic50(
    drug: str = "ketamine",
    mg_mM: float = 0.0,
    voltage_mV: float = -70.0,
    subunit: str = "2A",
    params: Mapping[str, float] | None = None,
) -> float:
    """Concentration (uM) halving the current measured in the same Mg without drug.

    Found numerically (bisection on :func:`steady_state`), as an experimenter would read it off a
    concentration-response curve.
    """
    base = steady_state({}, mg_mM, voltage_mV, subunit, params)["open"]
    lo, hi = 1e-6, 1e6
    for _ in range(200):
        mid = np.sqrt(lo * hi)
        if steady_state({drug: mid}, mg_mM, voltage_mV, subunit, params)["open"] > base / 2:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1 + 1e-10:
            break
    return float(np.sqrt(lo * hi))


# ------------------------------------------------------------------------------------------
# kinetics: gating + trapping (for order dependence and time courses at the receptor)
# ------------------------------------------------------------------------------------------


def kinetic_block(
    protocol: Sequence[tuple[float, Mapping[str, float], float]],
    subunit: str = "2A",
    voltage_mV: float = -70.0,
    open_probability: float = 0.05,
    params: Mapping[str, float] | None = None,
    points_per_segment: int = 20,
) -> dict[str, np.ndarray]:
    """Time course of block under a protocol of constant-concentration segments.

    Scheme (per blocker ``i``; Mg2+ in fast equilibrium with the pore, ``m = Mg/K_Mg(V)``)::

        C  <-> O            alpha, beta          (P_open = alpha / (alpha + beta))
        O  --> OD_i         k_on(V) C_i / (1 + m)   (only Mg-free open channels admit the drug)
        OD_i --> O          k_off,i(V)
        OD_i <-> CD_i       beta, alpha          (channel closes with the drug trapped)

    C and O hold both Mg-free and Mg-bound channels.  ``k_on`` is shared (Gilling 2009 k_off over
    the IC50 anchor), ``k_off,i = k_on K_d,i(V)``, so the long-time limit equals
    :func:`steady_state`.  The system is linear with constant coefficients in each segment and is
    solved exactly with a matrix exponential.

    Parameters
    ----------
    protocol : list of (duration_s, drug_uM, mg_mM)
        Segments applied one after the other, starting from drug-free equilibrium in the first
        segment's Mg.
    open_probability : float
        Fraction of time a drug-free channel is open (tonic drive; population values in
        ``human-nmda.yaml``).

    Returns
    -------
    dict
        ``t`` (s), ``open``, ``mg_blocked``, ``drug_blocked``, ``trapped`` (drug in closed channels).
    """
    from scipy.linalg import expm

    if not 0 < open_probability < 1:
        raise ReceptorError(f"open_probability = {open_probability!r} must lie strictly between 0 and 1")
    if not protocol:
        raise ReceptorError("protocol: give at least one (duration_s, drug_uM, mg_mM) segment")
    p = receptor_parameters(params)
    s = _subunit(subunit)
    n = len(BLOCKERS)
    g = p["nmda.gating_rate"]
    alpha, beta = open_probability * g, (1 - open_probability) * g
    kon = p["nmda.kon"]
    koff = np.array([kon * float(drug_kd(d, voltage_mV, p)) for d in BLOCKERS])
    kmg = float(mg_k(voltage_mV, s, p))
    # state order: C, O, OD_1..n, CD_1..n
    size = 2 + 2 * n
    y = np.zeros(size)
    y[0], y[1] = 1 - open_probability, open_probability
    ts, rows, t_now = [0.0], [], 0.0

    def fractions(y, m):
        free = y[0] + y[1]
        return (free / (1 + m), free * m / (1 + m), y[2:].sum(), y[2 + n:].sum())

    m0 = protocol[0][2] / kmg
    rows.append(fractions(y, m0))
    for k, (dur, drugs, mg) in enumerate(protocol):
        if dur < 0 or mg < 0:
            raise ReceptorError(f"protocol[{k}]: duration and Mg must be >= 0, got {dur!r}, {mg!r}")
        conc = _drugs(drugs)
        m = mg / kmg
        A = np.zeros((size, size))
        A[0, 0], A[1, 0] = -alpha, alpha
        A[0, 1], A[1, 1] = beta, -beta
        for i, d in enumerate(BLOCKERS):
            od, cd = 2 + i, 2 + n + i
            enter = kon * conc[d] / (1 + m)
            A[1, 1] -= enter
            A[od, 1] += enter
            A[od, od] -= koff[i] + beta
            A[1, od] += koff[i]
            A[cd, od] += beta
            A[cd, cd] -= alpha
            A[od, cd] += alpha
        for tt in np.linspace(dur / points_per_segment, dur, points_per_segment):
            ts.append(t_now + tt)
            rows.append(fractions(expm(A * tt) @ y, m))
        y = expm(A * dur) @ y
        t_now += dur
    arr = np.array(rows)
    return {"t": np.array(ts), "open": arr[:, 0], "mg_blocked": arr[:, 1], "drug_blocked": arr[:, 2], "trapped": arr[:, 3]}


# ------------------------------------------------------------------------------------------
# the model layer
# ------------------------------------------------------------------------------------------


#: e as a SymPy float: ``_E**x`` prints as a power; the code printer leaves ``exp(x)`` unqualified
#: (not in the generated code's namespace), see the final report of issue 3
_E = sp.Float("2.71828182845904523536028747135", 30)


def nmda_layer() -> Submodel:
    """The receptor submodel ``nmda``: QSS block per population plus receptor-number states."""
    m = Submodel("nmda", "NMDA receptor: Mg2+ block, ketamine/norketamine trapping block, receptor number")
    m.notes = (
        "Mg block A (Jahr & Stevens 1990); ketamine potency and voltage dependence A (Gilling 2009); "
        "subunit Mg sensitivity C (Kotermanski & Johnson 2009, memory-grade); population voltages and "
        "subunit mixes C; receptor up-regulation C/D.  Block is quasi-steady-state (see module docstring)."
    )
    P = m.parameter
    mg = m.input("csf.mg_ionised", "mM")
    conc = {d: m.input(f"brain.{d}", "uM") for d in MODEL_BLOCKERS}
    mg_delta = P("nmda.mg_delta", "1/mV", "Mg2+ block voltage dependence (Jahr & Stevens)")
    k0 = {s: P(f"nmda.mg_k0_{s.lower()}", "mM", f"Mg2+ dissociation constant at 0 mV, GluN1/2{s[1]}") for s in SUBUNITS}
    kd = {d: P(f"nmda.kd_{d}", "uM", f"pore dissociation constant of {d} at kd_v_ref") for d in MODEL_BLOCKERS}
    delta = P("nmda.ket_delta", "1", "electrical distance of the ketamine site (Woodhull, z = +1)")
    rtf = P("nmda.rt_over_f", "mV", "RT/F at body temperature")
    vref = P("nmda.kd_v_ref", "mV", "voltage at which kd_* are given")
    tau = P("nmda.upreg_tau", "h", "time constant of receptor-number adaptation")
    gain = P("nmda.upreg_gain", "1", "up-regulation per unit drug-blocked fraction at steady state")
    for pop in POPULATIONS:
        v = P(f"nmda.{pop}.v_rest", "mV", f"mean membrane voltage of {pop} neurons (NMDA-relevant)")
        frac = {s: P(f"nmda.{pop}.f_{s.lower()}", "1", f"fraction of GluN2{s[1]}-containing receptors, {pop}") for s in SUBUNITS}
        c_sum = sum(conc[d] / (kd[d] * _E ** (delta * (v - vref) / rtf)) for d in MODEL_BLOCKERS)
        open_, mgb, drb = 0, 0, 0
        for s in SUBUNITS:
            ratio = mg / (k0[s] * _E ** (mg_delta * v))
            den = 1 + ratio + c_sum
            open_ += frac[s] / den
            mgb += frac[s] * ratio / den
            drb += frac[s] * c_sum / den
        r = m.state(f"{pop}.receptors", "1", f"NMDA receptor number of {pop} neurons relative to drug-free baseline", initial=1.0)
        m.rate(r, (1 + gain * drb - r) / tau)
        name = {"pyramidal": "pyramidal neurons", "interneuron": "fast-spiking interneurons", "habenula": "lateral habenula neurons"}[pop]
        m.output(f"nmda.{pop}.open", open_, "1", f"NMDA receptors with a free pore, {name} (fraction)")
        m.output(f"nmda.{pop}.mg_blocked", mgb, "1", f"NMDA receptors blocked by Mg2+, {name} (fraction)")
        m.output(f"nmda.{pop}.drug_blocked", drb, "1", f"NMDA receptors blocked by ketamine/norketamine, {name} (fraction)")
        m.output(f"nmda.{pop}.receptors", r, "1", f"NMDA receptor number, {name} (relative to baseline)")
        m.output(f"nmda.{pop}.conductance", r * open_, "1", f"tonic NMDA conductance, {name} (receptors x open; relative)")
    return m
