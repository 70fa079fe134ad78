"""Virtual instruments: everything that writes files the way a lab instrument would.

The model's virtual experiments and the test suite produce plate-reader exports and plate
maps, FCS files with DNA-content events, and Western blot images through this package; the
readers and analyses in :mod:`letrolab.assays` then treat those files exactly as they treat a
lab's own. Nothing here reads or analyses data.
"""

from letrolab.instruments.blot import SyntheticBlot, render_blot
from letrolab.instruments.flow import PI_CHANNELS, DnaStain, simulate_dna_content, write_fcs
from letrolab.instruments.plates import (
    PlateNoise,
    mts_absorbance,
    plate_rings,
    write_layout,
    write_plate,
)

__all__ = [
    "PI_CHANNELS",
    "DnaStain",
    "PlateNoise",
    "SyntheticBlot",
    "mts_absorbance",
    "plate_rings",
    "render_blot",
    "simulate_dna_content",
    "write_fcs",
    "write_layout",
    "write_plate",
]
