"""The scenario schema (DESIGN.md section 4) and its loader.

A scenario is a YAML file or the same structure as a Python dict.  Structure is checked by
pydantic (unknown fields are errors); meaning (drug, route, units, ranges) by the validators
below.  Every problem becomes one :class:`~nmdalab.errors.ScenarioError` whose message names the
field, the value and what is allowed.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import units
from .analysis.endpoints import ENDPOINT_KINDS
from .errors import ScenarioError, did_you_mean
from .model.pk import ROUTES
from .regimen import DRUGS, WEEKDAYS, DoseSpec, schedule_times

SPECIES = ("human", "rat", "mouse")
DIAGNOSES = ("healthy", "mdd", "trd", "bipolar")
#: largest dose accepted, mg per kg of body weight (anaesthetic induction is 1-4.5 mg/kg IV;
#: rodent studies go to ~100 mg/kg i.p.)
MAX_DOSE_MG_PER_KG = {"human": 50.0, "rat": 200.0, "mouse": 200.0}
DEFAULT_WEIGHT_KG = {"human": 70.0, "rat": 0.25, "mouse": 0.025}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Quantity = str | float | int


class DistSpec(_Strict):
    mean: Quantity
    sd: Quantity


class PopulationSpec(_Strict):
    n: int = Field(1, ge=1, le=1_000_000)
    seed: int = 0
    variability: bool = True
    weight: Quantity | DistSpec | None = None
    age: Quantity | DistSpec | None = None
    diagnosis: str = "trd"
    serum_mg: Quantity | DistSpec | None = None
    #: chronic stress level 0-1 present throughout the run (HPA layer; nmdalab.model.hpa)
    chronic_stress: float | None = None


class DoseItem(_Strict):
    drug: str
    route: str | None = None
    dose: Quantity | None = None
    duration: Quantity | None = None
    at: Quantity | list[Quantity] | None = None
    start: Quantity | None = None
    every: Quantity | None = None
    count: int | None = None
    days: list[str] | None = None
    weeks: int | None = None
    time: Quantity | None = None


class StressorItem(_Strict):
    """A stressor (HPA layer): ``{kind: acute, at: 182 h, duration: 15 min}``."""

    kind: str
    at: Quantity | list[Quantity] | None = None
    duration: Quantity | None = None
    intensity: float = 1.0


class InterventionItem(_Strict):
    """An experimental manipulation of the plasticity chain (mood layer): ``{name: rapamycin}``."""

    name: str


class ArmSpec(_Strict):
    regimen: list[DoseItem] = Field(default_factory=list)
    #: rapamycin, anisomycin, bdnf_knockout, nbqx, spinogenesis_block (nmdalab.model.plasticity)
    interventions: list[InterventionItem] = Field(default_factory=list)
    stressors: list[StressorItem] = Field(default_factory=list)


class EndpointSpec(_Strict):
    name: str
    kind: str
    variable: str | None = None
    scale: str | None = None
    at: Quantity | None = None
    window: list[Quantity] | None = None
    threshold: float | None = None
    cutoff: float | None = None
    after: Quantity | None = None


class SolverSpec(_Strict):
    #: scipy: per-patient solve_ivp (the reference); batch: a whole arm at once, vectorised NumPy
    #: (engines/batch.py); compiled: Numba-compiled per patient, in parallel (engines/compiled.py);
    #: auto: compiled for calls of simulate.AUTO_COMPILED_MIN patients or more when Numba is installed,
    #: else batch for AUTO_BATCH_MIN or more, else scipy
    engine: Literal["scipy", "batch", "compiled", "auto"] = "scipy"
    #: SciPy names, or the engine-neutral auto | dopri5 | rosenbrock (each engine maps the other's)
    method: Literal["LSODA", "BDF", "Radau", "RK45", "DOP853", "auto", "dopri5", "rosenbrock"] = "LSODA"
    rtol: float = Field(1e-6, gt=0, lt=1)
    atol: float = Field(1e-9, gt=0)


class ScenarioSpec(_Strict):
    name: str = "scenario"
    description: str = ""
    species: str = "human"
    duration: Quantity = "24 h"
    output_interval: Quantity = "10 min"
    population: PopulationSpec = Field(default_factory=PopulationSpec)
    arms: dict[str, ArmSpec]
    endpoints: list[EndpointSpec] = Field(default_factory=list)
    solver: SolverSpec = Field(default_factory=SolverSpec)


class Scenario:
    """A validated scenario in internal units (h, mg, kg).

    Build with :func:`load_scenario`; ``raw`` keeps the dict as given (for provenance).
    """

    def __init__(self, spec: ScenarioSpec, raw: dict):
        self.spec = spec
        self.raw = raw
        self.name = spec.name
        self.species = spec.species
        self.duration_h = units.to(spec.duration, "h", "duration")
        self.output_interval_h = units.to(spec.output_interval, "h", "output_interval")
        self.arms: dict[str, list[DoseSpec]] = {}
        self.stressors: dict = {}  # arm -> list of nmdalab.model.hpa.StressorSpec
        self.interventions: dict[str, list[str]] = {}  # arm -> intervention names (mood layer)
        self.endpoints = spec.endpoints
        self.population = spec.population
        self.solver = spec.solver

    @property
    def n(self) -> int:
        return self.population.n if self.population.variability else 1


def _fmt_loc(loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def load_scenario(source: str | os.PathLike | dict) -> Scenario:
    """Load and validate a scenario from a YAML path, a YAML string or a dict.

    Raises
    ------
    ScenarioError
        With a message naming the field, the value and what is allowed.
    """
    if isinstance(source, dict):
        raw = copy.deepcopy(source)
    else:
        text = str(source)
        if os.path.exists(text):
            try:
                with open(text) as fh:
                    raw = yaml.safe_load(fh)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
                raise ScenarioError(f"{text}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
        elif "\n" in text or ":" in text:
            try:
                raw = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise ScenarioError(f"scenario text is not valid YAML: {exc}") from None
        else:
            raise ScenarioError(f"scenario file {text!r} does not exist")
    if not isinstance(raw, dict):
        raise ScenarioError(f"a scenario must be a mapping of fields (name, species, arms, ...), got {type(raw).__name__}")
    try:
        spec = ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():
            loc = _fmt_loc(err["loc"])
            if err["type"] == "extra_forbidden":
                allowed = _allowed_fields(err["loc"])
                hint = did_you_mean(err["loc"][-1], allowed) if allowed else ""
                msgs.append(f"{loc}: unknown field.{hint} Allowed here: {', '.join(allowed)}")
            else:
                msgs.append(f"{loc}: {err['msg']} (got {err.get('input')!r})")
        raise ScenarioError("; ".join(msgs[:3])) from None
    return _validate(spec, raw)


def _allowed_fields(loc) -> list[str]:
    """The fields allowed at the place an unknown field was found (for the error message)."""
    model: Any = ScenarioSpec
    parts = list(loc[:-1])
    i = 0
    while i < len(parts):
        part = parts[i]
        if model is ScenarioSpec and part == "arms":
            model, i = ArmSpec, i + 2  # skip the arm's name
            continue
        model = {"population": PopulationSpec, "regimen": DoseItem, "stressors": StressorItem,
                 "interventions": InterventionItem, "endpoints": EndpointSpec, "solver": SolverSpec}.get(part, model)
        i += 1
    return sorted(model.model_fields)


def _validate(spec: ScenarioSpec, raw: dict) -> Scenario:
    if spec.species not in SPECIES:
        raise ScenarioError(f"species: {spec.species!r} is not supported; allowed: {', '.join(SPECIES)}."
                            f"{did_you_mean(spec.species, SPECIES)}")
    sc = Scenario(spec, raw)
    if sc.duration_h <= 0 or sc.duration_h > 24 * 366 * 5:
        raise ScenarioError(f"duration: {spec.duration!r} must be positive and at most 5 years")
    if sc.output_interval_h <= 0 or sc.output_interval_h > sc.duration_h:
        raise ScenarioError(f"output_interval: {spec.output_interval!r} must be positive and no longer than the duration")
    if sc.duration_h / sc.output_interval_h > 200_000:
        raise ScenarioError(f"output_interval: {spec.output_interval!r} gives more than 200000 output times; use a longer interval")
    pop = spec.population
    if pop.diagnosis not in DIAGNOSES:
        raise ScenarioError(f"population.diagnosis: {pop.diagnosis!r} is not known; allowed: {', '.join(DIAGNOSES)}."
                            f"{did_you_mean(pop.diagnosis, DIAGNOSES)}")
    _check_dist(pop.weight, "kg", "population.weight", 0.005, 400)
    _check_dist(pop.age, "year", "population.age", 0, 120)
    _check_dist(pop.serum_mg, "mM", "population.serum_mg", 0.1, 10)
    if pop.chronic_stress is not None and not 0 <= pop.chronic_stress <= 1:
        raise ScenarioError(f"population.chronic_stress: {pop.chronic_stress!r} must lie in 0-1 (0 none, 1 severe)")
    if not spec.arms:
        raise ScenarioError("arms: at least one arm is needed, e.g. arms: {ketamine: {regimen: [...]}}")
    weight_typ = _typical(pop.weight, "kg", DEFAULT_WEIGHT_KG[spec.species])
    for arm_name, arm in spec.arms.items():
        doses = []
        for i, item in enumerate(arm.regimen):
            doses.append(_dose(item, f"arms.{arm_name}.regimen[{i}]", spec.species, weight_typ, sc.duration_h))
        products = {d.drug for d in doses if d.drug in ("ketamine", "esketamine", "arketamine")}
        if "esketamine" in products and len(products) > 1:
            raise ScenarioError(
                f"arms.{arm_name}.regimen: esketamine and {', '.join(sorted(products - {'esketamine'}))} in one arm; "
                "each product has its own population PK model, so give them in separate arms"
            )
        sc.arms[arm_name] = doses
        sc.interventions[arm_name] = _interventions(arm.interventions, f"arms.{arm_name}.interventions")
        sc.stressors[arm_name] = [_stressor(item, f"arms.{arm_name}.stressors[{i}]", sc.duration_h)
                                  for i, item in enumerate(arm.stressors)]
    from .model.registry import default_model

    outputs = default_model().output_names
    names = set()
    for i, ep in enumerate(spec.endpoints):
        where = f"endpoints[{i}]"
        if ep.name in names:
            raise ScenarioError(f"{where}.name: {ep.name!r} is used twice")
        names.add(ep.name)
        if ep.kind not in ENDPOINT_KINDS:
            raise ScenarioError(f"{where}.kind: {ep.kind!r} is not an endpoint kind; allowed: {', '.join(ENDPOINT_KINDS)}."
                                f"{did_you_mean(ep.kind, ENDPOINT_KINDS)}")
        needs = ENDPOINT_KINDS[ep.kind]
        if "scale" in needs or (ep.scale is not None and ep.variable is None):
            _check_scale(ep, where, needs, outputs, sc.duration_h)
        elif "variable" in needs:
            if ep.variable is None:
                raise ScenarioError(f"{where}.variable: kind {ep.kind!r} needs a variable, e.g. plasma.ketamine")
            if ep.variable not in outputs:
                raise ScenarioError(f"{where}.variable: {ep.variable!r} is not a model variable."
                                    f"{did_you_mean(ep.variable, outputs)} See `nmdalab variables`")
        if "at" in needs:
            if ep.at is None:
                raise ScenarioError(f"{where}.at: kind {ep.kind!r} needs a time, e.g. at: 24 h")
            at = units.to(ep.at, "h", f"{where}.at")
            if not 0 <= at <= sc.duration_h:
                raise ScenarioError(f"{where}.at: {ep.at!r} lies outside the simulated {sc.duration_h:g} h")
        if ep.window is not None:
            if len(ep.window) != 2:
                raise ScenarioError(f"{where}.window: give two times, e.g. [0 h, 24 h]; got {ep.window!r}")
            lo, hi = (units.to(w, "h", f"{where}.window") for w in ep.window)
            if not 0 <= lo < hi <= sc.duration_h + 1e-9:
                raise ScenarioError(f"{where}.window: {ep.window!r} must satisfy 0 <= start < end <= duration")
    return sc


def _interventions(items, where: str) -> list[str]:
    from .model.mood import check_interventions

    return check_interventions(items, where)


def _check_scale(ep: EndpointSpec, where: str, needs: set, outputs, duration_h: float) -> None:
    """Depression-scale endpoints (mood layer): scale, threshold, cutoff, after."""
    from .model.mood import SCALES

    if ep.scale is None:
        raise ScenarioError(f"{where}.scale: kind {ep.kind!r} needs a depression scale; allowed: {', '.join(SCALES)}")
    if ep.scale not in SCALES:
        raise ScenarioError(f"{where}.scale: {ep.scale!r} is not a depression scale; allowed: {', '.join(SCALES)}."
                            f"{did_you_mean(ep.scale, SCALES)}")
    if SCALES[ep.scale] not in outputs:
        raise ScenarioError(f"{where}.scale: {ep.scale!r} needs the mood layer, which the default model lacks")
    if ep.threshold is not None and not 0 < ep.threshold <= 1:
        raise ScenarioError(f"{where}.threshold: {ep.threshold!r} is a fractional reduction; give a value in (0, 1], e.g. 0.5")
    if ep.cutoff is not None and not 0 <= ep.cutoff <= 60:
        raise ScenarioError(f"{where}.cutoff: {ep.cutoff!r} must be a score in 0-60 (MADRS remission: 10)")
    if "after" in needs:
        if ep.after is None:
            raise ScenarioError(f"{where}.after: kind {ep.kind!r} needs a time, e.g. after: 24 h (responders at that time)")
        after = units.to(ep.after, "h", f"{where}.after")
        if not 0 < after < duration_h:
            raise ScenarioError(f"{where}.after: {ep.after!r} must lie inside the simulated {duration_h:g} h")


def _typical(value, unit, default):
    if value is None:
        return default
    if isinstance(value, DistSpec):
        return units.to(value.mean, unit, "mean")
    return units.to(value, unit, "value")


def _check_dist(value, unit, field, lo, hi):
    if value is None:
        return
    if isinstance(value, DistSpec):
        mean = units.to(value.mean, unit, f"{field}.mean")
        sd = units.to(value.sd, unit, f"{field}.sd")
        if sd < 0:
            raise ScenarioError(f"{field}.sd: {value.sd!r} must not be negative")
    else:
        mean = units.to(value, unit, field)
    if not lo <= mean <= hi:
        raise ScenarioError(f"{field}: {mean:g} {unit} is outside the plausible range {lo:g}-{hi:g} {unit}")


def _dose(item: DoseItem, where: str, species: str, weight_kg: float, duration_h: float) -> DoseSpec:
    drugs = tuple(DRUGS)
    if item.drug not in DRUGS:
        raise ScenarioError(f"{where}.drug: {item.drug!r} is not a known drug; allowed: {', '.join(drugs)}."
                            f"{did_you_mean(item.drug, drugs)}")
    routes = ROUTES[species]
    if item.route is None:
        if item.drug != "placebo":
            raise ScenarioError(f"{where}.route: missing; allowed for {species}: {', '.join(routes)}")
    elif DRUGS[item.drug].routes is not None and item.route in routes and item.route not in DRUGS[item.drug].routes:
        raise ScenarioError(f"{where}.route: {item.drug} cannot be given {item.route!r}; allowed: {', '.join(DRUGS[item.drug].routes)}")
    elif item.route not in routes:
        other = [s for s, r in ROUTES.items() if item.route in r]
        extra = f" ('{item.route}' is a route for {', '.join(other)})" if other else did_you_mean(item.route, routes)
        raise ScenarioError(f"{where}.route: {item.route!r} is not a route for {species}; allowed: {', '.join(routes)}.{extra}")
    route = item.route or "iv_infusion"
    # amount
    if item.drug == "placebo":
        amount, per_kg = 0.0, False
    else:
        if item.dose is None:
            raise ScenarioError(f"{where}.dose: missing; give an amount with a unit, e.g. '0.5 mg/kg' or '56 mg'")
        q = units.parse(item.dose, f"{where}.dose")
        if q.check("[mass]"):
            amount, per_kg = float(q.to("mg").magnitude), False
        elif q.dimensionless and any(u in str(q.units) for u in ("gram", "kilogram")):
            amount, per_kg = float(q.to("mg/kg").magnitude), True
        else:
            raise ScenarioError(f"{where}.dose: {item.dose!r} is neither an amount (mg, g) nor an amount per body weight (mg/kg)")
        mg_per_kg = amount if per_kg else amount / weight_kg
        if amount <= 0:
            raise ScenarioError(f"{where}.dose: {item.dose!r} must be positive")
        limit = (DRUGS[item.drug].max_mg_per_kg or MAX_DOSE_MG_PER_KG).get(species, MAX_DOSE_MG_PER_KG[species])
        if mg_per_kg > limit:
            raise ScenarioError(f"{where}.dose: {item.dose!r} is {mg_per_kg:.3g} mg/kg, above the {limit:g} mg/kg accepted for {species}")
    # duration
    duration = 0.0
    if route == "iv_infusion":
        if item.duration is None:
            raise ScenarioError(f"{where}.duration: an iv_infusion needs a duration, e.g. duration: 40 min")
        duration = units.to(item.duration, "h", f"{where}.duration")
        if not 0 < duration <= duration_h:
            raise ScenarioError(f"{where}.duration: {item.duration!r} must be positive and within the simulated time")
    elif item.duration is not None:
        raise ScenarioError(f"{where}.duration: only an iv_infusion has a duration (route is {route!r})")
    times = _times(item, where)
    bad = [t for t in times if t < 0 or t > duration_h]
    if bad:
        raise ScenarioError(f"{where}: dose time {bad[0]:g} h lies outside the simulated 0-{duration_h:g} h")
    return DoseSpec(item.drug, route, amount, per_kg, duration, tuple(times))


def _times(item: DoseItem, where: str) -> list[float]:
    forms = [f for f, v in (("at", item.at), ("every", item.every), ("days", item.days)) if v is not None]
    if len(forms) > 1:
        raise ScenarioError(f"{where}: give one schedule form (at | start+every+count | days+weeks), not {' and '.join(forms)}")
    start = units.to(item.start, "h", f"{where}.start") if item.start is not None else 0.0
    if item.at is not None:
        ats = item.at if isinstance(item.at, list) else [item.at]
        return schedule_times(at=[units.to(a, "h", f"{where}.at") for a in ats])
    if item.every is not None:
        if item.count is None or item.count < 1:
            raise ScenarioError(f"{where}.count: 'every' needs a positive count, e.g. count: 8")
        every = units.to(item.every, "h", f"{where}.every")
        if every <= 0:
            raise ScenarioError(f"{where}.every: {item.every!r} must be positive")
        return schedule_times(start=start, every=every, count=item.count)
    if item.days is not None:
        for d in item.days:
            if d not in WEEKDAYS:
                raise ScenarioError(f"{where}.days: {d!r} is not a weekday; allowed: {', '.join(WEEKDAYS)}.{did_you_mean(d, WEEKDAYS)}")
        if item.weeks is None or item.weeks < 1:
            raise ScenarioError(f"{where}.weeks: 'days' needs a positive number of weeks, e.g. weeks: 4")
        tod = units.to(item.time, "h", f"{where}.time") if item.time is not None else None
        return schedule_times(days=item.days, weeks=item.weeks, start=start, time_of_day=tod)
    if item.count is not None or item.weeks is not None:
        raise ScenarioError(f"{where}: 'count' goes with 'every', 'weeks' with 'days'")
    return [start]


def _stressor(item: StressorItem, where: str, duration_h: float):
    """A validated stressor (see :mod:`nmdalab.model.hpa`)."""
    from .model.hpa import STRESSOR_KINDS, StressorSpec

    if item.kind not in STRESSOR_KINDS:
        raise ScenarioError(f"{where}.kind: {item.kind!r} is not a stressor kind; allowed: {', '.join(STRESSOR_KINDS)}."
                            f"{did_you_mean(item.kind, STRESSOR_KINDS)}")
    if item.at is None:
        raise ScenarioError(f"{where}.at: missing; give the start time(s), e.g. at: 182 h")
    if item.duration is None:
        raise ScenarioError(f"{where}.duration: missing; give how long it lasts, e.g. duration: 15 min")
    ats = item.at if isinstance(item.at, list) else [item.at]
    times = sorted(units.to(a, "h", f"{where}.at") for a in ats)
    bad = [t for t in times if not 0 <= t < duration_h]
    if bad:
        raise ScenarioError(f"{where}.at: {bad[0]:g} h lies outside the simulated 0-{duration_h:g} h")
    dur = units.to(item.duration, "h", f"{where}.duration")
    longest = 12.0 if item.kind == "acute" else duration_h
    if not 0 < dur <= longest:
        limit = "12 h for an acute stressor (use kind: chronic for longer)" if item.kind == "acute" else "the simulated time"
        raise ScenarioError(f"{where}.duration: {item.duration!r} must be positive and at most {limit}")
    top = 5.0 if item.kind == "acute" else 1.0
    if not 0 <= item.intensity <= top:
        raise ScenarioError(f"{where}.intensity: {item.intensity!r} must lie in 0-{top:g} "
                            f"({'1 = a Trier Social Stress Test' if item.kind == 'acute' else '0 none, 1 severe'})")
    return StressorSpec(item.kind, tuple(times), dur, float(item.intensity))
