"""Bundled example scenarios (``nmdalab examples``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

DEFAULT = "single-infusion"


def examples() -> dict[str, str]:
    """Example name -> one-line description."""
    out = {}
    for f in sorted(resources.files(__package__).iterdir(), key=lambda p: p.name):
        if f.name.endswith(".yaml"):
            raw = yaml.safe_load(f.read_text())
            out[f.name[:-5]] = raw.get("description", "")
    return out


def example_path(name: str = DEFAULT) -> Path:
    """Path of a bundled example scenario."""
    from ..errors import ScenarioError, did_you_mean

    p = resources.files(__package__).joinpath(f"{name}.yaml")
    if not p.is_file():
        raise ScenarioError(f"no example named {name!r}; available: {', '.join(examples())}.{did_you_mean(name, examples())}")
    return Path(str(p))
