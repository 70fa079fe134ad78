"""Molecular Devices SoftMax Pro text exports (``##BLOCKS= n`` ... ``~End``).

Each ``Plate:`` block has a tab-separated header line::

    Plate:  NAME  1.3  PlateFormat|TimeFormat  Endpoint  Absorbance  Raw  FALSE  1  ...
            n_wavelengths  "450 " | "260 280 340 "  read_type  first_col  n_cols  n_wells ...

(fields after the plate name by position: version, data format, read type, read mode, data
type, ..., then — after the empty fields — number of wavelengths, the wavelengths, ...,
first column, number of columns, number of wells). In ``PlateFormat`` the raw matrix follows:
one line per plate row, a temperature cell first on the first line, and the wavelengths side
by side separated by an empty cell. In ``TimeFormat`` a header lists the wells (``A1 A2 ...``)
and each following line holds one wavelength. Only the raw data (up to the first empty line)
are read; the reduced matrix after it and the group tables are derived values.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from letrolab.assays.plates._wells import finish, geometry_for, parse_well, row_letters, wells_frame
from letrolab.errors import FormatError

__all__ = ["read_softmax"]


def _header_fields(line: list[str], source: str):
    name = line[1].strip() if len(line) > 1 else "Plate 1"
    fmt = line[3].strip() if len(line) > 3 else ""
    mode = line[5].strip() if len(line) > 5 else ""
    rest = [c.strip() for c in line[9:]]
    nonempty = [c for c in rest if c]
    # The wavelength field is the first one with several numbers or one number plus a space.
    wl_idx = next(
        (
            k
            for k, c in enumerate(rest)
            if re.fullmatch(r"(\d+(?:\.\d+)?\s*)+", c) and " " in line[9 + k]
        ),
        None,
    )
    if wl_idx is None:
        raise FormatError(f"{source}: plate {name!r} header names no wavelengths")
    wavelengths = [float(x) for x in rest[wl_idx].split()]
    after = [c for c in rest[wl_idx + 1 :] if c]
    try:
        first_col, n_cols, n_wells = int(after[0]), int(after[1]), int(after[2])
    except (IndexError, ValueError):
        raise FormatError(
            f"{source}: plate {name!r} header lacks first column / columns / wells"
        ) from None
    del nonempty
    return name, fmt, mode, wavelengths, first_col, n_cols, n_wells


def _geometry(n_wells: int, source: str) -> tuple[int, int]:
    for rows, cols in ((8, 12), (16, 24), (4, 6), (6, 8), (2, 3), (3, 4), (32, 48)):
        if rows * cols == n_wells:
            return rows, cols
    raise FormatError(f"{source}: unknown plate size {n_wells} wells")


def read_softmax(text: str, *, source: str = "SoftMax Pro export") -> pd.DataFrame:
    """Parse a SoftMax Pro text export into the tidy wells table."""
    lines = [ln.split("\t") for ln in text.split("\n")]
    if not lines or not lines[0][0].strip().startswith("##BLOCKS"):
        raise FormatError(f"{source}: a SoftMax Pro export starts with '##BLOCKS='")
    frames = []
    i = 0
    n_plates = 0
    while i < len(lines):
        ln = lines[i]
        if not ln[0].strip().startswith("Plate:"):
            i += 1
            continue
        name, fmt, mode, wls, first_col, n_cols, n_wells = _header_fields(ln, source)
        nr, nc = _geometry(n_wells, source)
        i += 2  # skip the column header line
        header_at = i - 1
        data = []
        if fmt == "TimeFormat":  # one line per wavelength, blank lines between them
            while i < len(lines) and len(data) < len(wls) and lines[i][0].strip() != "~End":
                if any(c.strip() for c in lines[i]):
                    data.append(lines[i])
                i += 1
        else:
            while (
                i < len(lines)
                and any(c.strip() for c in lines[i])
                and lines[i][0].strip() != "~End"
            ):
                data.append(lines[i])
                i += 1
        if not data:
            raise FormatError(f"{source}: plate {name!r} has no data lines (truncated file?)")
        reads = [f"{mode} {w:g}" if mode else f"{w:g}" for w in wls]
        if len(set(reads)) < len(reads):  # the same wavelength read several times
            reads = [f"{r} #{k + 1}" for k, r in enumerate(reads)]
        if fmt == "PlateFormat":
            if len(data) != nr:
                raise FormatError(
                    f"{source}: plate {name!r} has {len(data)} data rows, a {n_wells}-well plate "
                    f"has {nr} (truncated file?)"
                )
            for k, (read, wl) in enumerate(zip(reads, wls, strict=True)):
                start = 2 + k * (n_cols + 1)
                rr, cc, cells = [], [], []
                for r, row in enumerate(data):
                    for j in range(nc):
                        rr.append(r)
                        cc.append(j)
                        col = j - (first_col - 1)
                        inside = 0 <= col < n_cols and start + col < len(row)
                        cells.append(row[start + col] if inside else None)
                frames.append(
                    wells_frame(plate=name, row=rr, col=cc, cells=cells, read=read, wavelength=wl)
                )
        elif fmt == "TimeFormat":
            header = lines[header_at]
            wells = []
            for c in header[2:]:
                c = c.strip()
                if not c:
                    break
                wells.append(parse_well(c))
            rl = row_letters(nr)
            pos = {(rl.index(r), c - 1): k for k, (r, c) in enumerate(wells)}
            if len(data) != len(wls):
                raise FormatError(
                    f"{source}: plate {name!r} has {len(data)} data lines for {len(wls)} wavelengths"
                )
            for row, read, wl in zip(data, reads, wls, strict=True):
                rr = np.repeat(np.arange(nr), nc)
                cc = np.tile(np.arange(nc), nr)
                cells = []
                for r, c in zip(rr, cc, strict=True):
                    k = pos.get((r, c))
                    cells.append(row[2 + k] if k is not None and 2 + k < len(row) else None)
                frames.append(
                    wells_frame(plate=name, row=rr, col=cc, cells=cells, read=read, wavelength=wl)
                )
        else:
            raise FormatError(f"{source}: plate {name!r} data format {fmt!r} is not supported")
        geometry_for(nr, nc)
        n_plates += 1
    if not n_plates:
        raise FormatError(f"{source}: no 'Plate:' blocks found (truncated file?)")
    return finish(frames, source=source)
