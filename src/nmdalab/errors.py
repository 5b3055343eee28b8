"""Exceptions.

One base class, :class:`NmdalabError`; every subclass also inherits the matching builtin so
that ``except ValueError`` keeps working for callers who do not know nmdalab.  Messages name
the field, the value, what is allowed and, where possible, a fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class NmdalabError(Exception):
    """Base class of all nmdalab errors."""


class ScenarioError(NmdalabError, ValueError):
    """A scenario (file or dict) is invalid: wrong field, unit, drug, route or value."""


class UnitError(ScenarioError):
    """A quantity has no unit or a unit of the wrong dimension."""


class ModelError(NmdalabError, ValueError):
    """A model cannot be composed: missing interface, duplicate name, unit mismatch."""


class ParameterError(NmdalabError, ValueError):
    """A parameter set is incomplete or inconsistent with the model."""


class SolverError(NmdalabError, RuntimeError):
    """The ODE solver failed; the message names the time and the state."""

    def __init__(self, message: str, t: float | None = None, state: dict | None = None):
        super().__init__(message)
        self.t = t
        self.state = state or {}


def did_you_mean(value: str, allowed: Iterable[str]) -> str:
    """Return ' Did you mean 'x'?' for the closest allowed name, or ''."""
    close = difflib.get_close_matches(str(value), list(allowed), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""
