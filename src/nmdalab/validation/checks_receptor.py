"""Predictors for the receptor validation cases (``cases/receptor/*.yaml``).

Each function returns the model's number for one published measurement, computed with the public
receptor functions (:mod:`nmdalab.nmda`) under the conditions of the experiment.
"""

from __future__ import annotations

from .. import nmda


def jahr_stevens_unblocked(mg_mM: float, voltage_mV: float) -> float:
    """Unblocked NMDA fraction without drug (GluN2A/B Mg sensitivity)."""
    return float(nmda.mg_unblocked(voltage_mV, mg_mM, "2A"))


def ketamine_ic50(mg_mM: float, voltage_mV: float, subunit: str = "2A", drug: str = "ketamine") -> float:
    """IC50 (uM) against the current in the same Mg."""
    return nmda.ic50(drug, mg_mM, voltage_mV, subunit)


def ic50_shift_by_mg(subunit: str, mg_mM: float = 1.0, voltage_mV: float = -66.0) -> float:
    """IC50 in Mg over IC50 without Mg (racemic ketamine)."""
    return nmda.ic50("ketamine", mg_mM, voltage_mV, subunit) / nmda.ic50("ketamine", 0.0, voltage_mV, subunit)


def norketamine_relative_potency(voltage_mV: float = -70.0) -> float:
    """Racemic norketamine potency relative to racemic ketamine (IC50 ratio, 0 Mg)."""
    return nmda.ic50("ketamine", 0.0, voltage_mV) / nmda.ic50("norketamine", 0.0, voltage_mV)


def remaining_current(drug_uM: float, voltage_mV: float = -70.0, mg_mM: float = 0.0, drug: str = "ketamine") -> float:
    """Current with drug relative to control (same Mg), GluN2A/B."""
    with_drug = nmda.steady_state({drug: drug_uM}, mg_mM, voltage_mV, "2A")["open"]
    return with_drug / nmda.steady_state({}, mg_mM, voltage_mV, "2A")["open"]


def drug_blocked(drug: str, drug_uM: float, mg_mM: float = 0.0, voltage_mV: float = -70.0) -> float:
    """Drug-blocked fraction, GluN2A."""
    return nmda.steady_state({drug: drug_uM}, mg_mM, voltage_mV, "2A")["drug_blocked"]


def order_dependence(ketamine_uM: float = 1.0, mg_mM: float = 1.0, exposure_s: float = 600.0,
                     open_probability: float = 0.01, voltage_mV: float = -70.0) -> float:
    """Ketamine block when Mg comes after ketamine minus when Mg comes before (same exposure).

    Mg before: Mg equilibrated, then ketamine for ``exposure_s``.  Mg after: ketamine alone for
    half the exposure, then ketamine + Mg for the rest.  Positive: Mg-before antagonises more.
    """
    ket = {"ketamine": ketamine_uM}
    before = nmda.kinetic_block([(exposure_s, {}, mg_mM), (exposure_s, ket, mg_mM)], "2A", voltage_mV, open_probability)
    after = nmda.kinetic_block([(exposure_s / 2, ket, 0.0), (exposure_s / 2, ket, mg_mM)], "2A", voltage_mV, open_probability)
    return float(after["drug_blocked"][-1] - before["drug_blocked"][-1])


def interneuron_preference(ketamine_uM: float = 0.5, mg_mM: float = 0.8) -> float:
    """Interneuron minus pyramidal drug-blocked fraction at a subanaesthetic concentration."""
    inn = nmda.population_steady_state("interneuron", {"ketamine": ketamine_uM}, mg_mM)["drug_blocked"]
    pyr = nmda.population_steady_state("pyramidal", {"ketamine": ketamine_uM}, mg_mM)["drug_blocked"]
    return float(inn - pyr)


def stress_serum_fall(loss_factor: float = 1.5, days: float = 14.0, serum_mg_mM: float = 0.85) -> float:
    """Fall of serum Mg (mM) after ``days`` of urinary loss raised by ``loss_factor``.

    The magnesium layer alone, with ``hpa.mg_loss_factor`` held constant (what the HPA layer
    will provide).
    """
    from .. import simulate
    from ..model.core import Submodel, compose
    from ..model.magnesium import magnesium_layer

    stub = Submodel("stress_stub", "constant stress-driven Mg loss")
    stub.output("hpa.mg_loss_factor", loss_factor, "1", "stress-driven urinary Mg loss factor")
    sc = {"name": "stress-mg", "duration": f"{days} d", "output_interval": "1 d",
          "population": {"variability": False, "weight": "70 kg", "serum_mg": f"{serum_mg_mM} mM"},
          "arms": {"a": {"regimen": []}}}
    res = simulate(sc, model=compose(magnesium_layer(), stub))
    serum = res["serum.mg"].values[0, 0]
    return float(serum[0] - serum[-1])
