"""HPA axis: the 24-h cortisol profile, stress, ketamine, invariants and scenario errors.

Checks marked CALIBRATED reproduce data the parameters were fitted to
(scripts/calibrate_hpa_effects.py); they still fail if the calibration or the equations drift.
"""

import numpy as np
import pytest

import nmdalab
from nmdalab import ScenarioError
from nmdalab.model.core import Model
from nmdalab.validation import checks_hpa as chk

HPA = ("hpa",)


@pytest.fixture(scope="module")
def profile():
    return chk.daily_profile()


def test_debono_peak_CALIBRATED(profile):
    t, c, _ = profile
    # Debono 2009: 15.5 ug/dL at 08:32; +-1.5 ug/dL is well inside their 95% range 11.7-20.6
    assert c.max() == pytest.approx(15.5, abs=1.5)
    # 45 min: their 20-min sampling plus the fit residual of the awakening bump's timing
    assert abs(chk._refine(t, c, int(np.argmax(c))) - (8 + 32 / 60)) < 0.75


def test_debono_nadir_CALIBRATED(profile):
    t, c, _ = profile
    # Debono 2009: nadir < 2.0 ug/dL (range 1.5-2.5) at 00:18
    assert 1.5 <= c.min() < 2.0
    tn = t[np.argmin(c)]
    tn = tn - 24 if tn > 12 else tn
    assert abs(tn - 0.3) < 1.0  # 1 h: the night-time floor is flat (within 0.1 ug/dL over 23:00-01:00)


def test_awakening_response_CALIBRATED():
    # Wust 2000: +50% (50-75%) within 30 min of waking; 0.45 allows the fit residual
    assert 0.45 <= chk.car_rise() <= 0.75


def test_morning_acth_in_laboratory_range():
    # not calibrated: 7-63 pg/mL morning reference range (memory-grade lead, so a wide check)
    assert 7 <= chk.morning_acth() <= 63


def test_trier_stressor_size_CALIBRATED_and_timing():
    # size (calibrated): d = 0.93 (95% CI 0.82-1.04, Gu 2022) x assumed between-person CV 0.5
    assert 0.41 <= chk.tsst_rise() <= 0.52
    # timing: salivary peak 10-20 min after the end (memory-grade); k_acth was chosen for it, and
    # plasma total cortisol (76-min half-life) may peak up to ~15 min later than saliva
    assert 5 <= chk.tsst_peak_delay_min() <= 35
    # recovery (not calibrated): "baseline by 60-90 min" (memory-grade) -> less than half the rise left at 90 min
    assert chk.tsst_rise_left() < 0.5


def test_ketamine_doubles_cortisol_production_CALIBRATED():
    # Khalili-Mahani 2015: 165 ng/mL, SE 35 -> within 1 SE
    assert chk.ketamine_doubling_concentration() == pytest.approx(165, abs=35)


def test_ketamine_raises_cortisol_and_placebo_does_not():
    sc = {"name": "k", "duration": "12 h", "output_interval": "10 min", "population": {"variability": False},
          "arms": {"ket": {"regimen": [{"drug": "ketamine", "route": "iv_infusion", "dose": "0.5 mg/kg",
                                        "duration": "40 min", "at": "9 h"}]},
                   "pla": {"regimen": [{"drug": "placebo", "route": "iv_infusion", "duration": "40 min", "at": "9 h"}]}}}
    r = nmdalab.simulate(sc, model=Model.default(("pk", "hpa")))
    c = r["cortisol"].values[:, 0]
    after = (r.time > 9.3) & (r.time < 11)
    assert np.all(c[0, after] > c[1, after])
    assert np.allclose(c[:, r.time <= 9], c[1, r.time <= 9], rtol=1e-6)  # identical before the dose


def test_chronic_stress_grows_glands_for_weeks_and_they_recover_slowly():
    sc = {"name": "chronic", "duration": "70 d", "output_interval": "6 h", "population": {"variability": False},
          "arms": {"stress": {"stressors": [{"kind": "chronic", "at": "0 h", "duration": "28 d", "intensity": 1.0}]},
                   "rest": {}}}
    r = nmdalab.simulate(sc, model=Model.default(HPA))
    a = r["hpa.adrenal_mass"].values[:, 0]
    t = r.time
    assert np.all(np.abs(a[1] - 1) < 0.02)  # rest: baseline steady state (calibrated references)
    i28 = np.argmin(abs(t - 28 * 24))
    assert a[0, i28] > 1.1  # grows under 4 weeks of stress
    assert a[0, np.argmin(abs(t - 42 * 24))] > 1.02  # still enlarged 2 weeks after the stress ended
    day = lambda d: (t >= d * 24) & (t < (d + 1) * 24)  # noqa: E731
    c = r["cortisol"].values[:, 0]
    assert c[0, day(20)].mean() > 1.2 * c[1, day(20)].mean()  # chronic stress raises daily cortisol


def test_invariants_and_couplings_at_rest():
    sc = {"name": "rest", "duration": "72 h", "output_interval": "10 min", "population": {"variability": False},
          "arms": {"rest": {}, "tsst": {"stressors": [{"kind": "acute", "at": "38 h", "duration": "15 min"}]}}}
    r = nmdalab.simulate(sc, model=Model.default(HPA))
    for v in ("cortisol", "acth", "hpa.cortisol_production"):
        assert np.all(r[v].values >= 0), v
    assert np.all(r["hpa.stress"].values[0] == 0)
    day2 = (r.time >= 24) & (r.time < 48)
    # 24-h means at rest: Mg loss factor 1 and cortisol effect 0 (0.05: the daily ripple is averaged out)
    assert r["hpa.mg_loss_factor"].values[0, 0, day2].mean() == pytest.approx(1, abs=0.05)
    assert r["hpa.cortisol_effect"].values[0, 0, day2].mean() == pytest.approx(0, abs=0.05)
    # a stressor raises Mg loss (direction, grade B)
    during = (r.time > 38) & (r.time < 38.5)
    assert np.all(r["hpa.mg_loss_factor"].values[1, 0, during] > r["hpa.mg_loss_factor"].values[0, 0, during])


def test_pk_only_model_still_works_and_stressors_need_hpa():
    pk = Model.default(("pk",))
    assert not any(s.startswith("hpa.") for s in pk.state_names)
    sc = {"name": "pk", "duration": "2 h", "population": {"variability": False},
          "arms": {"k": {"regimen": [{"drug": "ketamine", "route": "iv_bolus", "dose": "0.1 mg/kg", "at": "0 h"}]}}}
    assert nmdalab.simulate(sc, model=pk)["plasma.ketamine"].values.max() > 0
    sc["arms"]["k"]["stressors"] = [{"kind": "acute", "at": "1 h", "duration": "15 min"}]
    with pytest.raises(ScenarioError, match="HPA layer"):
        nmdalab.simulate(sc, model=pk)


@pytest.mark.parametrize("item, field", [
    ({"kind": "acutee", "at": "1 h", "duration": "15 min"}, r"stressors\[0\]\.kind.*Did you mean 'acute'"),
    ({"kind": "acute", "duration": "15 min"}, r"stressors\[0\]\.at: missing"),
    ({"kind": "acute", "at": "1 h"}, r"stressors\[0\]\.duration: missing"),
    ({"kind": "acute", "at": "99 h", "duration": "15 min"}, r"stressors\[0\]\.at: 99 h lies outside"),
    ({"kind": "acute", "at": "1 h", "duration": "2 d"}, r"stressors\[0\]\.duration.*kind: chronic"),
    ({"kind": "chronic", "at": "1 h", "duration": "1 h", "intensity": 3}, r"stressors\[0\]\.intensity"),
    ({"kind": "acute", "at": 1, "duration": "15 min"}, r"stressors\[0\]\.at.*no unit"),
    ({"kind": "acute", "at": "1 h", "duration": "15 min", "lenght": 1}, r"stressors\[0\]\.lenght: unknown field"),
])
def test_stressor_errors_name_the_field(item, field):
    sc = {"name": "bad", "duration": "24 h", "arms": {"a": {"stressors": [item]}}}
    with pytest.raises(ScenarioError, match=field):
        nmdalab.load_scenario(sc)


def test_chronic_stress_population_field_is_checked():
    with pytest.raises(ScenarioError, match="population.chronic_stress"):
        nmdalab.load_scenario({"name": "x", "population": {"chronic_stress": 2}, "arms": {"a": {}}})
