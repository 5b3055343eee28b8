"""Large trials in chunks (nmdalab.trial): resumable, chunk-size and Dask independent.

Truths: ``nmdalab.simulate`` of the same scenario in one call (time courses and the
``summary.json`` of ``nmdalab run``); an uninterrupted trial for the interrupted-then-resumed one;
the single-process trial for the Dask one.  A 6 h infusion scenario on the PK model keeps it fast.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

import nmdalab
from nmdalab import trial
from nmdalab.errors import ScenarioError

N, CHUNK = 6, 2

SCENARIO = {
    "name": "trial-test",
    "duration": "6 h",
    "output_interval": "15 min",
    "population": {"n": 3, "seed": 11, "weight": {"mean": "75 kg", "sd": "12 kg"}},
    "arms": {
        "infusion": {"regimen": [{"drug": "ketamine", "route": "iv_infusion", "dose": "0.5 mg/kg",
                                  "duration": "40 min", "at": "0 h"}]},
        "oral": {"regimen": [{"drug": "ketamine", "route": "oral", "dose": "50 mg", "at": "1 h"}]},
    },
    "endpoints": [
        {"name": "cmax", "kind": "cmax", "variable": "plasma.ketamine"},
        {"name": "tmax", "kind": "tmax", "variable": "plasma.ketamine"},
        {"name": "auc", "kind": "auc", "variable": "plasma.ketamine", "window": ["0 h", "6 h"]},
        {"name": "nk_at_4h", "kind": "value_at", "variable": "plasma.norketamine", "at": "4 h"},
    ],
}


@pytest.fixture(scope="module")
def model():
    return nmdalab.Model.default(("pk",))


@pytest.fixture(scope="module")
def baseline(model, tmp_path_factory):
    out = tmp_path_factory.mktemp("trial") / "full"
    summary = trial.run_trial(SCENARIO, N, out, chunk_size=CHUNK, model=model)
    return out, summary


def _series(out):
    return trial.read_timeseries(out).sort_values(["arm", "patient", "time_h"], kind="stable").reset_index(drop=True)


def _assert_close(a, b, path="summary"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _assert_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-12, abs=0), path
    else:
        assert a == b, path


def _chunks(out):
    return sorted(p.name for p in (out / "chunks").glob("*.parquet"))


def test_trial_equals_one_simulate_call(baseline, model):
    """Chunks of 2 patients give the time courses and the summary of one simulate() of 6 patients."""
    out, summary = baseline
    assert len(_chunks(out)) == 2 * N // CHUNK
    ref = nmdalab.simulate({**SCENARIO, "population": {**SCENARIO["population"], "n": N}}, model=model)
    df = _series(out)
    want = ref.to_dataframe().sort_values(["arm", "patient", "time_h"], kind="stable").reset_index(drop=True)
    assert list(df.columns) == list(want.columns)
    assert (df["arm"] == want["arm"]).all() and (df["patient"].to_numpy() == want["patient"].to_numpy()).all()
    np.testing.assert_array_equal(df[ref.variables].to_numpy(), want[ref.variables].to_numpy())
    # endpoint values are computed patient by patient (chunk-independent); simulate() reduces the
    # whole arm at once, which NumPy may round differently in the last bits
    _assert_close(summary, ref.endpoints())
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))


def test_interrupted_then_resumed_equals_uninterrupted(baseline, model, tmp_path, monkeypatch):
    out_full, summary_full = baseline
    out = tmp_path / "resumed"

    def stop(path):
        raise trial.TrialInterrupted(path.name)

    with pytest.raises(trial.TrialInterrupted):
        trial.run_trial(SCENARIO, N, out, chunk_size=CHUNK, model=model, after_chunk=stop)
    first = _chunks(out)
    assert len(first) == 1 and not (out / "summary.json").exists()
    assert not list((out / "chunks").glob(".tmp-*"))  # no half-written file left behind
    mtime = (out / "chunks" / first[0]).stat().st_mtime_ns

    with pytest.raises(ScenarioError, match="--resume"):
        trial.run_trial(SCENARIO, N, out, chunk_size=CHUNK, model=model)

    ran = []
    real = trial.simulate_chunk
    monkeypatch.setattr(trial, "simulate_chunk", lambda *a: ran.append(a[2:]) or real(*a))
    summary = trial.run_trial(SCENARIO, N, out, chunk_size=CHUNK, model=model, resume=True)
    assert len(ran) == 2 * N // CHUNK - 1 and ("infusion", 0, 2) not in ran  # the finished chunk is not recomputed
    assert (out / "chunks" / first[0]).stat().st_mtime_ns == mtime
    assert _chunks(out) == _chunks(out_full)
    assert summary == summary_full
    assert (out / "summary.json").read_text() == (out_full / "summary.json").read_text()
    a, b = _series(out), _series(out_full)
    assert a.equals(b)


def test_resume_refuses_a_different_trial(baseline, model, tmp_path):
    out = tmp_path / "t"
    trial.run_trial(SCENARIO, 2, out, chunk_size=CHUNK, model=model)
    with pytest.raises(ScenarioError, match="different trial"):
        trial.run_trial(SCENARIO, 4, out, chunk_size=CHUNK, model=model, resume=True)
    # same scenario, but the parameter files changed since the first chunks were written
    manifest = out / "trial.json"
    key = json.loads(manifest.read_text())
    key["parameters_hash"] = {arm: "0" * 16 for arm in key["parameters_hash"]}
    manifest.write_text(json.dumps(key))
    with pytest.raises(ScenarioError, match="parameters differ"):
        trial.run_trial(SCENARIO, 2, out, chunk_size=CHUNK, model=model, resume=True)


def test_chunk_size_does_not_change_the_numbers(baseline, model, tmp_path):
    out_full, summary_full = baseline
    summary = trial.run_trial(SCENARIO, N, tmp_path / "c5", chunk_size=5, model=model)
    assert summary == summary_full
    assert _series(tmp_path / "c5").equals(_series(out_full))


def test_dask_local_cluster_equals_single_process(baseline, model, tmp_path):
    pytest.importorskip("distributed")
    out_full, summary_full = baseline
    out = tmp_path / "dask"
    summary = trial.run_trial(SCENARIO, N, out, chunk_size=CHUNK, model=model, workers=2, processes=False)
    assert summary == summary_full
    assert _chunks(out) == _chunks(out_full)
    assert _series(out).equals(_series(out_full))


def test_cli_trial(tmp_path, capsys):
    from nmdalab.cli import main

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**SCENARIO, "arms": {"oral": SCENARIO["arms"]["oral"]}}))
    out = tmp_path / "cli"
    args = ["trial", str(path), "--n", "3", "--out", str(out), "--chunk-size", "2", "--layers", "pk", "-q"]
    assert main(args) == 0
    assert len(_chunks(out)) == 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["arms"]["oral"]["n"] == 3 and summary["arms"]["oral"]["endpoints"]["cmax"]["value"] > 0
    assert "wrote" in capsys.readouterr().out
    assert main(args) == 2  # chunks exist: --resume or a new directory
    assert main(args + ["--resume"]) == 0


def test_compiled_engine_trial_is_chunk_and_dask_independent(tmp_path):
    """With the compiled engine each patient is integrated by itself: chunks of 2 or 5, and Dask
    thread workers calling the engine concurrently, give exactly one simulate() call's numbers.
    (The model of tests/test_compiled_engine.py, whose Numba compilation the session then shares.)"""
    pytest.importorskip("numba")
    model = nmdalab.Model.default(("pk", "magnesium", "hpa"))
    sc = {**SCENARIO, "solver": {"engine": "compiled", "method": "rosenbrock"}}
    ref = nmdalab.simulate({**sc, "population": {**sc["population"], "n": N}}, model=model)
    want = ref.to_dataframe().sort_values(["arm", "patient", "time_h"], kind="stable").reset_index(drop=True)
    runs = [dict(chunk_size=2), dict(chunk_size=5)]
    try:
        import distributed  # noqa: F401

        runs.append(dict(chunk_size=2, workers=2, processes=False))
    except ImportError:  # pragma: no cover
        pass
    for i, kw in enumerate(runs):
        trial.run_trial(sc, N, tmp_path / f"r{i}", model=model, **kw)
        df = _series(tmp_path / f"r{i}")
        np.testing.assert_array_equal(df[ref.variables].to_numpy(), want[ref.variables].to_numpy(), err_msg=str(kw))
