"""The quick subset of the validation suite (the full suite is `make validate`)."""

import pytest

from nmdalab.validation import runner

QUICK = runner.load_cases(quick=True)


def test_cases_are_well_formed():
    cases = runner.load_cases()
    assert len(cases) >= 25
    for c in cases:
        assert c.source.get("citation"), c.id
        assert c.justification, c.id
        assert c.layer in runner.LAYER_ORDER, c.id


@pytest.mark.parametrize("case", QUICK, ids=[c.id for c in QUICK])
def test_quick_case_passes(case):
    out = runner.run_case(case)
    assert out.error is None, out.error
    assert out.passed, f"{case.id}: predicted {out.predicted}, observed {case.observed['value']}, {case.metric}={out.score}"


def test_scores():
    assert runner.score("fold_error", 150, 100, 1.5) == (1.5, True)
    assert runner.score("fold_error", 50, 100, 1.5) == (2.0, False)
    assert runner.score("abs_difference", [1, 5], [2, 2], 2.0) == (3.0, False)
    assert runner.score("direction", [0.3, -0.1], [1, -1], None) == (1.0, True)
    assert runner.score("inside_interval", 3, 0, [2, 4]) == (1.0, True)


def test_validate_command_writes_report(tmp_path, capsys):
    from nmdalab.cli import main

    rc = main(["validate", "--case", "pk.racemic.iv.end_of_infusion", "--out", str(tmp_path)])
    assert rc == 0
    assert "pk.racemic.iv.end_of_infusion" in capsys.readouterr().out
    assert "observed vs predicted" in (tmp_path / "validation-report.html").read_text()
