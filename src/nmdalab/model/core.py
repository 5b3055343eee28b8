"""The model layer: states, parameters and rate equations written once, symbolically.

A :class:`Submodel` declares

* **states** (``central``, ``peripheral`` ...) with a unit and an initial value,
* **parameters** it needs, by name and expected unit (values come from a parameter set),
* **inputs**: dotted interface addresses provided by another submodel (``brain.s_ketamine``),
* **outputs**: dotted addresses it provides, as expressions of its states and parameters,
* one **rate** expression per state (``d state / dt``).

:func:`compose` joins submodels into a :class:`Model` by substituting every input with the
output of the submodel that provides it (units must agree).  :meth:`Model.compile` generates
plain NumPy source code for the right-hand side, its Jacobian and the outputs from the single
symbolic definition (SymPy common-subexpression elimination, then NumPy printing), so every
engine and the SBML exporter read the same equations.  Nothing is typed twice.

Internal units are fixed (see :mod:`nmdalab.units`): time h, amount umol, volume L,
concentration uM, magnesium mM, voltage mV.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from ..errors import ModelError
from ..units import same_dimension

#: model time (h), available to every rate expression
t = sp.Symbol("t", real=True)


def _safe(name: str) -> str:
    """A Python identifier for a dotted name (``pk_s.central`` -> ``pk_s__central``)."""
    return name.replace(".", "__")


@dataclass(frozen=True)
class State:
    """A state variable: ``name`` is the full dotted address (``pk_s.central``)."""

    name: str
    unit: str
    description: str
    #: a number, or a SymPy expression of parameters (e.g. a steady state)
    initial: object = 0.0
    #: True when the state is an amount that counts in the mass balance
    amount: bool = False
    #: which conserved quantity it belongs to (e.g. ``ketamine``); None for non-amounts
    balance: str | None = None


@dataclass(frozen=True)
class ParameterSpec:
    """A parameter as a submodel needs it: name and the unit its equations expect."""

    name: str
    unit: str
    description: str


@dataclass(frozen=True)
class Output:
    """A named, dotted interface variable (``plasma.s_ketamine``) with its unit."""

    name: str
    expr: sp.Expr
    unit: str
    description: str
    #: True for variables users see (``nmdalab variables``); False for internal interfaces
    public: bool = True


@dataclass
class Submodel:
    """A layer of the model, declared symbolically.

    Example
    -------
    >>> m = Submodel("demo", "one-compartment bolus")
    >>> a = m.state("central", "umol", "amount in plasma", amount=True, balance="drug")
    >>> k = m.parameter("k", "1/h", "elimination rate constant")
    >>> m.rate(a, -k * a)
    """

    name: str
    description: str = ""
    states: dict[str, State] = field(default_factory=dict)
    parameters: dict[str, ParameterSpec] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)  # address -> unit
    #: value used for an input when no submodel in the composition provides it
    input_defaults: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)
    rates: dict[str, sp.Expr] = field(default_factory=dict)
    symbols: dict[str, sp.Symbol] = field(default_factory=dict)
    #: free-text notes on the layer: evidence grade, structure, assumptions
    notes: str = ""

    def _symbol(self, full: str) -> sp.Symbol:
        if full not in self.symbols:
            self.symbols[full] = sp.Symbol(_safe(full), real=True)
        return self.symbols[full]

    def state(
        self,
        name: str,
        unit: str,
        description: str,
        initial=0.0,
        amount: bool = False,
        balance: str | None = None,
    ) -> sp.Symbol:
        full = f"{self.name}.{name}"
        if full in self.states:
            raise ModelError(f"{self.name}: state '{name}' declared twice")
        self.states[full] = State(full, unit, description, sp.sympify(initial), amount, balance)
        return self._symbol(full)

    def parameter(self, name: str, unit: str, description: str = "") -> sp.Symbol:
        """Declare a parameter (looked up as ``<submodel>.<name>`` in the parameter set)."""
        full = name if "." in name else f"{self.name}.{name}"
        self.parameters[full] = ParameterSpec(full, unit, description)
        return self._symbol(full)

    def input(self, address: str, unit: str, default: float | None = None) -> sp.Symbol:
        """Declare an interface variable provided by another submodel.

        With ``default``, the input is optional: when no submodel in the composition provides
        it, the constant ``default`` is used (e.g. a stress-driven Mg loss factor of 1 when the
        HPA layer is not composed).
        """
        self.inputs[address] = unit
        if default is not None:
            self.input_defaults[address] = float(default)
        return self._symbol(address)

    def output(self, address: str, expr, unit: str, description: str, public: bool = True) -> None:
        if address in self.outputs:
            raise ModelError(f"{self.name}: output '{address}' declared twice")
        self.outputs[address] = Output(address, sp.sympify(expr), unit, description, public)

    def rate(self, state: sp.Symbol, expr) -> None:
        full = next((k for k, s in self.symbols.items() if s == state and k in self.states), None)
        if full is None:
            raise ModelError(f"{self.name}: rate given for an undeclared state {state}")
        self.rates[full] = sp.sympify(expr)


@dataclass(eq=False)
class Model:
    """Composed submodels: one ODE system with named states, parameters and outputs."""

    submodels: list[Submodel]
    states: list[State]
    parameters: list[ParameterSpec]
    rates: list[sp.Expr]  # in the order of ``states``
    outputs: list[Output]  # input references already substituted
    state_symbols: list[sp.Symbol]
    parameter_symbols: list[sp.Symbol]

    @classmethod
    def default(cls, layers: tuple[str, ...] | None = None) -> Model:
        """The full default model (all layers available in this version)."""
        from .registry import default_model

        return default_model(layers)

    # -- lookup helpers ------------------------------------------------------------------
    @property
    def state_names(self) -> list[str]:
        return [s.name for s in self.states]

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.outputs]

    def state_index(self, name: str) -> int:
        try:
            return self.state_names.index(name)
        except ValueError:
            raise ModelError(f"no state '{name}' in the model") from None

    def hash(self) -> str:
        """A hash of the equations (states, rates, outputs), stable across runs."""
        h = hashlib.sha256()
        for s, r in zip(self.states, self.rates):
            h.update(f"{s.name}[{s.unit}]({sp.srepr(s.initial)})={sp.srepr(r)};".encode())
        for o in self.outputs:
            h.update(f"{o.name}[{o.unit}]={sp.srepr(o.expr)};".encode())
        return h.hexdigest()[:16]

    def compile(self) -> CompiledModel:
        return CompiledModel(self)

    def equations(self) -> list[tuple[str, str, str]]:
        """(state, unit, 'd/dt = ...') as text, for ``nmdalab model``."""
        return [(s.name, s.unit, str(r)) for s, r in zip(self.states, self.rates)]


def compose(*submodels: Submodel) -> Model:
    """Join submodels through their named interfaces.

    Every ``input`` of a submodel must be the ``output`` of another (or of itself) with a unit of
    the same dimension *and* the same unit string after conversion (outputs are defined in the unit
    the input expects; a mismatch is a modelling error, not silently converted).
    """
    states: list[State] = []
    params: dict[str, ParameterSpec] = {}
    rates: list[sp.Expr] = []
    outputs: dict[str, Output] = {}
    providers: dict[str, str] = {}
    for m in submodels:
        for name, o in m.outputs.items():
            if name in outputs:
                raise ModelError(f"output '{name}' provided by both {providers[name]} and {m.name}")
            outputs[name] = o
            providers[name] = m.name
    # resolve inputs by substitution (outputs may depend on other outputs: iterate)
    subs: dict[sp.Symbol, sp.Expr] = {}
    for m in submodels:
        for address, unit in m.inputs.items():
            if address not in outputs and address in m.input_defaults:
                subs[sp.Symbol(_safe(address), real=True)] = sp.Float(m.input_defaults[address])
                continue
            if address not in outputs:
                have = ", ".join(sorted(outputs))
                raise ModelError(f"{m.name} needs input '{address}' but no submodel provides it (have: {have})")
            o = outputs[address]
            if not same_dimension(o.unit, unit) or o.unit != unit:
                raise ModelError(
                    f"{m.name} expects '{address}' in {unit}, but {providers[address]} provides {o.unit}"
                )
            subs[sp.Symbol(_safe(address), real=True)] = o.expr
    for _ in range(10):  # outputs referring to outputs: substitute to a fixed point
        changed = False
        for k, v in list(subs.items()):
            nv = v.xreplace(subs)
            if nv != v:
                subs[k] = nv
                changed = True
        if not changed:
            break
    for m in submodels:
        for name, st in m.states.items():
            if name not in m.rates:
                raise ModelError(f"{m.name}: state '{name}' has no rate equation")
            states.append(st)
            rates.append(m.rates[name].xreplace(subs))
        for pname, spec in m.parameters.items():
            if pname in params and params[pname].unit != spec.unit:
                raise ModelError(f"parameter '{pname}' declared with units {params[pname].unit} and {spec.unit}")
            params[pname] = spec
    outs = [Output(o.name, o.expr.xreplace(subs), o.unit, o.description, o.public) for o in outputs.values()]
    state_syms = [sp.Symbol(_safe(s.name), real=True) for s in states]
    par_list = sorted(params.values(), key=lambda p: p.name)
    par_syms = [sp.Symbol(_safe(p.name), real=True) for p in par_list]
    known = set(state_syms) | set(par_syms) | {t}
    for s, r in zip(states, rates):
        unknown = r.free_symbols - known
        if unknown:
            raise ModelError(f"rate of {s.name} uses undeclared symbols {sorted(map(str, unknown))}")
    for s in states:
        unknown = s.initial.free_symbols - set(par_syms)
        if unknown:
            raise ModelError(f"initial value of {s.name} uses symbols that are not parameters: {sorted(map(str, unknown))}")
    for o in outs:
        unknown = o.expr.free_symbols - known
        if unknown:
            raise ModelError(f"output {o.name} uses undeclared symbols {sorted(map(str, unknown))}")
    return Model(list(submodels), states, par_list, rates, outs, state_syms, par_syms)


# ------------------------------------------------------------------------------------------
# code generation
# ------------------------------------------------------------------------------------------


class _Printer(NumPyPrinter):
    """NumPy printer that writes ``numpy.`` as ``np.``."""

    def __init__(self):
        super().__init__({"fully_qualified_modules": False, "inline": True})

    def _module_format(self, fqn, register=True):
        return super()._module_format(fqn, register).replace("numpy.", "np.")


def _generate(
    fname: str,
    model: Model,
    exprs: list[sp.Expr],
    targets: list[str],
    args: str,
    prologue: str,
    result: str,
) -> str:
    """Source of ``def fname(args)`` computing ``exprs`` into ``targets`` with CSE."""
    printer = _Printer()
    lines = [f"def {fname}({args}):"]
    for i, s in enumerate(model.state_symbols if "y" in args.split(", ") else []):
        lines.append(f"    {s.name} = y[{i}]")
    for i, s in enumerate(model.parameter_symbols):
        lines.append(f"    {s.name} = p[{i}]")
    lines.append(prologue)
    nonzero = [(tgt, e) for tgt, e in zip(targets, exprs) if e != 0]
    reps, reduced = sp.cse([e for _, e in nonzero], symbols=sp.numbered_symbols("_c"), optimizations="basic")
    for sym, e in reps:
        lines.append(f"    {sym} = {printer.doprint(e)}")
    for (tgt, _), e in zip(nonzero, reduced):
        lines.append(f"    {tgt} = {printer.doprint(e)}")
    lines.append(f"    return {result}")
    return "\n".join(lines) + "\n"


class CompiledModel:
    """NumPy functions generated from a :class:`Model`.

    * ``rhs(t, y, p, u)``: dy/dt; ``y`` has shape (n_states,) or (n_states, batch), ``p`` the
      matching (n_params,) or (n_params, batch), ``u`` zero-order input rates per state (the
      infusions of the regimen, same shape as ``y``).
    * ``jac(t, y, p)``: d(rhs)/dy, shape (n_states, n_states[, batch]).
    * ``outputs(y, p)``: the outputs, shape (n_outputs, ...) for ``y`` of shape (n_states, ...).
    """

    def __init__(self, model: Model):
        self.model = model
        n = len(model.states)
        self.n_states = n
        jac = sp.Matrix(model.rates).jacobian(sp.Matrix(model.state_symbols))
        self.source_rhs = _generate(
            "rhs",
            model,
            model.rates,
            [f"out[{i}]" for i in range(n)],
            "t, y, p, u",
            "    out = np.array(u, dtype=float, copy=True)",
            "out",
        )
        jac_exprs, jac_targets = [], []
        for i in range(n):
            for j in range(n):
                if jac[i, j] != 0:
                    jac_exprs.append(jac[i, j])
                    jac_targets.append(f"J[{i}, {j}]")
        self.jacobian_sparsity = np.array([[jac[i, j] != 0 for j in range(n)] for i in range(n)], dtype=bool)
        self.source_jac = _generate(
            "jac",
            model,
            jac_exprs,
            jac_targets,
            "t, y, p",
            f"    J = np.zeros(({n}, {n}) + np.shape(y)[1:])",
            "J",
        )
        no = len(model.outputs)
        self.source_outputs = _generate(
            "outputs",
            model,
            [o.expr for o in model.outputs],
            [f"out[{i}]" for i in range(no)],
            "y, p",
            f"    out = np.zeros(({no},) + np.shape(y)[1:])\n    t = 0.0",
            "out",
        )
        self.source_initial = _generate(
            "initial",
            model,
            [s.initial for s in model.states],
            [f"out[{i}]" for i in range(n)],
            "p",
            f"    out = np.zeros(({n},) + np.shape(p)[1:])",
            "out",
        )
        # out starts as the input rates u: the rate expressions are added to it
        self.source_rhs = _as_increment(self.source_rhs)
        namespace: dict = {"np": np}
        exec(compile(self.source_rhs + self.source_jac + self.source_outputs + self.source_initial, f"<nmdalab {model.hash()}>", "exec"), namespace)
        self.rhs: Callable = namespace["rhs"]
        self.jac: Callable = namespace["jac"]
        self.outputs: Callable = namespace["outputs"]
        self.initial: Callable = namespace["initial"]

    @property
    def source(self) -> str:
        """The generated Python source (inspectable; the same code every engine runs)."""
        return "\n".join([self.source_rhs, self.source_jac, self.source_outputs, self.source_initial])


def _as_increment(src: str) -> str:
    """Turn the final assignments ``out[i] = expr`` of the rhs into ``out[i] += expr``."""
    lines = src.splitlines()
    for k, line in enumerate(lines):
        if line.startswith("    out[") and "] = " in line:
            lines[k] = line.replace("] = ", "] += ", 1)
    return "\n".join(lines) + "\n"
