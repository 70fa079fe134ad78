"""BMG Labtech MARS / PHERAstar CSV exports.

The file starts with ``User: ..., Path: ..., Test run no.: ...`` and ``Test name: ...``
lines, then ``ID1: ...`` (the plate's identifier), the measurement mode (``Absorbance``,
``Fluorescence (FI)`` ...), and one or more titled matrices such as ``Raw Data (450)`` or
``Blank corrected based on Raw Data (450)``: a column-number header and one line per row
letter. Empty cells are wells not read (``missing``).
"""

from __future__ import annotations

import csv
import re

import pandas as pd

from letrolab.assays.plates._wells import finish, is_column_header, wavelength_of
from letrolab.assays.plates.envision import _frame, _lettered_matrix
from letrolab.errors import FormatError

__all__ = ["read_mars"]


def read_mars(text: str, *, source: str = "MARS CSV") -> pd.DataFrame:
    """Parse a BMG MARS CSV export into the tidy wells table."""
    rows = [[c.strip() for c in r] for r in csv.reader(text.split("\n"))]
    plate = "Plate 1"
    for r in rows[:12]:
        for c in r:
            m = re.match(r"^ID1:\s*(.+)$", c)
            if m:
                plate = m.group(1).strip()
    frames = []
    title = None
    i = 0
    while i < len(rows):
        r = rows[i]
        cells = [c for c in r if c]
        if r and is_column_header(r):
            if title is None:
                raise FormatError(
                    f"{source}: a data matrix without a title such as 'Raw Data (450)'"
                )
            block, nc, i = _lettered_matrix(rows, i, source, plate)
            frames.append(_frame(block, nc, None, plate, title, wavelength_of(title), source))
            continue
        if len(cells) == 1 and r[0] and ":" not in r[0]:
            title = re.sub(r"\s+", " ", r[0])
        i += 1
    return finish(frames, source=source)
