"""Model definition: symbolic submodels (one file per layer) and their composition."""

from .core import CompiledModel, Model, Output, ParameterSpec, State, Submodel, compose, t

__all__ = ["CompiledModel", "Model", "Output", "ParameterSpec", "State", "Submodel", "compose", "t"]
