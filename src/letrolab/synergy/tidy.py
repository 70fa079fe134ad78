"""Tidy combination tables: reading, validating and normalising dose-response matrices.

The layout is SynergyFinder's (DESIGN.md, "Tidy input"):

* two drugs: ``block_id, drug_row, drug_col, conc_r, conc_c, response[, conc_r_unit,
  conc_c_unit, replicate]``;
* N drugs: ``block_id, drug1..drugN, conc1..concN, response[, conc_unit1..N | conc_unit,
  replicate]``;
* SynergyFinder 1's ``PairIndex, Drug1, Drug2, Conc1, Conc2, Response, ConcUnit`` is accepted too.

Column names match regardless of case. A single-agent observation has the other concentrations 0.
Every table is normalised to :class:`CombinationData`: one row per (block, dose combination) with
concentrations in molar, the response as % inhibition, and the replicate mean, sd and count.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from letrolab.errors import FormatError, InputError
from letrolab.synergy.formats import (
    EXCEL_SUFFIXES,
    TableRead,
    find_ncats_metadata,
    is_ncats_responses,
    ncats_to_tidy,
    read_excel_table,
    sniff_csv,
)
from letrolab.units import molar_factor
from letrolab.validate import (
    CONTROL_TOLERANCE_PCT,
    check_concentrations,
    control_warnings,
    response_to_percent,
    snap_to_grid,
    unique_columns,
)

__all__ = [
    "Block",
    "BlockNote",
    "CombinationData",
    "combination_columns",
    "normalise_combination",
    "normalise_rows",
    "read_combination",
    "read_table",
    "unit_factors",
]

_RESPONSES = ("inhibition", "viability")
#: Responses (% inhibition) outside this range are scored but flagged as implausible.
RESPONSE_RANGE = (-100.0, 120.0)


@dataclass(frozen=True)
class Block:
    """One combination block, replicates averaged.

    Attributes
    ----------
    block_id : str
    drugs : tuple of str
        Drug names, in column order.
    conc : ndarray, shape (n_points, n_drugs)
        Concentrations in molar.
    unit : str
        Display unit of the block (the input's unit; the first one seen where a block mixed
        units). ``""`` when the input gave none: doses are then reported as given.
    response : ndarray, shape (n_points,)
        Mean % inhibition over replicates.
    sd : ndarray, shape (n_points,)
        Replicate standard deviation (ddof=1), NaN where a point has one replicate.
    n : ndarray of int, shape (n_points,)
        Number of replicates averaged into each point.
    """

    block_id: str
    drugs: tuple[str, ...]
    conc: np.ndarray
    unit: str
    response: np.ndarray
    sd: np.ndarray
    n: np.ndarray

    @property
    def unit_factor(self) -> float:
        """Molar per display unit (1 for unitless input)."""
        return molar_factor(self.unit) if self.unit else 1.0

    @property
    def conc_display(self) -> np.ndarray:
        """Concentrations in the block's display unit."""
        return self.conc / self.unit_factor


@dataclass(frozen=True)
class CombinationData:
    """A normalised combination table.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``block_id, drug1..drugK, conc1..concK`` (molar), ``unit``, ``response``
        (% inhibition, replicate mean), ``sd``, ``n``; one row per block and dose combination.
    n_drugs : int
    warnings : tuple of str
        What was dropped or converted while reading, one sentence each.
    block_warnings : dict
        The same sentences by block: ``{block_id: (sentence, ...)}`` (every sentence of
        ``warnings`` is about one block).
    """

    table: pd.DataFrame
    n_drugs: int
    warnings: tuple[str, ...] = field(default=())
    block_warnings: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def block_ids(self) -> list[str]:
        return list(pd.unique(self.table["block_id"]))

    def blocks(self) -> Iterator[Block]:
        """Iterate over the blocks in input order."""
        k = self.n_drugs
        dcols = [f"drug{i + 1}" for i in range(k)]
        ccols = [f"conc{i + 1}" for i in range(k)]
        for bid, g in self.table.groupby("block_id", sort=False):
            yield Block(
                block_id=str(bid),
                drugs=tuple(str(g[c].iloc[0]) for c in dcols),
                conc=g[ccols].to_numpy(dtype=float),
                unit=str(g["unit"].iloc[0]),
                response=g["response"].to_numpy(dtype=float),
                sd=g["sd"].to_numpy(dtype=float),
                n=g["n"].to_numpy(dtype=int),
            )


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def read_combination(
    source: str | Path | pd.DataFrame,
    *,
    response: str = "inhibition",
    scale: str | None = None,
    metadata: str | Path | None = None,
) -> CombinationData:
    """Read a tidy combination table from CSV, TSV or Parquet (or take a DataFrame).

    Parameters
    ----------
    source : path or DataFrame
    response : {"inhibition", "viability"}
        What the ``response`` column holds: % inhibition, or % viability (converted as
        ``100 - viability``).
    scale : {None, "percent", "fraction"}
        Scale of the response column (:func:`letrolab.validate.response_to_percent`): None
        reads percentages and refuses a column that looks like fractions (0-1); "fraction"
        multiplies by 100.
    metadata : path, optional
        The block metadata of an NCATS matrix file (:func:`read_table`).

    Raises
    ------
    FormatError
        If the file cannot be parsed as a table.
    InputError
        If required columns are missing or values are unusable (the message names them).
    """
    return normalise_combination(
        read_table(source, metadata=metadata), response=response, scale=scale
    )


def read_table(
    source: str | Path | pd.DataFrame, *, metadata: str | Path | None = None
) -> pd.DataFrame:
    """The rows of a table file, one per well, as read; a DataFrame is passed through.

    Reads tidy CSV/TSV (delimiter sniffed; European ``;`` + decimal-comma files detected),
    Parquet, Excel (``.xlsx``/``.xlsm``, first sheet) and the NCATS matrix format (responses
    ``BlockId, Row, Col, Value`` with the block ``metadata`` file, or a sibling
    ``metadata.csv``): :mod:`letrolab.synergy.formats`. What the reader decided (European CSV,
    NCATS) is listed in ``df.attrs["notes"]``. Errors as :func:`read_combination` states.
    """
    if isinstance(source, pd.DataFrame):
        return source
    path = _check_file(Path(source))
    got = _read_any(path)
    df, notes = got.table, list(got.notes)
    if is_ncats_responses(df):
        meta_path = Path(metadata) if metadata is not None else find_ncats_metadata(path)
        if meta_path is None:
            raise InputError(
                f"{path.name} is in the NCATS matrix format (BlockId, Row, Col, Value) but no "
                "metadata was found; give --metadata FILE (BlockId, RowName, ColName, RowConcs, "
                "ColConcs) or put metadata.csv beside it"
            )
        meta = _read_any(_check_file(meta_path)).table
        df = ncats_to_tidy(df, meta)
        notes.append(f"{path.name}: NCATS matrix format, doses from {meta_path.name}")
    elif metadata is not None:
        raise InputError("--metadata goes with an NCATS matrix file (BlockId, Row, Col, Value)")
    if df.empty:
        raise InputError(f"{path.name} holds no rows")
    unique_columns(df.columns, where=path.name)
    df.attrs["notes"] = notes
    return df


def _check_file(path: Path) -> Path:
    if not path.exists():
        raise InputError(f"input file {str(path)!r} does not exist")
    if path.is_dir():
        raise InputError(f"input {str(path)!r} is a folder; give a table file (CSV, TSV, Parquet)")
    if not path.is_file():  # a device or pipe could be endless
        raise InputError(f"input {str(path)!r} is not a regular file; give a table file")
    if path.stat().st_size == 0:
        raise FormatError(f"{path.name} is empty; give a table with a header row")
    return path


def _read_any(path: Path) -> TableRead:
    """One table file by its suffix (see :func:`read_table`)."""
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return read_excel_table(path)
    sep = "\t" if suffix in {".tsv", ".tab"} else None
    notes: tuple[str, ...] = ()
    try:
        if suffix in {".parquet", ".pq"}:
            df = pd.read_parquet(path)
        elif sep is None:
            dialect = sniff_csv(path)
            if dialect.european:
                notes = (f"{path.name}: European CSV (';' separated, decimal commas) read as such",)
            try:
                df = pd.read_csv(path, sep=dialect.sep, decimal=dialect.decimal)
            except (ValueError, pd.errors.ParserError):  # odd quoting: the sniffing reader
                df = pd.read_csv(path, sep=None, engine="python")
        else:
            df = pd.read_csv(path, sep=sep)
    except (ValueError, OSError, csv.Error, pd.errors.ParserError, UnicodeDecodeError) as exc:
        # csv.Error: the delimiter sniffer gives up on an empty or one-field file
        raise FormatError(f"cannot read {path.name} as a table: {exc}") from None
    if sep == "\t" and df.shape[1] == 1 and "," in str(df.columns[0]):
        raise FormatError(
            f"{path.name} is named {suffix} (tab-separated) but its header is comma-separated; "
            "name it .csv"
        )
    return TableRead(df, notes)


def combination_columns(
    df: pd.DataFrame,
) -> tuple[list[str], list[str], list[str | None], str, str | None]:
    """Map the table's columns to (drug cols, conc cols, unit cols, response col, replicate col)."""
    unique_columns(df.columns, where="input table", key=_norm)
    cols = {_norm(c): c for c in df.columns}

    def get(*names: str) -> str | None:
        for n in names:
            if n in cols:
                return cols[n]
        return None

    resp = get("response", "relativeinhibition", "inhibition")
    if resp is None:
        raise InputError(
            "no 'response' column; the tidy layout is block_id, drug_row, drug_col, conc_r, "
            "conc_c, response (or drug1..N, conc1..N, response)"
        )
    replicate = get("replicate", "rep")
    if get("drugrow") is not None:
        drugs = [get("drugrow"), get("drugcol")]
        concs = [get("concr"), get("concc")]
        units = [get("concrunit", *_UNIT_ALIASES), get("conccunit", *_UNIT_ALIASES)]
    else:
        drugs, concs, units = [], [], []
        i = 1
        while get(f"drug{i}") is not None:
            drugs.append(get(f"drug{i}"))
            concs.append(get(f"conc{i}"))
            units.append(get(f"concunit{i}", f"conc{i}unit", *_UNIT_ALIASES))
            i += 1
    missing = [
        name
        for name, col in zip(
            [
                *(f"drug{i + 1}" for i in range(len(drugs))),
                *(f"conc{i + 1}" for i in range(len(concs))),
            ],
            [*drugs, *concs],
            strict=True,
        )
        if col is None
    ]
    used = {c for c in units if c is not None}
    stray = [c for c in df.columns if "unit" in _norm(c) and c not in used]
    if stray:
        raise InputError(
            f"column {stray[0]!r} is not a unit column letrolab reads; name it conc_unit (one "
            "unit for all drugs), conc_r_unit/conc_c_unit (or conc_unit1..N), or units"
        )
    if len(drugs) < 2 or missing:
        raise InputError(
            "need at least two drug and concentration columns (drug_row/drug_col with "
            f"conc_r/conc_c, or drug1..N with conc1..N); missing {missing or ['drug2', 'conc2']}"
        )
    return drugs, concs, units, resp, replicate  # type: ignore[return-value]


#: Column names (normalised) that give one concentration unit for every drug of a row.
_UNIT_ALIASES = ("concunit", "units", "unit")


def unit_factors(units: np.ndarray) -> np.ndarray:
    """Molar per display unit for each entry of ``units`` (1 where the input had no unit)."""
    uniq, inv = np.unique(units.astype(str), return_inverse=True)
    f = np.array([molar_factor(u) if u not in ("", "nan", "None") else 1.0 for u in uniq])
    return f[inv]


def normalise_combination(
    df: pd.DataFrame, *, response: str = "inhibition", scale: str | None = None
) -> CombinationData:
    """Normalise a combination DataFrame; see :func:`read_combination`."""
    out, k, notes = normalise_rows(df, response=response, scale=scale)
    dcols = [f"drug{i + 1}" for i in range(k)]
    ccols = [f"conc{i + 1}" for i in range(k)]
    keys = ["block_id", *dcols, *ccols, "unit"]
    agg = (
        out.groupby(keys, sort=False)["response"]
        .agg(response="mean", sd="std", n="count")
        .reset_index()
    )
    agg["n"] = agg["n"].astype(int)
    by_block: dict[str, list[str]] = {}
    for n in notes:
        by_block.setdefault(n.block_id, []).append(n.text)
    return CombinationData(
        table=agg,
        n_drugs=k,
        warnings=tuple(n.text for n in notes),
        block_warnings={b: tuple(w) for b, w in by_block.items()},
    )


@dataclass(frozen=True)
class BlockNote:
    """A warning raised while reading, about one block."""

    block_id: str
    text: str


def _control_notes(block_ids: pd.Series, conc: np.ndarray, y: np.ndarray) -> list[BlockNote]:
    """:func:`letrolab.validate.control_warnings`, one call per flagged block (so each
    sentence keeps its block id); blocks are screened for the check vectorised first."""
    zero = (conc == 0).all(axis=1)
    if not zero.any():
        return []
    means = pd.Series(y[zero]).groupby(block_ids.to_numpy()[zero], sort=False).mean()
    flagged = means.index[np.abs(means.to_numpy()) > CONTROL_TOLERANCE_PCT]
    bids = block_ids.astype(str).to_numpy()
    out = []
    for bid in flagged:
        sel = bids == str(bid)
        out.extend(BlockNote(str(bid), w) for w in control_warnings(bids[sel], conc[sel], y[sel]))
    return out


def normalise_rows(
    df: pd.DataFrame, *, response: str, scale: str | None = None
) -> tuple[pd.DataFrame, int, list[BlockNote]]:
    """Validated, unit-converted rows (one per well, replicates not yet averaged), the number
    of drugs and the warnings (:class:`BlockNote`)."""
    if response not in _RESPONSES:
        raise InputError(f"response must be 'inhibition' or 'viability', not {response!r}")
    drug_cols, conc_cols, unit_cols, resp_col, rep_col = combination_columns(df)
    cols = {_norm(c): c for c in df.columns}
    block_col = cols.get("blockid") or cols.get("pairindex")
    k = len(drug_cols)
    warnings: list[BlockNote] = []

    out = pd.DataFrame({"block_id": _block_ids(df, block_col)})
    for i, c in enumerate(drug_cols):
        out[f"drug{i + 1}"] = df[c].astype(str).str.strip()
    for i, c in enumerate(conc_cols):
        vals = pd.to_numeric(df[c], errors="coerce")
        if vals.isna().any():
            rows = (np.flatnonzero(vals.isna().to_numpy()) + 2)[:5].tolist()
            raise InputError(
                f"column {c!r} has missing or non-numeric concentrations (file rows {rows})"
            )
        if (vals < 0).any():
            raise InputError(f"column {c!r} has negative concentrations")
        if np.isinf(vals.to_numpy(dtype=float)).any():
            raise InputError(f"column {c!r} has infinite concentrations; give finite doses")
        out[f"conc{i + 1}"] = vals.astype(float)
    for i, c in enumerate(unit_cols):
        out[f"unit{i + 1}"] = df[c].astype(str).str.strip() if c is not None else ""

    resp = pd.to_numeric(df[resp_col], errors="coerce").astype(float)
    resp = pd.Series(
        response_to_percent(resp.to_numpy(), scale, where=f"column {resp_col!r}"), index=df.index
    )
    if response == "viability":
        resp = 100.0 - resp
    out["response"] = resp
    out["replicate"] = df[rep_col] if rep_col is not None else 0

    bad = ~np.isfinite(out["response"].to_numpy())
    if bad.any():
        for bid in pd.unique(out.loc[bad, "block_id"]):
            nb = int((bad & (out["block_id"] == bid).to_numpy()).sum())
            warnings.append(
                BlockNote(
                    str(bid),
                    f"block {bid}: {nb} well(s) with missing or non-numeric response dropped",
                )
            )
        out = out.loc[~bad].reset_index(drop=True)
        if out.empty:
            example = df[resp_col].iloc[0]
            raise InputError(
                f"no row has a numeric response (column {resp_col!r}, e.g. '{example}'); give "
                "% inhibition or % viability as plain numbers, without a % sign"
            )

    # Implausible responses: % inhibition is 100 - % viability, so values far below -100 (more
    # than double the vehicle's signal) or above 120 (well below the blank) usually mean the
    # wrong --response, or fractions/raw reads instead of percentages. They are scored as given,
    # and said.
    r = out["response"].to_numpy()
    odd = (r < RESPONSE_RANGE[0]) | (r > RESPONSE_RANGE[1])
    if odd.any():
        for bid in pd.unique(out.loc[odd, "block_id"]):
            sel = odd & (out["block_id"] == bid).to_numpy()
            ex = r[sel][np.argmax(np.abs(r[sel] - 50.0))]
            text = (
                f"block {bid}: {int(sel.sum())} response(s) outside {RESPONSE_RANGE[0]:g} to "
                f"{RESPONSE_RANGE[1]:g} % inhibition (e.g. {ex:.4g}); check that responses are "
                f"percentages and that --response ({response}) is right"
            )
            warnings.append(BlockNote(str(bid), text))

    # Units: validate, convert to molar, pick each block's display unit (the first one seen).
    unit_cols_out = [f"unit{i + 1}" for i in range(k)]
    all_units = pd.unique(out[unit_cols_out].to_numpy().ravel())
    factors = {u: (molar_factor(u) if u not in ("", "nan", "None") else 1.0) for u in all_units}
    if any(u in ("", "nan", "None") for u in all_units) and any(
        u not in ("", "nan", "None") for u in all_units
    ):
        raise InputError(
            "some rows give a concentration unit and others do not; give it on every row"
        )
    unitless = all(u in ("", "nan", "None") for u in all_units)
    for i in range(k):
        out[f"conc{i + 1}"] = out[f"conc{i + 1}"] * out[f"unit{i + 1}"].map(factors).astype(float)
        check_concentrations(out[f"conc{i + 1}"], conc_cols[i], unitless=unitless)
    first_unit = out.groupby("block_id", sort=False)["unit1"].transform("first")
    mixed = out[unit_cols_out].ne(first_unit, axis=0).any(axis=1)
    _snap_converted(out, k, first_unit)
    for bid in pd.unique(out.loc[mixed, "block_id"]):
        unit = first_unit[(out["block_id"] == bid).to_numpy()].iloc[0]  # this block's unit
        text = f"block {bid}: mixed concentration units converted to {unit}"
        warnings.append(BlockNote(str(bid), text))
    out["unit"] = first_unit.replace({"nan": "", "None": ""})

    # Drugs must be constant within a block.
    dcols = [f"drug{i + 1}" for i in range(k)]
    nuniq = out.groupby("block_id", sort=False)[dcols].nunique()
    if (nuniq > 1).any(axis=None):
        bid = nuniq.index[(nuniq > 1).any(axis=1)][0]
        raise InputError(
            f"block {bid}: drug names change within the block; give each pair its own block_id"
        )

    conc = out[[f"conc{i + 1}" for i in range(k)]].to_numpy(dtype=float)
    warnings.extend(_control_notes(out["block_id"], conc, out["response"].to_numpy(dtype=float)))
    return out, k, warnings


def _block_ids(df: pd.DataFrame, block_col: str | None) -> pd.Series:
    """The block id of every row as text; an empty or missing id is refused."""
    if block_col is None:
        return pd.Series(["1"] * len(df), index=df.index)
    raw = df[block_col]
    ids = raw.astype(str).str.strip()
    empty = raw.isna().to_numpy() | (ids == "").to_numpy()
    if empty.any():
        rows = (np.flatnonzero(empty) + 2)[:5].tolist()
        raise InputError(
            f"column {block_col!r} is empty on file rows {rows}; give every row a block id"
        )
    return ids


def _snap_converted(out: pd.DataFrame, k: int, first_unit: pd.Series) -> None:
    """Put doses converted from another unit onto their block's dose grid, in place.

    The grid of a block and drug is the doses given in the block's own unit; a converted dose
    within 1e-9 (relative) of one of them becomes it, the others lose their round-off
    (:func:`letrolab.validate.snap_to_grid`).
    """
    bids = out["block_id"].to_numpy()
    for i in range(k):
        col, ucol = f"conc{i + 1}", f"unit{i + 1}"
        conv = out[ucol].ne(first_unit).to_numpy()
        if not conv.any():
            continue
        values = out[col].to_numpy(dtype=float).copy()
        for bid in pd.unique(bids[conv]):
            in_block = bids == bid
            sel = conv & in_block
            grid = values[in_block & ~conv]
            factor = molar_factor(str(first_unit[sel].iloc[0]))
            values[sel] = snap_to_grid(values[sel], grid, unit_factor=factor)
        out[col] = values
