"""letrolab.assays: readers and analyses of lab files (FCS + cell cycle / sub-G1, plates, blots)."""

from letrolab.assays.fcs import FcsData, read_fcs, write_fcs
from letrolab.assays.plates import (
    analyse_plate,
    read_layout,
    read_plate,
    read_plate_combination,
    write_layout,
    write_plate,
)

__all__ = [
    "FcsData",
    "analyse_plate",
    "read_fcs",
    "read_layout",
    "read_plate",
    "read_plate_combination",
    "write_fcs",
    "write_layout",
    "write_plate",
]
