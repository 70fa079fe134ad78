"""PerkinElmer EnVision CSV and Revvity Kaleido CSV exports.

EnVision: the file repeats, per plate and label, a ``Plate information`` block (a header line
and a values line: plate number, repeat, barcode, ..., ``Label`` or ``Formula``), a
``Background information`` block, then the data: either ``Results for LABEL`` /
``Calculated results: ...`` followed by a matrix with a column-number header and row letters
(rows may be sparse, e.g. A, E, I, M of a 384-well plate), or a bare matrix of numbers (one
line per plate row). Protocol information at the end gives ``Number of rows`` / ``columns``.

Kaleido (EnVision's successor software): ``Results for LABEL``, a ``Barcode: ...,
PlateRepeat: n`` line, then a matrix with a column-number header and row letters; the
measurement settings at the end give the wavelength.
"""

from __future__ import annotations

import csv
import math
import re

import numpy as np
import pandas as pd

from letrolab.assays.plates._wells import (
    finish,
    geometry_for,
    is_column_header,
    row_letters,
    wavelength_of,
    wells_frame,
)
from letrolab.errors import FormatError

__all__ = ["read_envision", "read_kaleido"]


def _csv_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in r] for r in csv.reader(text.split("\n"))]


def _letter_index(s: str) -> int:
    letters = row_letters(64)
    return letters.index(s) if s in letters else -1


def _lettered_matrix(rows, i, source, plate):
    """Matrix with a column header at ``rows[i]``; returns (block dict row->cells, ncols, next i)."""
    ncols = len([c for c in rows[i][1:] if c != ""])
    block: dict[int, list[str]] = {}
    i += 1
    while i < len(rows) and rows[i] and rows[i][0] != "" and _letter_index(rows[i][0]) >= 0:
        vals = rows[i][1 : ncols + 1]
        block[_letter_index(rows[i][0])] = vals + [""] * (ncols - len(vals))
        i += 1
    if not block:
        raise FormatError(f"{source}: plate {plate!r} has a column header but no rows below it")
    return block, ncols, i


def _frame(block: dict[int, list[str]], ncols: int, dims, plate, read, wavelength, source):
    nr_seen = max(block) + 1
    nr, nc = dims if dims else geometry_for(nr_seen, ncols)
    if nr_seen > nr or ncols > nc:
        raise FormatError(f"{source}: plate {plate!r} matrix is larger than its {nr} x {nc} plate")
    rr = np.repeat(np.arange(nr), nc)
    cc = np.tile(np.arange(nc), nr)
    cells = [
        block[r][c] if r in block and c < len(block[r]) else None
        for r, c in zip(rr, cc, strict=True)
    ]
    return wells_frame(plate=plate, row=rr, col=cc, cells=cells, read=read, wavelength=wavelength)


def read_envision(text: str, *, source: str = "EnVision CSV") -> pd.DataFrame:
    """Parse an EnVision CSV export into the tidy wells table."""
    rows = _csv_rows(text)
    dims = None
    nrows = ncols = None
    for r in rows:
        if r and r[0] == "Number of rows":
            nrows = int(next(c for c in r[1:] if c))
        if r and r[0] == "Number of columns":
            ncols = int(next(c for c in r[1:] if c))
    if nrows and ncols:
        dims = (nrows, ncols)
    frames = []
    plate = None
    label = "value"
    i = 0
    n_blocks = 0
    while i < len(rows):
        r = rows[i]
        head = r[0] if r else ""
        if head == "Plate information":
            if i + 2 >= len(rows):
                raise FormatError(f"{source}: 'Plate information' block cut short (truncated file)")
            hdr, val = rows[i + 1], rows[i + 2]
            try:
                plate = f"Plate {int(val[0])}"
                repeat = int(val[1]) if len(val) > 1 and val[1].isdigit() else 1
            except (ValueError, IndexError):
                raise FormatError(f"{source}: plate number {val[:1]} is not an integer") from None
            if repeat > 1:  # plate repeats (kinetic-style re-reads) are plates of their own
                plate = f"{plate} repeat {repeat}"
            label = "value"
            for key in ("Label", "Formula"):
                if key in hdr and hdr.index(key) < len(val):
                    label = val[hdr.index(key)]
                    break
            i += 3
            continue
        if head.startswith("Results for") or head.startswith("Calculated results"):
            label = re.sub(r"^(Results for|Calculated results:)\s*", "", head).strip()
            i += 1
            continue
        if plate is not None and r and is_column_header(r):
            block, nc, i = _lettered_matrix(rows, i, source, plate)
            frames.append(_frame(block, nc, dims, plate, label, wavelength_of(label), source))
            n_blocks += 1
            plate = None
            continue
        if plate is not None and r and r[0] and _numeric_row(r):
            block = {}
            k = 0
            while i < len(rows) and rows[i] and rows[i][0] and _numeric_row(rows[i]):
                vals = list(rows[i])
                while vals and vals[-1] == "":
                    vals.pop()
                block[k] = vals
                k += 1
                i += 1
            nc = max(len(v) for v in block.values())
            if dims and (k, nc) != dims:
                raise FormatError(
                    f"{source}: plate {plate!r} has {k} x {nc} values, the protocol says "
                    f"{dims[0]} x {dims[1]} (truncated file?)"
                )
            frames.append(_frame(block, nc, dims, plate, label, wavelength_of(label), source))
            n_blocks += 1
            plate = None
            continue
        i += 1
    if n_blocks == 0:
        raise FormatError(f"{source}: no result matrices after the 'Plate information' blocks")
    if plate is not None:  # the last block announced a plate whose values never came
        raise FormatError(
            f"{source}: {plate!r} ({label}) has a 'Plate information' block but no values "
            "after it (truncated file?)"
        )
    return finish(frames, source=source)


def _numeric_row(r: list[str]) -> bool:
    vals = [c for c in r if c != ""]
    if len(vals) < 2:
        return False
    try:
        [float(c) for c in vals]
    except ValueError:
        return False
    return True


def read_kaleido(text: str, *, source: str = "Kaleido CSV") -> pd.DataFrame:
    """Parse a Revvity Kaleido CSV export into the tidy wells table."""
    rows = _csv_rows(text)
    wl = math.nan
    for r in rows:
        if r and r[0].lower().startswith(
            ("excitation wavelength", "measurement wavelength", "wavelength [nm]")
        ):
            nums = [c for c in r[1:] if re.fullmatch(r"\d+(\.\d+)?", c)]
            if nums:
                wl = float(nums[0])
                break
    frames = []
    label = None
    plate = "Plate 1"
    i = 0
    while i < len(rows):
        r = rows[i]
        head = r[0] if r else ""
        if head.startswith("Results for"):
            label = head[len("Results for") :].strip()
        elif head.startswith("Barcode:"):
            m = re.match(r"Barcode:\s*(.*)$", head)
            plate = (m.group(1).strip() if m else "") or "Plate 1"
            rep = next((c for c in r if c.startswith("PlateRepeat:")), "")
            m2 = re.search(r"(\d+)", rep)
            if m2 and int(m2.group(1)) > 1:
                plate = f"{plate} repeat {m2.group(1)}"
        elif label is not None and r and is_column_header(r):
            block, nc, i = _lettered_matrix(rows, i, source, plate)
            frames.append(
                _frame(
                    block,
                    nc,
                    None,
                    plate,
                    label,
                    wl if math.isfinite(wl) else wavelength_of(label),
                    source,
                )
            )
            label = None
            continue
        i += 1
    return finish(frames, source=source)
