"""Combination analysis of dose-response matrices.

* :func:`chou_talalay` — Chou–Talalay CI (mutually exclusive and non-exclusive), DRI, Fa-CI
  tables and curves, normalised isobolograms, for every block of a tidy combination table.
* :func:`read_combination` — the tidy SynergyFinder-compatible input (2 or N drugs).
* :func:`reference_scores` — Bliss, HSA, Loewe and ZIP per cell and per block (SynergyFinder);
  :func:`score_screen` the same for screens of up to millions of blocks (chunked, optional Dask);
  :func:`bootstrap_summaries` — replicate-aware intervals and p-values of block summaries.
"""

from letrolab.synergy.ct import (
    BlockCI,
    ChouTalalayResult,
    MixtureCI,
    chou_talalay,
    ci_label,
    combination_index,
    combination_index_points,
)
from letrolab.synergy.reference import ReferenceResult, reference_scores
from letrolab.synergy.replicates import BootstrapResult, bootstrap_summaries
from letrolab.synergy.screen import ScreenResult, score_screen
from letrolab.synergy.tidy import CombinationData, read_combination

__all__ = [
    "BlockCI",
    "BootstrapResult",
    "ChouTalalayResult",
    "CombinationData",
    "MixtureCI",
    "ReferenceResult",
    "ScreenResult",
    "bootstrap_summaries",
    "chou_talalay",
    "ci_label",
    "combination_index",
    "combination_index_points",
    "read_combination",
    "reference_scores",
    "score_screen",
]
