"""Mood layer: clinical time course, placebo separation, interventions, dose, endpoints.

Truths: onset within hours, largest effect around day 1, fading over about a week (Zarate 2006;
Kishimoto 2016 meta-analysis: superior from 40 min, peak at day 1, lost by days 10-12);
ketamine above midazolam above saline (Murrough 2013; Newport 2015).  The mood couplings are
calibrated (scripts/calibrate_mood.py) to Han 2016 rates and the Murrough 24-h changes.  The
synaptic-protein and spine time constants (human-plasticity.yaml) were chosen by hand against
the same shape criteria as test_time_course_shape, so that test guards the choice (a
regression check), it is not independent evidence.
"""

import numpy as np
import pytest

import nmdalab
from nmdalab.analysis.endpoints import scale_per_patient, wilson_interval
from nmdalab.model.registry import default_model

LAYERS = ("pk", "magnesium", "nmda", "circuit", "plasticity", "mood")
INF = {"route": "iv_infusion", "duration": "40 min", "at": "0 h"}


def ket(dose="0.5 mg/kg"):
    return [{"drug": "ketamine", "dose": dose, **INF}]


@pytest.fixture(scope="module")
def trial():
    arms = {"ketamine": {"regimen": ket()},
            "saline": {"regimen": [{"drug": "placebo", **INF}]},
            "midazolam": {"regimen": [{"drug": "midazolam", "dose": "0.045 mg/kg", **INF}]},
            "rapamycin": {"regimen": ket(), "interventions": [{"name": "rapamycin"}]},
            "ket_0.1": {"regimen": ket("0.1 mg/kg")},
            "ket_4.5": {"regimen": [{"drug": "ketamine", "route": "iv_bolus", "dose": "4.5 mg/kg", "at": "0 h"}]}}
    sc = {"name": "typical", "duration": "10 d", "output_interval": "1 h",
          "population": {"variability": False, "diagnosis": "trd"}, "arms": arms}
    return nmdalab.simulate(sc, model=default_model(LAYERS))


def madrs(res, arm):
    return res["madrs"].sel(arm=arm).values[0]


def test_time_course_shape(trial):
    m, t = madrs(trial, "ketamine"), trial.time
    assert m[0] - m[int(np.argmin(abs(t - 4)))] > 0.15 * m[0]  # onset within hours (Zarate 2006: by 110 min)
    drop = madrs(trial, "saline") - m  # the drug effect: difference from the saline arm, as trials report it
    k_peak = int(np.argmax(drop))
    assert 12 <= t[k_peak] <= 72  # largest effect around day 1 (Kishimoto 2016: peak day 1); 12-72 h band
    # fading over about a week: Zarate 2006 d = 0.68 at 1 week vs 1.46 at 24 h (ratio 0.47); Han 2016
    # response 39.8% at day 7 vs 52.2% at 24 h (ratio 0.77): the day-7 effect must lie below the upper one
    assert drop[int(np.argmin(abs(t - 168)))] < 0.77 * drop[k_peak]
    assert drop[-1] < 0.35 * drop[k_peak]  # mostly lost by day 10 (Kishimoto: superiority lost by days 10-12)


@pytest.mark.xfail(strict=True, reason="known gap (docs/validation.md, clinical.zarate2006.effect_fade): the patients "
                   "whose effect lasts are the responsive ones (plasticity.k_synaptic_turnover iiv_correlation, needed by the "
                   "pooled day-7 rates of Han 2016), so the population's mean ketamine-saline difference keeps 65% of its "
                   "peak at day 10 (47% without that random effect: the mean over a log-normal responsiveness and the "
                   "ketamine arm's larger expectation also outlast the typical patient's effect)")
def test_population_effect_mostly_lost_by_day_10():
    """The population version of the last check of test_time_course_shape: Kishimoto 2016 (superiority lost by
    days 10-12) and Zarate 2006 compare arm means, not the typical patient.  300 TRD patients per arm."""
    sc = {"name": "fade", "duration": "10 d", "output_interval": "6 h", "solver": {"engine": "compiled"},
          "population": {"n": 300, "seed": 5, "diagnosis": "trd"},
          "arms": {"ketamine": {"regimen": ket()}, "saline": {"regimen": [{"drug": "placebo", **INF}]}}}
    res = nmdalab.simulate(sc, model=default_model(LAYERS))
    drop = res["madrs"].sel(arm="saline").values.mean(axis=0) - res["madrs"].sel(arm="ketamine").values.mean(axis=0)
    assert drop[-1] < 0.35 * drop.max()


def test_ketamine_beats_midazolam_beats_saline(trial):
    k24 = int(np.argmin(abs(trial.time - 24)))
    ch = {a: madrs(trial, a)[k24] - madrs(trial, a)[0] for a in ("ketamine", "midazolam", "saline")}
    assert ch["ketamine"] < ch["midazolam"] < ch["saline"] < 0


def test_rapamycin_abolishes_the_sustained_effect(trial):
    k72 = int(np.argmin(abs(trial.time - 72)))
    mid = madrs(trial, "midazolam")[k72]  # same expectation as the ketamine arms
    full = mid - madrs(trial, "ketamine")[k72]
    rapa = mid - madrs(trial, "rapamycin")[k72]
    assert full > 5  # a real sustained drug effect at 72 h, points
    assert rapa < 0.25 * full  # Li 2010: rapamycin blocks it; at most a quarter left


# The inverted U (Zanos et al. 2023, PMC9908316: excessive NMDA receptor inhibition prevents the
# antidepressant effect; Li 2010: anaesthetic 80 mg/kg does not activate mTORC1) is a rodent finding and
# is tested in rodents: tests/test_plasticity.py::test_rat_inverted_u and the validation case
# signalling.zanos2023.inverted_u (mouse).  In humans the model predicts no loss of efficacy up to a
# 4.5 mg/kg bolus: that exposure (brain ~7 uM at its peak) never lowers NMDA receptor activation
# (glutamate x pyramidal conductance) below rest, so the veto that makes the rodent U stays off.  No
# human dose-response data above 1 mg/kg are bundled to test that prediction (docs/validation.md).


def test_human_anaesthetic_bolus_prediction(trial):
    """A regression pin on the model's human prediction, not a published truth (no bundled human data above
    1 mg/kg): the 4.5 mg/kg bolus gives at least the 24-h effect of 0.5 mg/kg over 40 min.  If a change turns
    this round, the docs (docs/validation.md, "Dose") must change with it."""
    k24 = int(np.argmin(abs(trial.time - 24)))
    eff = {a: madrs(trial, "midazolam")[k24] - madrs(trial, a)[k24] for a in ("ketamine", "ket_4.5")}
    assert eff["ket_4.5"] >= eff["ketamine"]


def test_excessive_block_veto_is_off_in_human_doses(trial):
    """The rodent veto must not act at human doses up to an anaesthetic bolus (its threshold is a 3%
    NMDA-activation deficit; the human bolus keeps activation at or above rest)."""
    for arm in ("ket_0.1", "ketamine", "ket_4.5"):
        assert trial["plasticity.nmda_veto"].sel(arm=arm).values.max() < 1e-3


def _untreated_madrs(serum_mg, regimen=(), duration="28 d"):
    sc = {"name": f"mg-{serum_mg}", "duration": duration, "output_interval": "1 d",
          "population": {"variability": False, "diagnosis": "trd", "serum_mg": serum_mg},
          "arms": {"a": {"regimen": list(regimen)}}}
    return nmdalab.simulate(sc, model=default_model(LAYERS))["madrs"].values[0, 0]


def test_magnesium_status_is_not_an_antidepressant_or_a_depressant_of_ketamines_size(trial):
    """Serum Mg at the ends of the reference range (0.7 and 1.0 mM), held for four weeks without a drug,
    and one 4 g IV magnesium sulfate infusion each move MADRS by less than one ketamine infusion's drug
    effect at 24 h (ketamine - midazolam, same expectation): neither Mg status nor IV Mg is a rapid
    antidepressant or depressant of ketamine's size in the clinic.  Before the eEF2K set point
    (plasticity.eef2k_homeostasis) 0.7 mM drove MADRS from 33 to 60 within a week and 1.0 mM to 22; before
    the veto threshold was lowered to 0.03 the infusion drove it to 3 at 24 h."""
    k24 = int(np.argmin(abs(trial.time - 24)))
    ket_effect = madrs(trial, "midazolam")[k24] - madrs(trial, "ketamine")[k24]
    assert ket_effect > 5
    for serum in ("0.7 mM", "1.0 mM"):
        m = _untreated_madrs(serum)
        assert np.max(np.abs(m - m[0])) < ket_effect, serum
    iv = _untreated_madrs("0.85 mM", [{"drug": "magnesium_sulfate", "dose": "4 g", "route": "iv_infusion",
                                       "duration": "20 min", "at": "0 h"}], duration="3 d")
    assert abs(iv[1] - iv[0]) < ket_effect


def test_dose_response_rising_limb(trial):
    """The rising limb alone: 0.5 mg/kg beats 0.1 mg/kg at 24 h (Fava et al. 2020 Mol Psychiatry 25:1592, recalled:
    0.5 and 1.0 mg/kg separate from active placebo, 0.1 mg/kg does not); by at least 2 MADRS points,
    a clinically visible difference."""
    k24 = int(np.argmin(abs(trial.time - 24)))
    eff = {a: madrs(trial, "midazolam")[k24] - madrs(trial, a)[k24] for a in ("ket_0.1", "ketamine")}
    assert eff["ketamine"] > eff["ket_0.1"] + 2.0


def test_diagnosis_baselines():
    base = {}
    for dx in ("healthy", "mdd", "trd", "bipolar"):
        sc = {"name": dx, "duration": "1 h", "output_interval": "1 h", "population": {"variability": False, "diagnosis": dx},
              "arms": {"a": {"regimen": [{"drug": "placebo", **INF}]}}}
        base[dx] = float(nmdalab.simulate(sc, model=default_model(LAYERS))["madrs"].values[0, 0, 0])
    assert base["healthy"] < 8 < base["mdd"] <= base["trd"]  # healthy below the remission cutoff
    assert 25 <= base["trd"] <= 40  # TRD trial baselines 32-37 (a wide band: assumed values)


def test_hdrs_is_a_rescaled_madrs(trial):
    h, m = trial["hdrs"].sel(arm="ketamine").values[0], madrs(trial, "ketamine")
    ratio = h / m
    assert np.allclose(ratio, ratio[0]) and 0.6 < ratio[0] < 0.85  # HDRS-17 ~0.7 x MADRS (linking studies)


def test_scale_endpoints_by_hand():
    t = np.array([0.0, 24.0, 72.0, 168.0])
    v = np.array([[30, 14, 15, 20],    # responder at 24 h (and at 72 h: exactly 50%), relapses at 168 h
                  [30, 16, 14, 14],    # not a responder at 24 h (47%)
                  [40, 8, 9, 10]])     # responder, remitter, never relapses
    assert list(scale_per_patient("response_rate", t, v, at=24.0)) == [1, 0, 1]
    assert list(scale_per_patient("remission_rate", t, v, at=24.0, cutoff=10)) == [0, 0, 1]
    rel = scale_per_patient("median_time_to_relapse", t, v, after=24.0)
    assert rel[0] == 168.0 and np.isnan(rel[1]) and np.isinf(rel[2])
    assert wilson_interval(0, 12)[0] == 0.0 and wilson_interval(12, 12)[1] == 1.0  # exact at the edges
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)  # Wilson 1927 worked value


def test_trial_endpoints_summary():
    sc = {"name": "mini-trial", "duration": "7 d", "output_interval": "2 h",
          "population": {"n": 12, "seed": 3, "diagnosis": "trd"},
          "arms": {"ketamine": {"regimen": ket()}, "placebo": {"regimen": [{"drug": "placebo", **INF}]}},
          "endpoints": [{"name": "resp24", "kind": "response_rate", "scale": "madrs", "at": "24 h"},
                        {"name": "rem24", "kind": "remission_rate", "scale": "madrs", "at": "24 h"},
                        {"name": "chg24", "kind": "mean_change", "scale": "hdrs", "at": "24 h"},
                        {"name": "relapse", "kind": "median_time_to_relapse", "scale": "madrs", "after": "24 h"}]}
    s = nmdalab.simulate(sc, model=default_model(LAYERS)).endpoints()
    k, p = s["arms"]["ketamine"]["endpoints"], s["arms"]["placebo"]["endpoints"]
    for e in (k["resp24"], k["rem24"]):
        assert 0 <= e["ci95"][0] <= e["value"] <= e["ci95"][1] <= 1 and e["unit"] == "1"
    assert k["resp24"]["value"] > p["resp24"]["value"]
    assert k["chg24"]["value"] < p["chg24"]["value"] < 0


def test_bad_scale_is_a_clear_error():
    from nmdalab.errors import ScenarioError

    sc = {"name": "x", "arms": {"a": {"regimen": []}},
          "endpoints": [{"name": "r", "kind": "response_rate", "scale": "madr", "at": "1 h"}]}
    with pytest.raises(ScenarioError, match="Did you mean 'madrs'"):
        nmdalab.load_scenario(sc)


def test_placebo_arms_have_responders():
    """Saline and midazolam arms respond as in trials (issue 4: with a 40% ceiling they had none).

    Bands: saline 24-h response implied by Newport 2015's odds ratio 9.87 (95% CI 4.37-22.29)
    against the pooled ketamine rate 52.2% (Han 2016): 4.7-20%; midazolam 28% in Murrough 2013
    (n = 25: binomial SE 9 points, a two-SE band 10-46%) and above saline.  n = 300 virtual
    patients per arm (binomial SE <= 2.9 points).
    """
    sc = {"name": "placebo-arms", "duration": "24 h", "output_interval": "24 h", "solver": {"engine": "batch"},
          "population": {"n": 300, "seed": 7, "weight": {"mean": "80 kg", "sd": "15 kg"}, "diagnosis": "trd"},
          "arms": {"saline": {"regimen": [{"drug": "placebo", **INF}]},
                   "midazolam": {"regimen": [{"drug": "midazolam", "dose": "0.045 mg/kg", **INF}]}},
          "endpoints": [{"name": "r24", "kind": "response_rate", "scale": "madrs", "at": "24 h"}]}
    s = nmdalab.simulate(sc, model=default_model(LAYERS)).endpoints()["arms"]
    sal, mid = s["saline"]["endpoints"]["r24"]["value"], s["midazolam"]["endpoints"]["r24"]["value"]
    assert 0.047 <= sal <= 0.20
    assert 0.10 <= mid <= 0.46 and mid > sal


def test_repeated_infusions_add_up_in_the_full_model():
    """Six infusions over 12 days (Mon/Wed/Fri) leave the typical TRD patient better off than one
    (Murrough et al. 2013 Biol Psychiatry 74:250: response 70.8% at the end of the course, against
    ~52% 24 h after one infusion, Han 2016).  The default model composes the HPA layer: ketamine's
    cortisol surges (production doubled for about an hour per infusion) must not add up to the
    sustained excess that lowers BDNF and spines; before the plasticity layer's cortisol threshold
    they did (MADRS 57 at day 14 on six infusions, worse than baseline)."""
    inf = {"drug": "ketamine", "dose": "0.5 mg/kg", "route": "iv_infusion", "duration": "40 min"}
    sc = {"name": "course", "duration": "13 d", "output_interval": "2 h",
          "population": {"variability": False, "diagnosis": "trd"},
          "arms": {"six": {"regimen": [{**inf, "days": ["mon", "wed", "fri"], "weeks": 2, "time": "10 h"}]},
                   "one": {"regimen": [{**inf, "at": "10 h"}]}}}
    res = nmdalab.simulate(sc)  # the default model: every layer
    assert "hpa.cortisol_effect" in res.variables
    six, one = madrs(res, "six"), madrs(res, "one")
    k_end = int(np.argmin(abs(res.time - (11 * 24 + 10 + 24))))  # 24 h after the sixth infusion
    assert six[k_end] < one.min() - 3  # clearly below the best a single infusion reaches (3 MADRS points)
    assert six[k_end] < six[0] * 0.7  # a >30% fall at the end of the course
    assert res["plasticity.cortisol_excess"].values.max() < 1e-3  # surges stay below the threshold


def test_scores_stay_on_the_scale_under_severe_chronic_stress():
    """Severe chronic stress (population.chronic_stress = 1, three weeks) raises severity but the
    MADRS stays on its 0-60 scale (ten items scored 0-6) and HDRS-17 on 0-52, and the synaptic
    proteins stop at the plasticity layer's floor (synaptic_min); before these bounds the
    synaptic pool emptied within a week and MADRS reached 10^5."""
    from nmdalab.parameters import load

    sc = {"name": "stress", "duration": "21 d", "output_interval": "6 h",
          "population": {"variability": False, "diagnosis": "trd", "chronic_stress": 1.0},
          "arms": {"a": {"regimen": []}}}
    res = nmdalab.simulate(sc)
    m, h = madrs(res, "a"), res["hdrs"].sel(arm="a").values[0]
    assert m[-1] > m[0] + 5  # stress worsens depression (direction; size not calibrated)
    assert np.all(m <= 60 + 1e-9) and np.all(h <= 52)
    floor = load("human")["plasticity.synaptic_min"].value
    assert res["plasticity.synaptic_proteins"].values.min() >= floor - 1e-6
