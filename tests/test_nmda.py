"""NMDA receptor layer: independent truths (published tables, qualitative facts) and invariants."""

import numpy as np
import pytest

import nmdalab
from nmdalab import nmda


# Jahr & Stevens 1990 block at 1 mM Mg, the table in nmdalab/data/receptor.csv (row nmda.jahr_stevens)
@pytest.mark.parametrize("v, expected", [(-80, 0.024), (-70, 0.045), (-60, 0.080), (-40, 0.230), (-20, 0.508), (0, 0.781)])
def test_jahr_stevens_table(v, expected):
    # 3-decimal table; its -70 mV entry is 0.0445 rounded up (0.044 in research/models.md): 1 unit
    assert nmda.mg_unblocked(v, 1.0, "2A") == pytest.approx(expected, abs=0.001)
    # steady_state without drug gives the same unblocked fraction
    assert nmda.steady_state({}, 1.0, v, "2A")["open"] == pytest.approx(expected, abs=0.001)


def test_jahr_stevens_headline_value():
    # the acceptance value: 0.080 unblocked at -60 mV, 1 mM Mg (half a unit of the 3rd decimal)
    assert nmda.mg_unblocked(-60, 1.0, "2A") == pytest.approx(0.080, abs=0.0005)


def test_jahr_stevens_closed_form_other_mg():
    # the published formula itself, at a Mg and voltage not in the table (exact up to float rounding)
    v, mg = -53.0, 1.7
    assert nmda.mg_unblocked(v, mg, "2B") == pytest.approx(1 / (1 + mg / 3.57 * np.exp(-0.062 * v)), rel=1e-12)


@pytest.mark.parametrize("subunit", nmda.SUBUNITS)
def test_fractions_in_unit_interval_and_sum_to_one(subunit):
    rng = np.random.default_rng(3)
    for _ in range(200):
        drugs = {d: float(rng.uniform(0, 50)) * (rng.random() < 0.7) for d in nmda.BLOCKERS}
        ss = nmda.steady_state(drugs, float(rng.uniform(0, 5)), float(rng.uniform(-120, 60)), subunit)
        parts = [ss["open"], ss["mg_blocked"], ss["drug_blocked"]]
        assert all(0 <= x <= 1 for x in parts)
        assert sum(parts) == pytest.approx(1.0, abs=1e-12)  # float rounding only
        assert sum(ss["drug_blocked_by"].values()) == pytest.approx(ss["drug_blocked"], abs=1e-12)


def test_ketamine_ic50_without_mg_near_published_range():
    # published 0-Mg IC50s: 0.31-0.83 uM at -66 mV over GluN2A-2D (Kotermanski & Johnson 2009,
    # memory-grade) and 0.71 uM at -70 mV (Gilling 2009, verified); the model anchors on Gilling
    for s in ("2A", "2B"):
        assert 0.30 <= nmda.ic50("ketamine", 0.0, -66, s) <= 0.83
    # implementation check of the anchor: bisection tolerance only
    assert nmda.ic50("ketamine", 0.0, -70, "2A") == pytest.approx(0.71, rel=1e-3)


def test_mg_raises_ketamine_ic50_much_more_for_2a_2b_than_2c_2d():
    shift = {s: nmda.ic50("ketamine", 1.0, -66, s) / nmda.ic50("ketamine", 0.0, -66, s) for s in nmda.SUBUNITS}
    # 2A/2B: Jahr & Stevens block (verified) alone predicts a large shift; "several-fold" = > 5x
    assert shift["2A"] > 5 and shift["2B"] > 5
    # qualitative fact (GluN2C/D much less Mg-sensitive): at most half the 2A/2B shift
    assert max(shift["2C"], shift["2D"]) < 0.5 * min(shift["2A"], shift["2B"])
    assert min(shift["2C"], shift["2D"]) > 1.0  # Mg still competes a little


def test_block_is_voltage_dependent_and_enantiomers_differ():
    # depolarisation relieves ketamine block (Woodhull, delta > 0)
    assert nmda.steady_state({"ketamine": 1}, 0, -90)["drug_blocked"] > nmda.steady_state({"ketamine": 1}, 0, -30)["drug_blocked"]
    # S-ketamine is more potent than R-ketamine, and both more than their norketamines (Ebert 1997 order)
    kd = {d: float(nmda.drug_kd(d, -70)) for d in nmda.BLOCKERS}
    assert kd["s_ketamine"] < kd["r_ketamine"] and kd["s_ketamine"] < kd["s_norketamine"] < kd["r_norketamine"]


def test_hnk_does_not_block_at_therapeutic_concentration():
    # (2R,6R)-HNK reaches ~1 uM at most in brain at antidepressant doses (Zanos 2016); block < 2%
    assert nmda.steady_state({"hnk": 1.0}, 0.0, -70, "2A")["drug_blocked"] < 0.02
    # while the same concentration of ketamine blocks substantially (same conditions, contrast)
    assert nmda.steady_state({"ketamine": 1.0}, 0.0, -70, "2A")["drug_blocked"] > 0.5


def test_order_dependence_mg_before_antagonises_more_than_mg_after():
    # Savic Vujovic 2017 (qualitative): Mg present before ketamine antagonises it; Mg added after
    # ketamine is trapped does not.  Same ketamine exposure (600 s) in both protocols.
    ket = {"ketamine": 1.0}
    before = nmda.kinetic_block([(600, {}, 1.0), (600, ket, 1.0)], "2A", -70, open_probability=0.01)
    after = nmda.kinetic_block([(300, ket, 0.0), (300, ket, 1.0)], "2A", -70, open_probability=0.01)
    assert after["drug_blocked"][-1] > 1.5 * before["drug_blocked"][-1]
    # the trapped drug is what persists: most of the block after is in closed channels
    assert after["trapped"][-1] > 0.5 * after["drug_blocked"][-1]


def test_kinetic_scheme_relaxes_to_the_steady_state():
    # two formulations (explicit gating/trapping vs pore equilibrium) must agree at long times
    for s, v, po in (("2A", -70, 0.01), ("2D", -55, 0.2)):
        k = nmda.kinetic_block([(1e6, {"s_ketamine": 0.3, "r_norketamine": 5}, 0.8)], s, v, po)
        ss = nmda.steady_state({"s_ketamine": 0.3, "r_norketamine": 5}, 0.8, v, s)
        for key in ("open", "mg_blocked", "drug_blocked"):
            assert k[key][-1] == pytest.approx(ss[key], rel=1e-6)


def test_interneuron_preference_at_subanaesthetic_concentration():
    # ~0.5 uM unbound brain racemic ketamine (0.5 mg/kg over 40 min), CSF ionised Mg 0.8 mM
    # (Brewer 2001): interneurons lose a larger share of NMDA conductance than pyramidal neurons
    pyr = nmda.population_steady_state("pyramidal", {"ketamine": 0.5}, 0.8)
    inn = nmda.population_steady_state("interneuron", {"ketamine": 0.5}, 0.8)
    assert inn["drug_blocked"] > 1.5 * pyr["drug_blocked"]
    # it follows from Mg: without Mg the preference disappears (interneurons' depolarisation even
    # makes them slightly less sensitive: Woodhull relief)
    pyr0 = nmda.population_steady_state("pyramidal", {"ketamine": 0.5}, 0.0)
    inn0 = nmda.population_steady_state("interneuron", {"ketamine": 0.5}, 0.0)
    assert inn0["drug_blocked"] <= pyr0["drug_blocked"]


def test_clear_errors():
    with pytest.raises(nmda.ReceptorError, match="subunit"):
        nmda.steady_state({}, 1.0, -60, "2E")
    with pytest.raises(nmda.ReceptorError, match="memantine"):
        nmda.steady_state({"memantine": 1.0}, 1.0, -60)
    with pytest.raises(nmda.ReceptorError, match="mg_mM"):
        nmda.steady_state({}, -1.0, -60)
    with pytest.raises(ValueError):  # ReceptorError is a ValueError too
        nmda.steady_state({"ketamine": -1}, 1.0, -60)


def test_composed_model_outputs_follow_the_steady_state():
    # the symbolic layer and the numeric function are two codings of the same equations
    dose = {"drug": "ketamine", "route": "iv_infusion", "dose": "0.5 mg/kg", "duration": "40 min", "at": "0 h"}
    sc = {"name": "k", "duration": "2 h", "output_interval": "10 min",
          "population": {"variability": False, "weight": "70 kg"}, "arms": {"k": {"regimen": [dose]}}}
    model = nmdalab.Model.default(("pk", "magnesium", "nmda"))
    res = nmdalab.simulate(sc, model=model)
    k = int(np.argmax(res["brain.ketamine"].values[0, 0]))
    drugs = {d: float(res[f"brain.{d}"].values[0, 0, k]) for d in ("s_ketamine", "r_ketamine", "s_norketamine", "r_norketamine")}
    mg = float(res["csf.mg_ionised"].values[0, 0, k])
    for pop in nmda.POPULATIONS:
        ss = nmda.population_steady_state(pop, drugs, mg)
        for key in ("open", "mg_blocked", "drug_blocked"):
            assert float(res[f"nmda.{pop}.{key}"].values[0, 0, k]) == pytest.approx(ss[key], rel=1e-9)
    parts = sum(res[f"nmda.interneuron.{x}"].values for x in ("open", "mg_blocked", "drug_blocked"))
    assert np.allclose(parts, 1.0, atol=1e-12)
    # receptor number rises (slowly) under block and never falls below baseline
    r = res["nmda.interneuron.receptors"].values[0, 0]
    assert r[0] == 1.0 and r[-1] > 1.0 and np.all(r >= 1.0 - 1e-12)


def test_pk_only_model_still_composes():
    assert "nmda.pyramidal.open" not in nmdalab.Model.default(("pk",)).output_names
