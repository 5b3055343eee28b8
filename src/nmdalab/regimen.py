"""Doses, routes and schedules -> dosing events.

A regimen is data: a list of :class:`DoseSpec` (drug, route, amount, infusion duration, and the
times it is given).  :func:`schedule_times` expands the schedule forms of the scenario format:

* ``at: 0 h`` or ``at: [0 h, 24 h]``;
* ``start: 0 h, every: 3.5 d, count: 8``;
* ``days: [mon, thu], weeks: 4`` (the scenario starts on a Monday at 00:00 unless ``start``
  shifts it; ``time`` sets the clock time of each dose, default the start time of day).

:func:`dose_events` turns one dose into events on the model's states for one patient: boluses are
jumps of the state, infusions (and zero-order swallowing) are constant input rates over an
interval.  The engines integrate piecewise between event times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .model.pk import ESKETAMINE_DEVICE_MG, route_inputs

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")



@dataclass(frozen=True)
class Drug:
    """How a drug enters the model.

    ``parts`` maps a submodel (``pk_s``) to the fraction of the dose that goes to it (a racemate
    is half S, half R); ``molar_mass`` names the parameter (g/mol) converting mg to the
    submodel's amount unit (umol); ``route_inputs(route, duration_h, local_params, devices)``
    splits the dose over that submodel's states (see :func:`nmdalab.model.pk.route_inputs`).
    ``product_set`` names the parameter set overlaid when an arm doses the drug.
    """

    name: str
    parts: dict[str, float]
    molar_mass: str | None = None
    route_inputs: Callable | None = None
    product_set: str | None = None
    amount_per_mmol: float = 1000.0  # amount unit per mmol (umol: 1000)
    #: routes this drug can be given by (None: every route of the species)
    routes: tuple[str, ...] | None = None
    #: largest accepted dose in mg/kg by species (None: the species default in scenario.py)
    max_mg_per_kg: dict[str, float] | None = None
    description: str = ""
    #: parameter (``mood.expectation_*``) added to the mood layer's expectation state at each
    #: administration visit (placebo response); None: no expectation, or no mood layer composed
    expectation: str | None = None


#: the drugs a regimen can name; layers register more (``register_drug``)
DRUGS: dict[str, Drug] = {}


def register_drug(drug: Drug) -> None:
    DRUGS[drug.name] = drug


register_drug(Drug("ketamine", {"pk_s": 0.5, "pk_r": 0.5}, "mw.ketamine", route_inputs,
                   description="racemic ketamine (half S, half R); dose as base"))
register_drug(Drug("esketamine", {"pk_s": 1.0}, "mw.ketamine", route_inputs, product_set="esketamine",
                   description="S-ketamine as its own product (Perez-Ruixo 2021 PK); intranasal 28 mg per device"))
register_drug(Drug("arketamine", {"pk_r": 1.0}, "mw.ketamine", route_inputs,
                   description="R-ketamine (racemic disposition parameters: no published arketamine popPK)"))
register_drug(Drug("placebo", {}, description="inactive comparator (saline); no dose needed"))


@dataclass(frozen=True)
class DoseSpec:
    """One dose item after validation, in internal units."""

    drug: str
    route: str
    amount_mg: float  # absolute amount per administration (per-kg doses resolved per patient)
    per_kg: bool
    duration_h: float
    times_h: tuple[float, ...]


@dataclass(frozen=True)
class Event:
    """A jump of ``amount`` in state ``index`` at ``time`` (duration 0), or an input of
    ``amount/duration`` per hour over [time, time + duration)."""

    time: float
    index: int
    amount: float
    duration: float = 0.0


@dataclass
class PatientEvents:
    boluses: list[Event] = field(default_factory=list)
    infusions: list[Event] = field(default_factory=list)

    def breakpoints(self, t_end: float) -> np.ndarray:
        pts = {0.0, t_end}
        pts.update(e.time for e in self.boluses)
        for e in self.infusions:
            pts.update((e.time, e.time + e.duration))
        return np.array(sorted(p for p in pts if 0.0 <= p <= t_end))


def schedule_times(at=None, start=0.0, every=None, count=None, days=None, weeks=None, time_of_day=None) -> list[float]:
    """Dose times in hours from the schedule fields (already converted to hours)."""
    if at is not None:
        return sorted(at if isinstance(at, (list, tuple)) else [at])
    if every is not None:
        return [start + i * every for i in range(int(count))]
    if days is not None:
        offset = time_of_day if time_of_day is not None else start % 24.0
        day0 = np.floor(start / 24.0)
        out = []
        for w in range(int(weeks)):
            for d in days:
                out.append((day0 + 7 * w + WEEKDAYS.index(d)) * 24.0 + offset)
        return sorted(t for t in out if t >= start - 1e-9)
    return [start]


def dose_events(dose: DoseSpec, weight_kg: float, values: dict[str, float], index_of) -> PatientEvents:
    """Events of one dose item for one patient.

    Parameters
    ----------
    values : dict
        The patient's parameter values by full name (``pk_s.frn`` ...).
    index_of : callable
        Maps a full state name (``pk_s.central``) to its index in the state vector.
    """
    ev = PatientEvents()
    drug = DRUGS[dose.drug]
    mg = dose.amount_mg * (weight_kg if dose.per_kg else 1.0)
    devices = max(1, int(round(mg / ESKETAMINE_DEVICE_MG))) if dose.drug == "esketamine" else 1
    for sub, frac in drug.parts.items():
        amount = mg * frac / values[drug.molar_mass] * drug.amount_per_mmol  # mg / (g/mol) = mmol
        local = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith(f"{sub}.")}
        for part in drug.route_inputs(dose.route, dose.duration_h, local, devices):
            idx = index_of(f"{sub}.{part.state}")
            for t0 in dose.times_h:
                e = Event(t0, idx, amount * part.fraction, part.duration)
                (ev.infusions if part.duration > 0 else ev.boluses).append(e)
    if drug.expectation is not None and drug.expectation in values:  # mood layer composed
        idx = index_of("mood.expectation")
        ev.boluses.extend(Event(t0, idx, values[drug.expectation]) for t0 in dose.times_h)
    return ev


def merge(events: list[PatientEvents]) -> PatientEvents:
    out = PatientEvents()
    for e in events:
        out.boluses.extend(e.boluses)
        out.infusions.extend(e.infusions)
    return out
