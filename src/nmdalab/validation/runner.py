"""``nmdalab validate``: every comparison with published data, as data, with a verdict.

Cases live in ``validation/cases/<layer>/*.yaml`` (format: ``validation/README.md``).  Each is
run, compared with its observation by its metric and threshold, and reported in a scorecard
(terminal table and ``validation-report.html``).  The command exits with status 1 when a case
the model was *not* calibrated to fails.
"""

from __future__ import annotations

import html
import importlib
import io
import json
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

LAYER_ORDER = ("pk", "receptor", "magnesium", "circuit", "signalling", "clinical", "hpa", "effects", "addiction")
METRICS = ("fold_error", "abs_difference", "rel_difference", "direction", "inside_interval")


@dataclass
class Case:
    id: str
    layer: str
    title: str
    source: dict
    observed: dict
    metric: str
    threshold: object
    justification: str
    calibrated: bool
    predict: dict
    scenario: dict | None = None
    data_ids: list = field(default_factory=list)
    evidence: str = ""
    quick: bool = False
    path: str = ""


@dataclass
class Outcome:
    case: Case
    predicted: object = None
    score: float | None = None
    passed: bool = False
    error: str | None = None
    seconds: float = 0.0


def load_cases(case_id: str | None = None, layer: str | None = None, quick: bool = False) -> list[Case]:
    """All bundled cases (optionally one id, one layer, or only the quick subset)."""
    root = resources.files(__package__).joinpath("cases")
    cases = []
    for layer_dir in sorted(root.iterdir(), key=lambda p: p.name):
        if not layer_dir.is_dir():
            continue
        for f in sorted(layer_dir.iterdir(), key=lambda p: p.name):
            if not f.name.endswith(".yaml"):
                continue
            raw = yaml.safe_load(f.read_text())
            cases.append(_case(raw, f"{layer_dir.name}/{f.name}"))
    ids = [c.id for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ValueError(f"duplicate validation case ids: {sorted(dup)}")
    if case_id:
        cases = [c for c in cases if c.id == case_id]
        if not cases:
            from ..errors import ScenarioError, did_you_mean

            raise ScenarioError(f"--case: no validation case {case_id!r}.{did_you_mean(case_id, ids)}")
    if layer:
        cases = [c for c in cases if c.layer == layer]
    if quick:
        cases = [c for c in cases if c.quick]
    order = {k: i for i, k in enumerate(LAYER_ORDER)}
    return sorted(cases, key=lambda c: (order.get(c.layer, 99), c.id))


def _case(raw: dict, path: str) -> Case:
    for key in ("id", "layer", "title", "source", "observed", "metric", "threshold", "justification", "calibrated", "predict"):
        if key not in raw:
            raise ValueError(f"validation case {path}: missing '{key}'")
    if raw["metric"] not in METRICS:
        raise ValueError(f"validation case {path}: metric {raw['metric']!r} not in {METRICS}")
    scenario = raw.get("scenario")
    if scenario is None and raw.get("scenario_file"):
        from ..examples import example_path

        scenario = yaml.safe_load(example_path(raw["scenario_file"]).read_text())
    return Case(
        id=raw["id"], layer=raw["layer"], title=raw["title"], source=raw["source"], observed=raw["observed"],
        metric=raw["metric"], threshold=raw["threshold"], justification=raw["justification"],
        calibrated=bool(raw["calibrated"]), predict=raw["predict"], scenario=scenario,
        data_ids=raw.get("data_ids", []), evidence=raw.get("evidence", ""), quick=bool(raw.get("quick", False)), path=path,
    )


def predict(case: Case):
    """The model's prediction for a case: a float or a list of floats."""
    pr = case.predict
    if "python" in pr:
        mod, fn = pr["python"].split(":")
        return getattr(importlib.import_module(mod), fn)(**pr.get("args", {}))
    from .. import simulate

    res = simulate(case.scenario)
    spec = {k: v for k, v in pr.items() if k not in ("arm", "times", "statistic")}
    spec.setdefault("name", case.id)
    stat = pr.get("statistic", "mean")
    reduce = {"mean": np.nanmean, "median": np.nanmedian}[stat]
    if "times" in pr:
        out = []
        for t in pr["times"]:
            vals = res.endpoint_values({**spec, "at": t}, pr["arm"])
            out.append(float(reduce(vals)))
        return out
    return float(reduce(res.endpoint_values(spec, pr["arm"])))


def score(metric: str, predicted, observed, threshold) -> tuple[float, bool]:
    """(metric value, passed) for scalar or list predictions."""
    p = np.atleast_1d(np.asarray(predicted, dtype=float))
    o = np.atleast_1d(np.asarray(observed, dtype=float))
    if p.shape != o.shape:
        raise ValueError(f"predicted has {p.size} values, observed {o.size}")
    if metric == "fold_error":
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.maximum(p / o, o / p)
        f = np.where((p > 0) & (o > 0), f, np.inf)
        s = float(np.max(f))
        return s, s <= float(threshold)
    if metric == "abs_difference":
        s = float(np.max(np.abs(p - o)))
        return s, s <= float(threshold)
    if metric == "rel_difference":
        s = float(np.max(np.abs(p - o) / np.abs(o)))
        return s, s <= float(threshold)
    if metric == "direction":
        agree = np.sign(p) == np.sign(o)
        s = float(np.mean(agree))
        return s, bool(np.all(agree))
    if metric == "inside_interval":
        lo, hi = threshold
        inside = (p >= lo) & (p <= hi)
        s = float(np.mean(inside))
        return s, bool(np.all(inside))
    raise ValueError(metric)


def run_case(case: Case) -> Outcome:
    t0 = time.perf_counter()
    out = Outcome(case)
    try:
        out.predicted = predict(case)
        out.score, out.passed = score(case.metric, out.predicted, case.observed["value"], case.threshold)
    except Exception as exc:  # noqa: BLE001 - a broken case is reported, not fatal to the scorecard
        out.error = f"{type(exc).__name__}: {exc}"
    out.seconds = time.perf_counter() - t0
    return out


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(f"{x:.3g}" for x in v) + "]"
    return f"{v:.4g}"


_SHORT_METRIC = {"fold_error": "fold", "abs_difference": "abs_diff", "rel_difference": "rel_diff",
                 "direction": "direction", "inside_interval": "inside"}


def scorecard(outcomes: list[Outcome]) -> str:
    hdr = f"{'case':44s} {'observed':>22s} {'predicted':>22s} {'metric':>16s} {'thresh':>9s} {'':4s} calibrated"
    lines = [hdr, "-" * len(hdr)]
    for o in outcomes:
        c = o.case
        verdict = "ERR " if o.error else ("pass" if o.passed else "FAIL")
        thr = _fmt(c.threshold) if not isinstance(c.threshold, list) else _fmt(c.threshold)
        # never cut a number: 3.2e-05 cut to 16 characters read as 3.235
        metric = f"{_SHORT_METRIC[c.metric]}={o.score:.3g}" if o.score is not None else c.metric
        lines.append(f"{c.id[:44]:44s} {_fmt(c.observed.get('value'))[:22]:>22s} {_fmt(o.predicted)[:22]:>22s} "
                     f"{metric[:16]:>16s} {thr[:9]:>9s} {verdict} {'yes' if c.calibrated else 'no'}")
        if o.error:
            lines.append(f"    error: {o.error}")
    lines.append("")
    lines.append(layer_summary(outcomes))
    return "\n".join(lines)


def layer_summary(outcomes: list[Outcome]) -> str:
    rows = ["layer        cases  not calibrated  passed  failed"]
    layers = sorted({o.case.layer for o in outcomes}, key=lambda x: LAYER_ORDER.index(x) if x in LAYER_ORDER else 99)
    for layer in layers:
        os_ = [o for o in outcomes if o.case.layer == layer]
        rows.append(f"{layer:12s} {len(os_):5d} {sum(not o.case.calibrated for o in os_):15d} "
                    f"{sum(o.passed for o in os_):7d} {sum(not o.passed for o in os_):7d}")
    n = len(outcomes)
    rows.append(f"{'total':12s} {n:5d} {sum(not o.case.calibrated for o in outcomes):15d} "
                f"{sum(o.passed for o in outcomes):7d} {sum(not o.passed for o in outcomes):7d}")
    return "\n".join(rows)


def _plot(o: Outcome) -> str:
    """Observed vs predicted as an inline PNG (base64)."""
    import base64

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = o.case
    fig, ax = plt.subplots(figsize=(4.2, 2.8), dpi=90)
    obs = np.atleast_1d(np.asarray(c.observed["value"], dtype=float))
    pred = None if o.predicted is None else np.atleast_1d(np.asarray(o.predicted, dtype=float))
    x = c.observed.get("times") or c.predict.get("times")
    if x is not None and len(obs) > 1:
        xs = [str(t) for t in x]
        ax.plot(xs, obs, "o-", color="k", label="observed")
        if pred is not None:
            ax.plot(xs, pred, "s--", color="C1", label="predicted")
        ax.tick_params(axis="x", labelsize=7, rotation=30)
    else:
        ax.bar([0], obs[:1], color="0.6", label="observed", width=0.5)
        if pred is not None:
            ax.bar([0.6], pred[:1], color="C1", label="predicted", width=0.5)
        ax.set_xticks([0, 0.6], ["observed", "predicted"])
    ax.set_ylabel(c.observed.get("unit", ""), fontsize=8)
    ax.set_title(c.id, fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def report_html(outcomes: list[Outcome]) -> str:
    from ..report import DISCLAIMER

    e = html.escape
    rows, blocks = [], []
    for o in outcomes:
        c = o.case
        verdict = "error" if o.error else ("pass" if o.passed else "FAIL")
        cls = "ok" if o.passed else "bad"
        rows.append(f"<tr class='{cls}'><td><a href='#{e(c.id)}'>{e(c.id)}</a></td><td>{e(c.layer)}</td>"
                    f"<td>{e(_fmt(c.observed.get('value')))} {e(c.observed.get('unit', ''))}</td><td>{e(_fmt(o.predicted))}</td>"
                    f"<td>{e(c.metric)} = {e(_fmt(o.score))}</td><td>{e(_fmt(c.threshold))}</td><td>{verdict}</td>"
                    f"<td>{'yes' if c.calibrated else 'no'}</td></tr>")
        src = c.source
        img = _plot(o)
        blocks.append(
            f"<section id='{e(c.id)}'><h3>{e(c.id)}: {e(c.title)} <span class='{cls}'>[{verdict}]</span></h3>"
            f"<p><b>Source:</b> {e(str(src.get('citation', '')))} {('doi:' + e(str(src['doi']))) if src.get('doi') else ''}; "
            f"{e(str(src.get('where', '')))}; digitised: {e(str(src.get('digitised', '')))}. Evidence: {e(c.evidence)}. "
            f"Data rows: {e(', '.join(map(str, c.data_ids)))}.</p>"
            f"<p><b>Threshold:</b> {e(c.metric)} {e(_fmt(c.threshold))}: {e(c.justification)}. "
            f"<b>Calibrated to it:</b> {'yes' if c.calibrated else 'no'}.</p>"
            + (f"<p class='bad'>Error: {e(o.error)}</p>" if o.error else "")
            + f"<img alt='observed vs predicted' src='data:image/png;base64,{img}'></section>"
        )
    summary = e(layer_summary(outcomes))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>nmdalab validation</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;font-size:0.85em}}td,th{{border:1px solid #ccc;padding:2px 6px}}
.ok{{color:#060}}.bad{{color:#b00}}pre{{background:#f6f6f6;padding:0.6em}}.note{{background:#fff6d6;padding:0.6em 1em}}</style>
</head><body><h1>nmdalab validation scorecard</h1><p class="note">{e(DISCLAIMER)}</p>
<h2>By layer</h2><pre>{summary}</pre>
<h2>Cases</h2><table><tr><th>case</th><th>layer</th><th>observed</th><th>predicted</th><th>metric</th><th>threshold</th>
<th>verdict</th><th>calibrated</th></tr>{''.join(rows)}</table>
<h2>Details</h2>{''.join(blocks)}</body></html>"""


def run(case_id=None, layer=None, quick=False, out: Path | None = None, stream=None) -> list[Outcome]:
    stream = stream or sys.stdout
    cases = load_cases(case_id, layer, quick)
    outcomes = []
    tty = stream.isatty()
    for i, c in enumerate(cases, 1):
        if tty:
            stream.write(f"\r[{i}/{len(cases)}] {c.id[:60]:60s}")
            stream.flush()
        outcomes.append(run_case(c))
    if tty:
        stream.write("\r" + " " * 72 + "\r")
    stream.write(scorecard(outcomes) + "\n")
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "validation-report.html").write_text(report_html(outcomes))
        (out / "validation.json").write_text(json.dumps([
            {"id": o.case.id, "layer": o.case.layer, "observed": o.case.observed.get("value"), "predicted": o.predicted,
             "metric": o.case.metric, "score": o.score, "threshold": o.case.threshold, "passed": o.passed,
             "calibrated": o.case.calibrated, "error": o.error} for o in outcomes], indent=1, default=str))
        stream.write(f"wrote {out / 'validation-report.html'}\n")
    return outcomes


def add_validate_parser(sub) -> None:
    v = sub.add_parser("validate", help="run the validation cases against published data and print the scorecard")
    v.add_argument("--case", help="run one case by id")
    v.add_argument("--layer", help=f"run one layer ({', '.join(LAYER_ORDER)})")
    v.add_argument("--quick", action="store_true", help="only the quick subset (what `make test` runs)")
    v.add_argument("--out", "-o", default="results/validation", help="where validation-report.html goes")
    v.add_argument("--list", action="store_true", help="list the cases without running them")
    v.set_defaults(func=cmd_validate)


def cmd_validate(args) -> int:
    if args.list:
        for c in load_cases(args.case, args.layer, args.quick):
            print(f"{c.id:50s} {c.layer:10s} {'calibrated' if c.calibrated else 'independent'}  {c.title}")
        return 0
    outcomes = run(args.case, args.layer, args.quick, Path(args.out))
    bad = [o for o in outcomes if not o.passed and not o.case.calibrated]
    bad_cal = [o for o in outcomes if not o.passed and o.case.calibrated]
    if bad_cal:
        print(f"note: {len(bad_cal)} calibrated case(s) fail: the calibration is not reproduced", file=sys.stderr)
    if bad:
        print(f"{len(bad)} case(s) not used for calibration fail", file=sys.stderr)
        return 1
    return 0
