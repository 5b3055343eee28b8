"""Scenario schema: schedules, and clear errors for bad input."""

import pytest

import nmdalab
from nmdalab import ScenarioError, load_scenario


def base(**arm_item):
    item = {"drug": "ketamine", "route": "iv_infusion", "dose": "0.5 mg/kg", "duration": "40 min", "at": "0 h"}
    item.update(arm_item)
    item = {k: v for k, v in item.items() if v is not None}
    return {"name": "x", "duration": "8 weeks", "arms": {"a": {"regimen": [item]}}}


def times(sc):
    return [t for d in load_scenario(sc).arms["a"] for t in d.times_h]


def test_schedule_twice_weekly_for_four_weeks_then_weekly():
    sc = {"name": "x", "duration": "8 weeks", "arms": {"a": {"regimen": [
        {"drug": "esketamine", "route": "intranasal", "dose": "56 mg", "days": ["mon", "thu"], "weeks": 4},
        {"drug": "esketamine", "route": "intranasal", "dose": "56 mg", "start": "4 weeks", "every": "1 week", "count": 4},
    ]}}}
    got = times(sc)
    want = [24 * (7 * w + d) for w in range(4) for d in (0, 3)] + [24 * 7 * (4 + k) for k in range(4)]
    assert sorted(got) == sorted(want)


def test_schedule_forms_at_list_and_every():
    assert times(base(at=["0 h", "3.5 d", "1 week"])) == [0.0, 84.0, 168.0]
    assert times(base(at=None, start="2 h", every="12 h", count=3)) == [2.0, 14.0, 26.0]
    assert times(base(at=None, days=["wed"], weeks=2, time="9 h")) == [24 * 2 + 9, 24 * 9 + 9]


@pytest.mark.parametrize(
    "change,fragment",
    [
        ({"drug": "ketamin"}, "Did you mean 'ketamine'"),
        ({"route": "iv"}, "allowed: iv_bolus"),
        ({"route": "ip"}, "'ip' is a route for rat, mouse"),
        ({"dose": 35}, "has no unit"),
        ({"dose": "35"}, "has no unit"),
        ({"dose": "35 mL"}, "neither an amount"),
        ({"dose": "-1 mg"}, "must be positive"),
        ({"dose": "60 mg/kg"}, "above the 50 mg/kg"),
        ({"dose": "5 g"}, "above the 50 mg/kg"),
        ({"duration": None}, "needs a duration"),
        ({"duration": "40 kg"}, "wrong dimension"),
        ({"at": "9 weeks"}, "outside the simulated"),
        ({"route": "oral", "duration": "1 h"}, "only an iv_infusion has a duration"),
        ({"doze": "1 mg"}, "unknown field. Did you mean 'dose'"),
    ],
)
def test_bad_dose_items_name_the_field(change, fragment):
    with pytest.raises(ScenarioError) as exc:
        load_scenario(base(**change))
    msg = str(exc.value)
    assert fragment in msg
    assert "arms.a.regimen[0]" in msg


@pytest.mark.parametrize(
    "top,fragment",
    [
        ({"species": "dog"}, "species: 'dog' is not supported"),
        ({"duration": "7"}, "duration: '7' has no unit"),
        ({"output_interval": "0 min"}, "output_interval"),
        ({"population": {"weight": "7000 kg"}}, "population.weight"),
        ({"population": {"diagnosis": "sad"}}, "population.diagnosis"),
        ({"endpoints": [{"name": "c", "kind": "cmax", "variable": "plasma.ketamin"}]}, "Did you mean 'plasma.ketamine'"),
        ({"endpoints": [{"name": "c", "kind": "cmaxx", "variable": "plasma.ketamine"}]}, "Did you mean 'cmax'"),
        ({"endpoints": [{"name": "r", "kind": "response_rate", "scale": "hamd", "at": "24 h"}]}, "'hamd' is not a depression scale"),
    ],
)
def test_bad_top_level_fields(top, fragment):
    sc = base()
    sc.update(top)
    with pytest.raises(ScenarioError, match=None) as exc:
        load_scenario(sc)
    assert fragment in str(exc.value)


def test_malformed_yaml_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\narms: {a: [\n")
    with pytest.raises(ScenarioError, match="not valid YAML at line"):
        load_scenario(p)


def test_missing_file():
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario("no/such/file.yaml")


def test_scenario_error_is_a_value_error():
    assert issubclass(ScenarioError, ValueError) and issubclass(ScenarioError, nmdalab.NmdalabError)


def test_mixing_esketamine_and_racemic_in_one_arm_is_refused():
    sc = {"name": "x", "arms": {"a": {"regimen": [
        {"drug": "esketamine", "route": "intranasal", "dose": "56 mg", "at": "0 h"},
        {"drug": "ketamine", "route": "oral", "dose": "50 mg", "at": "1 h"}]}}}
    with pytest.raises(ScenarioError, match="separate arms"):
        load_scenario(sc)


def test_every_bundled_example_loads():
    for name in nmdalab.examples():
        sc = load_scenario(nmdalab.example_path(name))
        assert sc.arms
