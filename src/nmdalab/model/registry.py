"""Which submodels make up the default model, by layer."""

from __future__ import annotations

from functools import lru_cache

from .core import Model, compose
from .magnesium import magnesium_layer  # also registers magnesium_sulfate, magnesium_oral
from .nmda import nmda_layer
from .effects import acute_effects
from .hpa import hpa_axis
from .pk import enantiomer_pk, pk_totals
from .circuit import circuit_layer
from .plasticity import plasticity_layer
from .mood import mood_layer  # also registers midazolam and the drugs' expectation parameters
from .addiction import addiction_submodels  # also registers morphine, cocaine, magnesium_chloride

#: layers available in this version, in dependency order
LAYERS = ("pk", "magnesium", "nmda", "hpa", "effects", "addiction", "circuit", "plasticity", "mood")


def _layer_submodels(layer: str):
    if layer == "pk":
        return [enantiomer_pk("s"), enantiomer_pk("r"), pk_totals()]
    if layer == "magnesium":
        return [magnesium_layer()]
    if layer == "nmda":  # needs pk (brain drug) and magnesium (csf.mg_ionised)
        return [nmda_layer()]
    if layer == "hpa":  # optional input plasma.ketamine (pk); provides hpa.mg_loss_factor to magnesium
        return [hpa_axis()]
    if layer == "effects":  # needs pk
        return [acute_effects()]
    if layer == "addiction":  # optional inputs from nmda, magnesium, hpa (circuit when it lands); own morphine/cocaine PK
        return addiction_submodels()
    if layer == "circuit":  # needs nmda (conductances); provides circuit.dopamine_nac to addiction
        return [circuit_layer()]
    if layer == "plasticity":  # needs circuit; optional hpa.cortisol_effect
        return [plasticity_layer()]
    if layer == "mood":  # needs plasticity and circuit; optional hpa.cortisol_effect
        return [mood_layer()]
    raise ValueError(f"unknown layer {layer!r}; available: {', '.join(LAYERS)}")


@lru_cache(maxsize=8)
def default_model(layers: tuple[str, ...] | None = None) -> Model:
    """Compose the default model from ``layers`` (all available layers when None)."""
    layers = LAYERS if layers is None else tuple(layers)
    subs = [s for layer in layers for s in _layer_submodels(layer)]
    return compose(*subs)
