"""letrolab.assays: readers and analyses of lab files (FCS + cell cycle / sub-G1, plates, blots)."""

from letrolab.assays.fcs import FcsData, read_fcs, write_fcs

__all__ = [
    "FcsData",
    "read_fcs",
    "write_fcs",
]
