"""The model layer: states, parameters and rate equations written once, symbolically.

A :class:`Submodel` declares

* **states** (``central``, ``peripheral`` ...) with a unit and an initial value (an expression of
  parameters, or of inputs: a state may start *at* another layer's output, resolved at composition
  from the providing layer's own initial states; e.g. a set point that starts adapted),
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
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from ..errors import ModelError
from ..units import same_dimension

#: model time (h), available to every rate expression
t = sp.Symbol("t")


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
            self.symbols[full] = sp.Symbol(_safe(full))
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
    """Composed submodels: one ODE system with named states, parameters and outputs.

    Interface variables are kept as named intermediates rather than substituted into each other:
    ``algebraic`` lists ``(symbol, expression)`` in dependency order (every output, plus the
    constant defaults of optional inputs nobody provides), and ``rates`` refer to those symbols.
    The generated code computes them in that order, and the Jacobian follows the chain rule
    through them, so deep chains of layers (PK -> receptor -> circuit -> plasticity -> mood) do
    not blow up symbolically.
    """

    submodels: list[Submodel]
    states: list[State]
    parameters: list[ParameterSpec]
    rates: list[sp.Expr]  # in the order of ``states``; may refer to algebraic symbols
    outputs: list[Output]  # expressions refer to states, parameters, t and algebraic symbols
    state_symbols: list[sp.Symbol]
    parameter_symbols: list[sp.Symbol]
    algebraic: list[tuple[sp.Symbol, sp.Expr]] = field(default_factory=list)

    @classmethod
    def default(cls, layers: tuple[str, ...] | None = None) -> Model:
        """The full default model (all layers available in this version)."""
        from .registry import default_model

        return default_model(None if layers is None else tuple(layers))

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

    @property
    def uses_time(self) -> bool:
        """True when a rate depends on model time, directly or through an intermediate."""
        return any(t in e.free_symbols for e in self.rates) or any(t in e.free_symbols for _, e in self.algebraic)

    def state_index(self, name: str) -> int:
        try:
            return self.state_names.index(name)
        except ValueError:
            raise ModelError(f"no state '{name}' in the model") from None

    def expand(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with every intermediate substituted (states, parameters and t only).

        Fine for small models and for exporters that need closed expressions; the generated
        code never does this."""
        for sym, e in reversed(self.algebraic):
            expr = expr.xreplace({sym: e})
        return expr

    def hash(self) -> str:
        """A hash of the equations (states, rates, intermediates), stable across runs."""
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = self.__dict__["_hash"] = self._compute_hash()
        return cached

    def _compute_hash(self) -> str:
        h = hashlib.sha256()
        for s, r in zip(self.states, self.rates):
            h.update(f"{s.name}[{s.unit}]({sp.srepr(s.initial)})={sp.srepr(r)};".encode())
        for sym, e in self.algebraic:
            h.update(f"{sym}={sp.srepr(e)};".encode())
        for o in self.outputs:
            h.update(f"{o.name}[{o.unit}];".encode())
        return h.hexdigest()[:16]

    def compile(self) -> CompiledModel:
        return CompiledModel(self)

    def equations(self) -> list[tuple[str, str, str]]:
        """(state, unit, 'd/dt = ...') as text, for ``nmdalab model``."""
        return [(s.name, s.unit, str(r)) for s, r in zip(self.states, self.rates)]


def compose(*submodels: Submodel) -> Model:
    """Join submodels through their named interfaces.

    Every ``input`` of a submodel must be the ``output`` of another (or of itself) in the same
    unit (outputs are defined in the unit the input expects; a mismatch is a modelling error, not
    silently converted), or an optional input with a default.  An algebraic loop (outputs that
    depend on each other in a cycle) is an error.
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
    defaults: dict[sp.Symbol, sp.Expr] = {}
    for m in submodels:
        for address, unit in m.inputs.items():
            if address not in outputs and address in m.input_defaults:
                defaults[sp.Symbol(_safe(address))] = sp.Float(m.input_defaults[address])
                continue
            if address not in outputs:
                have = ", ".join(sorted(outputs))
                raise ModelError(f"{m.name} needs input '{address}' but no submodel provides it (have: {have})")
            o = outputs[address]
            if not same_dimension(o.unit, unit) or o.unit != unit:
                raise ModelError(f"{m.name} expects '{address}' in {unit}, but {providers[address]} provides {o.unit}")
    for m in submodels:
        for name, st in m.states.items():
            if name not in m.rates:
                raise ModelError(f"{m.name}: state '{name}' has no rate equation")
            states.append(st)
            rates.append(m.rates[name])
        for pname, spec in m.parameters.items():
            if pname in params and params[pname].unit != spec.unit:
                raise ModelError(f"parameter '{pname}' declared with units {params[pname].unit} and {spec.unit}")
            params[pname] = spec
    state_syms = [sp.Symbol(_safe(s.name)) for s in states]
    alg: dict[sp.Symbol, sp.Expr] = dict(defaults)
    for o in outputs.values():
        sym = sp.Symbol(_safe(o.name))
        if sym in state_syms:  # an output that publishes a state under the state's own name
            if o.expr != sym:
                raise ModelError(f"output '{o.name}' has the name of a state but a different expression")
            continue
        alg[sym] = o.expr
    order = _topological(alg)
    outs = list(outputs.values())
    par_list = sorted(params.values(), key=lambda p: p.name)
    par_syms = [sp.Symbol(_safe(p.name)) for p in par_list]
    known = set(state_syms) | set(par_syms) | {t} | set(alg)
    for s, r in zip(states, rates):
        unknown = r.free_symbols - known
        if unknown:
            raise ModelError(f"rate of {s.name} uses undeclared symbols {sorted(map(str, unknown))}")
    states = _resolve_initials(states, state_syms, alg, set(par_syms))
    for sym, e in alg.items():
        unknown = e.free_symbols - known
        if unknown:
            raise ModelError(f"output {sym} uses undeclared symbols {sorted(map(str, unknown))}")
    return Model(list(submodels), states, par_list, rates, outs, state_syms, par_syms, [(s, alg[s]) for s in order])


def _resolve_initials(states: list[State], state_syms: list[sp.Symbol], alg: dict[sp.Symbol, sp.Expr],
                      par_syms: set[sp.Symbol]) -> list[State]:
    """States whose initial value uses inputs get it as an expression of parameters only.

    Every input (output of another layer) is replaced by its defining expression, every state in it
    by that state's own (resolved) initial value, and time by 0: the state starts at the value its
    input has at t = 0.  Circular initial values and symbols that are neither parameters nor
    resolvable are errors.
    """
    by_sym = dict(zip(state_syms, states))
    done: dict[sp.Symbol, sp.Expr] = {}

    def resolve(sym: sp.Symbol, path: tuple) -> sp.Expr:
        if sym in done:
            return done[sym]
        if sym in path:
            cyc = " -> ".join(by_sym[x].name for x in [*path, sym])
            raise ModelError(f"circular initial values: {cyc}")
        e = by_sym[sym].initial
        for _ in range(len(alg) + 1):  # inline outputs until only states and parameters are left
            inner = e.free_symbols & alg.keys()
            if not inner:
                break
            e = e.xreplace({a: alg[a] for a in inner})
        e = e.xreplace({x: resolve(x, (*path, sym)) for x in e.free_symbols & by_sym.keys()}).xreplace({t: 0})
        unknown = e.free_symbols - par_syms
        if unknown:
            raise ModelError(f"initial value of {by_sym[sym].name} uses symbols that are not parameters: "
                             f"{sorted(map(str, unknown))}")
        done[sym] = e
        return e

    out = []
    for sym, st in zip(state_syms, states):
        e = resolve(sym, ())
        out.append(st if e == st.initial else replace(st, initial=e))
    return out


def _topological(alg: dict[sp.Symbol, sp.Expr]) -> list[sp.Symbol]:
    """Intermediates in an order where each comes after those it uses; cycles are errors."""
    deps = {s: e.free_symbols & alg.keys() for s, e in alg.items()}
    order, done, visiting = [], set(), set()

    def visit(s, path):
        if s in done:
            return
        if s in visiting:
            cyc = " -> ".join(str(x).replace("__", ".") for x in [*path, s])
            raise ModelError(f"algebraic loop between outputs: {cyc}")
        visiting.add(s)
        for d in sorted(deps[s], key=str):
            visit(d, [*path, s])
        visiting.discard(s)
        done.add(s)
        order.append(s)

    for s in sorted(alg, key=str):
        visit(s, [])
    return order


# ------------------------------------------------------------------------------------------
# code generation
# ------------------------------------------------------------------------------------------


class _Printer(NumPyPrinter):
    """NumPy printer that writes ``numpy.`` as ``np.``."""

    def __init__(self):
        super().__init__({"fully_qualified_modules": True, "inline": True})

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
    partials: list[tuple[sp.Symbol, sp.Expr]] | None = None,
    chain: list[tuple[sp.Symbol, sp.Expr]] | None = None,
) -> str:
    """Source of ``def fname(args)`` computing ``exprs`` into ``targets``.

    Order: the intermediates the expressions need (dependency order, each with its own common
    subexpressions factored), then ``partials`` (Jacobian partial derivatives; CSE across all of
    them), then ``chain`` (chain-rule accumulations, printed as they are), then the final
    expressions (CSE across them)."""
    printer = _Printer()
    lines = [f"def {fname}({args}):"]
    has_y = "y" in args.split(", ")
    for i, s in enumerate(model.state_symbols if has_y else []):
        lines.append(f"    {s.name} = y[{i}]")
    for i, s in enumerate(model.parameter_symbols):
        lines.append(f"    {s.name} = p[{i}]")
    lines.append(prologue)
    nonzero = [(tgt, e) for tgt, e in zip(targets, exprs) if e != 0]
    partials, chain = partials or [], chain or []
    needed = set().union(*(e.free_symbols for _, e in nonzero), *(e.free_symbols for _, e in partials),
                         *(e.free_symbols for _, e in chain))
    alg = dict(model.algebraic)
    closure = set()
    for sym, _ in reversed(model.algebraic):  # reverse dependency order: users before used
        if sym in needed or sym in closure:
            closure.add(sym)
            closure |= alg[sym].free_symbols & alg.keys()
    for k, (sym, e) in enumerate(model.algebraic):
        if sym in closure:
            reps, (red,) = sp.cse([e], symbols=sp.numbered_symbols(f"_a{k}_"), optimizations=None)
            lines += [f"    {r} = {printer.doprint(x)}" for r, x in reps]
            lines.append(f"    {sym.name} = {printer.doprint(red)}")
    if partials:
        reps, reduced = sp.cse([e for _, e in partials], symbols=sp.numbered_symbols("_b"), optimizations=None)
        lines += [f"    {r} = {printer.doprint(x)}" for r, x in reps]
        lines += [f"    {sym.name} = {printer.doprint(x)}" for (sym, _), x in zip(partials, reduced)]
    lines += [f"    {sym.name} = {printer.doprint(e)}" for sym, e in chain]
    reps, reduced = sp.cse([e for _, e in nonzero], symbols=sp.numbered_symbols("_c"), optimizations=None)
    for sym, e in reps:
        lines.append(f"    {sym} = {printer.doprint(e)}")
    for (tgt, _), e in zip(nonzero, reduced):
        lines.append(f"    {tgt} = {printer.doprint(e)}")
    lines.append(f"    return {result}")
    return "\n".join(lines) + "\n"


def _chain_rule_jacobian(model: Model):
    """Jacobian entries d(rate_i)/d(y_j) via the chain rule through the intermediates.

    For each intermediate a_k (in dependency order) its partial derivatives with respect to the
    intermediates it uses are generated once, ``P[k, l] = d expr_k / d a_l``; then for each state
    y_j it depends on, ``D[k, j] = d expr_k/d y_j + sum_l P[k, l] * D[l, j]``; finally
    ``J[i, j] = d rate_i/d y_j + sum_l (d rate_i/d a_l) * D[l, j]``.  Every derivative is of one
    small expression with the intermediates held as symbols, and each is printed once.
    Returns (entries {(i, j): expr}, partial assignments, chain assignments), the assignments
    each in evaluation order (partials only refer to states, parameters and intermediates).
    """
    ys = model.state_symbols
    yset = set(ys)
    alg = dict(model.algebraic)
    dep_states: dict[sp.Symbol, set] = {}
    D: dict[tuple[sp.Symbol, sp.Symbol], sp.Expr] = {}
    assigns: list[tuple[sp.Symbol, sp.Expr]] = []  # chain-rule accumulations D[k, j]
    part_assigns: list[tuple[sp.Symbol, sp.Expr]] = []  # partial derivatives P[k, l]
    counter = iter(range(10**9))

    def partials(e, uses, prefix):
        out = {}
        for u in sorted(uses, key=str):
            d = sp.diff(e, u)
            if d == 0:
                continue
            if d.is_Atom:
                out[u] = d
            else:
                sym = sp.Symbol(f"_{prefix}{next(counter)}")
                part_assigns.append((sym, d))
                out[u] = sym
        return out

    for k, (sym, e) in enumerate(model.algebraic):
        direct = e.free_symbols
        uses = direct & alg.keys()
        states = (direct & yset).union(*(dep_states[u] for u in uses))
        dep_states[sym] = states
        part = partials(e, [u for u in uses if dep_states[u]], "p")
        for y in sorted(states, key=str):
            d = sp.diff(e, y) if y in direct else sp.Integer(0)
            for u, pu in part.items():
                if (u, y) in D:
                    d = d + pu * D[(u, y)]
            if d == 0:
                continue
            if d.is_Atom:
                D[(sym, y)] = d
            else:
                dsym = sp.Symbol(f"_d{k}_{ys.index(y)}")
                assigns.append((dsym, d))
                D[(sym, y)] = dsym
    entries = {}
    for i, r in enumerate(model.rates):
        direct = r.free_symbols
        uses = direct & alg.keys()
        cols = (direct & yset).union(*(dep_states[u] for u in uses))
        part = partials(r, [u for u in uses if dep_states[u]], "q")
        for y in cols:
            d = sp.diff(r, y) if y in direct else sp.Integer(0)
            for u, pu in part.items():
                if (u, y) in D:
                    d = d + pu * D[(u, y)]
            if d != 0:
                entries[(i, ys.index(y))] = d
    return entries, part_assigns, assigns


class CompiledModel:
    """NumPy functions generated from a :class:`Model`.

    * ``rhs(t, y, p, u)``: dy/dt; ``y`` has shape (n_states,) or (n_states, batch), ``p`` the
      matching (n_params,) or (n_params, batch), ``u`` zero-order input rates per state (the
      infusions of the regimen, same shape as ``y``).
    * ``jac(t, y, p)``: d(rhs)/dy, shape (n_states, n_states[, batch]).
    * ``outputs(y, p, t=0.0)``: the outputs, shape (n_outputs, ...) for ``y`` of shape (n_states, ...).
    * ``initial(p)``: initial state.
    """

    def __init__(self, model: Model):
        self.model = model
        n = len(model.states)
        self.n_states = n
        cached = _cache_load(model)
        if cached is None:
            self._generate_sources(model)
            _cache_store(model, self)
        else:
            self.source_rhs, self.source_jac, self.source_outputs, self.source_initial, sparsity = cached
            self.jacobian_sparsity = np.array(sparsity, dtype=bool).reshape(n, n)
        namespace: dict = {"np": np}
        code = self.source_rhs + self.source_jac + self.source_outputs + self.source_initial
        exec(compile(code, f"<nmdalab {model.hash()}>", "exec"), namespace)
        self.rhs: Callable = namespace["rhs"]
        self.jac: Callable = namespace["jac"]
        self.outputs: Callable = namespace["outputs"]
        self.initial: Callable = namespace["initial"]

    def _generate_sources(self, model: Model) -> None:
        n = self.n_states
        self.source_rhs = _generate(
            "rhs", model, model.rates, [f"out[{i}]" for i in range(n)], "t, y, p, u",
            "    out = np.array(u, dtype=float, copy=True)", "out",
        )
        entries, partials, chain = _chain_rule_jacobian(model)
        keys = sorted(entries)
        self.jacobian_sparsity = np.zeros((n, n), dtype=bool)
        for i, j in keys:
            self.jacobian_sparsity[i, j] = True
        self.source_jac = _generate(
            "jac", model, [entries[k] for k in keys], [f"J[{i}, {j}]" for i, j in keys], "t, y, p",
            f"    J = np.zeros(({n}, {n}) + np.shape(y)[1:])", "J", partials=partials, chain=chain,
        )
        no = len(model.outputs)
        self.source_outputs = _generate(
            "outputs", model, [sp.Symbol(_safe(o.name)) for o in model.outputs],
            [f"out[{i}]" for i in range(no)], "y, p, t=0.0",
            f"    out = np.zeros(({no},) + np.shape(y)[1:])", "out",
        )
        self.source_initial = _generate(
            "initial", model, [s.initial for s in model.states], [f"out[{i}]" for i in range(n)], "p",
            f"    out = np.zeros(({n},) + np.shape(p)[1:])", "out",
        )
        # out starts as the input rates u: the rate expressions are added to it
        self.source_rhs = _as_increment(self.source_rhs)

    @property
    def source(self) -> str:
        """The generated Python source (inspectable; the same code every engine runs)."""
        return "\n".join([self.source_rhs, self.source_jac, self.source_outputs, self.source_initial])


def _cache_dir() -> str | None:
    """Where generated code is cached: ``$NMDALAB_CACHE_DIR``, else ``~/.cache/nmdalab``
    (``NMDALAB_CACHE_DIR=off`` disables the cache)."""
    d = os.environ.get("NMDALAB_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "nmdalab")
    return None if d.lower() in ("off", "0", "none") else d


def _cache_key(model: Model) -> str:
    from .. import __version__

    return f"{model.hash()}-{__version__}-sympy{sp.__version__}"


def _cache_load(model: Model):
    """Generated sources for this exact model (the key hashes every equation), or None."""
    d = _cache_dir()
    if d is None:
        return None
    path = os.path.join(d, f"model-{_cache_key(model)}.json")
    try:
        with open(path) as fh:
            data = json.load(fh)
        return data["rhs"], data["jac"], data["outputs"], data["initial"], data["sparsity"]
    except (OSError, ValueError, KeyError):
        return None


def _cache_store(model: Model, cm: CompiledModel) -> None:
    d = _cache_dir()
    if d is None:
        return
    try:
        os.makedirs(d, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump({"rhs": cm.source_rhs, "jac": cm.source_jac, "outputs": cm.source_outputs,
                       "initial": cm.source_initial, "sparsity": cm.jacobian_sparsity.ravel().tolist()}, fh)
        os.replace(tmp, os.path.join(d, f"model-{_cache_key(model)}.json"))
    except OSError:  # a read-only home is no reason to fail: generate again next time
        pass


def _as_increment(src: str) -> str:
    """Turn the final assignments ``out[i] = expr`` of the rhs into ``out[i] += expr``."""
    lines = src.splitlines()
    for k, line in enumerate(lines):
        if line.startswith("    out[") and "] = " in line:
            lines[k] = line.replace("] = ", "] += ", 1)
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------
# scalar source for compiled engines (Numba)
# ------------------------------------------------------------------------------------------

#: NumPy functions of the generated source with their scalar stand-ins (defined by
#: :func:`numba_source`); any other ``np.f`` is bound to ``numpy.f`` itself (a ufunc, which Numba
#: compiles for scalars)
_SCALAR_HELPERS = {
    "where": "def _np_where(c, a, b):\n    return a if c else b\n",
    "maximum": "def _np_maximum(a, b):\n    if a != a or b != b:\n        return a + b\n    return a if a >= b else b\n",
    "minimum": "def _np_minimum(a, b):\n    if a != a or b != b:\n        return a + b\n    return a if a <= b else b\n",
    "heaviside": ("def _np_heaviside(x, h0):\n    if x != x:\n        return x\n    if x < 0:\n        return 0.0\n"
                  "    if x == 0:\n        return h0\n    return 1.0\n"),
    "mod": "def _np_mod(a, b):\n    return np.mod(a, b)\n",
}


def numba_source(cm: CompiledModel, decorator: str = "@njit({sig}cache=_CACHE, error_model='numpy')") -> str:
    """Scalar per-patient versions of the generated ``rhs`` and ``jac`` for Numba.

    The statements are exactly those of the NumPy source (same common subexpressions, same
    order), turned into functions that write into preallocated arrays of one patient:

    * ``rhs(t, y, p, u, out)``: ``out[:] = u + dy/dt`` for ``y`` (n_states,), ``p`` (n_params,);
    * ``jac(t, y, p, J)``: writes the structurally non-zero entries of ``J`` (n_states, n_states)
      only; the caller zeroes ``J`` once (the sparsity pattern does not change).

    Array functions are replaced by scalar helpers with NumPy's semantics (``np.where`` evaluates
    both branches and selects; ``np.maximum`` propagates NaN; ``np.heaviside(0, h0) = h0``).
    ``decorator`` is put before every function, its ``{sig}`` replaced by ``RHS, `` for ``rhs``,
    ``JAC, `` for ``jac`` and by nothing for the helpers; the returned text needs ``np`` (numpy),
    ``njit`` and the names the decorator uses in its namespace.
    """
    n = cm.n_states
    rhs = cm.source_rhs.splitlines()
    jac = cm.source_jac.splitlines()
    if rhs[0] != "def rhs(t, y, p, u):" or "    out = np.array(u, dtype=float, copy=True)" not in rhs:
        raise ModelError("unexpected generated rhs source: cannot derive the scalar version")
    if jac[0] != "def jac(t, y, p):" or not any(ln.startswith("    J = np.zeros(") for ln in jac):
        raise ModelError("unexpected generated jac source: cannot derive the scalar version")
    rhs[0] = "def rhs(t, y, p, u, out):"
    rhs = [f"    for _i in range({n}):\n        out[_i] = u[_i]" if ln == "    out = np.array(u, dtype=float, copy=True)"
           else ln for ln in rhs]
    rhs = ["    return" if ln == "    return out" else ln for ln in rhs]
    jac[0] = "def jac(t, y, p, J):"
    jac = [ln for ln in jac if not ln.startswith("    J = np.zeros(")]
    jac = ["    return" if ln == "    return J" else ln for ln in jac]
    body = "\n".join(rhs) + "\n\n\n" + decorator.format(sig="JAC, ") + "\n" + "\n".join(jac) + "\n"
    used = sorted(set(re.findall(r"\bnp\.(\w+)\(", body)))
    body = re.sub(r"\bnp\.(\w+)\(", r"_np_\1(", body)
    helpers = []
    for name in used:
        if name in _SCALAR_HELPERS:
            helpers.append(decorator.format(sig="") + "\n" + _SCALAR_HELPERS[name])
        else:
            helpers.append(f"_np_{name} = np.{name}\n")
    return "\n\n".join(helpers) + "\n\n" + decorator.format(sig="RHS, ") + "\n" + body
