"""Virtual patients: covariates and inter-individual variability, drawn up front.

Every patient's random numbers come from its own generator seeded by
``(scenario seed, arm index, patient index)``, so a patient's covariates and random effects do
not depend on how many patients are run, in which order, on how many threads or in which
chunks.  Each random effect is drawn from a stream keyed by the parameter's **name**
(``(seed, arm index, patient index, key(name))``, a counter-based draw through
:class:`numpy.random.SeedSequence`), so adding a parameter to the model, or variability to one
parameter, leaves every other parameter's draws as they were: a virtual population stays the
same population while the model grows.  (Until issue 4's last changes the effects were one
vector drawn in the order of the model's parameter list, so adding three parameters to the
plasticity and mood layers re-drew every mood random effect and moved the pooled trial rates by
up to 0.07 on sampling alone.)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from . import units
from .errors import ParameterError
from .parameters import BoundParameters

#: covariate draws are truncated at this many standard deviations
TRUNCATE_SD = 2.5


@dataclass(frozen=True)
class Patient:
    arm: str
    index: int
    weight_kg: float
    age_years: float
    eta: np.ndarray  # random effects, aligned with the model's parameters
    serum_mg_mM: float | None = None

    @property
    def covariates(self) -> dict[str, float | None]:
        return {"weight": self.weight_kg, "age": self.age_years, "serum_mg": self.serum_mg_mM}

    def parameters(self, bound: BoundParameters) -> np.ndarray:
        """Individual parameter values; a model parameter ``covariate.<name>`` (e.g.
        ``covariate.serum_mg``) takes this patient's covariate value when the scenario sets it."""
        p = bound.individual(self.weight_kg, self.eta)
        for name, value in self.covariates.items():
            key = f"covariate.{name}"
            if value is not None and key in bound.names:
                p[bound.index(key)] = value
        return p


def _dist(value, unit: str, default: float):
    """(mean, sd) of a covariate given as a quantity or {mean, sd}."""
    if value is None:
        return default, 0.0
    if hasattr(value, "mean"):
        return units.to(value.mean, unit, "mean"), units.to(value.sd, unit, "sd")
    return units.to(value, unit, "value"), 0.0


def _truncated_normal(rng: np.random.Generator, mean: float, sd: float, lower: float) -> float:
    if sd == 0:
        return mean
    for _ in range(100):
        z = rng.standard_normal()
        x = mean + sd * z
        if abs(z) <= TRUNCATE_SD and x > lower:
            return float(x)
    return float(mean)


def name_key(name: str) -> int:
    """A stable 63-bit key of a parameter name (the same in every process and Python version)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little") >> 1


def standard_normal_keyed(seed: int, arm_index: int, index: int, key: int) -> float:
    """One standard normal draw from the stream ``(seed, arm_index, index, key)``: a 64-bit word
    of :class:`numpy.random.SeedSequence` turned into a uniform in (0, 1) and through the
    inverse normal CDF (exact, no rejection, so the draw is one function of the four numbers)."""
    word = int(np.random.SeedSequence([seed, arm_index, index, key]).generate_state(1, np.uint64)[0])
    return float(ndtri(((word >> 11) + 0.5) * 2.0**-53))


def _correlation_factor(varying, correlation, names):
    """``(order, L)``: the varying parameters that take part in a correlation, declaring ones last,
    and the Cholesky factor of their correlation matrix; ``(None, None)`` when there is none.

    Declaring parameters come after the others in model order, so when several declare, each one's
    draw depends on those before it in that order (a parameter set with one declaring parameter, as
    the bundled ones, has no such dependence)."""
    vary = set(int(j) for j in varying)
    pairs = [(int(j), int(k), float(r)) for j, k, r in correlation if j in vary and k in vary]
    if not pairs:
        return None, None
    declaring = {j for j, _, _ in pairs}
    involved = declaring | {k for _, k, _ in pairs}
    order = sorted(involved - declaring) + sorted(declaring)
    pos = {j: n for n, j in enumerate(order)}
    R = np.eye(len(order))
    given = {}
    for j, k, r in pairs:
        pair = frozenset((j, k))
        if pair in given and given[pair] != r:
            raise ParameterError(f"iiv_correlation between {names[j]} and {names[k]} is given twice "
                                 f"({given[pair]:g} and {r:g})")
        given[pair] = r
        R[pos[j], pos[k]] = R[pos[k], pos[j]] = r
    try:
        L = np.linalg.cholesky(R)
    except np.linalg.LinAlgError:
        raise ParameterError("iiv_correlation: the correlations of "
                             f"{', '.join(names[j] for j in order)} do not form a valid correlation matrix "
                             "(not positive definite)") from None
    return np.array(order), L


def sample(arm: str, arm_index: int, n: int, seed: int, variability: bool, weight, age,
           default_weight: float, n_params: int, omega: np.ndarray, serum_mg=None, start: int = 0,
           names=None, correlation=()) -> list[Patient]:
    """Draw ``n`` patients of one arm, indices ``start`` to ``start + n - 1`` (one typical patient,
    index 0, when ``variability`` is false).

    Per patient (fixed, so results never depend on chunking): weight, age and serum Mg from the
    patient's generator ``(seed, arm_index, i)``; the random effect of each parameter with
    ``omega > 0`` from its own stream keyed by ``names[j]`` (:func:`standard_normal_keyed`).
    ``names`` (the model's parameter names, aligned with ``omega``) is required when
    ``variability`` is true.  ``correlation`` (``BoundParameters.correlation``: ``(j, k, rho)``)
    correlates the random effects of ``j`` and ``k``: the standard normals of the varying parameters
    are multiplied by the Cholesky factor of their correlation matrix, ordered so that the parameters
    that declare a correlation come last; a parameter that declares none keeps its own draw.
    """
    w_mean, w_sd = _dist(weight, "kg", default_weight)
    a_mean, a_sd = _dist(age, "year", 40.0)
    mg_mean, mg_sd = _dist(serum_mg, "mM", np.nan)
    mg_typ = None if serum_mg is None else mg_mean
    if not variability:
        return [Patient(arm, 0, w_mean, a_mean, np.zeros(n_params), mg_typ)]
    if names is None or len(names) != n_params:
        raise ValueError("sample: names (the parameter names aligned with omega) are needed for variability")
    varying = np.flatnonzero(np.asarray(omega) != 0)
    keys = {j: name_key(names[j]) for j in varying}
    order, chol = _correlation_factor(varying, correlation, names)
    out = []
    for i in range(start, start + n):
        rng = np.random.default_rng([seed, arm_index, i])
        w = _truncated_normal(rng, w_mean, w_sd, lower=0.2 * w_mean)
        a = _truncated_normal(rng, a_mean, a_sd, lower=0.0)
        mg = _truncated_normal(rng, mg_mean, mg_sd, lower=0.1) if serum_mg is not None else None
        z = np.zeros(n_params)
        for j in varying:
            z[j] = standard_normal_keyed(seed, arm_index, i, keys[j])
        if chol is not None:
            z[order] = chol @ z[order]
        out.append(Patient(arm, i, w, a, np.asarray(omega) * z, mg))
    return out
