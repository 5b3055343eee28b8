"""Parameter sets as data.

Each YAML file in this folder is a parameter set: for every parameter its value, unit, source
(citation + DOI, ``derived: ...``, ``calibrated: ...`` or ``assumed: ...``), evidence grade,
inter-individual variability and allometric exponent.  A key ``pk_*.x`` applies to both
enantiomer submodels (``pk_s.x`` and ``pk_r.x``).

:func:`load` returns a :class:`ParameterSet`; :meth:`ParameterSet.overlay` applies a product set
(e.g. esketamine) on top of the species set.  :meth:`ParameterSet.bind` checks the set against a
model (every model parameter present, units of the right dimension) and returns the typical
values converted to the model's internal units.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from importlib import resources

import numpy as np
import yaml

from ..errors import ParameterError
from ..units import convert

GRADES = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Parameter:
    """One model parameter with its provenance."""

    name: str
    value: float
    unit: str
    source: str
    grade: str
    iiv: float = 0.0  # omega: SD of the random effect on the log (or logit) scale
    iiv_kind: str = "lognormal"  # lognormal | logit
    #: correlations of this parameter's random effect with others' (NONMEM's OMEGA BLOCK, declared by
    #: the dependent parameter): ((other name, rho), ...)
    iiv_correlation: tuple = ()
    allometry: float = 0.0  # exponent on (weight / reference weight)
    description: str = ""
    origin: str = ""  # parameter-set file it came from

    def to_dict(self) -> dict:
        return asdict(self)


class ParameterSet:
    """A named collection of :class:`Parameter`."""

    def __init__(self, name: str, parameters: dict[str, Parameter], meta: dict | None = None):
        self.name = name
        self.parameters = dict(parameters)
        self.meta = meta or {}

    def __getitem__(self, name: str) -> Parameter:
        return self.parameters[name]

    def __contains__(self, name: str) -> bool:
        return name in self.parameters

    def __iter__(self):
        return iter(self.parameters.values())

    def __len__(self) -> int:
        return len(self.parameters)

    def overlay(self, other: ParameterSet) -> ParameterSet:
        """A new set: ``self`` with every parameter in ``other`` replacing its namesake."""
        merged = dict(self.parameters)
        merged.update(other.parameters)
        return ParameterSet(f"{self.name}+{other.name}", merged, {**self.meta, "overlays": [*self.meta.get("overlays", []), other.name]})

    def with_values(self, **values: float) -> ParameterSet:
        """A copy with some typical values replaced (keys use ``__`` for ``.``)."""
        merged = dict(self.parameters)
        for k, v in values.items():
            name = k.replace("__", ".")
            if name not in merged:
                raise ParameterError(f"no parameter '{name}' in set {self.name}")
            merged[name] = replace(merged[name], value=float(v), source=f"user override (was {merged[name].value})")
        return ParameterSet(self.name, merged, self.meta)

    def bind(self, model) -> BoundParameters:
        """Check against ``model`` and convert typical values to the model's units."""
        values, omega, kinds, allo, corr = [], [], [], [], []
        missing = [p.name for p in model.parameters if p.name not in self.parameters]
        if missing:
            raise ParameterError(f"parameter set {self.name} lacks {', '.join(missing)}")
        for spec in model.parameters:
            par = self.parameters[spec.name]
            values.append(convert(par.value, par.unit, spec.unit, field=spec.name))
            omega.append(par.iiv)
            kinds.append(par.iiv_kind)
            allo.append(par.allometry)
        names = [spec.name for spec in model.parameters]
        for j, spec in enumerate(model.parameters):
            for other, rho in self.parameters[spec.name].iiv_correlation:
                if other not in self.parameters:
                    raise ParameterError(f"parameter '{spec.name}' iiv_correlation names '{other}', which is not in "
                                         f"set {self.name}")
                if other in names:  # a partner of a layer this model leaves out has no random effect here
                    corr.append((j, names.index(other), rho))
        ref = self.meta.get("reference_weight", {"value": 70, "unit": "kg"})
        return BoundParameters(
            names=names,
            typical=np.array(values),
            omega=np.array(omega),
            logit=np.array([k == "logit" for k in kinds]),
            allometry=np.array(allo),
            correlation=tuple(corr),
            reference_weight=convert(ref["value"], ref["unit"], "kg"),
            source=self,
        )

    def hash(self) -> str:
        blob = json.dumps({k: asdict(v) for k, v in sorted(self.parameters.items())}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def citations(self, model=None) -> list[str]:
        """The distinct sources behind this set, or behind the parameters ``model`` uses."""
        names = self.parameters if model is None else [p.name for p in model.parameters if p.name in self.parameters]
        return sorted({self.parameters[n].source for n in names})


@dataclass
class BoundParameters:
    """Typical values in model units, aligned with ``model.parameters``, and their variability."""

    names: list[str]
    typical: np.ndarray
    omega: np.ndarray
    logit: np.ndarray
    allometry: np.ndarray
    reference_weight: float
    source: ParameterSet
    #: correlated random effects: ``(j, k, rho)``, parameter ``j`` (which declares it) with ``k``
    correlation: tuple = ()

    def individual(self, weight_kg: float, eta: np.ndarray) -> np.ndarray:
        """Individual values: ``typical * (weight/ref)^allometry`` with random effects ``eta``.

        Log-normal parameters: ``theta_i = theta * exp(eta)``; logit-normal fractions:
        ``logit(theta_i) = logit(theta) + eta`` (NONMEM conventions).
        """
        value = self.typical * (weight_kg / self.reference_weight) ** self.allometry
        out = value * np.exp(np.where(self.logit, 0.0, eta))
        if self.logit.any():
            th = np.clip(value[self.logit], 1e-12, 1 - 1e-12)
            lg = np.log(th / (1 - th)) + eta[self.logit]
            out[self.logit] = 1.0 / (1.0 + np.exp(-lg))
        return out

    def index(self, name: str) -> int:
        return self.names.index(name)


def _expand(key: str) -> list[str]:
    if key.startswith("pk_*."):
        return [f"pk_{e}." + key[5:] for e in ("s", "r")]
    return [key]


def load(name: str) -> ParameterSet:
    """Load a bundled parameter set by name (``human``, ``esketamine``, ``rodent``) or a path.

    Bundled sets are read once per process; each call returns a fresh :class:`ParameterSet`
    (sharing the immutable :class:`Parameter` entries), so callers may overlay or override freely.
    """
    if name.endswith((".yaml", ".yml")):
        return _load_uncached(name)
    cached = _load_bundled(name, _stamp(name))
    return ParameterSet(cached.name, dict(cached.parameters), dict(cached.meta))


def _stamp(name: str) -> tuple:
    """Modification times of a bundled set's files: a calibration script that rewrites a file
    invalidates the cached copy."""
    folder = resources.files(__package__)
    out = []
    for f in folder.iterdir():
        if f.name == f"{name}.yaml" or (f.name.startswith(f"{name}-") and f.name.endswith(".yaml")):
            try:
                out.append((f.name, os.stat(str(f)).st_mtime_ns))
            except OSError:
                out.append((f.name, 0))
    return tuple(sorted(out))


@lru_cache(maxsize=32)
def _load_bundled(name: str, stamp: tuple) -> ParameterSet:
    return _load_uncached(name)


def _load_uncached(name: str) -> ParameterSet:
    """Load a bundled parameter set by name (``human``, ``esketamine``, ``rodent``) or a path.

    A bundled set ``NAME`` is ``NAME.yaml`` merged with every layer file ``NAME-<layer>.yaml``
    (``human-nmda.yaml``, ``human-hpa.yaml`` ...), so each layer keeps its parameters in its own
    file.  A parameter defined in two files is an error.
    """
    if not name.endswith((".yaml", ".yml")):
        base = _load_one(name)
        folder = resources.files(__package__)
        for f in sorted(folder.iterdir(), key=lambda p: p.name):
            if f.name.startswith(f"{name}-") and f.name.endswith(".yaml"):
                layer = _load_one(f.name[:-5])
                dup = set(layer.parameters) & set(base.parameters)
                if dup:
                    raise ParameterError(f"{f.name} redefines {', '.join(sorted(dup))} already in {name}")
                base.parameters.update(layer.parameters)
        return base
    return _load_one(name)


def _correlations(origin: str, key: str, raw) -> tuple:
    """``iiv_correlation: {other.parameter: rho}`` -> ``((other, rho), ...)``, each rho in (-1, 1)."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise ParameterError(f"{origin}: parameter '{key}' iiv_correlation must be a mapping "
                             f"{{other.parameter: rho}}, got {raw!r}")
    out = []
    for other, rho in raw.items():
        if other == key:
            raise ParameterError(f"{origin}: parameter '{key}' iiv_correlation names the parameter itself")
        try:
            rho = float(rho)
        except (TypeError, ValueError):
            rho = float("nan")
        if not -1.0 < rho < 1.0:
            raise ParameterError(f"{origin}: parameter '{key}' iiv_correlation with '{other}' is {raw[other]!r}; "
                                 "allowed: a number strictly between -1 and 1")
        out.append((str(other), rho))
    return tuple(out)


def _load_one(name: str) -> ParameterSet:
    if name.endswith((".yaml", ".yml")):
        with open(name) as fh:
            raw = yaml.safe_load(fh)
        origin = name
    else:
        try:
            text = resources.files(__package__).joinpath(f"{name}.yaml").read_text()
        except FileNotFoundError:
            raise ParameterError(f"no bundled parameter set '{name}'") from None
        raw = yaml.safe_load(text)
        origin = f"{name}.yaml"
    meta = raw.pop("meta", {}) or {}
    params: dict[str, Parameter] = {}
    for key, entry in raw.items():
        for field in ("value", "unit", "source", "grade"):
            if field not in entry:
                raise ParameterError(f"{origin}: parameter '{key}' lacks '{field}'")
        if entry["grade"] not in GRADES:
            raise ParameterError(f"{origin}: parameter '{key}' has grade {entry['grade']!r}; allowed {GRADES}")
        iiv = float(entry.get("iiv", 0.0))
        if iiv < 0:
            raise ParameterError(f"{origin}: parameter '{key}' has iiv {iiv:g}; allowed: >= 0 (an SD)")
        if entry.get("iiv_correlation") and iiv == 0:
            raise ParameterError(f"{origin}: parameter '{key}' has an iiv_correlation but no iiv")
        for full in _expand(key):
            params[full] = Parameter(
                name=full,
                value=float(entry["value"]),
                unit=str(entry["unit"]),
                source=str(entry["source"]),
                grade=str(entry["grade"]),
                iiv=iiv,
                iiv_kind=str(entry.get("iiv_kind", "lognormal")),
                iiv_correlation=_correlations(origin, key, entry.get("iiv_correlation")),
                allometry=float(entry.get("allometry", 0.0)),
                description=str(entry.get("description", "")),
                origin=origin,
            )
    return ParameterSet(meta.get("name", name), params, meta)
