"""The ``nmdalab`` command: one small function per subcommand, all calling the public API.

User errors (bad scenario, unit, drug, route, value) print one line and exit with status 2;
nothing is written.  A solver failure exits with status 3 and names the time and state.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

EXIT_USER = 2
EXIT_SOLVER = 3


def _resolve_scenario(arg: str | None):
    """A scenario path, or the name of a bundled example, or the default example."""
    from .examples import DEFAULT, example_path

    if arg is None:
        return example_path(DEFAULT)
    if os.path.exists(arg):
        return arg
    if not arg.endswith((".yaml", ".yml")) and "/" not in arg:
        return example_path(arg)
    return arg  # load_scenario reports the missing file


class _Progress:
    """A one-line progress bar on stderr (only for runs long enough to need one)."""

    def __init__(self, label: str, stream=sys.stderr):
        self.label, self.stream, self.t0, self.last = label, stream, time.perf_counter(), 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        tty = self.stream.isatty()
        # a bar redrawn in place on a terminal; in a log, a line every 10 s for long runs only
        if total < 20 or (now - self.last < (0.2 if tty else 10.0) and done < total):
            return
        if not tty and now - self.t0 < 10.0:
            return
        self.last = now
        rate = done / max(now - self.t0, 1e-9)
        if not tty:
            self.stream.write(f"{self.label}: {done}/{total} patients, {rate:.0f}/s\n")
            return
        width = 30
        fill = int(width * done / total)
        self.stream.write(f"\r{self.label} [{'#' * fill}{'.' * (width - fill)}] {done}/{total} patients, {rate:.0f}/s")
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def cmd_run(args) -> int:
    from . import load_scenario, simulate
    from .report import write_outputs

    sc = load_scenario(_resolve_scenario(args.scenario))
    res = simulate(sc, progress=None if args.quiet else _Progress(f"{sc.name}"))
    out = Path(args.out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent if out.parent.exists() else None))
    try:
        write_outputs(res, tmp, plots=not args.no_plots)
        out.mkdir(parents=True, exist_ok=True)
        for f in tmp.iterdir():
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    failed = res.failed()
    if len(failed):
        print(f"warning: {len(failed)} patient(s) failed to solve; see summary.json 'failed'", file=sys.stderr)
    summary = json.loads((out / "summary.json").read_text())
    if not args.quiet:
        _print_summary(summary)
    print(f"wrote {out / 'report.html'}")
    return 0


def _print_summary(summary: dict) -> None:
    from .report import format_ci

    for arm, a in summary["arms"].items():
        print(f"{arm} (n={a['n']})")
        for name, e in a["endpoints"].items():
            if e["value"] is None:
                print(f"  {name:28s} (no value)")
                continue
            ci = format_ci(e["ci95"])
            print(f"  {name:28s} {e['value']:10.4g} {e['unit']:10s} [{ci}]" if ci else
                  f"  {name:28s} {e['value']:10.4g} {e['unit']}")


def cmd_model(args) -> int:
    from .docs import model_markdown, model_text

    text = model_markdown(args.species, args.drug) if args.markdown else model_text(args.species, args.drug)
    print(text)
    return 0


def cmd_variables(args) -> int:
    from .model.core import Model

    model = Model.default()
    rows = [o for o in model.outputs if o.public]
    if args.json:
        print(json.dumps([{"name": o.name, "unit": o.unit, "description": o.description} for o in rows], indent=1))
        return 0
    w = max(len(o.name) for o in rows)
    for o in rows:
        print(f"{o.name:{w}s}  {o.unit:8s}  {o.description}")
    return 0


def cmd_examples(args) -> int:
    from .examples import example_path, examples

    if args.name:
        print(example_path(args.name).read_text(), end="")
        return 0
    for name, desc in examples().items():
        print(f"{name:22s} {desc}")
    print("\nrun one with: nmdalab run NAME --out DIR   (show it with: nmdalab examples NAME)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(
        prog="nmdalab",
        description="In-silico laboratory for NMDA-receptor drugs (ketamine, esketamine, arketamine, magnesium). "
        "A research tool, not medical advice.",
    )
    p.add_argument("--version", action="version", version=f"nmdalab {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    r = sub.add_parser("run", help="run a scenario and write summary.json, Parquet, plots and report.html")
    r.add_argument("scenario", nargs="?", help="scenario YAML file or bundled example name (default: single-infusion)")
    r.add_argument("--out", "-o", default="results/run", help="output directory (default: results/run)")
    r.add_argument("--no-plots", action="store_true", help="skip the PNG plots (the report then has none)")
    r.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary table")
    r.set_defaults(func=cmd_run)
    m = sub.add_parser("model", help="states, equations and parameters with units and sources")
    m.add_argument("--species", default="human", choices=["human", "rat", "mouse"])
    m.add_argument("--drug", default="ketamine", help="product whose parameter set to show (ketamine, esketamine, ...)")
    m.add_argument("--markdown", action="store_true", help="Markdown (for docs/model.md)")
    m.set_defaults(func=cmd_model)
    v = sub.add_parser("variables", help="output variables with units")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_variables)
    e = sub.add_parser("examples", help="list bundled example scenarios, or print one")
    e.add_argument("name", nargs="?")
    e.set_defaults(func=cmd_examples)
    _add_optional_commands(sub)
    return p


def _add_optional_commands(sub) -> None:
    """Subcommands that live in their own modules (validation, trials, export)."""
    from .validation.runner import add_validate_parser

    add_validate_parser(sub)
    for module, fn in (("nmdalab.trial", "add_trial_parser"), ("nmdalab.io.sbml", "add_export_parser")):
        try:
            mod = __import__(module, fromlist=[fn])
        except ImportError:
            continue
        if hasattr(mod, fn):
            getattr(mod, fn)(sub)


def main(argv: list[str] | None = None) -> int:
    from .errors import NmdalabError, ScenarioError, SolverError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER
    try:
        return int(args.func(args) or 0)
    except ScenarioError as exc:
        print(f"nmdalab: error: {exc}", file=sys.stderr)
        return EXIT_USER
    except SolverError as exc:
        print(f"nmdalab: solver failure: {exc}", file=sys.stderr)
        return EXIT_SOLVER
    except NmdalabError as exc:
        print(f"nmdalab: error: {exc}", file=sys.stderr)
        return EXIT_USER
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
