"""Large virtual trials: ``n`` patients per arm in chunks, written as they finish, resumable.

``run_trial(scenario, n, out_dir)`` splits every arm into chunks of ``chunk_size`` patients
(patients ``i0 .. i1-1``), simulates each chunk (:func:`nmdalab.simulate.simulate_arm`) and writes

* ``chunks/arm<a>-<i0>-<i1>.parquet``: the chunk's time courses (columns ``arm, patient, time_h``
  then the public outputs, the layout of ``timeseries.parquet`` of ``nmdalab run``), with the
  chunk's per-patient endpoint values, covariates and solver status in the file metadata; written
  to a temporary name and renamed (``os.replace``), so a chunk file exists only when complete;
* ``trial.json``: what the trial is (scenario, n, chunk size, model hash), checked on resume;
* ``summary.json`` at the end, in the layout of ``nmdalab run`` (mean and 2.5-97.5th
  percentiles, rates with Wilson intervals, relapse medians), from the per-patient endpoint
  values: the time courses are never held in memory beyond one chunk (per worker).

Patient ``i`` of arm ``a`` is drawn from its own generator ``(seed, a, i)``, so the numbers do
not depend on the chunk size, on the order chunks finish, on resuming, or on the Dask workers
that ran them.  ``resume=True`` skips the chunks already on disk and reads their endpoint values
from their metadata.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .errors import ScenarioError

CHUNK_DIR = "chunks"
_META_KEY = b"nmdalab_chunk"


# ------------------------------------------------------------------------------------------
# one chunk (runs on a worker)
# ------------------------------------------------------------------------------------------

_MODELS: dict = {}
_SCENARIOS: dict = {}


def _canonical_model(model):
    """One model object per model hash in this process, so the compiled model is cached across tasks."""
    from .model.core import Model

    model = model or Model.default()
    return _MODELS.setdefault(model.hash(), model)


def _scenario(raw: dict):
    from .scenario import load_scenario

    key = json.dumps(raw, sort_keys=True, default=str)
    if key not in _SCENARIOS:
        _SCENARIOS[key] = load_scenario(raw)
    return _SCENARIOS[key]


def simulate_chunk(raw: dict, model, arm: str, i0: int, i1: int) -> dict:
    """Patients ``i0 .. i1-1`` of ``arm``: time courses, per-patient endpoint values, status."""
    import pandas as pd
    import xarray as xr

    from .results import Results
    from .simulate import simulate_arm

    sc = _scenario(raw)
    model = _canonical_model(model)
    run = simulate_arm(sc, arm, model, patients=range(i0, i1))
    data = xr.DataArray(run.values[None], dims=("arm", "patient", "time", "variable"),
                        coords={"arm": [arm], "patient": run.index, "time": run.times, "variable": run.variables})
    status = [{"arm": arm, "patient": int(i), "status": st} for i, st in zip(run.index, run.status)]
    specs = [e.model_dump(exclude_none=True) for e in sc.endpoints]
    endpoints = {s["name"]: [] for s in specs}
    # patient by patient: NumPy's reductions over a (patients, times) block may round the last
    # bit differently with the block's shape, and a patient's value must not depend on its chunk
    for k in range(len(run.index)):
        one = Results(data.isel(patient=[k]), run.units, pd.DataFrame(run.covariates[k:k + 1]),
                      pd.DataFrame(status[k:k + 1]), {}, [])
        for spec in specs:
            endpoints[spec["name"]].append(float(np.asarray(one.endpoint_values(spec, arm), dtype=float)[0]))
    return {"arm": arm, "arm_index": run.arm_index, "i0": i0, "i1": i1, "index": run.index.tolist(),
            "values": run.values, "variables": run.variables, "units": run.units, "times": run.times,
            "status": status, "covariates": run.covariates, "endpoints": endpoints, "param_meta": run.param_meta}


# ------------------------------------------------------------------------------------------
# chunk files
# ------------------------------------------------------------------------------------------


def chunk_plan(arms: list[str], n: int, chunk_size: int) -> list[tuple[int, str, int, int]]:
    """``(arm index, arm, i0, i1)`` for every chunk, arm by arm, patients in order."""
    return [(a, arm, i0, min(i0 + chunk_size, n)) for a, arm in enumerate(arms) for i0 in range(0, n, chunk_size)]


def chunk_path(out_dir: Path, a: int, i0: int, i1: int) -> Path:
    return Path(out_dir) / CHUNK_DIR / f"arm{a:02d}-{i0:09d}-{i1:09d}.parquet"


def write_chunk(path: Path, chunk: dict) -> None:
    """The chunk's time courses as Parquet (temporary file, then ``os.replace``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    values = chunk["values"]  # (n_pat, n_times, n_vars)
    n_pat, n_t, n_var = values.shape
    cols = {"arm": pa.array([chunk["arm"]] * (n_pat * n_t), type=pa.string()),
            "patient": pa.array(np.repeat(np.asarray(chunk["index"], dtype=np.int64), n_t)),
            "time_h": pa.array(np.tile(np.asarray(chunk["times"], dtype=float), n_pat))}
    flat = values.reshape(n_pat * n_t, n_var)
    for j, v in enumerate(chunk["variables"]):
        cols[v] = pa.array(np.ascontiguousarray(flat[:, j]))
    table = pa.table(cols)
    meta = {k: chunk[k] for k in ("arm", "arm_index", "i0", "i1", "status", "covariates", "endpoints", "units",
                                  "param_meta")}
    table = table.replace_schema_metadata({_META_KEY: json.dumps(meta, default=float).encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".parquet")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_chunk_meta(path: Path) -> dict:
    """A finished chunk's metadata (endpoint values, status, covariates) without its time courses."""
    import pyarrow.parquet as pq

    return json.loads(pq.read_schema(path).metadata[_META_KEY])


def read_timeseries(out_dir):
    """All chunks of a trial as one table (``arm, patient, time_h``, variables), sorted by arm
    order, patient and time (for small trials and tests: it loads everything)."""
    import pandas as pd
    import pyarrow.parquet as pq

    files = sorted((Path(out_dir) / CHUNK_DIR).glob("arm*.parquet"))
    return pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)


def _write_json(path: Path, obj) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(obj, fh, indent=2)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------------
# the trial
# ------------------------------------------------------------------------------------------


def summarise(name: str, arms: list[str], n: int, specs: list[dict], units: dict, values: dict, status: list) -> dict:
    """``summary.json`` in the layout of :meth:`nmdalab.Results.endpoints` (plus ``failed``)
    from per-patient endpoint values ``values[arm][endpoint]`` (patients in index order)."""
    from .analysis import endpoints as ep_mod
    from .results import Results

    out = {"scenario": name, "arms": {}}
    for arm in arms:
        eps = {}
        for spec in specs:
            vals = np.asarray(values[arm][spec["name"]], dtype=float)
            if spec["kind"] in ep_mod.RATE_KINDS:
                eps[spec["name"]] = ep_mod.summarise_rate(vals)
            elif spec["kind"] == "median_time_to_relapse":
                eps[spec["name"]] = ep_mod.summarise_relapse(vals)
            else:
                eps[spec["name"]] = ep_mod.summarise(vals, ep_mod.unit_of(spec["kind"], units[Results._variable(spec)]))
        out["arms"][arm] = {"n": n, "endpoints": eps}
    failed = [s for s in status if s["status"] != "ok"]
    if failed:
        out["failed"] = failed
    return out


class TrialInterrupted(RuntimeError):
    """Raised by the ``after_chunk`` hook to stop a trial (tests of ``resume``)."""


def run_trial(
    scenario,
    n: int,
    out_dir,
    chunk_size: int = 1000,
    resume: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    model=None,
    processes: bool = True,
    after_chunk: Callable[[Path], None] | None = None,
) -> dict:
    """Run ``n`` patients per arm of ``scenario`` in chunks into ``out_dir``; returns the summary.

    Parameters
    ----------
    scenario : Scenario, dict or path
        Anything :func:`~nmdalab.load_scenario` accepts; its ``population.n`` is replaced by ``n``.
    chunk_size : int
        Patients per chunk file (and per engine call: the batched engine integrates a chunk at once).
    resume : bool
        Keep the chunks already in ``out_dir`` (same trial) and run only the missing ones.
    workers, scheduler
        Run the chunks on Dask: a local cluster of ``workers`` workers (``processes`` false: threads),
        or the cluster whose scheduler listens at ``scheduler`` (``tcp://host:8786``).
    progress : callable(done, total)
        Called with patients done after each chunk.
    model : Model, optional
        Defaults to :meth:`Model.default`.
    after_chunk : callable(path), optional
        Called after each chunk file is written (a hook for tests and monitoring).
    """
    from . import __version__
    from .scenario import Scenario, load_scenario
    from .simulate import parameter_set

    if n < 1 or chunk_size < 1:
        raise ScenarioError("n and chunk_size must be at least 1")
    sc0 = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    raw = json.loads(json.dumps(sc0.raw, default=str))
    raw["population"] = {**raw.get("population", {}), "n": int(n)}
    sc = load_scenario(raw)
    if sc.n != n:
        raise ScenarioError(f"population.variability is false: every patient is the typical one; run n = {sc.n}")
    model = _canonical_model(model)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / CHUNK_DIR).mkdir(exist_ok=True)
    # the parameters each arm will be simulated with (a changed parameter file must not mix into a resumed trial)
    par_hash = {arm: parameter_set(sc.species, {d.drug for d in doses}).hash() for arm, doses in sc.arms.items()}
    key = {"scenario": raw, "n": n, "chunk_size": chunk_size, "model_hash": model.hash(), "parameters_hash": par_hash,
           "nmdalab_version": __version__}
    manifest = out / "trial.json"
    existing = sorted((out / CHUNK_DIR).glob("arm*.parquet"))
    if manifest.exists() and resume:
        old = json.loads(manifest.read_text())
        if {k: old.get(k) for k in key} != key:
            raise ScenarioError(f"{out} holds a different trial (scenario, n, chunk size, model or parameters differ); "
                                "use a new --out directory")
    elif existing:
        raise ScenarioError(f"{out} already holds trial chunks; use --resume to finish it or a new --out directory")
    _write_json(manifest, key)

    arms = list(sc.arms)
    plan = chunk_plan(arms, n, chunk_size)
    todo = [c for c in plan if not chunk_path(out, c[0], c[2], c[3]).exists()]
    total = len(arms) * n
    done = sum(i1 - i0 for _, _, i0, i1 in plan) - sum(i1 - i0 for _, _, i0, i1 in todo)
    t0 = time.perf_counter()

    def finished(chunk: dict) -> None:
        nonlocal done
        path = chunk_path(out, chunk["arm_index"], chunk["i0"], chunk["i1"])
        write_chunk(path, chunk)
        done += chunk["i1"] - chunk["i0"]
        if progress:
            progress(done, total)
        if after_chunk:
            after_chunk(path)

    args = [(arm, i0, i1) for _, arm, i0, i1 in todo]
    if workers or scheduler:
        from .engines import distributed

        with distributed.client(workers=workers, scheduler=scheduler, processes=processes) as c:
            for chunk in distributed.map_chunks(c, simulate_chunk, args, shared=(raw, model)):
                finished(chunk)
    else:
        for a in args:
            finished(simulate_chunk(raw, model, *a))

    # the summary from every chunk's metadata, patients in index order
    specs = [e.model_dump(exclude_none=True) for e in sc.endpoints]
    values = {arm: {s["name"]: [] for s in specs} for arm in arms}
    status, units, param_meta = [], {}, {}
    for a, arm, i0, i1 in plan:
        meta = read_chunk_meta(chunk_path(out, a, i0, i1))
        for s in specs:
            values[arm][s["name"]].extend(meta["endpoints"][s["name"]])
        status.extend(meta["status"])
        units.update(meta["units"])
        param_meta[arm] = meta["param_meta"]
    summary = summarise(sc.name, arms, n, specs, units, values, status)
    _write_json(out / "summary.json", summary)
    wall = time.perf_counter() - t0
    _write_json(manifest, key | {"complete": True, "parameter_sets": param_meta,
                                 "last_run": {"patients": sum(i1 - i0 for _, _, i0, i1 in todo), "wall_s": round(wall, 3)}})
    return summary


# ------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------


def add_trial_parser(sub) -> None:
    t = sub.add_parser("trial", help="a large virtual trial in chunks (Parquet), resumable, optionally on Dask")
    t.add_argument("scenario", help="scenario YAML file or bundled example name")
    t.add_argument("--n", type=int, required=True, help="patients per arm")
    t.add_argument("--out", "-o", required=True, help="output directory (chunks/, summary.json, trial.json)")
    t.add_argument("--chunk-size", type=int, default=1000, help="patients per chunk file (default 1000)")
    t.add_argument("--resume", action="store_true", help="keep finished chunks in --out and run the rest")
    t.add_argument("--workers", type=int, help="run on a local Dask cluster of N worker processes")
    t.add_argument("--threads", action="store_true", help="with --workers: threads instead of processes")
    t.add_argument("--scheduler", help="run on an existing Dask cluster, e.g. tcp://host:8786")
    t.add_argument("--layers", help="compose the model from these layers only, e.g. pk or pk,magnesium "
                   "(default: the full model; outputs of missing layers are absent)")
    t.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary table")
    t.set_defaults(func=cmd_trial)


def cmd_trial(args) -> int:
    from .cli import _print_summary, _Progress, _resolve_scenario
    from .model.core import Model

    path = _resolve_scenario(args.scenario)
    model = Model.default(tuple(x.strip() for x in args.layers.split(",") if x.strip())) if args.layers else None
    summary = run_trial(path, args.n, args.out, chunk_size=args.chunk_size, resume=args.resume,
                        workers=args.workers, scheduler=args.scheduler, processes=not args.threads, model=model,
                        progress=None if args.quiet else _Progress(f"trial {Path(str(path)).stem}"))
    if summary.get("failed"):
        print(f"warning: {len(summary['failed'])} patient(s) failed to solve; see summary.json 'failed'", file=sys.stderr)
    if not args.quiet:
        _print_summary(summary)
    print(f"wrote {Path(args.out) / 'summary.json'}")
    return 0
