"""Units at the edges.

Every quantity that enters nmdalab is a string with a unit (``"0.5 mg/kg"``, ``"40 min"``)
parsed by pint and converted once to the fixed internal units:

======================  =========
quantity                internal
======================  =========
time                    h
amount                  umol
volume                  L
concentration           uM (umol/L); magnesium mM
voltage                 mV
body weight             kg
======================  =========

Inside the model everything is a plain float in these units.
"""

from __future__ import annotations

from functools import lru_cache

import pint

from .errors import UnitError

ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
Q_ = ureg.Quantity

#: dimensions accepted for each kind of input, with the internal unit they are converted to
INTERNAL = {
    "time": "h",
    "mass": "mg",
    "mass_per_weight": "mg/kg",
    "weight": "kg",
    "volume": "L",
    "concentration": "uM",
    "mg_concentration": "mM",
    "mass_concentration": "ng/mL",
    "voltage": "mV",
    "amount": "umol",
    "rate": "1/h",
    "years": "year",
}


def parse(text: object, field: str) -> pint.Quantity:
    """Parse ``text`` as a quantity with a unit; a bare number is an error."""
    if isinstance(text, pint.Quantity):
        q = text
    else:
        if isinstance(text, bool) or text is None:
            raise UnitError(f"{field}: expected a quantity with a unit such as '40 min', got {text!r}")
        if isinstance(text, (int, float)):
            raise UnitError(
                f"{field}: {text!r} has no unit; write it with one, e.g. '{text} mg' or '{text} h'"
            )
        try:
            q = _parse_cached(str(text).strip())
        except Exception as exc:  # pint raises several exception types
            raise UnitError(f"{field}: cannot read {text!r} as a quantity with a unit ({exc})") from None
    if not dict(q._units):  # no unit at all (pint calls mg/kg 'unitless' too)
        raise UnitError(f"{field}: {text!r} has no unit; write it with one, e.g. '{q.magnitude} mg'")
    return q


@lru_cache(maxsize=1024)
def _parse_cached(text: str) -> pint.Quantity:
    return Q_(text)


def to(text: object, unit: str, field: str) -> float:
    """Parse ``text`` and return its magnitude in ``unit``, with a clear error on a wrong dimension."""
    q = parse(text, field)
    target = ureg.Unit(unit)
    if q.dimensionality != target.dimensionality:
        raise UnitError(
            f"{field}: {text!r} has the wrong dimension ({q.dimensionality}); "
            f"expected something convertible to {unit}"
        )
    return float(q.to(target).magnitude)


def convert(value: float, from_unit: str, to_unit: str, field: str = "value") -> float:
    """Convert a plain float between units (used for parameter sets)."""
    try:
        return float(Q_(value, from_unit).to(to_unit).magnitude)
    except pint.DimensionalityError:
        raise UnitError(f"{field}: unit {from_unit!r} cannot be converted to {to_unit!r}") from None
    except Exception as exc:
        raise UnitError(f"{field}: unknown unit {from_unit!r} ({exc})") from None


def same_dimension(a: str, b: str) -> bool:
    """True if units ``a`` and ``b`` measure the same thing."""
    return ureg.Unit(a).dimensionality == ureg.Unit(b).dimensionality
