"""The command line: outputs of a run, exit codes, and nothing written on bad input."""

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from nmdalab.cli import main

SMALL = """
name: small
duration: 6 h
output_interval: 10 min
population: {n: 3, seed: 1, weight: {mean: 70 kg, sd: 10 kg}}
arms:
  ketamine:
    regimen: [{drug: ketamine, route: iv_infusion, dose: 0.5 mg/kg, duration: 40 min, at: 0 h}]
  placebo:
    regimen: [{drug: placebo, route: iv_infusion, duration: 40 min, at: 0 h}]
endpoints:
  - {name: cmax, kind: cmax, variable: plasma.ketamine}
  - {name: auc, kind: auc, variable: plasma.ketamine, window: [0 h, 6 h]}
"""


def test_run_writes_summary_parquet_plots_and_report(tmp_path, capsys):
    sc = tmp_path / "s.yaml"
    sc.write_text(SMALL)
    out = tmp_path / "out"
    assert main(["run", str(sc), "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "small"
    e = summary["arms"]["ketamine"]["endpoints"]["cmax"]
    assert set(e) == {"value", "unit", "ci95"} and e["unit"] == "ng/mL"
    assert e["ci95"][0] <= e["value"] <= e["ci95"][1]
    assert summary["arms"]["ketamine"]["n"] == 3
    assert summary["arms"]["placebo"]["endpoints"]["cmax"]["value"] == 0.0
    table = pq.read_table(out / "timeseries.parquet")
    assert b"nmdalab" in table.schema.metadata
    assert {"arm", "patient", "time_h", "plasma.ketamine"} <= set(table.column_names)
    assert (out / "plasma_ketamine.png").stat().st_size > 1000
    html = (out / "report.html").read_text()
    assert "not medical advice" in html and "data:image/png;base64" in html and "Kamp" in html
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")]


@pytest.mark.parametrize(
    "text,fragment",
    [
        (SMALL.replace("drug: ketamine,", "drug: ketamin,"), "Did you mean 'ketamine'"),
        (SMALL.replace("dose: 0.5 mg/kg", "dose: 0.5"), "has no unit"),
        (SMALL.replace("dose: 0.5 mg/kg", "dose: 55 mg/kg"), "above the 50 mg/kg"),
        (SMALL.replace(", duration: 40 min, at: 0 h}]\n  placebo", ", at: 0 h}]\n  placebo"), "needs a duration"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, text, fragment):
    sc = tmp_path / "bad.yaml"
    sc.write_text(text)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "nmdalab.cli", "run", str(sc), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_model_lists_every_parameter_with_unit_and_source(capsys):
    assert main(["model"]) == 0
    text = capsys.readouterr().out
    from nmdalab.model.core import Model

    params = text.split("PARAMETERS")[1].split("OUTPUTS")[0].strip().splitlines()[1:]
    assert len(params) == len(Model.default().parameters)
    for line in params:
        assert "MISSING" not in line, line
        fields = line.split()
        assert len(fields) >= 4, line  # name, value, unit, [grade...] source


def test_every_parameter_has_unit_source_and_grade():
    from nmdalab.model.core import Model
    from nmdalab.simulate import parameter_set

    for species in ("human", "rat"):
        for drug in ("ketamine", "esketamine"):
            ps = parameter_set(species, {drug})
            for spec in Model.default().parameters:
                p = ps[spec.name]
                assert p.unit and len(p.source) > 10 and p.grade in "ABCD", spec.name


def test_variables_and_examples(capsys):
    assert main(["variables"]) == 0
    out = capsys.readouterr().out
    assert "plasma.ketamine" in out and "ng/mL" in out and "brain.ketamine" in out
    assert main(["examples"]) == 0
    out = capsys.readouterr().out
    for name in ("single-infusion", "esketamine-56mg", "oral-ketamine", "rat-10mgkg-ip"):
        assert name in out


def test_model_markdown(capsys):
    assert main(["model", "--markdown", "--drug", "esketamine"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# nmdalab model") and "Perez-Ruixo" in out
