"""BioTek / Agilent Gen5 exports (text; the Excel export holds the same blocks in a sheet).

A Gen5 export is one or more plate sections, each starting at ``Software Version`` and naming
its plate in ``Plate Number``. Data come in blocks of three shapes:

* matrix blocks: a header of column numbers (``\\t1\\t2 ... 12``), then one line per plate row
  (``A\\t0.052\\t...\\tod:600``) and, when several reads share the block, continuation lines
  without the row letter; the last cell of each line is the read label (``read:wavelength``);
* column blocks: a title line (``Abs:600``, ``600``), a header ``Well``/``Time``/``Wavelength``
  followed by well names (``A1 B1 ...``), then one line per read, time point (kinetics, with a
  temperature column ``T° 600``) or wavelength (spectra);
* kinetic matrices: ``Time 1 (0:09:10)`` before a matrix block whose labels end in ``Read#1``.

``Layout`` blocks (well IDs, concentrations) are plate maps, not data, and are skipped.
"""

from __future__ import annotations

import itertools
import re

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

__all__ = ["gen5_kind", "parse_gen5_rows", "read_gen5_text"]

_TIME = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
_SKIP_BLOCKS = {"layout"}


def _seconds(text: str) -> float | None:
    m = _TIME.match(text.strip())
    if not m:
        return None
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def _is_matrix_header(cells: list[str]) -> int:
    """Number of columns if ``cells`` is ``['', '1', '2', ...]``, else 0."""
    if len(cells) < 3 or cells[0].strip() != "":
        return 0
    nums = [c.strip() for c in cells[1:]]
    while nums and nums[-1] == "":
        nums.pop()
    ok = len(nums) >= 2 and all(n.isdigit() for n in nums)
    if ok and [int(n) for n in nums] == list(range(1, len(nums) + 1)):
        return len(nums)
    return 0


def _is_well_header(cells: list[str]) -> int:
    """Index of the first well-name cell if the line is a column-block header, else -1."""
    if not cells or cells[0].strip().lower() not in {"well", "time", "wavelength"}:
        return -1
    for i, c in enumerate(cells[1:4], start=1):
        try:
            parse_well(c)
            return i
        except FormatError:
            continue
    return -1


def _split_sections(rows: list[list[str]]) -> list[list[list[str]]]:
    """One section per ``Software Version`` line (a plate); anything before joins the first."""
    starts = [i for i, r in enumerate(rows) if r and r[0].strip() == "Software Version"]
    if not starts:
        return [rows]
    bounds = [0, *starts[1:], len(rows)]
    return [rows[a:b] for a, b in itertools.pairwise(bounds)]


def parse_gen5_rows(rows: list[list[str]], *, source: str) -> pd.DataFrame:
    """Parse Gen5 content given as rows of cells (text split on tabs, or an Excel sheet)."""
    frames: list[pd.DataFrame] = []
    sections = _split_sections(rows)
    seen: dict[str, int] = {}
    for sec in sections:
        plate = "Plate 1"
        for r in sec:
            if r and r[0].strip() == "Plate Number" and len(r) > 1 and r[1].strip():
                plate = r[1].strip()
                break
        seen[plate] = seen.get(plate, 0) + 1
        if seen[plate] > 1:  # two exports of the same plate number in one file
            plate = f"{plate} ({seen[plate]})"
        got = _parse_section(sec, plate, source)
        if not got and len(sections) > 1:  # a plate's header survived, its values did not
            raise FormatError(f"{source}: {plate!r} has its header but no values (truncated file?)")
        frames += got
    for f in frames:
        f["kind"] = np.array([gen5_kind(r) for r in f["read"]], dtype=object)
    return finish(frames, source=source)


_REDUCTION_PREFIXES = ("Blank ", "Corrected ", "Ratio ", "Mean ", "Max V", "R-Squared", "t at ")


def gen5_kind(label: str) -> str:
    """``raw`` for a Gen5 measurement label, ``calculated`` for a data-reduction step.

    Gen5 names a read step ``NAME:WAVELENGTH`` (``abs450:450``, ``fluor:485,528``) or by its
    wavelength (``600``); data reductions are named by their operation (``Blank 630nmAbs:630``,
    ``Corrected [...]``, ``Ratio 260/280``, ``[Concentration]``, ``Max V [OD:600]``): a
    bracketed source or one of Gen5's reduction prefixes. This naming rule, not an explicit
    flag, is all a Gen5 export offers, which is why allotropy (which reads the procedure) is
    tried first; a label matching neither is taken as a read.

    >>> [gen5_kind(x) for x in ("abs450:450", "600", "Blank 630nmAbsRead:630", "Ratio 260/280")]
    ['raw', 'raw', 'calculated', 'calculated']
    """
    text = str(label).strip()
    if "[" in text or text.startswith(_REDUCTION_PREFIXES):
        return "calculated"
    return "raw"


def _parse_section(rows: list[list[str]], plate: str, source: str) -> list[pd.DataFrame]:
    frames = []
    i = 0
    title = ""
    block_name = ""
    time_s: float | None = None
    n = len(rows)
    while i < n:
        cells = rows[i]
        first = cells[0].strip() if cells else ""
        nonempty = [c for c in cells if c.strip()]
        if not nonempty:
            i += 1
            continue
        ncols = _is_matrix_header(cells)
        if ncols:
            i = _matrix_block(rows, i + 1, ncols, plate, title, time_s, block_name, frames, source)
            block_name = ""  # a title (e.g. "Layout") names only the block right below it
            continue
        wcol = _is_well_header(cells)
        if wcol > 0:
            i = _column_block(rows, i, wcol, plate, title, frames, source)
            continue
        if len(nonempty) == 1 and first:
            m = re.match(r"^Time\s+\d+\s+\((\d+:\d{1,2}:\d{1,2}(?:\.\d+)?)\)$", first)
            if m:
                time_s = _seconds(m.group(1))
            else:
                title = first
                block_name = first.lower()
                if not re.search(r"-\s*Time\s+\d+", first):
                    time_s = None
        i += 1
    return frames


def _matrix_block(rows, i, ncols, plate, title, time_s, block_name, frames, source) -> int:
    """Parse a matrix block starting at line ``i``; returns the index after it."""
    letters: list[int] = []
    labels: list[str] = []
    cells_out: list[list[str]] = []
    cur = -1
    while i < len(rows):
        cells = rows[i]
        if not any(c.strip() for c in cells):
            break
        head = cells[0].strip()
        if head and re.fullmatch(r"[A-Z]{1,2}", head):
            cur = (
                len(row_letters(64)) if head not in row_letters(64) else row_letters(64).index(head)
            )
        elif head:
            break
        if cur < 0:
            break
        vals = [c.strip() for c in cells[1 : ncols + 1]]
        vals += [""] * (ncols - len(vals))
        label = cells[ncols + 1].strip() if len(cells) > ncols + 1 else ""
        letters.append(cur)
        labels.append(label or title or "value")
        cells_out.append(vals)
        i += 1
    if block_name in _SKIP_BLOCKS or not cells_out:
        return i
    nrows_seen = max(letters) + 1
    nr, nc = geometry_for(nrows_seen, ncols)
    if (nr, nc) != (nrows_seen, ncols):
        raise FormatError(
            f"{source}: plate {plate!r} matrix has rows A..{row_letters(nrows_seen)[-1]} and "
            f"{ncols} columns, not a whole {nr * nc}-well plate (truncated file?)"
        )
    by_label: dict[str, dict[int, list[str]]] = {}
    for r, lab, vals in zip(letters, labels, cells_out, strict=True):
        key = re.sub(r"\s*Read#\d+$", "", lab)
        by_label.setdefault(key, {})[r] = vals
    for lab, grid in by_label.items():
        if time_s is not None and not any(v for vals in grid.values() for v in vals):
            continue  # an unused kinetic read slot (Gen5 pads them with empty matrices)
        missing = [row_letters(nr)[r] for r in range(nr) if r not in grid]
        if missing:
            raise FormatError(
                f"{source}: plate {plate!r} read {lab!r} lacks row(s) {''.join(missing)} "
                "(truncated file?)"
            )
        rr = np.repeat(np.arange(nr), nc)
        cc = np.tile(np.arange(nc), nr)
        cells = [grid[r][c] for r, c in zip(rr, cc, strict=True)]
        frames.append(
            wells_frame(
                plate=plate,
                row=rr,
                col=cc,
                cells=cells,
                read=lab,
                wavelength=wavelength_of(lab),
                time_s=np.nan if time_s is None else time_s,
            )
        )
    return i


def _column_block(rows, i, wcol, plate, title, frames, source) -> int:
    header = rows[i]
    kind = header[0].strip().lower()
    wells = []
    for c in header[wcol:]:
        c = c.strip()
        if not c:
            break
        wells.append(parse_well(c))
    rr = np.array([row_letters(64).index(r) for r, _ in wells])
    cc = np.array([c - 1 for _, c in wells])
    nr, nc = geometry_for(int(rr.max()) + 1, int(cc.max()) + 1)
    i += 1
    while i < len(rows):
        cells = rows[i]
        if not any(c.strip() for c in cells):
            break
        key = cells[0].strip()
        vals = [c.strip() for c in cells[wcol : wcol + len(wells)]]
        vals += [""] * (len(wells) - len(vals))
        i += 1
        if kind == "time":
            t = _seconds(key)
            if t is None:
                break  # end of the kinetic table
            if not any(vals):
                continue  # unused read slots Gen5 pads with 0:00:00
            read, wl, ts = title, wavelength_of(title), t
        elif kind == "wavelength":
            try:
                wl = float(key)
            except ValueError:
                break
            read, ts = title, np.nan
        else:
            read, wl, ts = key or title, wavelength_of(key or title), np.nan
        cells_full = dict(zip(zip(rr, cc, strict=True), vals, strict=True))
        r_all = np.repeat(np.arange(nr), nc)
        c_all = np.tile(np.arange(nc), nr)
        frames.append(
            wells_frame(
                plate=plate,
                row=r_all,
                col=c_all,
                cells=[cells_full.get((a, b)) for a, b in zip(r_all, c_all, strict=True)],
                read=read,
                wavelength=wl,
                time_s=ts,
            )
        )
    return i


def read_gen5_text(text: str, *, source: str = "Gen5 export") -> pd.DataFrame:
    """Parse a Gen5 text export (already decoded) into the tidy wells table."""
    rows = [ln.split("\t") for ln in text.split("\n")]
    return parse_gen5_rows(rows, source=source)
