"""Excel plate exports: which vendor wrote the workbook, and Gen5's Excel export.

Tecan Magellan, BMG SMART Control and Thermo SkanIt workbooks are parsed by allotropy
(:mod:`letrolab.assays.plates.asm`); this module only names the vendor from the sheets' content
(``Well positions`` column: Magellan; ``Microplate ...`` sheet or ``Test ID:``: SMART Control;
``Measurement results`` title: SkanIt; ``Software Version``: Gen5). Gen5's Excel export is read
here, by the Gen5 text parser, because allotropy's Gen5 parser takes text exports only.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from letrolab.errors import FormatError

__all__ = ["detect_xlsx", "read_gen5_xlsx"]


def _cell(c) -> str:
    if c is None:
        return ""
    if isinstance(c, float):
        return str(int(c)) if c.is_integer() and abs(c) < 1e15 else repr(c)
    return str(c).strip()


#: Rows of each sheet that :func:`detect_xlsx` looks at (the vendors' headers are above it).
DETECT_ROWS = 60


def _sheets(path: Path, max_row: int | None = None) -> list[tuple[str, list[tuple]]]:
    """(title, rows) of each sheet; only the first ``max_row`` rows when given (openpyxl's
    read-only mode then stops reading the sheet there)."""
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FormatError(f"{path.name}: not a readable Excel workbook ({exc})") from None
    try:
        return [
            (ws.title, list(ws.iter_rows(max_row=max_row, values_only=True)))
            for ws in wb.worksheets
        ]
    finally:
        wb.close()


def detect_xlsx(path: Path) -> str:
    """Name the vendor of an Excel plate export."""
    for title, rows in _sheets(path, max_row=DETECT_ROWS):
        head = [_cell(c) for r in rows for c in r if c is not None]
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


def read_gen5_xlsx(path: Path) -> pd.DataFrame:
    """Read Gen5's Excel export: the text export's blocks in one sheet (Gen5 text parser)."""
    from letrolab.assays.plates.gen5 import parse_gen5_rows

    rows = [[_cell(c) for c in r] for _, rs in _sheets(path) for r in rs]
    return parse_gen5_rows(rows, source=path.name)
