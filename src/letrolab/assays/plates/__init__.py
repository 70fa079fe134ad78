"""Plate-reader files: readers for the vendors' exports, layouts, viability and QC.

:func:`read_plate` detects the format from the file's content and returns the tidy wells
table (columns in :mod:`letrolab.assays.plates._wells`). Formats:

=================  ===========================================================  ==========
format             what                                                         module
=================  ===========================================================  ==========
``gen5``           BioTek/Agilent Gen5 text export (matrix, column, kinetic,     gen5
                   spectrum blocks; UTF-8 or UTF-16)
``gen5_xlsx``      Gen5 Excel export (same blocks in a sheet)                    gen5
``envision``       PerkinElmer EnVision CSV                                      envision
``kaleido``        Revvity Kaleido CSV                                           envision
``magellan``       Tecan Magellan Excel export                                   xlsx_readers
``softmax``        Molecular Devices SoftMax Pro text (``##BLOCKS``)              softmax
``mars``           BMG Labtech MARS / PHERAstar CSV                              mars
``smart_control``  BMG Labtech SMART Control Excel export                        xlsx_readers
``skanit``         Thermo SkanIt Excel export                                    xlsx_readers
``matrix``         letrolab's generic matrix CSV (96, 384 ... wells)             generic
``tidy``           a long CSV with ``well`` and ``value`` columns                 generic
=================  ===========================================================  ==========

Write plates with :func:`write_plate` (matrix, tidy or Gen5 text) and plate maps with
:func:`write_layout`; :func:`read_plate_combination` turns a read and its layout into the
tidy combination table of the synergy models.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from letrolab.assays.plates._wells import FLAGS, WELL_COLUMNS
from letrolab.assays.plates.analysis import (
    PlateAnalysis,
    PlateQC,
    analyse_plate,
    plate_qc,
    read_plate_combination,
)
from letrolab.assays.plates.generic import write_plate
from letrolab.assays.plates.layout import Layout, read_layout, write_layout
from letrolab.errors import FormatError, InputError

__all__ = [
    "FLAGS",
    "FORMATS",
    "WELL_COLUMNS",
    "Layout",
    "PlateAnalysis",
    "PlateQC",
    "analyse_plate",
    "detect_format",
    "plate_qc",
    "read_layout",
    "read_plate",
    "read_plate_combination",
    "write_layout",
    "write_plate",
]

FORMATS = (
    "gen5",
    "gen5_xlsx",
    "envision",
    "kaleido",
    "magellan",
    "softmax",
    "mars",
    "smart_control",
    "skanit",
    "matrix",
    "tidy",
)


def decode_text(data: bytes, source: str) -> str:
    """Decode an export: UTF-16 with BOM (Gen5, SoftMax), UTF-8 (with or without BOM), Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            cut = " (an odd number of bytes: truncated file?)" if len(data) % 2 else ""
            raise FormatError(f"{source}: not valid UTF-16 text at byte {exc.start}{cut}") from None
    elif data[:200].count(b"\x00") > 20:
        text = data.decode("utf-16-le", errors="replace")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    if "\x00" in text:
        raise FormatError(f"{source}: binary content; not a plate-reader text export")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _xlsx_format(path: Path) -> str:
    from letrolab.assays.plates.xlsx_readers import detect_xlsx

    return detect_xlsx(path)


def detect_format(path: str | Path) -> str:
    """Name the format of a plate file from its content (one of :data:`FORMATS`).

    Raises
    ------
    FormatError
        If the content matches no known export, naming what was found.
    """
    path = Path(path)
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04":
        return _xlsx_format(path)
    if not data.strip():
        raise FormatError(f"{path.name}: the file is empty")
    text = decode_text(data, path.name)
    head = text[:4000]
    if head.lstrip().startswith("##BLOCKS"):
        return "softmax"
    if "Software Version" in head and ("Plate Number" in head or "Procedure Details" in head):
        return "gen5"
    if "Kaleido" in text or ("Results for" in head and "Barcode:" in head):
        return "kaleido"
    if head.lstrip().startswith("Plate information") or (
        "Plate information" in head and "Background information" in text
    ):
        return "envision"
    if head.startswith("User:") and "Test name:" in head:
        return "mars"
    first = next((ln for ln in head.splitlines() if ln.strip() and not ln.startswith("#")), "")
    low = [c.strip().lower() for c in first.replace(";", ",").replace("\t", ",").split(",")]
    if "well" in low and "value" in low:
        return "tidy"
    from letrolab.assays.plates._wells import is_column_header
    from letrolab.assays.plates.generic import _rows

    if any(is_column_header(r) for r in _rows(head)):
        return "matrix"
    raise FormatError(
        f"{path.name}: not a plate-reader export letrolab knows (first line {first[:60]!r}); "
        f"supported: {', '.join(FORMATS)}"
    )


def read_plate(path: str | Path, *, format: str | None = None) -> pd.DataFrame:
    """Read a plate-reader file into the tidy wells table.

    Parameters
    ----------
    path : path
        The export.
    format : str, optional
        One of :data:`FORMATS`; detected from the content when omitted.

    Returns
    -------
    DataFrame
        ``plate, well, row, col, read, wavelength, time_s, value, flag, raw`` — one row per
        plate, read, time point and well of the plate's geometry; ``flag`` is ``ok``,
        ``saturated``, ``non_numeric`` or ``missing`` and ``value`` is NaN unless ``ok``.

    Raises
    ------
    InputError
        The file does not exist (or is a folder) or the format name is unknown.
    FormatError
        The content is not the format, is truncated, or holds no plate data (the message says
        which).
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"plate file {str(path)!r} is a folder; give a plate-reader export")
    if not path.is_file():
        raise InputError(f"plate file {str(path)!r} does not exist")
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise InputError(f"unknown plate format {fmt!r}; use one of {', '.join(FORMATS)}")
    src = path.name
    if fmt in {"magellan", "smart_control", "skanit", "gen5_xlsx"}:
        from letrolab.assays.plates import xlsx_readers

        return xlsx_readers.read_xlsx(path, fmt)
    text = decode_text(path.read_bytes(), src)
    if fmt == "gen5":
        from letrolab.assays.plates.gen5 import read_gen5_text

        return read_gen5_text(text, source=src)
    if fmt in {"envision", "kaleido"}:
        from letrolab.assays.plates.envision import read_envision, read_kaleido

        return (read_envision if fmt == "envision" else read_kaleido)(text, source=src)
    if fmt == "softmax":
        from letrolab.assays.plates.softmax import read_softmax

        return read_softmax(text, source=src)
    if fmt == "mars":
        from letrolab.assays.plates.mars import read_mars

        return read_mars(text, source=src)
    from letrolab.assays.plates.generic import read_matrix_csv, read_tidy_csv

    return (read_matrix_csv if fmt == "matrix" else read_tidy_csv)(text, source=src)
