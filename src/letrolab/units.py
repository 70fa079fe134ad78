"""Concentration units and quantities with units.

letrolab works internally in molar (M) for concentrations. Input tables and the command line
accept pM, nM, uM (µM, μM, um), mM and M, case-insensitively for the prefix letter's
spelling variants listed in :data:`MOLAR_FACTORS`; anything else is a :class:`UnitError`.
Mass concentrations (ng/mL ...) need a molecular weight, given through :func:`to_molar`.
"""

from __future__ import annotations

import math
import re

import numpy as np

from letrolab.errors import UnitError

__all__ = ["MOLAR_FACTORS", "from_molar", "molar_factor", "parse_quantity", "to_molar"]

#: Factor that converts a concentration in the key unit to molar.
MOLAR_FACTORS: dict[str, float] = {
    "pm": 1e-12,
    "nm": 1e-9,
    "um": 1e-6,
    "µm": 1e-6,  # micro sign U+00B5
    "μm": 1e-6,  # Greek mu U+03BC
    "mm": 1e-3,
    "m": 1.0,
}

#: Factor that converts a mass concentration in the key unit to g/L.
MASS_FACTORS: dict[str, float] = {
    "pg/ml": 1e-9,
    "ng/ml": 1e-6,
    "ug/ml": 1e-3,
    "µg/ml": 1e-3,
    "μg/ml": 1e-3,
    "mg/ml": 1.0,
    "mg/l": 1e-3,
    "g/l": 1.0,
}

_QTY = re.compile(
    r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\W\d_]\S*?(?:\s*/\s*\S+)?)?\s*$"
)


def _key(unit: str) -> str:
    u = unit.strip().replace(" ", "")
    if u in {"M", "mol/L", "mol/l"}:
        return "m"
    return u.lower()


def molar_factor(unit: str) -> float:
    """Return the factor converting a concentration in ``unit`` to molar.

    Parameters
    ----------
    unit : str
        One of pM, nM, uM (µM, μM), mM, M.

    Raises
    ------
    UnitError
        For any other unit, naming it and the accepted ones.

    Examples
    --------
    >>> molar_factor("nM")
    1e-09
    >>> molar_factor("µM")
    1e-06
    """
    if not isinstance(unit, str) or not unit.strip():
        raise UnitError("missing concentration unit; use one of pM, nM, uM, mM, M")
    key = _key(unit)
    if key not in MOLAR_FACTORS:
        raise UnitError(f"unknown concentration unit {unit!r}; use one of pM, nM, uM, mM, M")
    return MOLAR_FACTORS[key]


def to_molar(value, unit: str, *, mw: float | None = None):
    """Convert ``value`` in ``unit`` to molar.

    ``unit`` may also be a mass concentration (pg/mL ... g/L) when the molecular weight ``mw``
    (g/mol) is given.
    """
    key = unit.strip().replace(" ", "").lower() if isinstance(unit, str) else unit
    if isinstance(key, str) and key in MASS_FACTORS:
        if mw is None or not (mw > 0):
            raise UnitError(f"converting {unit!r} to molar needs the molecular weight (g/mol)")
        return np.asarray(value, dtype=float) * MASS_FACTORS[key] / mw
    return np.asarray(value, dtype=float) * molar_factor(unit)


def from_molar(value, unit: str):
    """Convert ``value`` in molar to ``unit``."""
    return np.asarray(value, dtype=float) / molar_factor(unit)


def parse_quantity(text: str, *, default_unit: str | None = None) -> tuple[float, str]:
    """Split a quantity such as ``"10nM"``, ``"2.5 uM"`` or ``"1e-9 M"`` into value and unit.

    Returns
    -------
    (value, unit) : tuple of float and str
        The unit exactly as written (validate it with :func:`molar_factor` or a domain parser).

    Raises
    ------
    UnitError
        If ``text`` is not a number followed by a unit (and no ``default_unit`` is given), or
        the number is not finite.

    Examples
    --------
    >>> parse_quantity("10nM")
    (10.0, 'nM')
    >>> parse_quantity("2.5 mg/day")
    (2.5, 'mg/day')
    """
    m = _QTY.match(str(text))
    if not m:
        raise UnitError(f"cannot read quantity {text!r}; write a number and a unit, e.g. 10nM")
    value = float(m.group(1))
    unit = m.group(2)
    if not math.isfinite(value):
        raise UnitError(f"quantity {text!r} is not a finite number")
    if unit is None:
        if default_unit is None:
            raise UnitError(f"quantity {text!r} has no unit; write e.g. {text}nM")
        unit = default_unit
    return value, unit
