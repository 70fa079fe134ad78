"""Scoring conventions behind one interface (:class:`~.base.Convention`): ``"free"``,
``"synergyfinder2"`` and ``"synergyfinder3"``, each in its own module."""

from __future__ import annotations

from letrolab.synergy.reference.conventions.base import (
    Cells,
    Convention,
    LoeweOut,
    SliceFit,
    ZipOut,
)
from letrolab.synergy.reference.conventions.free import FreeConvention
from letrolab.synergy.reference.conventions.sf2 import SF2Convention
from letrolab.synergy.reference.conventions.sf3 import SF3Convention
from letrolab.synergy.reference.options import check_convention

__all__ = [
    "Cells",
    "Convention",
    "FreeConvention",
    "LoeweOut",
    "SF2Convention",
    "SF3Convention",
    "SliceFit",
    "ZipOut",
    "get_convention",
]

_BY_NAME: dict[str, Convention] = {
    c.name: c for c in (FreeConvention(), SF2Convention(), SF3Convention())
}


def get_convention(name: str) -> Convention:
    """The :class:`Convention` called ``name``; :class:`~letrolab.errors.InputError` if none."""
    return _BY_NAME[check_convention(name)]
