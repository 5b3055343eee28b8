"""A closed-loop virtual user: decisions taken during the simulation generate the doses.

The model is integrated segment by segment (between decision times); at each decision time the
user reads its own state (learned value, sensitisation, withdrawal, craving, current reward) and
chooses by a softmax (logistic for two options) whether to take a dose; a dose is a bolus jump
(or a short infusion) of the drug's states, exactly as :func:`nmdalab.regimen.dose_events` makes
it for scripted regimens.  Use patterns (sessions, intake, escalation) therefore emerge from the
model; scripted regimens keep working through :func:`nmdalab.simulate`.

Decision value (after Keramati & Gutkin 2014 homeostatic RL: the drive to take a dose is larger
the further the current drug effect is below a set point, and the set point drifts up with
tolerance and the opponent process, which gives escalation under long access)::

    Q = w_value * V * (1 + S) * max(0, 1 - a_now / a_set) + w_relief * B_drive + w_craving * craving
        - cost * effort
    a_set = a_set0 * (1 + k_allo * (B + T))
    P(take) = 1 / (1 + exp(-beta * (Q - theta)))

Each completed response also applies the prediction part of a TD update to ``V``
(:func:`reinforce`; the reward part is the drug's dopamine surge in the addiction layer).

``V`` the instrumental (action) value ``addiction.action_value``, ``S`` sensitisation, ``a_now`` current reward, ``B_drive`` withdrawal
drive, ``T`` tolerance, ``effort`` the response requirement (ratio).  The user's parameters are
a :class:`User` (documented, grade D: choice parameters are behavioural assumptions); every
random draw comes from ``numpy.random.default_rng(seed)``, so a run is deterministic given its
seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp

from . import population
from .errors import SolverError
from .model.core import Model
from .regimen import DoseSpec, dose_events


@dataclass(frozen=True)
class User:
    """Choice parameters of a virtual user (all assumed, grade D)."""

    beta: float = 6.0  # softmax inverse temperature
    theta: float = 0.5  # value needed for a 50% choice
    w_value: float = 1.5
    w_relief: float = 1.0
    w_craving: float = 0.5
    a_set0: float = 1.0  # reward set point (reward units)
    k_allo: float = 1.0  # set-point drift per unit opponent + tolerance
    cost: float = 0.0  # value cost per unit of effort (ratio)
    alpha: float = 0.05  # per-response TD learning rate (prediction part of the update)


@dataclass
class Trace:
    """What a closed-loop run produced."""

    times: np.ndarray
    outputs: dict[str, np.ndarray]
    doses: list[tuple[float, str, float]] = field(default_factory=list)  # (time h, drug, mg)
    decisions: list[tuple[float, bool]] = field(default_factory=list)

    def state_at(self, name: str, t: float) -> float:
        return float(np.interp(t, self.times, self.outputs[name]))


class Runner:
    """Integrates one virtual subject segment by segment, applying doses chosen on the way."""

    def __init__(self, model: Model, species: str, weight_kg: float | None = None,
                 serum_mg: float | None = None, parameters=None, drugs=frozenset(), overrides=None,
                 rtol: float = 1e-6, atol: float = 1e-9):
        from .scenario import DEFAULT_WEIGHT_KG
        from .simulate import _compiled, parameter_set

        self.model = model
        self.cm = _compiled(model)
        ps = parameters or parameter_set(species, frozenset(drugs))
        if overrides:
            ps = ps.with_values(**{k.replace(".", "__"): v for k, v in overrides.items()})
        bound = ps.bind(model)
        self.weight = weight_kg or DEFAULT_WEIGHT_KG[species]
        pat = population.Patient("user", 0, self.weight, 40.0, np.zeros(len(bound.names)), serum_mg)
        self.p = pat.parameters(bound)
        self.values = dict(zip(bound.names, self.p))
        self.y = np.array(self.cm.initial(self.p), dtype=float)
        self.t = 0.0
        self.kw = {"method": "LSODA", "rtol": rtol, "atol": atol, "jac": lambda tt, yy: self.cm.jac(tt, yy, self.p)}
        self.out_names = model.output_names
        self._times, self._outs = [0.0], [self._outputs(self.y)]
        self.doses: list[tuple[float, str, float]] = []
        self._infusions: list = []  # (t_start, t_end, index, rate)

    def _outputs(self, y):
        return np.asarray(self.cm.outputs(y, self.p, self.t), dtype=float)

    def out(self, name: str) -> float:
        return float(self._outputs(self.y)[self.out_names.index(name)])

    def dose(self, drug: str, route: str, mg: float, duration_h: float = 0.0) -> None:
        """Give ``mg`` (absolute) of ``drug`` now."""
        ev = dose_events(DoseSpec(drug, route, mg, False, duration_h, (self.t,)), self.weight, self.values,
                         self.model.state_index)
        for e in ev.boluses:
            self.y[e.index] += e.amount
        for e in ev.infusions:
            self._infusions.append((e.time, e.time + e.duration, e.index, e.amount / e.duration))
        self.doses.append((self.t, drug, mg))

    def set_parameter(self, name: str, value: float) -> None:
        """Change a model parameter from now on (e.g. ``addiction.mu_antagonist`` = 1 at a
        naloxone challenge); the change takes effect at the next :meth:`advance`."""
        i = list(self.values).index(name)
        self.p[i] = value
        self.values[name] = value

    def bump(self, state: str, amount: float) -> None:
        """A jump of a state (e.g. a cue presentation, ``addiction.cue``)."""
        self.y[self.model.state_index(state)] += amount

    def advance(self, dt: float, record_every: float | None = None) -> None:
        """Integrate ``dt`` hours (split at infusion starts/ends)."""
        t_end = self.t + dt
        while self.t < t_end - 1e-12:
            cuts = [t_end] + [x for a, b, _, _ in self._infusions for x in (a, b) if self.t + 1e-12 < x < t_end]
            t1 = min(cuts)
            u = np.zeros(self.cm.n_states)
            for a, b, i, r in self._infusions:
                if a <= self.t + 1e-12 and self.t + 1e-12 < b:
                    u[i] += r
            n_rec = max(1, int(round((t1 - self.t) / record_every))) if record_every else 1
            t_eval = np.linspace(self.t, t1, n_rec + 1)[1:]
            sol = solve_ivp(lambda tt, yy, u=u: self.cm.rhs(tt, yy, self.p, u), (self.t, t1), self.y,
                            t_eval=t_eval, **self.kw)
            if sol.status != 0 or not np.all(np.isfinite(sol.y)):
                raise SolverError(f"closed loop: solver failed at t = {self.t:g} h: {sol.message}", t=self.t, state={})
            for k, tt in enumerate(sol.t):
                self._times.append(float(tt))
                self._outs.append(self._outputs(sol.y[:, k]))
            self.y = sol.y[:, -1].copy()
            self.t = t1
        self._infusions = [x for x in self._infusions if x[1] > self.t + 1e-12]

    def trace(self, decisions=None) -> Trace:
        outs = np.array(self._outs)
        return Trace(np.array(self._times), {n: outs[:, i] for i, n in enumerate(self.out_names)},
                     list(self.doses), list(decisions or []))


def choice_value(r: Runner, user: User, effort: float = 1.0) -> float:
    """The decision value ``Q`` of taking a dose now (module docstring)."""
    V, S = r.out("addiction.action_value"), r.out("addiction.sensitisation")
    a_now, B = r.out("addiction.reward"), r.out("addiction.opponent")
    T = float(r.y[r.model.state_index("addiction.tolerance")])
    a_set = user.a_set0 * (1 + user.k_allo * (B + T))
    homeo = max(0.0, 1.0 - a_now / a_set)
    return (user.w_value * V * (1 + S) * homeo + user.w_relief * r.out("addiction.withdrawal_drive")
            + user.w_craving * r.out("craving") - user.cost * effort)


def p_take(q: float, user: User) -> float:
    return float(1.0 / (1.0 + np.exp(-user.beta * (q - user.theta))))


def reinforce(r: Runner, user: User) -> None:
    """The prediction part of the per-response TD update (Redish 2004), applied when a response
    is completed: ``Va <- Va - alpha * g * Va`` (``Va`` the action value, ``g`` the NMDA plasticity
    gate).  The reward part (``+ alpha * g * r``) is the drug's dopamine surge, which the addiction
    layer adds to ``Va``
    while the infusion acts (``surge_gain`` plays ``alpha * r`` per unit dopamine rise); together
    they make ``dV = alpha * g * (r - V)`` per response, so an unreinforced response extinguishes
    and value under self-administration is bounded."""
    i = r.model.state_index("addiction.action_value")
    r.y[i] -= user.alpha * r.out("addiction.plasticity_gate") * r.y[i]
