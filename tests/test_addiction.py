"""Addiction layer (issue 6): acceptance checks and invariants.

Checks marked CALIBRATED compare with data the parameters were fitted to (scripts/
calibrate_addiction.py); they guard the calibration, they do not validate the model.
"""

from __future__ import annotations

import numpy as np
import pytest

from nmdalab.experiments import addiction as ex
from nmdalab.model.core import Model

MG_2004 = 0.25 * 95.21  # Nechifor 2004 Mg dose as MgCl2 mg/kg (0.5 mEq/kg/day)


@pytest.fixture(scope="module")
def nechifor2004():
    return ex.withdrawal_score(0.0), ex.withdrawal_score(MG_2004)


def test_mg_lowers_morphine_withdrawal_about_40_percent(nechifor2004):
    """CALIBRATED (mg_supp_gain): observed 19.9/33 = 0.603."""
    ctl, mg = nechifor2004
    # 0.05: the ratio's SE from the two group SEs is ~0.08; tighter, to catch calibration drift
    assert abs(mg["score"] / ctl["score"] - 0.603) < 0.05


def test_mg_prevents_tolerance_more_than_withdrawal(nechifor2004):
    """DESIGN.md known result (not calibrated): relative reduction of tolerance > of withdrawal."""
    ctl, mg = nechifor2004
    tol_cut = 1 - mg["tolerance"] / ctl["tolerance"]
    wd_cut = 1 - mg["opponent"] / ctl["opponent"]
    assert tol_cut > wd_cut > 0


def test_mg_given_only_during_withdrawal_does_little():
    """Known result (Mg failed in alcohol-withdrawal trials): Mg acts on acquisition, so an oral
    supplement given once dependence is established changes the withdrawal drive by < 5%
    (expression is not NMDA-gated; oral Mg stays below the reward threshold)."""
    r = ex._runner("morphine", drugs=("magnesium_chloride",))
    r.advance(8.0)
    for _d in range(5):
        r.dose("morphine", "sc", ex._mg(20.0))
        r.advance(24.0)
    r2 = ex._runner("morphine", drugs=("magnesium_chloride",))
    r2.y, r2.t = r.y.copy(), r.t
    r2.dose("magnesium_chloride", "oral", ex._mg(40.0))
    r.advance(6.0)
    r2.advance(6.0)
    # 5%: Mg must not change the expression of withdrawal much
    assert abs(r2.out("addiction.withdrawal_drive") / r.out("addiction.withdrawal_drive") - 1) < 0.05


def test_mg_lowers_morphine_place_preference_and_is_mildly_rewarding_alone():
    """Nechifor 2010: morphine 462 s (CALIBRATED), morphine + Mg 262 s (prediction), Mg alone 328 s
    (CALIBRATED), saline 295 s."""
    mor = ex.place_preference("morphine", 3.0, "sc")["time_s"]
    mor_mg = ex.place_preference("morphine", 3.0, "sc", mg_chloride_mg_kg=40.0)["time_s"]
    mg = ex.place_preference("magnesium_chloride", 10.0, "ip")["time_s"]
    assert abs(mor - 462) < 28  # the group SE
    # prediction, direction only (the study found the preference abolished, 262 s; the model's
    # value is checked against the 200-380 s band of case addiction.nechifor2010.morphine_mg_cpp)
    assert mor_mg < mor - 10
    # mildly rewarding, not aversive: above saline, below half of the morphine effect
    assert 295 < mg < 295 + 0.5 * (462 - 295)


def test_mg_deficiency_gate_is_bounded_and_receptor_based():
    """The plasticity gate at low brain Mg follows Jahr-Stevens block through the Ca2+ switch:
    at most 1 + ca_switch_half**n (2x) however low Mg falls, and at -23% CSF ionised Mg it lies
    between the bare receptor ratio and its n-th power (independent closed form from
    nmdalab.model.nmda.mg_unblocked, not from the addiction code)."""
    from nmdalab.closed_loop import Runner
    from nmdalab.model.nmda import mg_unblocked
    from nmdalab.simulate import parameter_set

    ps = parameter_set("rat")
    n = ps["addiction.ca_switch_n"].value
    th = ps["addiction.ca_switch_half"].value
    mg_ref = ps["addiction.mg_ref"].value
    r = Runner(Model.default(("magnesium", "addiction")), "rat", serum_mg=0.6)
    mg = r.out("csf.mg_ionised")
    assert mg < 0.85 * mg_ref  # the deficient state reaches the brain
    x = float(mg_unblocked(-70.0, mg) / mg_unblocked(-70.0, mg_ref))
    expected = x**n * (1 + th**n) / (x**n + th**n)
    assert r.out("addiction.plasticity_gate") == pytest.approx(expected, rel=1e-6)
    assert 1.0 < x < r.out("addiction.plasticity_gate") < min(x**n, 1 + th**n)
    r0 = Runner(Model.default(("magnesium", "addiction")), "rat", serum_mg=0.1)
    assert r0.out("addiction.plasticity_gate") < 1 + th**n


def test_self_administration_deterministic_and_cocaine_acquired():
    a = ex.self_administration("cocaine", 0.5, sessions=4, seed=7)
    b = ex.self_administration("cocaine", 0.5, sessions=4, seed=7)
    s = ex.self_administration("saline", 0.0, sessions=4, seed=7)
    assert a == b  # same seed, same choices
    # acquisition: more than twice the vehicle responding over the last two sessions
    assert sum(a["infusions"][-2:]) > 2 * max(1, sum(s["infusions"][-2:]))


def test_ketamine_self_administration_dose_dependent():
    """Per-infusion learning: 0.1 mg/kg/infusion is acquired (add.age_cpp: 0.03-0.3 mg/kg/infusion
    self-administered; not calibrated), a too-low unit dose (0.01 mg/kg, a third of the lowest published one) is not
    (ratio below the 1.5 threshold of the validation cases) and teaches less value per session."""
    s = ex.self_administration("saline", 0.0, sessions=8, seed=1)["infusions"]

    def ratio(k):
        return (sum(k[-3:]) + 1) / (sum(s[-3:]) + 1)

    low = ex.self_administration("ketamine", 0.01, sessions=8, seed=1)["infusions"]
    mid = ex.self_administration("ketamine", 0.1, sessions=8, seed=1)["infusions"]
    assert ratio(mid) > 1.5
    assert ratio(low) < 1.5
    assert sum(mid) > sum(low)


def test_one_infusion_teaches_in_proportion_to_its_dopamine_rise_not_its_duration():
    """Event learning, closed form: while ``a > a_ref``, ``d a_ref/dt = (a - a_ref)/tau``, so the
    surge integral of one dose is exactly ``tau * max(a_ref)`` and the value it teaches is
    ``surge_gain * max(a_ref)`` (gate 1 at rest), plus a small continuous TD part (within 15%).
    ``max(a_ref)`` is of the order of the dopamine rise (between 0.4x and 1x of the peak reward
    for an IV infusion), so one 0.1 mg/kg infusion teaches ~0.05, where the old per-unit-time
    learning gave ~0.002-0.008."""
    from nmdalab.closed_loop import Runner
    from nmdalab.simulate import parameter_set

    k = parameter_set("rat")["addiction.surge_gain"].value
    r = Runner(ex._model(ex._LAYERS["ketamine"]), "rat", drugs=frozenset({"ketamine"}))
    r.advance(1.0)
    r.dose("ketamine", "iv_bolus", ex._mg(0.1))
    peak, ref = 0.0, 0.0
    for _ in range(60):
        r.advance(1 / 60)
        peak = max(peak, r.out("addiction.reward"))
        ref = max(ref, float(r.y[r.model.state_index("addiction.surge_ref")]))
    r.advance(3.0)
    v = r.out("drug_value")
    assert 0.4 * peak < ref < peak
    assert v == pytest.approx(k * ref, rel=0.15)
    assert v > 0.03


def test_dysphoria_is_learned_by_the_context_not_by_the_response():
    """After 10 mg/kg i.p. (adult rat) the context value is negative (place/taste aversion) while
    the response (action) value, taught by the immediate surge only, is positive."""
    from nmdalab.closed_loop import Runner

    r = Runner(ex._model(ex._LAYERS["ketamine"]), "rat", drugs=frozenset({"ketamine"}))
    r.advance(1.0)
    r.dose("ketamine", "ip", ex._mg(10.0))
    r.advance(10.0)
    assert r.out("drug_value") < 0 < r.out("addiction.action_value")


def test_adult_rats_averse_to_ip_ketamine_but_prefer_low_dose():
    """CALIBRATED by hand (ket_aversion_db50, rat aversion_learn_rate): 3 and 10 mg/kg i.p. are
    aversive (add.age_cpp); 1 mg/kg i.p. (below the aversive range) is not."""
    assert ex.place_preference("ketamine", 3.0, "ip")["preference_s"] < 0
    assert ex.place_preference("ketamine", 10.0, "ip")["preference_s"] < 0
    assert ex.place_preference("ketamine", 1.0, "ip")["preference_s"] > 0


def test_layer_composes_without_optional_layers():
    """The addiction layer alone (no Mg, receptor, HPA): neutral defaults, morphine still works."""
    m = Model.default(("addiction",))
    assert "csf.mg_ionised" not in m.output_names
    from nmdalab.closed_loop import Runner

    r = Runner(m, "rat", drugs=frozenset({"morphine"}))
    assert r.out("addiction.plasticity_gate") == pytest.approx(1.0)  # neutral gate, exactly
    r.dose("morphine", "sc", ex._mg(3.0))
    r.advance(6.0)
    assert r.out("drug_value") > 0


@pytest.fixture(scope="module")
def chronic():
    return ex.chronic_use(days_per_week=4, grams=1.0, weeks=6, abstinence_days=18)


def test_human_chronic_use_tolerance_and_withdrawal_course(chronic):
    """Tolerance develops; withdrawal begins within a day, peaks within days 1-4 and settles
    within ~2 weeks (add.withdrawal.course, memory-grade; time constants CALIBRATED by hand)."""
    assert chronic["tolerance"] > 0.1  # marked tolerance (Jansen 2001: 'high tolerance')
    assert chronic["wd_onset_d"] <= 1.0
    assert 1.0 <= chronic["wd_peak_d"] <= 4.0
    assert chronic["wd_settle_d"] <= 16.0  # two weeks plus slack for a memory-grade row


def test_outputs_bounded(chronic):
    for key in ("dependence", "tolerance", "craving"):
        assert 0.0 <= chronic[key] < 1.0
    wd = np.asarray(chronic["wd"])
    assert np.all((wd >= 0) & (wd < 1))  # withdrawal index is a 0-1 scale
    assert chronic["drug_value"] >= 0


def test_calibrated_parameters_name_existing_calibrated_cases():
    """Provenance: every addiction parameter whose source says ``calibrated: <case>`` names
    validation cases that exist and are marked ``calibrated: true``; and the fitted ones appear in
    scripts/calibrate_addiction.py unless the source says they were set by hand.  (The aversion
    half-maximum was labelled calibrated to a case that never existed.)"""
    import re
    from pathlib import Path

    import yaml

    import nmdalab

    pkg = Path(nmdalab.__file__).parent
    params = yaml.safe_load((pkg / "parameters/human-addiction.yaml").read_text())
    cases = {}
    for f in (pkg / "validation/cases/addiction").glob("*.yaml"):
        c = yaml.safe_load(f.read_text())
        cases[c["id"]] = c
    script = Path(__file__).resolve().parents[1] / "scripts/calibrate_addiction.py"
    script_text = script.read_text() if script.exists() else None
    n_cal = 0
    for name, entry in params.items():
        src = entry["source"]
        if not src.startswith("calibrated:"):
            continue
        n_cal += 1
        head = src[len("calibrated:"):].split("(")[0]
        ids = re.findall(r"addiction\.[\w.]+\w", head)
        assert ids, f"{name}: no case id in {src!r}"
        for cid in ids:
            assert cid in cases, f"{name}: case {cid} does not exist"
            assert cases[cid]["calibrated"] is True, f"{name}: case {cid} is not marked calibrated"
        if script_text is not None and "by hand" not in src:
            assert name in script_text, f"{name}: not fitted by scripts/calibrate_addiction.py"
    assert n_cal >= 5
    # the aversion half-maximum was once labelled calibrated to a case that never existed
    assert "route_dissociation" not in params["addiction.ket_aversion_db50"]["source"]
    # the retired phenomenological Mg exponent must not come back
    assert "addiction.mg_gate_n" not in params


def test_ketamine_reward_is_circuit_dopamine_when_circuit_composed():
    """With the circuit layer composed the ketamine reward is the real NAc dopamine output
    (``circuit.dopamine_nac - 1``, through the one-minute filter, times the attribution factor),
    not the fallback gain; the experiments (and so the calibration and the validation cases)
    compose the circuit, like the full default model."""
    from nmdalab.closed_loop import Runner

    r = Runner(Model.default(("pk", "magnesium", "nmda", "circuit", "addiction")), "rat",
               drugs=frozenset({"ketamine"}))
    r.advance(1.0)
    r.dose("ketamine", "iv_bolus", ex._mg(0.3))
    r.advance(0.5)  # past the brain peak: dopamine changes slowly next to the 1-min filter
    excess = r.out("circuit.dopamine_nac") - 1
    assert excess > 0.01
    d = r.out("nmda.interneuron.drug_blocked")
    from nmdalab.simulate import parameter_set

    attr = d / (d + parameter_set("rat")["addiction.ket_attr_block"].value)
    # 5%: filter lag and tolerance (both small after one infusion)
    assert r.out("addiction.reward") == pytest.approx(excess * attr, rel=0.05)
    for drug in ("ketamine",):
        assert "circuit.dopamine_nac" in ex._model(ex._LAYERS[drug]).output_names
    assert "circuit.dopamine_nac" in ex._model(ex._HUMAN).output_names


def test_endogenous_dopamine_excursions_are_not_learned_as_drug_value():
    """Without ketamine, circadian/stress-driven excursions of circuit dopamine teach nothing
    (the surge would otherwise rectify them into value): HPA + circuit composed, 10 drug-free days."""
    from nmdalab.closed_loop import Runner

    r = Runner(Model.default(("pk", "magnesium", "nmda", "circuit", "hpa", "addiction")), "human",
               drugs=frozenset({"ketamine"}))
    r.advance(240.0)
    assert abs(r.out("drug_value")) < 1e-6


# ------------------------------------------------------------------------------------------
# naloxone-precipitated vs spontaneous morphine withdrawal
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def spontaneous():
    return ex.withdrawal_score(0.0, naloxone=False)


def test_naloxone_unmasks_the_whole_opponent(nechifor2004):
    """Closed form: after naloxone (``addiction.mu_antagonist`` = 1) morphine's reward term is 0,
    so the withdrawal drive ``B * a_on/(a_on + a)`` is the opponent ``B`` itself; ``B`` decays
    with its own time constant (days), so over the 30-min window the signs stay within 1% of ``B``
    at the injection.  And the score is the signs times the grooming read-out."""
    ctl, _ = nechifor2004
    assert ctl["signs"] == pytest.approx(ctl["opponent"], rel=0.01)  # 1%: opponent decay over 30 min
    assert ctl["score"] == pytest.approx(ex.readout("grooming_per_unit") * ctl["signs"], rel=1e-12)


def test_spontaneous_withdrawal_smaller_at_the_test_and_later_than_precipitated(nechifor2004, spontaneous):
    """Known pharmacology: naloxone precipitates withdrawal within minutes while morphine is still
    on board; without it (abstinence, saline challenge) the signs at the same time are smaller,
    and they peak only once morphine has cleared, hours later (morphine's half-life in rats is
    ~1-2 h and the last dose is 90 mg/kg)."""
    precip, _ = nechifor2004
    assert spontaneous["score"] < precip["score"]
    assert spontaneous["peak_h"] > 4.0  # several morphine half-lives after the last dose
    assert spontaneous["opponent"] == pytest.approx(precip["opponent"], rel=1e-9)  # same history


@pytest.mark.xfail(strict=True, reason="known gap: the opponent decays over days (opp_tau 72 h) and the drive has no "
                   "term for how fast the agonist's action falls, so the spontaneous peak (~1.03x) is as large as the "
                   "naloxone-precipitated signs; in rats precipitated withdrawal is the more intense")
def test_spontaneous_withdrawal_peak_smaller_than_precipitated(nechifor2004, spontaneous):
    precip, _ = nechifor2004
    assert spontaneous["peak_signs"] < precip["signs"]


# ------------------------------------------------------------------------------------------
# short vs long access (Ahmed & Koob 1998, data row add.ahmed1998)
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def access():
    from nmdalab.validation import checks_addiction as ck

    return ck.ahmed1998_access(1.0, seeds=3), ck.ahmed1998_access(6.0, seeds=3)


def test_long_access_escalates_and_loads_more_in_the_first_hour(access):
    """Ahmed & Koob 1998 (abstract): with 6-h access intake escalated over days, with increased
    early (first-hour) loading; the first-hour intake of long-access rats exceeded short access in
    most sessions from session 5 on.  Not calibrated.  Pooled over 3 rats (seeds 0-2)."""
    short, long_ = access
    tot = long_["total"]
    # +20%: the criterion of case addiction.ahmed1998.long_access_escalation (no magnitude in the row)
    assert np.mean(tot[-3:]) > 1.2 * tot[0]
    # first hour of the last 3 sessions: long above short (the between-group result)
    assert np.mean(long_["first_hour"][-3:]) > np.mean(short["first_hour"][-3:])
    # the first long session starts from the same acquisition history as short access
    assert long_["first_hour"][0] == pytest.approx(short["first_hour"][0], abs=1e-9)


@pytest.mark.xfail(strict=True, reason="known gap (case addiction.ahmed1998.short_access_stable): tolerance "
                   "(tol_tau 336 h) accumulates across daily 1-h sessions and the homeostatic choice term re-doses "
                   "sooner, so short-access intake also rises (~1.8x over 12 sessions)")
def test_short_access_intake_stays_stable(access):
    """Ahmed & Koob 1998: with 1 h of access intake 'remained low and stable'."""
    short, _ = access
    tot = short["total"]
    assert 0.8 <= np.mean(tot[-3:]) / tot[0] <= 1.25  # the band of the validation case


# ------------------------------------------------------------------------------------------
# the closed-loop virtual user
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def users():
    """Four recreational users (seeds 0-3) and one offered an inert powder, 5 weeks each (~20 s)."""
    return {"ket": [ex.virtual_user(days=35, seed=s) for s in range(4)],
            "placebo": ex.virtual_user(days=35, seed=0, drug="placebo")}


def test_virtual_user_deterministic_given_the_seed(users):
    """Same seed, same choices: a shorter run with seed 0 makes the same first week of decisions
    (choices depend only on the past); different seeds choose differently."""
    assert ex.virtual_user(days=7, seed=0)["sessions"] == users["ket"][0]["sessions"][:7]
    assert ex.virtual_user(days=14, seed=0, drug="placebo")["sessions"] == users["placebo"]["sessions"][:14]
    assert users["ket"][0]["sessions"] != users["ket"][1]["sessions"]


def test_virtual_user_keeps_using_ketamine_and_neuroadapts_but_not_on_placebo(users):
    """Emergent behaviour: ketamine is reinforcing (adult rats self-administer it, add.age_cpp;
    frequent human users, add.morgan2010), an inert powder is not.  After the day-0 offer the
    ketamine users keep using and take many times the placebo user's lines; only the drug
    produces dependence and tolerance."""
    plc = users["placebo"]
    for ket in users["ket"]:
        assert sum(1 for n in ket["sessions"][1:] if n > 0) >= 5  # use does not die out after the offer
        assert sum(plc["sessions"]) < sum(ket["sessions"]) / 3  # placebo use is choice noise alone
        assert ket["dependence"] > 0.05 and ket["tolerance"] > 0.05
    assert plc["dependence"] == pytest.approx(0.0, abs=1e-9) and plc["tolerance"] == pytest.approx(0.0, abs=1e-9)


def test_virtual_user_use_becomes_frequent_and_escalates(users):
    """Use patterns emerge from the choices, not from a script: occasional small sessions become
    frequent use (4+ days a week, data row add.morgan2010) and the amount per session rises as
    tolerance develops (add.hk.dependence: tolerance in most admitted users).  Criteria: at least
    three of four users use on 4+ days in week 5; each of them takes at least twice as many lines
    per use day in week 5 as in their first week with use (a clear escalation, not noise: lines are
    integers of ~1-3 at first); no session reaches the 20-line cap within 5 weeks.  HUMAN_USER's
    set point and session cost were chosen by hand among a few values for this qualitative pattern,
    so this test guards that choice (a regression check), it is not independent evidence."""
    frequent = [u for u in users["ket"] if u["use_days_per_week"][4] >= 4]
    assert len(frequent) >= 3
    for u in frequent:
        s = np.array(u["sessions"])
        weeks = [s[k:k + 7] for k in range(0, 35, 7)]
        first = next(w for w in weeks if (w > 0).any())
        per_day = lambda w: w[w > 0].mean()  # noqa: E731
        assert per_day(weeks[4]) >= 2 * per_day(first)
    assert max(max(u["sessions"]) for u in users["ket"]) < 20


# ------------------------------------------------------------------------------------------
# therapeutic dosing, harms, withdrawal components
# ------------------------------------------------------------------------------------------

def test_therapeutic_dosing_has_lower_abuse_liability_than_recreational_use(chronic):
    """0.5 mg/kg IV over 40 min twice weekly for 4 weeks (~75 mg a week systemically) vs 1 g
    intranasal 4 days a week for 6 weeks (~1.8 g a week systemically at ~45% bioavailability, >20x
    the exposure): clinical courses of repeated infusions report no dependence, frequent users
    commonly become dependent (add.morgan2012, add.hk.dependence).  Factors of 4 (dependence,
    withdrawal) and 2 (tolerance, craving) are far inside the >20x exposure gap."""
    th = ex.therapeutic_liability()
    assert th["dependence"] < chronic["dependence"] / 4
    assert th["withdrawal_peak"] < chronic["wd_peak"] / 4
    assert th["tolerance"] < chronic["tolerance"] / 2
    assert th["craving_peak"] < chronic["craving"] / 1.5


def test_chronic_use_returns_harms_of_the_acute_effects_layer(chronic):
    """Chronic use composes the effects layer: uropathy, liver and cognitive risks are present,
    non-zero after 6 weeks of use (Chan 2022, add.uropathy: dose- and frequency-dependent) and
    below 1."""
    for name in ("harm.uropathy_risk", "harm.liver_injury_risk", "harm.cognitive_impairment_risk"):
        assert 0.0 < chronic[name] < 1.0, name


def test_withdrawal_components_bounded_and_low_mood_outlasts_the_rest(chronic):
    """Anxiety, dysphoria and sleep disruption are 0-1 indices that rise after stopping; low mood
    lasts weeks after the other signs settle (add.withdrawal.course, memory-grade; add.morgan2010:
    depression rose in abstinent users too): 18 days after the last session dysphoria is above
    anxiety and sleep disruption."""
    for key in ("wd_anxiety", "wd_dysphoria", "wd_sleep", "wd_craving"):
        x = np.asarray(chronic[key])
        assert np.all((x > -1e-9) & (x < 1)), key
    for key in ("wd_anxiety", "wd_dysphoria", "wd_sleep"):
        x = np.asarray(chronic[key])
        assert x.max() > 0.1 and x[-1] < x.max(), key  # present during withdrawal, then settling
    assert chronic["wd_dysphoria"][-1] > 2 * max(chronic["wd_anxiety"][-1], chronic["wd_sleep"][-1])
