"""Plate-reader files: the vendors' exports (allotropy underneath), layouts, viability and QC.

:func:`read_plate` detects the format from the file's content and returns the tidy wells
table (columns in :mod:`letrolab.assays.plates._wells`); :func:`read_plate_file` returns the
same wells with the parser used and the Allotrope Simple Model (ASM) document. Formats and
their parsers (:data:`PARSERS`; ``letrolab plate --vendors`` prints them):

=================  ===========================================  ===============================
format             what                                         parser
=================  ===========================================  ===============================
``gen5``           BioTek/Agilent Gen5 text export              allotropy; letrolab's ``gen5``
                                                                for the exports allotropy
                                                                refuses (see below)
``gen5_xlsx``      Gen5 Excel export (the text blocks in a      letrolab ``gen5``
                   sheet)
``envision``       PerkinElmer EnVision CSV                     allotropy
``kaleido``        Revvity Kaleido CSV                          allotropy
``magellan``       Tecan Magellan Excel export                  allotropy
``softmax``        Molecular Devices SoftMax Pro text           allotropy
``mars``           BMG Labtech MARS / PHERAstar CSV             allotropy
``smart_control``  BMG Labtech SMART Control Excel export       allotropy
``skanit``         Thermo SkanIt Excel export                   allotropy
``matrix``         letrolab's generic matrix CSV                letrolab ``generic``
``tidy``           a long CSV with ``well`` and ``value``       letrolab ``generic``
=================  ===========================================  ===============================

letrolab keeps its own readers only where allotropy (0.1.150) has no parser for the format:

* ``matrix`` and ``tidy``: letrolab's own interchange files (what :func:`write_plate` writes
  and what a lab types by hand); no instrument writes them, so allotropy has no parser.
* ``gen5_xlsx``: allotropy's Gen5 parser accepts text exports only.
* ``gen5`` exports allotropy refuses: multi-plate exports ("Only a single plate per file"),
  exports without a ``Read`` step in the procedure (Gen5 2.x, the synergy-file-reader
  examples), column-wise and kinetic-matrix layouts. The file is handed to letrolab's Gen5
  reader only after allotropy refused it, and the refusal is kept in
  :attr:`PlateFile.notes`.

Write plates with :func:`letrolab.instruments.plates.write_plate` (matrix, tidy or Gen5
text) and plate maps with :func:`letrolab.instruments.plates.write_layout`;
:func:`read_plate_combination` turns a read and its layout into the tidy combination table of
the synergy models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from letrolab.assays.plates._wells import (
    FLAGS,
    KINDS,
    WELL_COLUMNS,
    geometry_for,
    parse_well,
    row_letters,
    wavelength_of,
)
from letrolab.assays.plates.analysis import (
    PlateAnalysis,
    PlateQC,
    analyse_plate,
    plate_qc,
    read_plate_combination,
)
from letrolab.assays.plates.layout import Layout, read_layout
from letrolab.errors import FormatError, InputError

if TYPE_CHECKING:
    from letrolab.assays.plates.asm import AllotropyParse

__all__ = [
    "FLAGS",
    "FORMATS",
    "KINDS",
    "PARSERS",
    "WELL_COLUMNS",
    "Layout",
    "PlateAnalysis",
    "PlateFile",
    "PlateQC",
    "analyse_plate",
    "detect_format",
    "geometry_for",
    "parse_well",
    "plate_qc",
    "read_layout",
    "read_plate",
    "read_plate_combination",
    "read_plate_file",
    "row_letters",
    "wavelength_of",
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
_ALLOTROPY_FORMATS = frozenset(
    {"gen5", "envision", "kaleido", "magellan", "softmax", "mars", "smart_control", "skanit"}
)

#: Format -> the parser that reads it (what ``letrolab plate --vendors`` prints).
PARSERS = {
    "gen5": "allotropy AGILENT_GEN5; letrolab gen5 reader for exports allotropy refuses "
    "(multi-plate, no Read step, column or kinetic-matrix layout)",
    "gen5_xlsx": "letrolab gen5 reader (allotropy reads Gen5 text exports only)",
    "envision": "allotropy PERKIN_ELMER_ENVISION",
    "kaleido": "allotropy REVVITY_KALEIDO",
    "magellan": "allotropy TECAN_MAGELLAN",
    "softmax": "allotropy MOLDEV_SOFTMAX_PRO",
    "mars": "allotropy BMG_MARS",
    "smart_control": "allotropy BMG_LABTECH_SMART_CONTROL",
    "skanit": "allotropy THERMO_SKANIT",
    "matrix": "letrolab generic matrix reader (letrolab's own format)",
    "tidy": "letrolab generic tidy reader (letrolab's own format)",
}


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
    from letrolab.assays.plates.generic import split_rows

    if any(is_column_header(r) for r in split_rows(head)):
        return "matrix"
    raise FormatError(
        f"{path.name}: not a plate-reader export letrolab knows (first line {first[:60]!r}); "
        f"supported: {', '.join(FORMATS)}"
    )


@dataclass(frozen=True)
class PlateFile:
    """A plate-reader file read into wells, with the parser that read it.

    Attributes
    ----------
    wells : DataFrame
        The tidy wells table (:data:`WELL_COLUMNS`).
    format : str
        One of :data:`FORMATS`.
    parser : str
        ``"allotropy <version> <VENDOR>"`` or ``"letrolab <reader>"``.
    unplaced : dict
        Calculated values that belong to no single well (group means, curve fits), by name.
    notes : tuple of str
        Why a fallback reader was used (allotropy's refusal), and any repair of allotropy's
        document (a wavelength no plate reader measures at).
    allotropy : AllotropyParse or None
        allotropy's parse, from which :meth:`asm_document` maps the whole ASM document; None
        when one of letrolab's own readers read the file.
    """

    wells: pd.DataFrame
    format: str
    parser: str
    unplaced: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    allotropy: AllotropyParse | None = field(default=None, repr=False)

    @property
    def has_asm(self) -> bool:
        """True when allotropy parsed the file, so that an ASM document exists."""
        return self.allotropy is not None

    def asm_document(self) -> dict[str, Any]:
        """The ASM document (a JSON-able dict), validated against its schema.

        Raises
        ------
        FormatError
            The file was read by one of letrolab's own readers, which do not produce ASM.
        """
        if self.allotropy is None:
            why = f" ({self.notes[0]})" if self.notes else ""
            raise FormatError(
                f"no ASM document for format {self.format!r}: it was read by {self.parser}, "
                f"not by allotropy{why}"
            )
        from letrolab.assays.plates.asm import validated_document

        return validated_document(self.allotropy.model(), source=self.format)


def _check_path(path: Path) -> None:
    if path.is_dir():
        raise InputError(f"plate file {str(path)!r} is a folder; give a plate-reader export")
    if not path.is_file():
        raise InputError(f"plate file {str(path)!r} does not exist")


def _own_reader(path: Path, fmt: str, data: bytes) -> pd.DataFrame:
    if fmt == "gen5_xlsx":
        from letrolab.assays.plates.xlsx_readers import read_gen5_xlsx

        return read_gen5_xlsx(path)
    text = decode_text(data, path.name)
    if fmt == "gen5":
        from letrolab.assays.plates.gen5 import read_gen5_text

        return read_gen5_text(text, source=path.name)
    from letrolab.assays.plates.generic import read_matrix_csv, read_tidy_csv

    return (read_matrix_csv if fmt == "matrix" else read_tidy_csv)(text, source=path.name)


def _envision_row_gaps(text: str, source: str) -> None:
    """Refuse an EnVision export whose result matrix skips plate rows (A, E, I, M: a
    quarter of a 1536- or 384-well plate): allotropy 0.1.150 numbers such rows A, B, C, D,
    which puts every value of the second row on in the wrong well."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.startswith("Results for"):
            continue
        letters = []
        for row in lines[i + 2 :]:
            head = row.split(",", 1)[0].strip()
            if not (head.isalpha() and len(head) <= 2):
                break
            letters.append(head.upper())
        if letters and letters != row_letters(len(letters)):
            raise FormatError(
                f"{source}: the result matrix holds plate rows {', '.join(letters)}; allotropy "
                f"would place them as rows {', '.join(row_letters(len(letters)))} (wrong wells), "
                "so the file is refused; export the whole plate"
            )


def _via_allotropy(path: Path, fmt: str, data: bytes) -> PlateFile:
    from letrolab.assays.plates import asm

    if not data.startswith(b"PK\x03\x04"):  # text: decoded once here (UTF-16, Latin-1 ...)
        text = decode_text(data, path.name)
        if fmt == "envision":
            _envision_row_gaps(text, path.name)
        data = text.encode("utf-8")
    parsed = asm.parse(data, fmt=fmt, source=path.name)
    # the wells never read the custom information documents; --asm maps the whole document
    model = parsed.model(custom_information=False)
    mapped = asm.asm_to_wells(asm.unstructured(model), source=path.name)
    vendor = asm.ALLOTROPY_PARSERS[fmt][0]
    return PlateFile(
        wells=mapped.wells,
        format=fmt,
        parser=f"allotropy {asm.allotropy_version()} {vendor}",
        unplaced=mapped.unplaced,
        notes=mapped.notes,
        allotropy=parsed,
    )


def read_plate_file(path: str | Path, *, format: str | None = None) -> PlateFile:
    """Read a plate-reader file; allotropy parses every vendor format it covers.

    Parameters
    ----------
    path : path
        The export.
    format : str, optional
        One of :data:`FORMATS`; detected from the content when omitted.

    Returns
    -------
    PlateFile
        The wells, the parser used and (for allotropy's formats) the ASM model.

    Raises
    ------
    InputError
        The file does not exist (or is a folder) or the format name is unknown.
    FormatError
        The content is not the format, is truncated, or holds no plate data; or allotropy
        refused a vendor file (its reason is in the message).
    """
    path = Path(path)
    _check_path(path)
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise InputError(f"unknown plate format {fmt!r}; use one of {', '.join(FORMATS)}")
    data = path.read_bytes()
    if fmt == "gen5" and not decode_text(data, path.name).endswith("\n"):
        # Gen5 writes whole lines; a cut file ending mid-line was read by allotropy as a
        # plate with its last rows absent (indistinguishable from a partial-plate read).
        raise FormatError(f"{path.name}: the Gen5 export ends mid-line (truncated file?)")
    if fmt in _ALLOTROPY_FORMATS:
        try:
            return _via_allotropy(path, fmt, data)
        except FormatError as exc:
            if fmt != "gen5":
                raise
            refusal = str(exc)
        wells = _own_reader(path, fmt, data)
        return PlateFile(wells, fmt, "letrolab gen5 reader", notes=(refusal,))
    reader = "gen5 reader" if fmt == "gen5_xlsx" else f"{fmt} reader"
    return PlateFile(_own_reader(path, fmt, data), fmt, f"letrolab {reader}")


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
        ``plate, well, row, col, read, wavelength, time_s, value, flag, raw, kind`` — one row
        per plate, read, time point (or spectrum wavelength) and well; raw endpoint reads are
        padded to the plate's geometry. ``flag`` is ``ok``, ``saturated``, ``non_numeric`` or
        ``missing`` and ``value`` is NaN unless ``ok``; ``kind`` is ``raw`` or
        ``calculated``. See :func:`read_plate_file` for the parser used.

    Raises
    ------
    InputError
        The file does not exist (or is a folder) or the format name is unknown.
    FormatError
        The content is not the format, is truncated, or holds no plate data (the message says
        which).
    """
    return read_plate_file(path, format=format).wells
