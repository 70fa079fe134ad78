"""Virtual plate reader: MTS absorbances with realistic noise, and the files a reader writes.

The model gives noise-free relative MTS signals; a lab sees absorbances with pipetting and
reader noise and evaporation at the plate edge, written as a plate-reader export beside a
plate map. This module adds that layer (:class:`PlateNoise`, :func:`mts_absorbance`) and writes
the files (:func:`write_plate`, :func:`write_layout`), which the readers in
:mod:`letrolab.assays.plates` then read like any lab's export.

Plate reads (MTS, 490 nm)
-------------------------
Absorbance of a well with relative signal ``v`` (vehicle = 1) is ::

    A = A_blank + (A_vehicle - A_blank) * v * e_ring * (1 + eps_p) + eps_r

MTS formazan absorbance is linear in viable cell number over the working range (Cory et al.
1991, Cancer Commun 3:207; Riss et al., Assay Guidance Manual "Cell Viability Assays", 2013).
``eps_p`` ~ N(0, cv_well) is seeding/pipetting noise (5 % is typical of a manual 96-well
assay), ``eps_r`` ~ N(0, sd_reader) the reader noise. ``e_ring`` is the evaporation edge effect,
``1 - edge_loss * exp(-ring / 0.6)`` for ring 0 (outer) inwards: the outer ring loses growth,
the next ring a little (Lundholt, Scudder & Pagliaro 2003, J Biomol Screen 8:566). Blank wells
(medium only) get ``A_blank`` with reader noise and, on the edge, the evaporation increase of
the medium's own absorbance.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from letrolab._io import atomic_write_text
from letrolab.assays.plates import (
    Layout,
    geometry_for,
    parse_well,
    read_layout,
    row_letters,
    wavelength_of,
)
from letrolab.errors import InputError

__all__ = [
    "PlateNoise",
    "mts_absorbance",
    "plate_rings",
    "write_layout",
    "write_plate",
]


@dataclass(frozen=True)
class PlateNoise:
    """Plate-reader noise model (see the module docstring); defaults are typical MTS values."""

    a_blank: float = 0.12
    a_vehicle: float = 1.35
    cv_well: float = 0.05
    sd_reader: float = 0.004
    edge_loss: float = 0.12
    edge_blank_rise: float = 0.03


def plate_rings(rows: int = 8, cols: int = 12) -> np.ndarray:
    """Ring index of each well (0 = outer ring), shape ``(rows, cols)``.

    >>> plate_rings(4, 6)
    array([[0, 0, 0, 0, 0, 0],
           [0, 1, 1, 1, 1, 0],
           [0, 1, 1, 1, 1, 0],
           [0, 0, 0, 0, 0, 0]])
    """
    r = np.arange(rows)[:, None]
    c = np.arange(cols)[None, :]
    return np.minimum(np.minimum(r, rows - 1 - r), np.minimum(c, cols - 1 - c))


def mts_absorbance(
    relative: np.ndarray,
    ring: np.ndarray,
    has_cells: np.ndarray,
    rng: np.random.Generator,
    *,
    noise: PlateNoise = PlateNoise(),
) -> np.ndarray:
    """Absorbance at 490 nm of wells with relative MTS signal ``relative`` (vehicle = 1).

    Parameters
    ----------
    relative : array
        Model MTS signal relative to vehicle, one per well (ignored where ``has_cells`` is
        False). Must be finite and ≥ 0.
    ring : array of int
        Ring index of each well (:func:`plate_rings`).
    has_cells : array of bool
        False for medium-only wells (blanks, empty edge wells).
    rng : numpy.random.Generator
    noise : PlateNoise, keyword-only

    Returns
    -------
    numpy.ndarray
        Absorbances, same shape as ``relative``.
    """
    relative = np.asarray(relative, dtype=float)
    ring = np.asarray(ring)
    has_cells = np.asarray(has_cells, dtype=bool)
    if relative.shape != ring.shape or relative.shape != has_cells.shape:
        raise InputError("relative, ring and has_cells must have the same shape (one per well)")
    live = relative[has_cells]
    if not np.all(np.isfinite(live)) or np.any(live < 0):
        raise InputError("relative MTS signals must be finite and >= 0; check the model output")
    edge = np.exp(-ring / 0.6)
    growth = 1.0 - noise.edge_loss * edge
    pip = rng.normal(0.0, noise.cv_well, size=relative.shape)
    reader = rng.normal(0.0, noise.sd_reader, size=relative.shape)
    blank = noise.a_blank * (1.0 + noise.edge_blank_rise * edge)
    signal = (noise.a_vehicle - noise.a_blank) * np.where(has_cells, relative, 0.0) * growth
    return blank + signal * (1.0 + pip) + reader


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


def write_layout(
    path: str | Path, layout: pd.DataFrame | Layout, *, read: str | None = None
) -> Path:
    """Write a layout (a DataFrame in the layout columns, or a :class:`Layout`) as CSV.

    ``read`` adds the ``# read: LABEL`` line. The file is checked by :func:`read_layout`
    before it is written (atomically), so a bad map fails here, not in the analysis.
    """
    lay = layout if isinstance(layout, Layout) else read_layout(layout)
    t = lay.table.drop(columns=["row", "col"])
    keep = ["plate", "well", "role"]
    for i in range(1, lay.n_drugs + 1):
        keep += [f"drug{i}", f"conc{i}", f"unit{i}"]
    keep += ["replicate", "block_id"]
    t = t[keep].copy()
    for i in range(1, lay.n_drugs + 1):
        t[f"conc{i}"] = [f"{v:.10g}" for v in t[f"conc{i}"]]
    header = f"# read: {read or lay.read}\n" if (read or lay.read) else ""
    return atomic_write_text(path, header + t.to_csv(index=False, lineterminator="\n"))
