"""Combination analysis of dose-response matrices.

* :func:`chou_talalay` — Chou–Talalay CI (mutually exclusive and non-exclusive), DRI, Fa-CI
  tables and curves, normalised isobolograms, for every block of a tidy combination table.
* :func:`read_combination` — the tidy SynergyFinder-compatible input (2 or N drugs).
"""

from letrolab.synergy.chou_talalay import (
    BlockCI,
    ChouTalalayResult,
    MixtureCI,
    chou_talalay,
    ci_label,
    combination_index,
    combination_index_points,
)
from letrolab.synergy.tidy import CombinationData, read_combination

__all__ = [
    "BlockCI",
    "ChouTalalayResult",
    "CombinationData",
    "MixtureCI",
    "chou_talalay",
    "ci_label",
    "combination_index",
    "combination_index_points",
    "read_combination",
]
