"""Plots and the self-contained HTML report of a run.

matplotlib is imported inside the functions, so ``import nmdalab`` stays fast.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np

from .results import Results

DISCLAIMER = ("nmdalab is a research model, not medical advice. Its numbers are model predictions with the "
              "evidence grades listed; they must not guide the treatment of any person.")

#: variables plotted by default when they are non-zero in a run
DEFAULT_PLOTS = ("plasma.ketamine", "plasma.norketamine", "plasma.hnk", "brain.ketamine")


def plot_variables(res: Results) -> list[str]:
    """Variables worth a plot: the defaults and every endpoint variable, if not all zero."""
    wanted = list(DEFAULT_PLOTS) + [e.get("variable") or e.get("scale") for e in res.endpoint_specs
                                    if e.get("variable") or e.get("scale")]
    seen, out = set(), []
    for v in wanted:
        if v in seen or v not in res.variables:
            continue
        seen.add(v)
        if np.nanmax(np.abs(res[v].values)) > 0:
            out.append(v)
    return out


def plot_population(res: Results, variable: str, path: Path | None = None):
    """Median and 90% band (5th-95th percentile) over patients, per arm, against time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    da = res[variable]
    t = res.time
    scale, tunit = (1.0, "h") if t[-1] <= 72 else (1 / 24.0, "d")
    fig, ax = plt.subplots(figsize=(7, 3.8), dpi=110)
    for arm in res.arms:
        v = da.sel(arm=arm).values
        if not np.nanmax(np.abs(v)) > 0:
            continue
        med = np.nanmedian(v, axis=0)
        line, = ax.plot(t * scale, med, label=f"{arm} (median)")
        if v.shape[0] > 1:
            lo, hi = np.nanpercentile(v, [5, 95], axis=0)
            ax.fill_between(t * scale, lo, hi, alpha=0.25, color=line.get_color(), label=f"{arm} 90% band")
    ax.set_xlabel(f"time [{tunit}]")
    ax.set_ylabel(f"{_description(variable)} [{res.units.get(variable, '')}]", fontsize=9)
    ax.set_title(variable)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    data = buf.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def _description(variable: str) -> str:
    """Display name of a model output ('plasma ketamine (S + R)'), or the variable itself."""
    from .model.core import Model

    for o in Model.default().outputs:
        if o.name == variable:
            return o.description[:1].upper() + o.description[1:]
    return variable


def write_outputs(res: Results, out_dir: Path, plots: bool = True) -> dict[str, Path]:
    """Write ``summary.json``, ``timeseries.parquet``, PNG plots and ``report.html`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = res.endpoints()
    failed = res.failed()
    if len(failed):
        summary["failed"] = failed.to_dict(orient="records")
    files = {"summary": out_dir / "summary.json", "timeseries": out_dir / "timeseries.parquet"}
    files["summary"].write_text(json.dumps(summary, indent=2))
    res.to_parquet(files["timeseries"])
    images = {}
    if plots:
        for v in plot_variables(res):
            p = out_dir / f"{v.replace('.', '_')}.png"
            images[v] = plot_population(res, v, p)
            files[v] = p
    files["report"] = out_dir / "report.html"
    files["report"].write_text(report_html(res, summary, images))
    return files


def format_ci(ci95, sep: str = ", ") -> str:
    """An interval as text; a missing bound (e.g. a relapse percentile among censored patients) is
    "not reached", both missing is empty."""
    lo, hi = ci95
    if lo is None and hi is None:
        return ""
    f = lambda x: "not reached" if x is None else f"{x:.4g}"  # noqa: E731
    return f"{f(lo)}{sep}{f(hi)}"


def report_html(res: Results, summary: dict, images: dict[str, bytes]) -> str:
    """A self-contained HTML page (images inline; no external assets)."""
    prov = res.provenance
    e = html.escape
    rows = []
    for arm, a in summary["arms"].items():
        for name, ep in a["endpoints"].items():
            val = "n/a" if ep["value"] is None else f"{ep['value']:.4g}"
            ci = format_ci(ep["ci95"], " - ")
            rows.append(f"<tr><td>{e(arm)}</td><td>{a['n']}</td><td>{e(name)}</td><td>{val}</td>"
                        f"<td>{e(ep['unit'])}</td><td>{ci}</td></tr>")
    figs = "".join(
        f"<figure><img alt='{e(v)}' src='data:image/png;base64,{base64.b64encode(b).decode()}'>"
        f"<figcaption>{e(v)}: median and 5th-95th percentile band over patients, per arm</figcaption></figure>"
        for v, b in images.items()
    )
    cites = sorted({c for meta in prov.get("parameter_sets", {}).values() for c in meta.get("sources", [])})
    cite_html = "".join(f"<li>{e(c)}</li>" for c in sorted(cites))
    failed = summary.get("failed", [])
    fail_html = (f"<p class='warn'>{len(failed)} patient(s) failed to solve; their time courses are missing.</p>"
                 if failed else "")
    scenario_yaml = e(json.dumps(prov.get("scenario", {}), indent=1, default=str))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nmdalab: {e(summary['scenario'])}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}}
table{{border-collapse:collapse;font-size:0.9em}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left}}
figure{{margin:1em 0}}img{{max-width:100%}}.note{{background:#fff6d6;padding:0.6em 1em;border-left:4px solid #e0b400}}
.warn{{color:#a00}}pre{{background:#f6f6f6;padding:0.8em;overflow:auto;font-size:0.8em}}
</style></head><body>
<h1>nmdalab report: {e(summary['scenario'])}</h1>
<p class="note">{e(DISCLAIMER)}</p>
{fail_html}
<h2>Endpoints</h2>
<p>Value: mean over patients; interval: 2.5th-97.5th percentile over patients.</p>
<table><tr><th>arm</th><th>n</th><th>endpoint</th><th>value</th><th>unit</th><th>95% range</th></tr>
{''.join(rows)}</table>
<h2>Time courses</h2>{figs or '<p>(no plots)</p>'}
<h2>Provenance</h2>
<table>
<tr><td>nmdalab</td><td>{e(str(prov.get('nmdalab_version')))}</td></tr>
<tr><td>model hash</td><td>{e(str(prov.get('model_hash')))}</td></tr>
<tr><td>parameter sets</td><td>{e(json.dumps(prov.get('parameter_sets')))}</td></tr>
<tr><td>solver</td><td>{e(json.dumps(prov.get('solver')))}</td></tr>
<tr><td>seed</td><td>{e(str(prov.get('seed')))}</td></tr>
<tr><td>Python / NumPy / SciPy</td><td>{e(str(prov.get('python')))} / {e(str(prov.get('numpy')))} / {e(str(prov.get('scipy')))}</td></tr>
</table>
<h2>Sources of the parameters used</h2><ul style="font-size:0.85em">{cite_html}</ul>
<h2>Scenario</h2><pre>{scenario_yaml}</pre>
</body></html>
"""
