"""letrolab.assays: readers and analyses of lab files (FCS + cell cycle / sub-G1, plates, blots).

Public names spell analyse and normalise the British way; ``analyze_cell_cycle`` and
``analyze_batch`` still resolve, with a DeprecationWarning. Writers of instrument files
(``write_fcs``, ``simulate_dna_content``) live in :mod:`letrolab.instruments`.
"""

from letrolab._deprecation import renamed
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

__getattr__ = renamed(
    __name__,
    {"analyze_cell_cycle": "analyse_cell_cycle", "analyze_batch": "analyse_batch"},
    globals(),
)
