"""Input formats of combination tables beyond tidy CSV/TSV/Parquet: Excel workbooks, European
CSV (``;`` separated, decimal commas) and the NCATS matrix format.

* **CSV dialect.** The delimiter is sniffed from the header line (:class:`csv.Sniffer`, as
  pandas does for ``sep=None``); a ``;``-separated file whose numbers use decimal commas is read
  with ``decimal=","`` and that is said (:attr:`TableRead.notes`). The file is then parsed by
  pandas' C reader (the Python reader pandas needs for sniffing is ~10x slower).
* **Excel** (``.xlsx``, ``.xlsm``): the first sheet, through pandas/openpyxl; a workbook whose
  sheets are an NCATS response table and its metadata is read as NCATS.
* **NCATS matrix format** (NCATS Matrix, matrix.ncats.nih.gov; Mathews Griner et al. 2014 PNAS
  111:2349; the ``responses.csv`` + ``metadata.csv`` pair of Yadav et al. 2015 CSBJ 13:504's
  supplement): responses as ``BlockId, Row, Col, Value`` (optionally ``Replicate``), the
  dose-matrix position of each well, and per block the metadata ``BlockId, RowName, ColName,
  RowConcs, ColConcs`` (comma-separated doses, ``Row = i`` is the ``i``-th of ``RowConcs``) and
  optionally ``RowConcUnit, ColConcUnit``. It is turned into the tidy layout (``drug_row,
  drug_col, conc_r, conc_c, response``, units, replicate). The metadata is the file given, else a
  sibling ``metadata.csv``, ``<stem>_metadata.csv`` or ``<stem>.metadata.csv``.

Own code: pandas reads the files; the dialect choice and the NCATS reshaping are a few lines
of layout logic no library provides.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from letrolab.errors import FormatError, InputError

__all__ = [
    "EXCEL_SUFFIXES",
    "CsvDialect",
    "TableRead",
    "find_ncats_metadata",
    "is_ncats_responses",
    "is_plain_table",
    "ncats_to_tidy",
    "read_excel_table",
    "sniff_csv",
]

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_DECIMAL_COMMA = re.compile(r"(?:^|;)\s*[-+]?\d+,\d+(?:[eE][-+]?\d+)?\s*(?=;|$)", re.M)
_NCATS_RESPONSES = ("blockid", "row", "col", "value")
_NCATS_META = ("blockid", "rowname", "colname", "rowconcs", "colconcs")


def _norm(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@dataclass(frozen=True)
class CsvDialect:
    """How a delimited text file is read: separator, decimal mark, and whether it is European
    (``;`` and decimal commas)."""

    sep: str
    decimal: str = "."

    @property
    def european(self) -> bool:
        return self.sep == ";" and self.decimal == ","


@dataclass(frozen=True)
class TableRead:
    """A table as read, with what the reader decided (one sentence per note)."""

    table: pd.DataFrame
    notes: tuple[str, ...] = field(default=())


def sniff_csv(path: Path, n_lines: int = 50) -> CsvDialect:
    """Separator from the header line (:class:`csv.Sniffer`) and the decimal mark from the
    first ``n_lines`` data lines (decimal commas only with ``;``).

    Raises :class:`csv.Error` when no delimiter can be found (as pandas' ``sep=None``)."""
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        head = [fh.readline() for _ in range(n_lines)]
    sep = csv.Sniffer().sniff(head[0]).delimiter
    body = "".join(head[1:])
    if sep == ";" and _DECIMAL_COMMA.search(body):
        return CsvDialect(";", ",")
    return CsvDialect(sep)


def is_plain_table(path: Path) -> bool:
    """A comma/tab CSV or Parquet file that can be streamed as it is (not Excel, not European,
    not NCATS)."""
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq", ".tsv", ".tab"}:
        return True
    if suffix in EXCEL_SUFFIXES:
        return False
    try:
        dialect = sniff_csv(path)
        with open(path, encoding="utf-8", errors="replace") as fh:
            header = fh.readline()
    except (OSError, csv.Error):
        return True  # let the streaming reader report it
    names = {_norm(c) for c in header.split(dialect.sep)}
    ncats = all(c in names for c in _NCATS_RESPONSES)
    return dialect.sep == "," and not ncats


def read_excel_table(path: Path) -> TableRead:
    """The first sheet of a workbook, or an NCATS response sheet joined with its metadata
    sheet."""
    try:
        sheets = pd.read_excel(path, sheet_name=None)
    except (ValueError, OSError, KeyError) as exc:
        raise FormatError(f"cannot read {path.name} as an Excel workbook: {exc}") from None
    if not sheets:
        raise InputError(f"{path.name} has no sheets")
    frames = list(sheets.values())
    resp = next((df for df in frames if is_ncats_responses(df)), None)
    meta = next((df for df in frames if _is_ncats_meta(df)), None)
    if resp is not None and meta is not None:
        return TableRead(ncats_to_tidy(resp, meta), (f"{path.name}: NCATS matrix format",))
    return TableRead(frames[0], ())


def is_ncats_responses(df: pd.DataFrame) -> bool:
    """Columns ``BlockId, Row, Col, Value`` and no concentration columns."""
    cols = {_norm(c) for c in df.columns}
    return all(c in cols for c in _NCATS_RESPONSES) and not any(c.startswith("conc") for c in cols)


def _is_ncats_meta(df: pd.DataFrame) -> bool:
    cols = {_norm(c) for c in df.columns}
    return all(c in cols for c in _NCATS_META)


def find_ncats_metadata(path: Path) -> Path | None:
    """The metadata file beside an NCATS response file, if there is one."""
    for name in ("metadata.csv", f"{path.stem}_metadata.csv", f"{path.stem}.metadata.csv"):
        cand = path.with_name(name)
        if cand.is_file() and cand != path:
            return cand
    return None


def _doses(text: object, block: object, axis: str) -> np.ndarray:
    try:
        vals = np.array([float(v) for v in str(text).split(",")])
    except ValueError:
        raise InputError(
            f"NCATS metadata, block {block}: {axis} {text!r} is not a comma-separated list of doses"
        ) from None
    if not np.isfinite(vals).all() or (vals < 0).any():
        raise InputError(f"NCATS metadata, block {block}: {axis} has negative or missing doses")
    return vals


def _positions(resp: pd.DataFrame, col: str) -> np.ndarray:
    pos = pd.to_numeric(resp[col], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(pos).all() or (pos != np.round(pos)).any() or (pos < 1).any():
        raise InputError(f"NCATS responses: column {col!r} must hold positions 1, 2, 3, ...")
    return pos.astype(np.int64) - 1


def ncats_to_tidy(responses: pd.DataFrame, metadata: pd.DataFrame) -> pd.DataFrame:
    """NCATS matrix responses and block metadata -> the tidy two-drug layout (module notes).

    Raises :class:`InputError` for a block without metadata, a position beyond the block's
    dose list, or metadata that is not a dose list.
    """
    rc = {_norm(c): c for c in responses.columns}
    mc = {_norm(c): c for c in metadata.columns}
    meta = metadata.assign(_bid=metadata[mc["blockid"]].astype(str).str.strip())
    if meta["_bid"].duplicated().any():
        bid = meta.loc[meta["_bid"].duplicated(), "_bid"].iloc[0]
        raise InputError(f"NCATS metadata: block {bid} is described twice")
    meta = meta.set_index("_bid")
    bids = responses[rc["blockid"]].astype(str).str.strip().to_numpy()
    missing = sorted(set(bids) - set(meta.index))
    if missing:
        raise InputError(f"NCATS responses: block {missing[0]} has no row in the metadata")
    row, col = _positions(responses, rc["row"]), _positions(responses, rc["col"])
    conc_r, conc_c = np.empty(len(bids)), np.empty(len(bids))
    for bid, idx in pd.Series(np.arange(len(bids))).groupby(bids, sort=False):
        m = meta.loc[bid]
        for pos, out, axis in ((row, conc_r, "RowConcs"), (col, conc_c, "ColConcs")):
            doses = _doses(m[mc[axis.lower()]], bid, axis)
            p = pos[idx.to_numpy()]
            if p.max() >= doses.size:
                raise InputError(
                    f"NCATS block {bid}: position {p.max() + 1} beyond the {doses.size} doses "
                    f"of {axis}"
                )
            out[idx.to_numpy()] = doses[p]
    tidy = pd.DataFrame(
        {
            "block_id": bids,
            "drug_row": meta.loc[bids, mc["rowname"]].to_numpy(),
            "drug_col": meta.loc[bids, mc["colname"]].to_numpy(),
            "conc_r": conc_r,
            "conc_c": conc_c,
            "response": responses[rc["value"]].to_numpy(),
        }
    )
    for key, name in (("rowconcunit", "conc_r_unit"), ("colconcunit", "conc_c_unit")):
        if key in mc:
            tidy[name] = meta.loc[bids, mc[key]].to_numpy()
    if "replicate" in rc:
        tidy["replicate"] = responses[rc["replicate"]].to_numpy()
    return tidy
