"""Pharmacokinetics of ketamine, its enantiomers and metabolites.

Structure (per enantiomer ``e`` in ``{s, r}``; submodel ``pk_e``), after the esketamine
population model of Perez-Ruixo et al. 2021 (Clin Pharmacokinet 60:501,
doi:10.1007/s40262-020-00953-4):

* parent ketamine in a **central** compartment (Vc) with two **peripheral** compartments
  (Q1/Vp1, Q2/Vp2) and a well-stirred **liver** compartment (Qh/Vh) where it is eliminated
  (``kel``) or N-demethylated to norketamine (``kmet``).  Hepatic clearance is therefore
  ``CL_H = Qh*CLint/(Qh+CLint)`` with ``CLint = (kel+kmet)*Vh``;
* oral (and swallowed intranasal) drug enters a **gut** lumen and is absorbed (``ka_gut``);
  the fraction ``1 - fgut`` is N-demethylated in the gut wall (CYP3A4; presystemic norketamine
  formation as in Fanta et al. 2015, doi:10.1007/s00228-015-1826-y) and the rest reaches the
  liver, so first-pass metabolism forms norketamine before the drug reaches the central
  compartment (oral ketamine gives far more norketamine than ketamine); i.p. doses in rodents are
  absorbed mainly through the portal vein and enter the liver too;
* intranasal (absorbed part), intramuscular, subcutaneous and sublingual (buccal part) depots
  absorb first order into the central compartment;
* **norketamine** in two compartments (Vnk, Qnk/Vpnk, CLnk); a fraction of its clearance forms
  **dehydronorketamine** (DHNK) and **hydroxynorketamine** (HNK; (2S,6S) from S, (2R,6R) from R),
  each one compartment;
* a **brain effect site** for parent and norketamine: unbound brain concentration (uM) with
  ``dCe/dt = ke0*(kp*C_plasma - Ce)``, the input the receptor layer uses;
* one **eliminated** sink per enantiomer so that dose = amount in body + eliminated holds as an
  invariant (metabolites are counted molar, 1:1).

Each rate below is written once; the engines, the Jacobian, SBML and the docs are generated.
"""

from __future__ import annotations

from dataclasses import dataclass

from .core import Submodel

ENANTIOMERS = ("s", "r")
_ENANT_NAME = {"s": "S-ketamine", "r": "R-ketamine"}


def enantiomer_pk(e: str) -> Submodel:
    """The PK submodel ``pk_<e>`` of one ketamine enantiomer and its metabolites."""
    m = Submodel(f"pk_{e}", f"{_ENANT_NAME[e]} and its metabolites (norketamine, DHNK, HNK)")
    bal = f"ketamine_{e}"

    def amount(name, desc):
        return m.state(name, "umol", desc, amount=True, balance=bal)

    nasal = amount("nasal", "drug in the nasal mucosa awaiting absorption")
    im = amount("im_depot", "intramuscular depot")
    sc = amount("sc_depot", "subcutaneous depot")
    sl = amount("sl_depot", "sublingual (buccal) depot")
    ip = amount("ip_depot", "intraperitoneal depot (absorbed to the portal vein)")
    gut = amount("gut", "drug in the gut lumen (oral and swallowed intranasal)")
    cen = amount("central", "parent in the central compartment")
    p1 = amount("peripheral1", "parent in the first peripheral compartment")
    p2 = amount("peripheral2", "parent in the second peripheral compartment")
    liv = amount("liver", "parent in the hepatic (first-pass) compartment")
    nkc = amount("norketamine", "norketamine, central")
    nkp = amount("norketamine_peripheral", "norketamine, peripheral")
    dhnk = amount("dhnk", "dehydronorketamine")
    hnk = amount("hnk", "hydroxynorketamine")
    elim = amount("eliminated", "cumulative amount eliminated (all species, all routes)")
    ce = m.state("effect_site", "uM", "unbound brain (effect-site) parent concentration")
    ce_nk = m.state("effect_site_norketamine", "uM", "unbound brain norketamine concentration")

    P = m.parameter
    vc, q1, vp1 = P("vc", "L", "central volume"), P("q1", "L/h", "distribution clearance 1"), P("vp1", "L", "peripheral volume 1")
    q2, vp2 = P("q2", "L/h", "distribution clearance 2"), P("vp2", "L", "peripheral volume 2")
    qh, vh = P("qh", "L/h", "hepatic plasma flow"), P("vh", "L", "hepatic compartment volume")
    kel = P("kel", "1/h", "hepatic elimination rate constant (routes other than N-demethylation)")
    kmet = P("kmet", "1/h", "hepatic N-demethylation rate constant (to norketamine)")
    ka_gut, fgut = P("ka_gut", "1/h", "gut absorption rate constant"), P("fgut", "1", "gut-wall availability")
    ka_n = P("ka_nasal", "1/h", "nasal absorption rate constant")
    ka_im, ka_sc = P("ka_im", "1/h", "intramuscular absorption rate constant"), P("ka_sc", "1/h", "subcutaneous absorption rate constant")
    ka_sl, ka_ip = P("ka_sl", "1/h", "buccal absorption rate constant"), P("ka_ip", "1/h", "intraperitoneal absorption rate constant")
    # parameters used by the dosing routes (how a dose is split), declared here so they are
    # listed, sourced and given variability like any other
    P("frn", "1", "fraction of an intranasal dose absorbed nasally (first device)")
    P("frn_later", "1", "relative nasal fraction of each further device in one session")
    P("dsw", "h", "duration of zero-order swallowing of the non-nasal part of an intranasal dose")
    P("f_sl", "1", "fraction of a sublingual dose absorbed buccally (rest swallowed)")
    P("f_im", "1", "intramuscular bioavailability")
    vnk, clnk = P("vnk", "L", "norketamine central volume"), P("clnk", "L/h", "norketamine clearance")
    qnk, vpnk = P("qnk", "L/h", "norketamine distribution clearance"), P("vpnk", "L", "norketamine peripheral volume")
    f_dhnk = P("f_dhnk", "1", "fraction of norketamine clearance forming DHNK")
    f_hnk = P("f_hnk", "1", "fraction of norketamine clearance forming HNK")
    vdhnk, cldhnk = P("vdhnk", "L", "DHNK volume"), P("cldhnk", "L/h", "DHNK clearance")
    vhnk, clhnk = P("vhnk", "L", "HNK volume"), P("clhnk", "L/h", "HNK clearance")
    ke0 = P("brain.ke0", "1/h", "brain equilibration rate constant")
    kp = P("brain.kp", "1", "unbound brain : total plasma concentration ratio, ketamine")
    kp_nk = P("brain.kp_norketamine", "1", "unbound brain : total plasma concentration ratio, norketamine")
    mw_k, mw_nk = P("mw.ketamine", "g/mol", "molar mass of ketamine"), P("mw.norketamine", "g/mol", "molar mass of norketamine")
    mw_dh, mw_h = P("mw.dhnk", "g/mol", "molar mass of DHNK"), P("mw.hnk", "g/mol", "molar mass of HNK")

    c, cp1, cp2, ch = cen / vc, p1 / vp1, p2 / vp2, liv / vh
    cnk, cnkp = nkc / vnk, nkp / vpnk
    m.rate(nasal, -ka_n * nasal)
    m.rate(im, -ka_im * im)
    m.rate(sc, -ka_sc * sc)
    m.rate(sl, -ka_sl * sl)
    m.rate(ip, -ka_ip * ip)
    m.rate(gut, -ka_gut * gut)
    m.rate(
        cen,
        ka_n * nasal + ka_im * im + ka_sc * sc + ka_sl * sl
        - q1 * (c - cp1) - q2 * (c - cp2) - qh * (c - ch),
    )
    m.rate(p1, q1 * (c - cp1))
    m.rate(p2, q2 * (c - cp2))
    m.rate(liv, qh * (c - ch) + fgut * ka_gut * gut + ka_ip * ip - (kel + kmet) * liv)
    m.rate(nkc, kmet * liv + (1 - fgut) * ka_gut * gut - clnk * cnk - qnk * (cnk - cnkp))
    m.rate(nkp, qnk * (cnk - cnkp))
    m.rate(dhnk, f_dhnk * clnk * cnk - cldhnk * dhnk / vdhnk)
    m.rate(hnk, f_hnk * clnk * cnk - clhnk * hnk / vhnk)
    m.rate(
        elim,
        kel * liv + (1 - f_dhnk - f_hnk) * clnk * cnk
        + cldhnk * dhnk / vdhnk + clhnk * hnk / vhnk,
    )
    m.rate(ce, ke0 * (kp * c - ce))
    m.rate(ce_nk, ke0 * (kp_nk * cnk - ce_nk))

    name = _ENANT_NAME[e]
    m.output(f"plasma.{e}_ketamine", c * mw_k, "ng/mL", f"plasma {name}")
    m.output(f"plasma.{e}_norketamine", cnk * mw_nk, "ng/mL", f"plasma {name[0]}-norketamine")
    m.output(f"plasma.{e}_dhnk", dhnk / vdhnk * mw_dh, "ng/mL", f"plasma {name[0]}-dehydronorketamine")
    m.output(f"plasma.{e}_hnk", hnk / vhnk * mw_h, "ng/mL", f"plasma {'(2S,6S)' if e == 's' else '(2R,6R)'}-hydroxynorketamine")
    m.output(f"brain.{e}_ketamine", ce, "uM", f"unbound brain (effect-site) {name}")
    m.output(f"brain.{e}_norketamine", ce_nk, "uM", f"unbound brain {name[0]}-norketamine")
    return m


def pk_totals() -> Submodel:
    """Racemic sums of the enantiomer outputs (what assays without chiral separation report)."""
    m = Submodel("pk", "sums over enantiomers")
    for var, desc, unit in (
        ("plasma.{}_ketamine", "plasma ketamine (S + R)", "ng/mL"),
        ("plasma.{}_norketamine", "plasma norketamine (S + R)", "ng/mL"),
        ("plasma.{}_dhnk", "plasma dehydronorketamine (S + R)", "ng/mL"),
        ("plasma.{}_hnk", "plasma hydroxynorketamine ((2S,6S) + (2R,6R))", "ng/mL"),
        ("brain.{}_ketamine", "unbound brain (effect-site) ketamine (S + R)", "uM"),
        ("brain.{}_norketamine", "unbound brain norketamine (S + R)", "uM"),
    ):
        total = sum(m.input(var.format(e), unit) for e in ENANTIOMERS)
        m.output(var.replace("{}_", ""), total, unit, desc)
    return m


# ------------------------------------------------------------------------------------------
# routes: how one dose is put into the states
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    """One part of a dose: ``fraction`` of the amount into ``state``, as a bolus
    (``duration`` 0) or at a constant rate over ``duration`` hours."""

    state: str  # local name within pk_<e>
    fraction: float
    duration: float = 0.0


#: routes by species (rodent routes only for rodents)
HUMAN_ROUTES = ("iv_bolus", "iv_infusion", "im", "intranasal", "oral", "sublingual")
RODENT_ROUTES = ("iv_bolus", "iv_infusion", "ip", "sc", "im", "oral")
ROUTES = {"human": HUMAN_ROUTES, "rat": RODENT_ROUTES, "mouse": RODENT_ROUTES}

#: an esketamine nasal device delivers 28 mg (two sprays)
ESKETAMINE_DEVICE_MG = 28.0


def route_inputs(route: str, duration_h: float, p: dict[str, float], devices: int = 1) -> list[Input]:
    """Split one dose of an enantiomer over the PK states.

    Parameters
    ----------
    route : str
        One of :data:`ROUTES`.
    duration_h : float
        Infusion duration (``iv_infusion`` only).
    p : dict
        This patient's parameter values for the enantiomer, keyed by local name (``frn``...).
    devices : int
        Number of nasal devices used in the session (esketamine: dose / 28 mg).  Each device
        after the first delivers ``frn * frn_later`` nasally (Perez-Ruixo 2021), so the effective
        nasal fraction is ``frn * (1 + frn_later*(devices-1)) / devices``.
    """
    if route == "iv_bolus":
        return [Input("central", 1.0)]
    if route == "iv_infusion":
        return [Input("central", 1.0, duration_h)]
    if route == "im":
        return [Input("im_depot", p["f_im"])] + ([Input("eliminated", 1 - p["f_im"])] if p["f_im"] < 1 else [])
    if route == "sc":
        return [Input("sc_depot", 1.0)]
    if route == "ip":
        return [Input("ip_depot", 1.0)]
    if route == "oral":
        return [Input("gut", 1.0)]
    if route == "sublingual":
        return [Input("sl_depot", p["f_sl"]), Input("gut", 1 - p["f_sl"])]
    if route == "intranasal":
        frn = p["frn"] * (1 + p["frn_later"] * (devices - 1)) / devices
        return [Input("nasal", frn), Input("gut", 1 - frn, p["dsw"])]
    raise ValueError(f"unknown route {route!r}")
