"""letrolab.assays: readers and analyses of lab files (FCS + cell cycle / sub-G1, plates, blots)."""

from letrolab.assays.blot import BlotResult, analyse_blot, normalise_bands, render_blot
from letrolab.assays.cellcycle import (
    CellCycleBatch,
    CellCycleResult,
    analyze_batch,
    analyze_cell_cycle,
    simulate_dna_content,
)
from letrolab.assays.fcs import FcsData, read_fcs, write_fcs
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
    "analyse_blot",
    "analyse_plate",
    "analyze_batch",
    "analyze_cell_cycle",
    "normalise_bands",
    "read_fcs",
    "read_layout",
    "read_plate",
    "read_plate_combination",
    "render_blot",
    "simulate_dna_content",
    "write_fcs",
]
