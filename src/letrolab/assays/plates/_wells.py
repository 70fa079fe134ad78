"""The tidy wells table every plate reader returns, and the helpers the readers share.

One row per (plate, read, time, well):

============  ==========================================================================
column        meaning
============  ==========================================================================
plate         plate name as the instrument wrote it (``"Plate 1"``, a barcode ...)
well          ``"A1"`` ... ``"P24"`` (no zero padding)
row           row letter ``"A"`` ...
col           column number, 1-based (int)
read          the read's label as the instrument wrote it (``"abs450:450"``, ``"A450"``)
wavelength    measurement wavelength in nm (emission for fluorescence), NaN if none
              (for a spectrum read: the scanned wavelength of this value)
time_s        seconds since the start of a kinetic read, NaN for endpoint reads
value         the number read, NaN unless ``flag == "ok"``
flag          ``ok`` | ``saturated`` (OVRFLW, OVER, >4.0 ...) | ``non_numeric`` | ``missing``
raw           the cell's text exactly as in the file (empty for missing)
kind          ``raw`` (a measurement) | ``calculated`` (the instrument software's derived
              value: blank-corrected, concentration, ratio ...), never mixed in one read
============  ==========================================================================

Saturated and non-numeric cells are kept with ``value = NaN`` and their flag, never clipped or
guessed; ``missing`` marks a well of the plate's geometry that the file leaves empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from letrolab.errors import FormatError

__all__ = [
    "FLAGS",
    "WELL_COLUMNS",
    "classify_cells",
    "geometry_for",
    "parse_well",
    "row_index",
    "row_letters",
    "wavelength_of",
    "wells_frame",
]

WELL_COLUMNS = (
    "plate",
    "well",
    "row",
    "col",
    "read",
    "wavelength",
    "time_s",
    "value",
    "flag",
    "raw",
    "kind",
)
KINDS = ("raw", "calculated")
FLAGS = ("ok", "saturated", "non_numeric", "missing")

#: Plate formats (rows, columns) by well count.
GEOMETRIES = {
    6: (2, 3),
    12: (3, 4),
    24: (4, 6),
    48: (6, 8),
    96: (8, 12),
    384: (16, 24),
    1536: (32, 48),
}

#: Cell texts that instruments write for a reading above the detector's range.
SATURATED_TOKENS = frozenset(
    {
        "ovrflw",
        "overflow",
        "over",
        "ovr",
        "sat",
        "saturated",
        "range?",
        ">max",
        "+inf",
        "inf",
        "high",
    }
)
#: Cell texts that mean "no value here".
MISSING_TOKENS = frozenset({"", "-", "nan", "n/a", "na", "none", "null"})

_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_WELL = re.compile(r"^\s*([A-Za-z]{1,2})\s*0*(\d{1,2})\s*$")


def is_column_header(r: list[str]) -> bool:
    """True for a matrix's column-number row: an empty first cell, then 1, 2, 3, ..."""
    cells = [c for c in r[1:] if c != ""]
    return (
        len(r) > 2
        and r[0] == ""
        and len(cells) >= 2
        and all(c.isdigit() for c in cells)
        and [int(c) for c in cells] == list(range(1, len(cells) + 1))
    )


def row_letters(n: int) -> list[str]:
    """Row names of a plate with ``n`` rows: A..Z, then AA, AB, ... (1536-well plates)."""
    out = []
    for i in range(n):
        out.append(chr(65 + i) if i < 26 else "A" + chr(65 + i - 26))
    return out


def row_index(letters: str) -> int:
    """0-based index of a row name: ``"A"`` -> 0, ``"P"`` -> 15, ``"AF"`` -> 31 (1536 wells)."""
    letters = letters.upper()
    if len(letters) == 1:
        return ord(letters) - 65
    return 26 + ord(letters[1]) - 65


def parse_well(name: str) -> tuple[str, int]:
    """Split ``"B07"``/``"b7"`` into ``("B", 7)``; :class:`FormatError` if it is not a well."""
    m = _WELL.match(str(name))
    if not m or int(m.group(2)) < 1:
        raise FormatError(f"{name!r} is not a well name; write a row letter and a column, e.g. B7")
    return m.group(1).upper(), int(m.group(2))


def geometry_for(n_rows: int, n_cols: int) -> tuple[int, int]:
    """Smallest standard plate format holding ``n_rows`` x ``n_cols`` wells."""
    for rows, cols in sorted(GEOMETRIES.values()):
        if n_rows <= rows and n_cols <= cols:
            return rows, cols
    raise FormatError(f"{n_rows} rows x {n_cols} columns is larger than a 1536-well plate")


def _cell_text(c: object) -> str:
    if c is None:
        return ""
    if type(c) is str:
        return c.strip()
    if isinstance(c, float):
        return "" if c != c else repr(c)  # NaN: an empty cell
    return str(c).strip()


def classify_cells(cells: Iterable[object]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn cell contents into (value, flag, raw text) arrays.

    Numbers (int/float or text in C locale: ``1.5``, ``-2e-3``) are ``ok``; the instruments'
    overflow words (``OVRFLW``, ``OVER``, ``Sat``, ``Range?`` ...) are ``saturated``; empty cells
    and ``-``/``N/A`` are ``missing``; anything else (``MISSED``, ``0,02``, ``?????``) is
    ``non_numeric``. Only ``ok`` cells get a value; the others are NaN.

    >>> classify_cells(["1.5", "OVRFLW", "", "0,02", 2.0])[1].tolist()
    ['ok', 'saturated', 'missing', 'non_numeric', 'ok']
    """
    raw = pd.Series([_cell_text(c) for c in cells], dtype=object)
    n = len(raw)
    if n == 0:
        empty = np.array([], dtype=object)
        return np.array([], dtype=float), empty, empty
    text = raw.astype(str)
    ok = text.str.fullmatch(_NUMBER.pattern.strip("^$")).to_numpy(dtype=bool)
    values = np.full(n, np.nan)
    if ok.any():
        values[ok] = text[ok].astype(float).to_numpy()
    low = text.str.lower()
    flags = np.full(n, "non_numeric", dtype=object)
    flags[low.isin(MISSING_TOKENS).to_numpy()] = "missing"
    sat = (
        low.isin(SATURATED_TOKENS)
        | low.str.startswith("ovrflw")
        | low.str.startswith("overflow")
        | low.str.match(r"^>\s*[-+]?[\d.]")  # ">4.000": above the reader's range
    )
    flags[sat.to_numpy(dtype=bool)] = "saturated"
    flags[ok] = "ok"
    return values, flags, raw.to_numpy(dtype=object)


def wavelength_of(label: str) -> float:
    """Measurement wavelength (nm) encoded in a read label, NaN if none.

    ``"abs450:450"`` -> 450, ``"fluor:579,616"`` -> 616 (emission), ``"CFP:360/40,460/40"`` ->
    460, ``"260:977 [Test]"`` -> 977, ``"280"`` -> 280, ``"A450"`` -> 450,
    ``"Raw Data (484)"`` -> 484, ``"Raw Data (480-14/520-30)"`` -> 520, ``"LUM:Lum"`` -> NaN.

    >>> wavelength_of("fluor:579,616"), wavelength_of("Raw Data (480-14/520-30)")
    (616.0, 520.0)
    """
    text = str(label).strip()
    if ":" in text:
        tail = text.rsplit(":", 1)[1].split(",")[-1].strip()
        m = re.match(r"^(\d+(?:\.\d+)?)", tail)
        return float(m.group(1)) if m else np.nan
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(?:nm)?", text)
    if m:
        return float(m.group(1))
    m = re.search(r"(?:^|[^A-Za-z])(?:A|Abs|OD)\s*(\d{3,4})(?!\d)", text, flags=re.IGNORECASE)
    if m:  # "A450(1)", "OD600", "Abs 562"
        return float(m.group(1))
    m = re.search(r"@\s*(\d{3,4})(?!\d)", text)  # "BCA Absorbance @ 562"
    if m:
        return float(m.group(1))
    m = re.search(r"\((\d{3,4}(?:\.\d+)?[^)]*)\)", text)  # "(450 1)", "(480-14/520-30)"
    if m:
        inner = m.group(1).split("/")[-1]  # excitation/emission: the emission
        return float(re.match(r"\s*(\d+(?:\.\d+)?)", inner).group(1))
    return np.nan


def wells_frame(
    *,
    plate: Sequence[str] | str,
    row: Sequence[int],
    col: Sequence[int],
    cells: Sequence[object],
    read: Sequence[str] | str,
    wavelength: Sequence[float] | float | None = None,
    time_s: Sequence[float] | float | None = None,
    kind: Sequence[str] | str = "raw",
) -> dict[str, np.ndarray]:
    """One block of the wells table from parallel arrays (row/col 0-based).

    Returns a dict of column arrays; :func:`finish` joins the blocks into the DataFrame (one
    DataFrame construction per file instead of one per block).
    """
    n = len(cells)
    row = np.asarray(row, dtype=int)
    col = np.asarray(col, dtype=int)
    raw = np.array([_cell_text(c) for c in cells], dtype=object)

    def full(x, dtype):
        if isinstance(x, str) or np.ndim(x) == 0:
            return np.full(n, x, dtype=dtype)
        return np.asarray(x, dtype=dtype)

    read_arr = full(read, object)
    if wavelength is None:
        uniq = {r: wavelength_of(r) for r in dict.fromkeys(read_arr.tolist())}
        wl = np.array([uniq[r] for r in read_arr], dtype=float)
    else:
        wl = full(wavelength, float)
    return {
        "plate": full(plate, object),
        "_r": row,
        "col": col + 1,
        "read": read_arr,
        "wavelength": wl,
        "time_s": full(np.nan if time_s is None else time_s, float),
        "raw": raw,
        "kind": full(kind, object),
    }


def finish(blocks: list[dict[str, np.ndarray]], *, source: str) -> pd.DataFrame:
    """Join reader blocks, check them, and sort by plate, read, time, wavelength, row, column."""
    blocks = [b for b in blocks if len(b["raw"])]
    if not blocks:
        raise FormatError(
            f"{source}: no plate data found (is the file truncated or another format?)"
        )
    cols = {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
    cols["value"], cols["flag"], cols["raw"] = classify_cells(cols["raw"])  # once per file
    letters = np.asarray(row_letters(int(cols["_r"].max()) + 1), dtype=object)
    rl = letters[cols["_r"]]
    plate_code = pd.factorize(pd.Series(cols["plate"], dtype=object), sort=False)[0]
    read_code = pd.factorize(pd.Series(cols["read"], dtype=object), sort=False)[0]
    order = np.lexsort(
        (
            cols["col"],
            cols["_r"],
            np.nan_to_num(cols["wavelength"], nan=-1.0),
            np.nan_to_num(cols["time_s"], nan=-1.0),
            read_code,
            cols["kind"] == "calculated",  # raw reads first, calculated ones after
            plate_code,
        )
    )
    well = rl.astype(str) + cols["col"].astype(str)
    df = pd.DataFrame(
        {
            "plate": cols["plate"][order].astype(str),
            "well": well[order],
            "row": rl[order].astype(str),
            "col": cols["col"][order].astype(int),
            "read": cols["read"][order].astype(str),
            "wavelength": cols["wavelength"][order],
            "time_s": cols["time_s"][order],
            "value": cols["value"][order],
            "flag": cols["flag"][order].astype(str),
            "raw": cols["raw"][order].astype(str),
            "kind": cols["kind"][order].astype(str),
        }
    )
    dup = df.duplicated(["plate", "read", "time_s", "wavelength", "well"])
    if dup.any():
        first = df.loc[dup].iloc[0]
        raise FormatError(
            f"{source}: well {first['well']} of plate {first['plate']!r} read {first['read']!r} "
            "appears twice; the file is corrupt or holds two exports of the same plate"
        )
    return df


def matrix_cells(
    block: Sequence[Sequence[object]], *, n_rows: int | None = None, n_cols: int | None = None
) -> tuple[np.ndarray, np.ndarray, list[object]]:
    """Flatten a rows x columns block of cells into (row, col, cell) lists padded to the plate."""
    nr = len(block)
    nc = max((len(r) for r in block), default=0)
    if n_rows is None or n_cols is None:
        n_rows, n_cols = geometry_for(nr, nc)
    rows, cols, cells = [], [], []
    for i in range(n_rows):
        line = block[i] if i < nr else ()
        for j in range(n_cols):
            rows.append(i)
            cols.append(j)
            cells.append(line[j] if j < len(line) else None)
    return np.asarray(rows), np.asarray(cols), cells
