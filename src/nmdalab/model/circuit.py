"""Circuits: prefrontal disinhibition, lateral habenula bursting, dopamine, hippocampal drive.

Everything here is fast (milliseconds to seconds) next to the drug (minutes) and the mood
(days), so the prefrontal microcircuit is a **quasi-steady-state** rate model: no ODE states.
Only the lateral habenula (LHb) burst suppression carries a state, because its recovery is slow
(ketamine trapped in LHb NMDA receptors; see below).

Relative NMDA conductances (receptor layer)
-------------------------------------------
For each population ``p`` the receptor layer gives ``nmda.p.conductance`` (receptor number x
free-pore fraction).  The circuit uses it relative to the drug-free value at the reference
ionised CSF Mg (``circuit.mg_ref``, the magnesium layer's resting value), so ``g_p = 1`` at rest,
``g_p < 1`` under ketamine, ``g_p > 1`` in Mg deficiency::

    g_p = nmda.p.conductance / open_p(no drug, Mg_ref)

PFC excitation-inhibition rate model (Wilson-Cowan type, threshold-linear at steady state)
--------------------------------------------------------------------------------------------
Pyramidal rate ``r_E`` and fast-spiking interneuron rate ``r_I``; each synapse has an NMDA
share ``n`` that scales with the conductance of the receiving population::

    X      = 1 - n_x  + n_x  g_E            (long-range input to E, NMDA share n_x)
    w_EE   = w_ee (1 - n_ee + n_ee g_E)     (recurrent excitation)
    w_IE   = L    (1 - n_ie + n_ie g_I)     (E -> I drive times I -> E weight: loop gain)
    r_I    = [w_IE r_E - theta]_+           (interneurons fall silent below threshold)
    r_E    = X + w_EE r_E - r_I

Because ``[.]_+`` is convex, the fixed point is the smaller of the two linear regimes' solutions
(interneurons active / silent)::

    r_E = min( (X + theta) / (1 - w_EE + w_IE),  X / (1 - w_EE) )

written with a smooth minimum ``(a^-q + b^-q)^(-1/q)``.  With interneuron NMDA receptors
blocked preferentially (receptor layer: lower Mg block of GluN2D, depolarised interneurons),
``w_IE`` falls faster than ``w_EE`` and ``r_E`` rises (disinhibition, Homayoun & Moghaddam 2007).
Once the interneurons are silenced, further block only removes NMDA-dependent excitation and
``r_E`` falls: the **inverted U** (Moghaddam et al. 1997: subanaesthetic ketamine raises prefrontal
glutamate ~2-fold, anaesthetic doses do not).  Extracellular glutamate relaxes in seconds and is
taken proportional to pyramidal firing, relaxing in about a minute (one state, which also keeps
the composed equations small for the layers downstream)::

    d glu/dt = k_glu (r_E / r_E(rest) - glu)

Lateral habenula (fast antidepressant component; Yang et al. 2018 Nature 554:317)
--------------------------------------------------------------------------------
LHb bursts are NMDA-dependent; the bursting drive is taken steep in the LHb conductance,
``burst_target = g_H^n_hb``.  The suppressed fraction ``s`` rises quickly when block rises and
recovers slowly (ketamine trapped in LHb NMDA receptors that open only during bursts keeps
them blocked for about a day; Ma et al. 2023 Nature 622:802, memory-grade)::

    ds/dt = k_off (s* - s) + (k_on - k_off) (pos(s* - s) - eps/2),     s* = 1 - g_H^n_hb
    pos(x) = (x + sqrt(x^2 + eps^2)) / 2          (smooth positive part; pos(0) - eps/2 = 0)

Dopamine (for the addiction layer) and hippocampus
--------------------------------------------------
``circuit.dopamine_pfc = glutamate^k_pfc``; NAc dopamine is the PFC -> VTA glutamate drive
under divisive (shunting) inhibition by the LHb -> RMTg -> VTA pathway, which is proportional
to LHb bursting ``b = 1 - s``::

    circuit.dopamine_nac = glutamate^k_nac (1 + k_lhb) / (1 + k_lhb b)

so it is 1 at rest (b = 1) and ``1 + k_lhb`` at full LHb silencing (b = 0), as the earlier
linear form ``1 + k_lhb s`` was, but stays positive when LHb bursting rises above rest (low Mg
raises the LHb NMDA conductance, ``s < 0``): the linear form went negative there (-0.4 at
serum Mg 0.6 mM), because subtracting inhibition from a release rate is not bounded below.
``circuit.hippocampus_drive = glutamate^k_hc``: CA1 disinhibition by the same motif (Widman &
McMahon 2018 PNAS), the drive for hippocampal plasticity (memory effects later).

Evidence: disinhibition B, magnitudes C (calibrated to memory-grade microdialysis); LHb burst
block B (Yang 2018), its persistence C; dopamine couplings C/D.
"""

from __future__ import annotations

import math

import sympy as sp

from .core import Submodel
from .nmda import POPULATIONS, SUBUNITS

#: e as a float base, so ``E_F**z`` prints as a NumPy power (the generated code has only ``np``)
E_F = sp.Float(math.e)


def smooth_pos(x, eps):
    """Smooth positive part ``(x + sqrt(x^2 + eps^2))/2`` (power form: prints as NumPy)."""
    return (x + (x**2 + eps**2) ** sp.Rational(1, 2)) / 2


def smooth_min(a, b, q):
    """Smooth minimum of two positive quantities ``(a^-q + b^-q)^(-1/q)``."""
    return (a ** (-q) + b ** (-q)) ** (-1 / q)


def reference_open(m: Submodel, pop: str, mg_ref):
    """Drug-free free-pore fraction of population ``pop`` at ``mg_ref`` (receptor-layer parameters)."""
    P = m.parameter
    mg_delta = P("nmda.mg_delta", "1/mV")
    v = P(f"nmda.{pop}.v_rest", "mV")
    out = 0
    for s in SUBUNITS:
        f = P(f"nmda.{pop}.f_{s.lower()}", "1")
        k0 = P(f"nmda.mg_k0_{s.lower()}", "mM")
        out += f / (1 + mg_ref / (k0 * E_F ** (mg_delta * v)))
    return out


def relative_conductances(m: Submodel) -> dict[str, sp.Expr]:
    """``g_p`` for every receptor population (1 at rest, reference Mg, no drug)."""
    mg_ref = m.parameter("circuit.mg_ref", "mM", "resting ionised CSF Mg at which g_p = 1")
    return {p: m.input(f"nmda.{p}.conductance", "1") / reference_open(m, p, mg_ref) for p in POPULATIONS}


def pfc_rates(gE, gI, w_ee, n_ee, loop, n_ie, n_x, theta, q):
    """(r_E, r_I) of the QSS microcircuit (absolute, arbitrary units; see module docstring)."""
    x = 1 - n_x + n_x * gE
    wee = w_ee * (1 - n_ee + n_ee * gE)
    wie = loop * (1 - n_ie + n_ie * gI)
    r_e = smooth_min((x + theta) / (1 - wee + wie), x / (1 - wee), q)
    return r_e, wie * r_e - theta


def circuit_layer() -> Submodel:
    """The circuit submodel ``circuit`` (see the module docstring for its equations)."""
    m = Submodel("circuit", "PFC disinhibition (QSS E-I rate model), LHb bursting, dopamine, hippocampal drive")
    m.notes = ("disinhibition B (Homayoun & Moghaddam 2007; Moghaddam 1997), magnitudes C; "
               "LHb burst block B (Yang 2018), persistence C (Ma 2023); dopamine couplings C/D")
    P = m.parameter
    g = relative_conductances(m)
    gE, gI, gH = g["pyramidal"], g["interneuron"], g["habenula"]
    w_ee = P("w_ee", "1", "recurrent excitation weight (E -> E)")
    n_ee = P("nmda_share_ee", "1", "NMDA share of recurrent excitation")
    loop = P("loop_gain", "1", "feedback-inhibition loop gain (E -> I -> E) at rest")
    n_ie = P("nmda_share_ie", "1", "NMDA share of the excitatory drive of fast-spiking interneurons")
    n_x = P("nmda_share_input", "1", "NMDA share of long-range excitatory input to pyramidal neurons")
    theta = P("interneuron_threshold", "1", "interneuron firing threshold (in units of the rest input)")
    q = P("smooth_q", "1", "sharpness of the smooth minimum between the two circuit regimes")
    r_e, r_i = pfc_rates(gE, gI, w_ee, n_ee, loop, n_ie, n_x, theta, q)
    r_e0, r_i0 = pfc_rates(1, 1, w_ee, n_ee, loop, n_ie, n_x, theta, q)
    k_glu = P("k_glutamate", "1/h", "relaxation rate of extracellular glutamate to the circuit's steady state")
    glu = m.state("glutamate", "1", "prefrontal extracellular glutamate (relative to rest)", initial=1.0)
    m.rate(glu, k_glu * (r_e / r_e0 - glu))

    n_hb = P("lhb_hill", "1", "steepness of LHb bursting in LHb NMDA conductance")
    k_on = P("lhb_k_on", "1/h", "rate at which LHb burst suppression follows rising block")
    k_off = P("lhb_k_off", "1/h", "recovery rate of LHb bursting (trapped ketamine leaving)")
    eps = P("lhb_eps", "1", "smoothing of the fast-rise / slow-recovery switch")
    s = m.state("lhb_suppression", "1", "fraction of lateral habenula bursting suppressed", initial=0.0)
    target = 1 - gH**n_hb
    m.rate(s, k_off * (target - s) + (k_on - k_off) * (smooth_pos(target - s, eps) - eps / 2))

    k_pfc = P("da_pfc_exponent", "1", "PFC dopamine release per glutamate (log-log slope)")
    k_nac = P("da_nac_exponent", "1", "NAc dopamine release per PFC glutamate (log-log slope)")
    k_lhb = P("da_nac_lhb", "1", "NAc dopamine gain from LHb silencing")
    k_hc = P("hippocampus_exponent", "1", "hippocampal (CA1) drive per PFC disinhibition (log-log slope)")

    m.output("circuit.glutamate", glu, "1", "prefrontal extracellular glutamate (relative to rest)")
    m.output("circuit.pyramidal_rate", r_e / r_e0, "1", "prefrontal pyramidal firing (relative to rest)", public=False)
    m.output("circuit.interneuron_rate", smooth_pos(r_i, 1e-3 * r_i0) / r_i0, "1",
             "prefrontal fast-spiking interneuron firing (relative to rest)")
    m.output("circuit.pyramidal_nmda", gE, "1", "pyramidal NMDA conductance relative to rest (resting-block input)", public=False)
    m.output("circuit.lhb_suppression", s, "1", "fraction of lateral habenula bursting suppressed")
    m.output("circuit.lhb_bursting", 1 - s, "1", "lateral habenula bursting (relative to rest)")
    m.output("circuit.dopamine_pfc", glu**k_pfc, "1", "prefrontal dopamine release (relative to rest)")
    m.output("circuit.dopamine_nac", glu**k_nac * (1 + k_lhb) / (1 + k_lhb * (1 - s)), "1",
             "nucleus accumbens dopamine release (relative to rest)")
    m.output("circuit.hippocampus_drive", glu**k_hc, "1", "hippocampal (CA1) excitatory drive (relative to rest)")
    return m
