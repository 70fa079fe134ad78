"""Generic plate files: the matrix CSV letrolab defines and a tidy (long) CSV (readers).

These are letrolab's own interchange formats (written by
:func:`letrolab.instruments.plates.write_plate` and by hand); no instrument writes them, so
allotropy has no parser for them and letrolab keeps its own.

Matrix CSV (``format="matrix"``), any number of plates and reads, comma, semicolon or tab
separated; lines starting with ``#`` are comments::

    plate,Plate 1
    read,A490
    ,1,2,3,4,5,6,7,8,9,10,11,12
    A,0.512,0.498,...
    ...
    H,0.049,0.051,...

    plate,Plate 1
    read,A650
    ,1,2,...

``plate`` and ``read`` lines are optional (defaults ``Plate 1``, ``Plate 2`` ... per matrix
without a ``plate`` line, and read ``value``); an optional ``wavelength,490`` line gives the
wavelength in nm. A matrix is a header row of column numbers followed by one row per plate
row (letters A..P...), 96- (8 x 12) or 384-well (16 x 24) or any standard format; empty cells
are ``missing`` wells, ``OVRFLW``-like words are ``saturated``.

Tidy CSV (``format="tidy"``): a header with at least ``well`` and ``value`` columns, plus
optionally ``plate``, ``read``, ``wavelength``, ``time_s`` — the wells table itself.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd

from letrolab.assays.plates._wells import (
    finish,
    geometry_for,
    is_column_header,
    matrix_cells,
    parse_well,
    row_letters,
    wavelength_of,
    wells_frame,
)
from letrolab.errors import FormatError

__all__ = ["read_matrix_csv", "read_tidy_csv", "split_rows"]


def split_rows(text: str) -> list[list[str]]:
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    sample = "\n".join(lines[:20])
    delim = ","
    for d in ("\t", ";", ","):
        if d in sample:
            delim = d
            break
    return [[c.strip() for c in r] for r in csv.reader(lines, delimiter=delim)]


def read_matrix_csv(text: str, *, source: str = "matrix CSV") -> pd.DataFrame:
    """Parse the generic matrix CSV (see module docstring) into the tidy wells table."""
    rows = split_rows(text)
    frames = []
    plate = None
    read = "value"
    wavelength = math.nan
    unnamed = 0
    i = 0
    while i < len(rows):
        r = rows[i]
        key = r[0].lower() if r else ""
        if key in {"plate", "read", "wavelength"} and len(r) > 1:
            if key == "plate":
                plate = r[1]
            elif key == "read":
                read = r[1]
                wavelength = wavelength_of(read)
            else:
                try:
                    wavelength = float(r[1])
                except ValueError:
                    raise FormatError(f"{source}: wavelength {r[1]!r} is not a number") from None
            i += 1
            continue
        if r and is_column_header(r):
            ncols = len([c for c in r[1:] if c != ""])
            block = []
            letters = []
            i += 1
            while i < len(rows) and rows[i] and rows[i][0].isalpha() and len(rows[i][0]) <= 2:
                if rows[i][0].lower() in {"plate", "read", "wavelength"}:
                    break
                letters.append(rows[i][0].upper())
                block.append(rows[i][1 : ncols + 1])
                i += 1
            if not block:
                raise FormatError(f"{source}: a column header with no plate rows below it")
            if letters != row_letters(len(letters)):
                raise FormatError(
                    f"{source}: plate rows are {''.join(letters)}, expected "
                    f"{''.join(row_letters(len(letters)))} (truncated or reordered file)"
                )
            nr, nc = geometry_for(len(block), ncols)
            if (nr, nc) != (len(block), ncols) and (len(block), ncols) not in {(8, 12), (16, 24)}:
                raise FormatError(
                    f"{source}: a {len(block)} x {ncols} matrix is not a whole plate "
                    f"({nr} x {nc}); the file looks truncated"
                )
            if plate is None:
                unnamed += 1
                name = f"Plate {unnamed}"
            else:
                name = plate
            rr, cc, cells = matrix_cells(block, n_rows=nr, n_cols=nc)
            frames.append(
                wells_frame(
                    plate=name, row=rr, col=cc, cells=cells, read=read, wavelength=wavelength
                )
            )
            plate = None if plate is None else plate
            continue
        i += 1
    return finish(frames, source=source)


def read_tidy_csv(text: str, *, source: str = "tidy CSV") -> pd.DataFrame:
    """Parse a long table with ``well`` and ``value`` columns into the tidy wells table."""
    try:
        df = pd.read_csv(
            io.StringIO(text), sep=None, engine="python", dtype=str, keep_default_na=False
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise FormatError(f"{source}: cannot read as a table: {exc}") from None
    cols = {c.strip().lower(): c for c in df.columns}
    if "well" not in cols or "value" not in cols:
        raise FormatError(f"{source}: a tidy plate table needs 'well' and 'value' columns")
    parsed = [parse_well(w) for w in df[cols["well"]]]
    rows = np.array([ord(r[0]) - 65 if len(r) == 1 else 26 + ord(r[1]) - 65 for r, _ in parsed])
    cols_ = np.array([c - 1 for _, c in parsed])
    plate = df[cols["plate"]].to_numpy(dtype=object) if "plate" in cols else "Plate 1"
    read = df[cols["read"]].to_numpy(dtype=object) if "read" in cols else "value"
    wl = None
    if "wavelength" in cols:
        wl = pd.to_numeric(
            df[cols["wavelength"]].mask(df[cols["wavelength"]].eq("")), errors="coerce"
        ).to_numpy()
    ts = None
    if "time_s" in cols:
        ts = pd.to_numeric(
            df[cols["time_s"]].mask(df[cols["time_s"]].eq("")), errors="coerce"
        ).to_numpy()
    out = wells_frame(
        plate=plate,
        row=rows,
        col=cols_,
        cells=df[cols["value"]].tolist(),
        read=read,
        wavelength=wl,
        time_s=ts,
    )
    return finish([out], source=source)
