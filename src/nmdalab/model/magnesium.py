"""Magnesium: serum, body stores, intake, renal loss, and CSF / brain extracellular Mg.

Structure (submodel ``magnesium``; amounts in mmol, concentrations in mM = mmol/L)
-------------------------------------------------------------------------------------
* **ecf**: Mg in plasma and interstitial fluid, volume ``v_ecf``; serum total Mg
  ``C = ecf / v_ecf``, ionised ``f_ion_serum * C``.
* **cells**: a fast-exchanging soft-tissue pool (hours), equilibrium ``cells = r_cells * ecf``;
  it takes up most of an IV load within the first hour (Fuchs-Buder 1997 plasma time course).
* **store**: the large slow store (bone, muscle: ~1000 mmol in all), equilibrium
  ``store = r_store * ecf``, exchange time ``1 / k_store`` (weeks); it buffers serum against
  deficient intake and stress-driven loss.
* **gut**: absorbable Mg in the gut lumen (diet and oral supplements), absorbed first order
  (``ka``); the unabsorbed fraction ``1 - f_abs`` goes to **faeces**.
* **urine**: cumulative renal excretion.  The kidney defends the patient's own set point
  ``C_set = covariate.serum_mg`` (the scenario's ``population.serum_mg``; deficiency is a low set
  point)::

      U = f_abs * diet * (C / C_set) ** (1 + n_renal) * loss

  so at the set point excretion equals absorbed intake and above it the excess is excreted
  steeply (Mg's renal threshold).  ``loss`` is the optional input ``hpa.mg_loss_factor``
  (dimensionless, 1 without the HPA layer): stress / cortisol-driven urinary loss.
* **csf** (concentration state, mM): CSF / brain extracellular total Mg.  The choroid plexus
  transports Mg saturably and keeps CSF above serum; CSF follows serum slowly and only partly::

      d Ccsf / dt = k_csf * (Ccsf_ref * h(C) / h(C_ref) - Ccsf),   h(x) = x / (km_csf + x)

  (its mass, ~0.2 mmol, is left out of the body balance).

Rates::

    d gut/dt   = f_abs * diet - ka * gut
    d ecf/dt   = ka * gut - k_cells * (r_cells * ecf - cells) - k_store * (r_store * ecf - store) - U
    d cells/dt = k_cells * (r_cells * ecf - cells)
    d store/dt = k_store * (r_store * ecf - store)
    d urine/dt = U;   d faeces/dt = (1 - f_abs) * diet

Mass balance: sum of the amount states grows by exactly the dose plus ``diet * t``.
Every state starts at the steady state of the patient's ``covariate.serum_mg``.

Drugs registered here (doses in the scenario in mg or mg/kg):

* ``magnesium_sulfate`` (``iv_bolus``, ``iv_infusion``): the dose is **MgSO4 . 7H2O** (the salt of
  magnesium sulfate injection USP; 1 g = 4.06 mmol Mg), as in Fuchs-Buder 1997 (60 mg/kg); up to
  100 mg/kg;
* ``magnesium_oral`` (``oral``): the dose is **elemental Mg** (label amounts, e.g. 400 mg);
  absorbed fraction ``f_abs``.

Outputs: ``serum.mg``, ``serum.mg_ionised``, ``csf.mg``, ``csf.mg_ionised`` (mM).
"""

from __future__ import annotations

from ..regimen import Drug, register_drug
from .core import Submodel
from .pk import Input


def magnesium_layer() -> Submodel:
    m = Submodel("magnesium", "Mg2+ in serum, body stores and CSF; intake and renal excretion")
    m.notes = "levels A; body-store and CSF kinetics calibrated to Fuchs-Buder 1997 (B/C); stress loss B (input from the HPA layer)"
    P = m.parameter
    c_set = P("covariate.serum_mg", "mM", "patient's serum total Mg set point (scenario population.serum_mg)")
    v = P("v_ecf", "L", "extracellular volume holding serum Mg")
    r_cells = P("r_cells", "1", "fast tissue pool : ECF amount at equilibrium")
    k_cells = P("k_cells", "1/h", "fast tissue pool exchange rate constant")
    r_store = P("r_store", "1", "slow store (bone, muscle) : ECF amount at equilibrium")
    k_store = P("k_store", "1/h", "slow store exchange rate constant")
    diet = P("diet", "mmol/h", "dietary Mg intake")
    f_abs = P("f_abs", "1", "fraction of oral Mg absorbed (diet and supplements)")
    ka = P("ka", "1/h", "intestinal absorption rate constant")
    n_renal = P("n_renal", "1", "steepness of the rise of fractional excretion above the set point")
    gfr_uf = P("gfr_uf", "L/h", "glomerular filtration rate x ultrafiltrable fraction of serum Mg")
    k_csf = P("k_csf", "1/h", "CSF Mg equilibration rate constant")
    km_csf = P("km_csf", "mM", "serum Mg at half-saturation of choroid-plexus transport")
    csf_ref = P("csf_ref", "mM", "CSF total Mg at serum_ref")
    serum_ref = P("serum_ref", "mM", "serum total Mg at which CSF is csf_ref")
    f_ion_s = P("f_ion_serum", "1", "ionised fraction of serum Mg")
    f_ion_c = P("f_ion_csf", "1", "ionised fraction of CSF Mg")
    P("mw_mgso4_7h2o", "g/mol", "molar mass of MgSO4.7H2O (the magnesium_sulfate dose)")
    P("mw_mg", "g/mol", "molar mass of Mg (the magnesium_oral dose is elemental)")
    loss = m.input("hpa.mg_loss_factor", "1", default=1.0)

    ecf0 = c_set * v
    gut = m.state("gut", "mmol", "absorbable Mg in the gut lumen", initial=f_abs * diet / ka, amount=True, balance="magnesium")
    ecf = m.state("ecf", "mmol", "Mg in plasma and interstitial fluid", initial=ecf0, amount=True, balance="magnesium")
    cells = m.state("cells", "mmol", "Mg in the fast-exchanging tissue pool", initial=r_cells * ecf0, amount=True, balance="magnesium")
    store = m.state("store", "mmol", "Mg in the slow store (bone, muscle)", initial=r_store * ecf0, amount=True, balance="magnesium")
    urine = m.state("urine", "mmol", "cumulative urinary Mg", amount=True, balance="magnesium")
    faeces = m.state("faeces", "mmol", "cumulative unabsorbed oral Mg", amount=True, balance="magnesium")

    def h(x):
        return x / (km_csf + x)

    c = ecf / v
    target = csf_ref * h(c) / h(serum_ref)
    csf = m.state("csf", "mM", "CSF / brain extracellular total Mg", initial=csf_ref * h(c_set) / h(serum_ref))
    fe0 = f_abs * diet / (gfr_uf * c_set)  # fractional excretion at the set point (balance)
    q = (c / c_set) ** n_renal
    renal = gfr_uf * c * fe0 * q / (1 + fe0 * (q - 1)) * loss
    j_cells = k_cells * (r_cells * ecf - cells)
    j_store = k_store * (r_store * ecf - store)
    m.rate(gut, f_abs * diet - ka * gut)
    m.rate(ecf, ka * gut - j_cells - j_store - renal)
    m.rate(cells, j_cells)
    m.rate(store, j_store)
    m.rate(urine, renal)
    m.rate(faeces, (1 - f_abs) * diet)
    m.rate(csf, k_csf * (target - csf))
    m.output("serum.mg", c, "mM", "serum total Mg")
    m.output("serum.mg_ionised", f_ion_s * c, "mM", "serum ionised Mg")
    m.output("csf.mg", csf, "mM", "CSF / brain extracellular total Mg")
    m.output("csf.mg_ionised", f_ion_c * csf, "mM", "CSF / brain extracellular ionised Mg (what blocks NMDA receptors)")
    return m


# ------------------------------------------------------------------------------------------
# drugs and routes
# ------------------------------------------------------------------------------------------

MG_ROUTES = ("iv_bolus", "iv_infusion", "oral")


def mg_route_inputs(route: str, duration_h: float, p: dict[str, float], devices: int = 1) -> list[Input]:
    """Split a Mg dose (mmol) over the ``magnesium`` states.

    IV doses enter the extracellular pool (bolus: a jump; infusion: a constant rate over
    ``duration_h``); oral doses enter the gut (absorbable part ``f_abs``) and faeces (the rest).
    """
    if route == "iv_bolus":
        return [Input("ecf", 1.0)]
    if route == "iv_infusion":
        return [Input("ecf", 1.0, duration_h)]
    if route == "oral":
        return [Input("gut", p["f_abs"]), Input("faeces", 1.0 - p["f_abs"])]
    raise ValueError(f"magnesium cannot be given by route {route!r}; allowed: {', '.join(MG_ROUTES)}")


register_drug(Drug(
    "magnesium_sulfate", {"magnesium": 1.0}, "magnesium.mw_mgso4_7h2o", mg_route_inputs,
    amount_per_mmol=1.0, routes=("iv_bolus", "iv_infusion"),
    max_mg_per_kg={"human": 100.0, "rat": 1000.0, "mouse": 1000.0},
    description="IV magnesium sulfate; dose as MgSO4.7H2O (1 g = 4.06 mmol Mg)",
))
register_drug(Drug(
    "magnesium_oral", {"magnesium": 1.0}, "magnesium.mw_mg", mg_route_inputs,
    amount_per_mmol=1.0, routes=("oral",),
    description="oral magnesium supplement; dose as elemental Mg (e.g. 400 mg)",
))
