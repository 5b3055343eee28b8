"""nmdalab: an in-silico laboratory for drugs acting at the NMDA receptor.

A research tool, not medical advice.

>>> import nmdalab
>>> sc = nmdalab.load_scenario(nmdalab.example_path("single-infusion"))
>>> res = nmdalab.simulate(sc)
>>> res.endpoints()["arms"]["ketamine"]["endpoints"]["cmax"]["value"]  # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import nmda
from .errors import ModelError, NmdalabError, ParameterError, ScenarioError, SolverError, UnitError
from .examples import example_path, examples
from .model import registry as _registry  # noqa: F401  (registers the layers' drugs)
from .model.core import Model
from .parameters import ParameterSet
from .parameters import load as load_parameters
from .results import Results
from .scenario import Scenario, load_scenario
from .simulate import simulate

__all__ = [
    "Model",
    "ModelError",
    "NmdalabError",
    "ParameterError",
    "ParameterSet",
    "Results",
    "Scenario",
    "ScenarioError",
    "SolverError",
    "UnitError",
    "__version__",
    "example_path",
    "examples",
    "load_parameters",
    "load_scenario",
    "nmda",
    "simulate",
]
