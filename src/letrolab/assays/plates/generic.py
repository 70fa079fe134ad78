"""Generic plate files: the matrix CSV letrolab defines, a tidy (long) CSV, and their writers.

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
from pathlib import Path

import numpy as np
import pandas as pd

from letrolab._io import atomic_write_text
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
from letrolab.errors import FormatError, InputError

__all__ = ["read_matrix_csv", "read_tidy_csv", "write_plate"]


def _rows(text: str) -> list[list[str]]:
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
    rows = _rows(text)
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


def _cell_text(value: float, flag: str, raw: str) -> str:
    if flag == "ok":
        return repr(float(value))  # shortest text that reads back to the same float
    if flag == "saturated":
        return "OVRFLW"
    if flag == "missing":
        return ""
    return raw or "?????"


def _require_wells(wells: pd.DataFrame) -> pd.DataFrame:
    need = {"well", "value"}
    missing = need - set(wells.columns)
    if missing:
        raise InputError(f"wells table lacks column(s) {sorted(missing)}; need well and value")
    w = wells.copy()
    if "plate" not in w:
        w["plate"] = "Plate 1"
    if "read" not in w:
        w["read"] = "value"
    if "flag" not in w:
        w["flag"] = np.where(np.isfinite(w["value"].to_numpy(dtype=float)), "ok", "missing")
    if "raw" not in w:
        w["raw"] = ""
    if "wavelength" not in w:
        w["wavelength"] = [wavelength_of(r) for r in w["read"]]
    if "time_s" not in w:
        w["time_s"] = np.nan
    bad = w["flag"].eq("ok") & ~np.isfinite(w["value"].to_numpy(dtype=float))
    if bad.any():
        raise InputError(
            f"well {w.loc[bad, 'well'].iloc[0]} is flagged ok but its value is not finite; "
            "flag it saturated, non_numeric or missing"
        )
    parsed = [parse_well(x) for x in w["well"]]
    w["_r"] = [ord(r[0]) - 65 if len(r) == 1 else 26 + ord(r[1]) - 65 for r, _ in parsed]
    w["_c"] = [c - 1 for _, c in parsed]
    return w


def _gen5_text(w: pd.DataFrame) -> str:
    out = []
    for plate, g in w.groupby("plate", sort=False):
        nr, nc = geometry_for(int(g["_r"].max()) + 1, int(g["_c"].max()) + 1)
        out += [
            "",
            "",
            "Software Version\t3.12.08",
            "",
            "Experiment File Path:\t",
            "Protocol File Path:\tletrolab virtual experiment",
            "",
            f"Plate Number\t{plate}",
            "Reader Type:\tletrolab virtual reader",
            "Reading Type\tSimulation",
            "",
            "Procedure Details",
            "",
            f"Plate Type\t{nr * nc} WELL PLATE",
            "",
            "Results",
            "\t" + "\t".join(str(c + 1) for c in range(nc)),
        ]
        reads = list(pd.unique(g["read"]))
        grids = {}
        for rd in reads:
            grid = np.full((nr, nc), "", dtype=object)
            for _, x in g[g["read"] == rd].iterrows():
                grid[x["_r"], x["_c"]] = _cell_text(x["value"], x["flag"], x["raw"])
            grids[rd] = grid
        for i, letter in enumerate(row_letters(nr)):
            for k, rd in enumerate(reads):
                lead = letter if k == 0 else ""
                out.append("\t".join([lead, *grids[rd][i], str(rd)]))
        out.append("")
    return "\r\n".join(out) + "\r\n"


def write_plate(path: str | Path, wells: pd.DataFrame, *, format: str = "matrix") -> Path:
    """Write a wells table as the file a plate reader would write.

    Parameters
    ----------
    path : path
        Output file (written atomically).
    wells : DataFrame
        At least ``well`` and ``value``; optionally ``plate``, ``read``, ``wavelength``,
        ``time_s``, ``flag`` (``saturated`` wells are written ``OVRFLW``, ``missing`` ones empty,
        ``non_numeric`` ones as their ``raw`` text). Endpoint reads only for ``matrix`` and
        ``gen5``.
    format : {"matrix", "tidy", "gen5"}
        ``matrix``: letrolab's generic matrix CSV; ``tidy``: one row per well; ``gen5``: a
        BioTek Gen5 text export ("Results" matrices labelled per read), tab separated.

    Returns
    -------
    Path of the written file. Every format is read back by :func:`read_plate` with the same
    plates, wells, reads, values and flags.
    """
    if format not in {"matrix", "tidy", "gen5"}:
        raise InputError(f"unknown plate format {format!r}; use matrix, tidy or gen5")
    w = _require_wells(wells)
    if format != "tidy" and w["time_s"].notna().any():
        raise InputError(
            f"format {format!r} holds endpoint reads only; use format='tidy' for kinetics"
        )
    if format == "tidy":
        t = w[["plate", "well", "read", "wavelength", "time_s"]].copy()
        t["value"] = [
            _cell_text(v, f, r) for v, f, r in zip(w["value"], w["flag"], w["raw"], strict=True)
        ]
        text = t.to_csv(index=False, lineterminator="\n")
        return atomic_write_text(path, text)
    if format == "gen5":
        return atomic_write_text(path, _gen5_text(w))
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    buf.write("# letrolab plate matrix v1\n")
    for (plate, rd), g in w.groupby(["plate", "read"], sort=False):
        nr, nc = geometry_for(int(g["_r"].max()) + 1, int(g["_c"].max()) + 1)
        grid = np.full((nr, nc), "", dtype=object)
        for r_, c_, v, f, raw in zip(
            g["_r"], g["_c"], g["value"], g["flag"], g["raw"], strict=True
        ):
            grid[r_, c_] = _cell_text(v, f, raw)
        wr.writerow(["plate", plate])
        wr.writerow(["read", rd])
        wl = g["wavelength"].iloc[0]
        if np.isfinite(wl):
            wr.writerow(["wavelength", f"{wl:g}"])
        wr.writerow(["", *range(1, nc + 1)])
        for letter, line in zip(row_letters(nr), grid, strict=True):
            wr.writerow([letter, *line])
        wr.writerow([])
    return atomic_write_text(path, buf.getvalue())
