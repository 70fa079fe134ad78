"""letrolab.assays: readers and analyses of lab files (FCS + cell cycle / sub-G1, plates, blots).

Public names spell analyse and normalise the British way; ``analyze_cell_cycle`` and
``analyze_batch`` still resolve, with a DeprecationWarning. Writers of instrument files
(``write_fcs``, ``simulate_dna_content``) live in :mod:`letrolab.instruments`.

Each name is imported from its module when first used (:mod:`letrolab._lazy`), so a command
that reads one kind of file does not import the readers of the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from letrolab._deprecation import renamed
from letrolab._lazy import lazy_exports

if TYPE_CHECKING:
    from letrolab.assays.blot import BlotResult, analyse_blot, normalise_bands
    from letrolab.assays.cellcycle import CellCycleBatch, CellCycleResult
    from letrolab.assays.cellcycle import analyze_batch as analyse_batch
    from letrolab.assays.cellcycle import analyze_cell_cycle as analyse_cell_cycle
    from letrolab.assays.fcs import FcsData, read_fcs
    from letrolab.assays.plates import (
        analyse_plate,
        read_layout,
        read_plate,
        read_plate_combination,
    )

_BLOT = "letrolab.assays.blot"
_CELLCYCLE = "letrolab.assays.cellcycle"
_FCS = "letrolab.assays.fcs"
_PLATES = "letrolab.assays.plates"

_EXPORTS: dict[str, str | tuple[str, str]] = {
    "BlotResult": _BLOT,
    "analyse_blot": _BLOT,
    "normalise_bands": _BLOT,
    "CellCycleBatch": _CELLCYCLE,
    "CellCycleResult": _CELLCYCLE,
    "analyse_batch": (_CELLCYCLE, "analyze_batch"),
    "analyse_cell_cycle": (_CELLCYCLE, "analyze_cell_cycle"),
    "FcsData": _FCS,
    "read_fcs": _FCS,
    "analyse_plate": _PLATES,
    "read_layout": _PLATES,
    "read_plate": _PLATES,
    "read_plate_combination": _PLATES,
}

__all__ = [
    "BlotResult",
    "CellCycleBatch",
    "CellCycleResult",
    "FcsData",
    "analyse_batch",
    "analyse_blot",
    "analyse_cell_cycle",
    "analyse_plate",
    "normalise_bands",
    "read_fcs",
    "read_layout",
    "read_plate",
    "read_plate_combination",
]


class _Resolved(dict):
    """The package namespace for :func:`renamed`: a new name not yet imported is imported."""

    def __missing__(self, name: str) -> object:
        return __getattr__(name)


__getattr__ = lazy_exports(
    __name__,
    _EXPORTS,
    globals(),
    fallback=renamed(
        __name__,
        {"analyze_cell_cycle": "analyse_cell_cycle", "analyze_batch": "analyse_batch"},
        _Resolved(),
    ),
)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
