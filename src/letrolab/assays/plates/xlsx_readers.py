"""Excel exports: Tecan Magellan, BMG SMART Control, Thermo SkanIt, and Gen5's Excel export.

* Magellan: a column ``Well positions`` (A1, A2 ...) beside one column per label (``Label1``,
  ``Raw data`` ...) and optionally ``Plate``; the wavelengths are in ``Label1=535`` cells or in
  the ``Measurement wavelength: 485 nm`` lines below the table (Measurement k = label k).
* SMART Control: sheet ``Microplate End point`` with numbered sections (``4. Raw Data
  (480-14/520-30)``, ``5. Blank corrected based on Raw Data ...``), each a matrix with a
  column-number header and row letters; plate maps (``Layout``, ``Standard Concentrations``,
  ``Dilutions``) are skipped.
* SkanIt: per sheet a title (``Luminescence 1``), ``Wavelength: N nm``, ``Plate N``, then a
  matrix whose header's first cell is the unit (``RLU``, ``Abs``).
* Gen5 Excel: the text export's blocks in one sheet (parsed by the Gen5 text parser).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from letrolab.assays.plates._wells import (
    finish,
    geometry_for,
    parse_well,
    row_letters,
    wavelength_of,
    wells_frame,
)
from letrolab.errors import FormatError

__all__ = ["detect_xlsx", "read_xlsx"]


def _cell(c) -> str:
    if c is None:
        return ""
    if isinstance(c, float):
        return str(int(c)) if c.is_integer() and abs(c) < 1e15 else repr(c)
    return str(c).strip()


def _sheets(path: Path) -> list[tuple[str, list[tuple]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FormatError(f"{path.name}: not a readable Excel workbook ({exc})") from None
    try:
        return [(ws.title, list(ws.iter_rows(values_only=True))) for ws in wb.worksheets]
    finally:
        wb.close()


def detect_xlsx(path: Path) -> str:
    """Name the vendor of an Excel plate export."""
    sheets = _sheets(path)
    for title, rows in sheets:
        head = [_cell(c) for r in rows[:60] for c in r if c is not None]
        if any(h.lower() == "well positions" for h in head):
            return "magellan"
        if "Software Version" in head:
            return "gen5_xlsx"
        if title.startswith("Microplate") or any(h.startswith("Test ID:") for h in head):
            return "smart_control"
        if head and head[0] == "Measurement results":
            return "skanit"
    raise FormatError(
        f"{path.name}: an Excel file but not a Magellan, SMART Control, SkanIt or Gen5 export"
    )


def read_xlsx(path: Path, fmt: str) -> pd.DataFrame:
    """Read an Excel export of format ``fmt`` (see :func:`detect_xlsx`)."""
    sheets = _sheets(path)
    src = path.name
    if fmt == "magellan":
        return _magellan(sheets, src)
    if fmt == "smart_control":
        return _smart_control(sheets, src)
    if fmt == "skanit":
        return _skanit(sheets, src)
    from letrolab.assays.plates.gen5 import parse_gen5_rows

    rows = [[_cell(c) for c in r] for _, rs in sheets for r in rs]
    return parse_gen5_rows(rows, source=src)


def _magellan(sheets, src):
    frames = []
    for _, raw in sheets:
        rows = [[_cell(c) for c in r] for r in raw]
        hdr_i = next((i for i, r in enumerate(rows[:20]) if "Well positions" in r), None)
        if hdr_i is None:
            continue
        hdr = rows[hdr_i]
        wcol = hdr.index("Well positions")
        pcol = hdr.index("Plate") if "Plate" in hdr else None
        dcols = [k for k, h in enumerate(hdr) if h and k not in (wcol, pcol) and "=" not in h]
        wl_by_label = {}
        for r in rows:
            for c in r:
                m = re.fullmatch(r"(Label\d+)=(\d+(?:\.\d+)?)", c)
                if m:
                    wl_by_label[m.group(1)] = float(m.group(2))
        meas = [
            float(m.group(1))
            for r in rows
            for c in r
            for m in [re.match(r"Measurement wavelength:\s*(\d+(?:\.\d+)?)", c)]
            if m
        ]
        data = []
        for r in rows[hdr_i + 1 :]:
            w = r[wcol] if wcol < len(r) else ""
            try:
                data.append((parse_well(w), r))
            except FormatError:
                if data:
                    break  # the metadata below the table
                continue  # time / temperature lines above the data
        if not data:
            raise FormatError(f"{src}: a 'Well positions' column with no wells below it")
        rl = row_letters(64)
        rr = np.array([rl.index(w[0]) for w, _ in data])
        cc = np.array([w[1] - 1 for w, _ in data])
        nr, nc = geometry_for(int(rr.max()) + 1, int(cc.max()) + 1)
        for k, dc in enumerate(dcols):
            label = hdr[dc]
            wl = wl_by_label.get(label, meas[k] if k < len(meas) else math.nan)
            plates, last = [], "Plate 1"
            for _, r in data:  # the plate name is written once, on the first well's line
                if pcol is not None and pcol < len(r) and r[pcol]:
                    last = r[pcol]
                plates.append(last)
            for plate in pd.unique(np.asarray(plates, dtype=object)):
                idx = [j for j, p in enumerate(plates) if p == plate]
                have = {(rr[j], cc[j]): data[j][1][dc] if dc < len(data[j][1]) else "" for j in idx}
                r_all = np.repeat(np.arange(nr), nc)
                c_all = np.tile(np.arange(nc), nr)
                cells = [have.get((a, b)) for a, b in zip(r_all, c_all, strict=True)]
                cells = [None if c == "" else c for c in cells]
                frames.append(
                    wells_frame(
                        plate=plate, row=r_all, col=c_all, cells=cells, read=label, wavelength=wl
                    )
                )
    return finish(frames, source=src)


def _is_header(r: list[str]) -> int:
    """Number of columns if ``r`` is ``[<anything>, 1, 2, ..., n, (empty, notes ...)]``."""
    n = 0
    for c in r[1:]:
        if c == str(n + 1):
            n += 1
        else:
            break
    rest = r[1 + n :]
    if n >= 2 and (not rest or rest[0] == ""):
        return n
    return 0


def _matrix_at(rows, i, ncols, src, plate):
    block = {}
    rl = row_letters(64)
    i += 1
    while i < len(rows) and rows[i] and rows[i][0] in rl:
        vals = rows[i][1 : ncols + 1]
        block[rl.index(rows[i][0])] = vals + [""] * (ncols - len(vals))
        i += 1
    if not block:
        raise FormatError(f"{src}: plate {plate!r} has a column header but no rows below it")
    nr, nc = geometry_for(max(block) + 1, ncols)
    r_all = np.repeat(np.arange(nr), nc)
    c_all = np.tile(np.arange(nc), nr)
    cells = [block[a][b] if a in block else None for a, b in zip(r_all, c_all, strict=True)]
    cells = [None if c == "" else c for c in cells]
    return r_all, c_all, cells, i


def _smart_control(sheets, src):
    frames = []
    for title, raw in sheets:
        if not title.lower().startswith("microplate"):
            continue
        rows = [[_cell(c) for c in r] for r in raw]
        plate = "Plate 1"
        for r in rows[:20]:
            m = re.match(r"^ID1:\s*(.+)$", r[0] if r else "")
            if m:
                plate = m.group(1).strip()
        section = None
        i = 0
        while i < len(rows):
            r = rows[i]
            text = " ".join(c for c in r if c)
            m = re.match(r"^\d+\.\s+(.+)$", text)
            if m:
                section = m.group(1).strip()
                i += 1
                continue
            nc = _is_header(r) if r else 0
            if nc and section is not None:
                rr, cc, cells, i = _matrix_at(rows, i, nc, src, plate)
                if not re.search(r"layout|standard|dilution|concentration", section, re.IGNORECASE):
                    frames.append(
                        wells_frame(
                            plate=plate,
                            row=rr,
                            col=cc,
                            cells=cells,
                            read=section,
                            wavelength=wavelength_of(section),
                        )
                    )
                section = None
                continue
            i += 1
    return finish(frames, source=src)


def _skanit(sheets, src):
    frames = []
    for _title, raw in sheets:
        rows = [[_cell(c) for c in r] for r in raw]
        label = _title
        wl = math.nan
        plate = "Plate 1"
        prev = []
        i = 0
        while i < len(rows):
            r = rows[i]
            first = r[0] if r else ""
            m = re.match(r"^Wavelength:\s*(\d+(?:\.\d+)?)\s*nm", first)
            if m:
                wl = float(m.group(1)) or math.nan
                label = next((p for p in reversed(prev) if p), label)
            elif re.fullmatch(r"Plate \d+", first):
                plate = first
            nc = _is_header(r) if r else 0
            if nc:
                rr, cc, cells, i = _matrix_at(rows, i, nc, src, plate)
                read = f"{label} ({first})" if first else label
                frames.append(
                    wells_frame(plate=plate, row=rr, col=cc, cells=cells, read=read, wavelength=wl)
                )
                continue
            if first:
                prev.append(first)
            i += 1
    return finish(frames, source=src)
