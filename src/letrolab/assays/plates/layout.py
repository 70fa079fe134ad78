"""Plate maps (layouts): what is in each well.

Layout file format (CSV, or TSV with a ``.tsv`` suffix), one row per used well::

    # read: abs490:490
    plate,well,role,drug1,conc1,drug2,conc2,unit,replicate
    Plate 1,A1,blank,,,,,,
    Plate 1,B2,vehicle,,,,,,
    Plate 1,B3,treated,letrozole,10,NVP-AEW541,0,nM,1
    Plate 1,C3,treated,letrozole,10,NVP-AEW541,100,nM,1

Columns (names are case-insensitive):

``well`` (required)
    ``A1`` ... ``P24``.
``role`` (required)
    ``blank`` (medium, no cells: the 0 % signal), ``vehicle`` (cells, solvent only: 100 %),
    ``treated``, or ``empty`` (ignored). Wells not listed are ignored.
``plate`` (optional)
    Which plate of the read the row describes: the plate's name as the reader wrote it
    (``Plate 1``, a barcode), or its 1-based position in the file (``1``, ``2``). Without it
    (or with it empty) the row applies to every plate of the read — one map for a stack of
    identical plates.
``drug1, conc1, drug2, conc2, ...``  (``drug_row/conc_r/drug_col/conc_c`` also accepted)
    Drug names and concentrations of treated wells. A treated well may leave a drug name
    empty when its concentration is 0 or empty (a single agent); the name is then taken from
    the other wells of its block.
``unit`` (or ``conc_unit``, or ``unit1, unit2, ...`` per drug)
    pM, nM, uM (µM), mM or M.
``replicate`` (optional)
    Replicate number; numbered automatically in well order when absent.
``block_id`` (optional)
    The combination block a well belongs to; by default ``"<drug1> + <drug2>"``, so replicate
    plates of the same pair pool into one block.

A line ``# read: LABEL`` names the read to analyse when the file holds several (for example
``# read: abs490:490``); other ``#`` lines are comments.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from letrolab.assays.plates._wells import parse_well
from letrolab.errors import FormatError, InputError
from letrolab.units import molar_factor
from letrolab.validate import unique_columns

__all__ = ["ROLES", "Layout", "read_layout"]

ROLES = ("blank", "vehicle", "treated", "empty")

_SYNONYMS = {"drugrow": "drug1", "concr": "conc1", "drugcol": "drug2", "concc": "conc2"}


@dataclass(frozen=True)
class Layout:
    """A normalised plate map.

    Attributes
    ----------
    table : DataFrame
        ``plate, well, row, col, role, drug1..N, conc1..N, unit1..N, replicate, block_id``;
        ``plate`` is ``""`` for rows that apply to every plate; concentrations are floats in
        each row's own unit (0 where a treated well leaves a drug out).
    n_drugs : int
    read : str or None
        The read label named by a ``# read:`` line.
    """

    table: pd.DataFrame
    n_drugs: int
    read: str | None = None

    def summary(self) -> dict:
        """JSON-able dict: wells per role, drugs, plates named, read."""
        t = self.table
        drugs = sorted({d for i in range(1, self.n_drugs + 1) for d in t[f"drug{i}"] if d})
        return {
            "wells": len(t),
            "roles": {k: int(v) for k, v in t["role"].value_counts().items()},
            "drugs": drugs,
            "plates": [p for p in dict.fromkeys(t["plate"]) if p] or ["(all)"],
            "read": self.read,
        }

    def to_frame(self) -> pd.DataFrame:
        """The layout table."""
        return self.table.copy()


def _norm(name: str) -> str:
    n = re.sub(r"[^a-z0-9]", "", str(name).lower())
    return _SYNONYMS.get(n, n)


def _layout_table(
    source: str | Path | pd.DataFrame, name: str | None
) -> tuple[pd.DataFrame, str, str | None]:
    """Stage 1: the layout as a table of strings, its label and the ``# read:`` line if any."""
    read = None
    if isinstance(source, pd.DataFrame):
        df = source.copy().astype(object).where(source.notna(), "")
        df = df.astype(str)
        label = name or "layout"
    else:
        path = Path(source)
        label = name or path.name
        if path.is_dir():
            raise InputError(f"layout file {str(path)!r} is a folder; give a CSV plate map")
        if not path.is_file():
            raise InputError(f"layout file {str(path)!r} does not exist")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise FormatError(f"{label}: not a text file; a layout is a CSV plate map") from None
        lines = []
        for ln in text.splitlines():
            s = ln.strip()
            if s.startswith("#"):
                m = re.match(r"#\s*read\s*[:=]\s*(.+)$", s, flags=re.IGNORECASE)
                if m:
                    read = m.group(1).strip()
                continue
            lines.append(ln)
        sep = "\t" if path.suffix.lower() in {".tsv", ".tab"} else ","
        try:
            df = pd.read_csv(
                io.StringIO("\n".join(lines)), sep=sep, dtype=str, keep_default_na=False
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise FormatError(f"{label}: cannot read the layout as a table: {exc}") from None
        if not isinstance(df.index, pd.RangeIndex):  # pandas turns surplus fields into an index
            raise FormatError(
                f"{label}: some rows have more fields than the header "
                f"({len(df.columns)} columns); cannot tell which value belongs to which column"
            )
    return df, label, read


def _layout_wells(
    df: pd.DataFrame, label: str
) -> tuple[pd.DataFrame, dict[str, str], int, np.ndarray]:
    """Stage 2: plate, well and role of every row (checked), the column map and drug count."""
    unique_columns(df.columns, where=label, key=_norm)
    cols = {}
    for c in df.columns:
        cols.setdefault(_norm(c), c)
    if "well" not in cols or "role" not in cols:
        raise InputError(
            f"{label}: a layout needs 'well' and 'role' columns (found {list(df.columns)}); "
            "see letrolab.assays.plates.layout for the format"
        )
    if df.empty:
        raise InputError(f"{label}: the layout lists no wells")
    k = 0
    while f"drug{k + 1}" in cols:
        k += 1
    rowno = np.arange(len(df)) + 2
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    out["plate"] = df[cols["plate"]].str.strip() if "plate" in cols else ""
    wells = []
    for w, r in zip(df[cols["well"]], rowno, strict=True):
        try:
            wells.append(parse_well(w))
        except FormatError:
            raise InputError(f"{label} row {r}: {w!r} is not a well name (e.g. B7)") from None
    out["row"] = [x[0] for x in wells]
    out["col"] = [x[1] for x in wells]
    out["well"] = [f"{a}{b}" for a, b in wells]
    role = df[cols["role"]].str.strip().str.lower()
    bad = ~role.isin(ROLES)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{label} row {rowno[i]}: role {df[cols['role']].iloc[i]!r} is not one of "
            "blank, vehicle, treated, empty"
        )
    out["role"] = role.to_numpy()
    return out, cols, k, rowno


def _layout_drugs(
    out: pd.DataFrame,
    df: pd.DataFrame,
    cols: dict[str, str],
    k: int,
    rowno: np.ndarray,
    label: str,
) -> None:
    """Stage 3: drugs, concentrations and units into ``out`` (checked); replicate, block id."""
    unit_all = (
        df[cols["unit"]]
        if "unit" in cols
        else (df[cols["concunit"]] if "concunit" in cols else None)
    )
    treated = out["role"].eq("treated").to_numpy()
    for i in range(1, k + 1):
        out[f"drug{i}"] = df[cols[f"drug{i}"]].str.strip().to_numpy()
        craw = df[cols[f"conc{i}"]].str.strip() if f"conc{i}" in cols else pd.Series([""] * len(df))
        conc = pd.to_numeric(craw.replace("", "0"), errors="coerce")
        badc = conc.isna() | (conc < 0) | ~np.isfinite(conc.to_numpy(dtype=float))
        if badc.any():
            j = int(np.flatnonzero(badc.to_numpy())[0])
            raise InputError(
                f"{label} row {rowno[j]}: conc{i} {craw.iloc[j]!r} is not a concentration >= 0"
            )
        out[f"conc{i}"] = conc.to_numpy(dtype=float)
        ucol = cols.get(f"unit{i}") or cols.get(f"concunit{i}")
        units = df[ucol] if ucol else unit_all
        out[f"unit{i}"] = units.str.strip().to_numpy() if units is not None else ""
        for j in np.flatnonzero(treated & (out[f"conc{i}"].to_numpy() > 0)):
            u = out[f"unit{i}"].iloc[j]
            if not u:
                raise InputError(
                    f"{label} row {rowno[j]}: conc{i} has no unit; add a 'unit' column (nM, uM ...)"
                )
            molar_factor(u)  # raises UnitError naming the unit
    if k:
        named = np.zeros(len(out), dtype=bool)
        for i in range(1, k + 1):
            named |= (out[f"drug{i}"] != "").to_numpy()
        orphan = treated & ~named
        if orphan.any():
            j = int(np.flatnonzero(orphan)[0])
            raise InputError(f"{label} row {rowno[j]}: a treated well names no drug")
    elif treated.any():
        raise InputError(f"{label}: treated wells but no drug1/conc1 columns")
    out["replicate"] = df[cols["replicate"]].str.strip().to_numpy() if "replicate" in cols else ""
    out["block_id"] = df[cols["blockid"]].str.strip().to_numpy() if "blockid" in cols else ""
    dup = out.duplicated(["plate", "well"])
    if dup.any():
        j = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(
            f"{label} row {rowno[j]}: well {out['well'].iloc[j]} of plate "
            f"{out['plate'].iloc[j] or '(all)'!r} is listed twice"
        )


def read_layout(source: str | Path | pd.DataFrame, *, name: str | None = None) -> Layout:
    """Read a layout file (or take a DataFrame in the same columns) and check it.

    Raises
    ------
    FormatError
        If the file cannot be read as a table.
    InputError
        For a missing ``well``/``role`` column, an unknown role, a bad well name, a well listed
        twice, a negative or non-numeric concentration, an unknown unit, or a treated well
        without any drug — naming the row.
    """
    df, label, read = _layout_table(source, name)
    out, cols, k, rowno = _layout_wells(df, label)
    _layout_drugs(out, df, cols, k, rowno, label)
    return Layout(out.reset_index(drop=True), k, read)
