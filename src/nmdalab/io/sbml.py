"""SBML export (Level 3 Version 2) of the model, one patient's parameters and a regimen.

The SBML math is printed from the same SymPy expressions the engines run (no equation is typed
twice): every state becomes a non-constant ``parameter`` with a ``rateRule`` (its rate
expression plus an input-rate parameter ``u_<state>`` for infusions), initial values that are
expressions of parameters become ``initialAssignment``s, outputs become ``assignmentRule``s.
The regimen becomes events: a bolus adds its amount to the state at its time; an infusion
raises ``u_<state>`` by its rate at its start and lowers it at its end.  Units: each state,
parameter and output carries an SBML unit definition built from the unit string (time in h).

The file is checked with libsbml's consistency checks; :func:`write` raises when an error is
found.  Requires the ``sbml`` extra (``python-libsbml``).
"""

from __future__ import annotations

import re

import numpy as np
import sympy as sp
from sympy.printing.str import StrPrinter

from ..errors import NmdalabError
from ..model.core import Model, _safe
from ..model.core import t as _t
from ..regimen import PatientEvents

_UNIT_KINDS = {"h": ("second", 1, 0, 3600.0), "min": ("second", 1, 0, 60.0), "s": ("second", 1, 0, 1.0),
               "d": ("second", 1, 0, 86400.0),
               "L": ("litre", 1, 0, 1.0), "mL": ("litre", 1, -3, 1.0), "umol": ("mole", 1, -6, 1.0),
               "mmol": ("mole", 1, -3, 1.0), "nmol": ("mole", 1, -9, 1.0), "mol": ("mole", 1, 0, 1.0),
               "ng": ("gram", 1, -9, 1.0), "ug": ("gram", 1, -6, 1.0), "mg": ("gram", 1, -3, 1.0),
               "g": ("gram", 1, 0, 1.0), "kg": ("gram", 1, 3, 1.0),
               "uM": ("mole", 1, -6, 1.0), "mM": ("mole", 1, -3, 1.0), "nM": ("mole", 1, -9, 1.0),
               "mV": ("volt", 1, -3, 1.0)}


class _SBMLPrinter(StrPrinter):
    """SymPy -> SBML L3 infix: ``^`` for powers, ``piecewise(...)``, modulo written out with floor."""

    def _print_Pow(self, expr):
        return f"({self._print(expr.base)})^({self._print(expr.exp)})"

    def _print_Mod(self, expr):  # floor modulo, as np.mod and Python's %
        a, b = (self._print(x) for x in expr.args)
        return f"(({a}) - ({b})*floor(({a})/({b})))"

    def _print_Function(self, expr):  # subclasses of known functions (e.g. a Mod) land here
        if isinstance(expr, sp.Mod):
            return self._print_Mod(expr)
        return super()._print_Function(expr)

    def _print_Piecewise(self, expr):
        parts = []
        for value, cond in expr.args:
            if cond == sp.true:
                parts.append(self._print(value))
            else:
                parts += [self._print(value), self._print(cond)]
        return f"piecewise({', '.join(parts)})"

    def _print_Heaviside(self, expr):
        x = self._print(expr.args[0])
        return f"piecewise(1, ({x}) > 0, 0.5, ({x}) == 0, 0)"

    def _print_And(self, expr):
        return "(" + " && ".join(self._print(a) for a in expr.args) + ")"

    def _print_Or(self, expr):
        return "(" + " || ".join(self._print(a) for a in expr.args) + ")"

    def _print_Float(self, expr):
        return repr(float(expr))


def _math(expr) -> str:
    """SymPy expression -> SBML L3 infix formula."""
    expr = sp.sympify(expr).xreplace({_t: sp.Symbol("time")})
    return _SBMLPrinter().doprint(expr)


def _unit_id(unit: str) -> str:
    return "u_" + re.sub(r"[^A-Za-z0-9]", "_", unit.replace("/", "_per_"))


def _add_unit(doc_model, unit: str, seen: set) -> str | None:
    """A unitDefinition for ``unit`` (products/quotients of known symbols), or None."""
    import libsbml

    if unit in ("1", "", "dimensionless"):
        return "dimensionless"
    uid = _unit_id(unit)
    if uid in seen:
        return uid
    parts = re.split(r"(/|\*)", unit.replace(" ", ""))
    terms, sign = [], 1
    for tok in parts:
        if tok == "/":
            sign = -1
            continue
        if tok == "*":
            continue
        m = re.fullmatch(r"([A-Za-z]+)(?:\^?(-?\d+))?", tok)
        if not m or m.group(1) not in _UNIT_KINDS:
            return None
        kind, _, scale, mult = _UNIT_KINDS[m.group(1)]
        exp = sign * int(m.group(2) or 1)
        terms.append((kind, exp, scale, mult))
        if m.group(1) in ("uM", "mM", "nM"):
            terms.append(("litre", -exp, 0, 1.0))
    ud = doc_model.createUnitDefinition()
    ud.setId(uid)
    for kind, exp, scale, mult in terms:
        u = ud.createUnit()
        u.setKind(libsbml.UnitKind_forName(kind))
        u.setExponent(exp)
        u.setScale(scale)
        u.setMultiplier(mult)
    seen.add(uid)
    return uid


def to_sbml(model: Model, p: np.ndarray, events: PatientEvents | None = None, name: str = "nmdalab") -> str:
    """The SBML document text for ``model`` with parameter values ``p`` (model order) and ``events``."""
    import libsbml

    doc = libsbml.SBMLDocument(3, 2)
    m = doc.createModel()
    m.setId(re.sub(r"[^A-Za-z0-9_]", "_", name) or "nmdalab")
    seen: set = set()
    m.setTimeUnits(_add_unit(m, "h", seen))

    def param(pid, value, constant, unit=None):
        q = m.createParameter()
        q.setId(pid)
        q.setValue(float(value))
        q.setConstant(constant)
        if unit:
            uid = _add_unit(m, unit, seen)
            if uid:
                q.setUnits(uid)
        return q

    for spec, sym, value in zip(model.parameters, model.parameter_symbols, p):
        param(sym.name, value, True, spec.unit)
    used_inputs = set()
    if events is not None:
        used_inputs = {e.index for e in events.infusions}
    for i, (st, sym, rate) in enumerate(zip(model.states, model.state_symbols, model.rates)):
        init = st.initial
        param(sym.name, float(init) if init.is_number else 0.0, False, st.unit)
        if not init.is_number:
            ia = m.createInitialAssignment()
            ia.setSymbol(sym.name)
            ia.setMath(libsbml.parseL3Formula(_math(init)))
        rr = m.createRateRule()
        rr.setVariable(sym.name)
        formula = _math(rate)
        if i in used_inputs:
            uid = f"u_{sym.name}"
            param(uid, 0.0, False)
            formula = f"({formula}) + {uid}"
        ast = libsbml.parseL3Formula(formula)
        if ast is None:
            raise NmdalabError(f"SBML export: cannot write the rate of {st.name}: {libsbml.getLastParseL3Error()}")
        rr.setMath(ast)
    # named intermediates (interface variables, outputs) as assignment rules, in dependency order
    have = {sym.name for sym in model.state_symbols} | {sym.name for sym in model.parameter_symbols}
    units = {_safe(o.name): o.unit for o in model.outputs}
    for sym, expr in getattr(model, "algebraic", []):
        if sym.name in have:
            continue
        param(sym.name, 0.0, False, units.get(sym.name))
        ar = m.createAssignmentRule()
        ar.setVariable(sym.name)
        ar.setMath(libsbml.parseL3Formula(_math(expr)))
        have.add(sym.name)
    for o in model.outputs:
        oid = _safe(o.name)
        if oid in have:
            continue
        param(oid, 0.0, False, o.unit)
        ar = m.createAssignmentRule()
        ar.setVariable(oid)
        ar.setMath(libsbml.parseL3Formula(_math(o.expr)))
        have.add(oid)
    if events is not None:
        k = 0
        for e in events.boluses:
            sym = model.state_symbols[e.index].name
            _event(m, f"bolus_{k}", e.time, [(sym, f"{sym} + {float(e.amount)!r}")])
            k += 1
        for e in events.infusions:
            uid = f"u_{model.state_symbols[e.index].name}"
            rate = float(e.amount / e.duration)
            _event(m, f"infusion_on_{k}", e.time, [(uid, f"{uid} + {rate!r}")])
            _event(m, f"infusion_off_{k}", e.time + e.duration, [(uid, f"{uid} - {rate!r}")])
            k += 1
    return libsbml.writeSBMLToString(doc)


def _event(m, eid, time, assignments):
    import libsbml

    ev = m.createEvent()
    ev.setId(eid)
    ev.setUseValuesFromTriggerTime(True)
    tr = ev.createTrigger()
    tr.setInitialValue(False)  # fires at t = 0 too
    tr.setPersistent(True)
    tr.setMath(libsbml.parseL3Formula(f"time >= {float(time)!r}"))
    for var, formula in assignments:
        ea = ev.createEventAssignment()
        ea.setVariable(var)
        ea.setMath(libsbml.parseL3Formula(formula))


def check(text: str) -> list[str]:
    """libsbml's consistency check: the error and fatal messages (empty when valid)."""
    import libsbml

    doc = libsbml.readSBMLFromString(text)
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, False)  # units: reported, not fatal
    doc.checkConsistency()
    out = []
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        if err.getSeverity() >= libsbml.LIBSBML_SEV_ERROR:
            out.append(err.getMessage().strip())
    return out


def scenario_patient(scenario, arm: str | None = None, model: Model | None = None):
    """(model, p, events) of the typical patient of one arm of a scenario."""
    from .. import load_scenario, population
    from ..model.core import Model as _M
    from ..regimen import dose_events, merge
    from ..scenario import DEFAULT_WEIGHT_KG
    from ..simulate import parameter_set

    sc = scenario if hasattr(scenario, "arms") and hasattr(scenario, "raw") else load_scenario(scenario)
    model = model or _M.default()
    arm = arm or next(iter(sc.arms))
    doses = sc.arms[arm]
    bound = parameter_set(sc.species, {d.drug for d in doses}).bind(model)
    pop = sc.population
    pat = population.sample(arm, 0, 1, pop.seed, False, pop.weight, pop.age, DEFAULT_WEIGHT_KG[sc.species],
                            len(bound.names), bound.omega, pop.serum_mg)[0]
    p = pat.parameters(bound)
    values = dict(zip(bound.names, p))
    ev = merge([dose_events(d, pat.weight_kg, values, model.state_index) for d in doses if d.drug != "placebo"])
    return model, p, ev


def write(path, model: Model, p, events: PatientEvents | None = None, name: str = "nmdalab") -> str:
    """Write the SBML file atomically after libsbml's consistency check; returns the text."""
    from ..results import _atomic

    text = to_sbml(model, p, events, name)
    errors = check(text)
    if errors:
        raise NmdalabError("SBML export failed libsbml's consistency check: " + "; ".join(errors[:3]))

    def _w(tmp):
        with open(tmp, "w") as fh:
            fh.write(text)

    _atomic(path, _w)
    return text


# -- CLI ------------------------------------------------------------------------------------------


def add_export_parser(subparsers) -> None:
    e = subparsers.add_parser("export", help="export the model (and a scenario's regimen) to SBML")
    e.add_argument("format", choices=["sbml"])
    e.add_argument("scenario", nargs="?", help="scenario file: its first arm's typical patient and regimen")
    e.add_argument("--model", action="store_true", help="the model alone with typical human parameters, no regimen")
    e.add_argument("--arm", default=None)
    e.add_argument("-o", "--out", required=True, help="output file (.xml)")
    e.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    from ..model.core import Model as _M
    from ..simulate import parameter_set

    if args.scenario and not args.model:
        model, p, ev = scenario_patient(args.scenario, args.arm)
        name = str(args.scenario)
    else:
        model = _M.default()
        p, ev, name = parameter_set("human").bind(model).typical, None, "nmdalab_model"
    write(args.out, model, p, ev, name=re.sub(r"\W", "_", name.rsplit("/", 1)[-1]))
    print(f"wrote {args.out}")
    return 0
