"""Public NMDA receptor functions (implemented in :mod:`nmdalab.model.nmda`).

>>> from nmdalab import nmda
>>> round(nmda.mg_unblocked(-60, 1.0), 3)
0.08
>>> nmda.steady_state(drug_uM={"s_ketamine": 0.5}, mg_mM=1.0, voltage_mV=-60, subunit="2A")["open"]  # doctest: +SKIP
"""

from .model.nmda import (
    BLOCKERS,
    POPULATIONS,
    SUBUNITS,
    ReceptorError,
    drug_kd,
    ic50,
    kinetic_block,
    mg_k,
    mg_unblocked,
    population_steady_state,
    receptor_parameters,
    steady_state,
)

__all__ = [
    "BLOCKERS",
    "POPULATIONS",
    "SUBUNITS",
    "ReceptorError",
    "drug_kd",
    "ic50",
    "kinetic_block",
    "mg_k",
    "mg_unblocked",
    "population_steady_state",
    "receptor_parameters",
    "steady_state",
]
