"""Tables of many blocks (tidy rows, any number of drugs, ragged dose sets).

:func:`score_table` is the single scoring entry point behind
:func:`~letrolab.synergy.reference.reference_scores`, :func:`letrolab.synergy.score_screen`
(chunk by chunk, also under Dask), the bootstrap and the ``letrolab synergy`` command. Regular
two-drug grids go to :mod:`letrolab.synergy.reference.grid`; N-drug ZIP and SynergyFinder 3's
two-drug ZIP on other tables to :mod:`letrolab.synergy.reference.zip_nd`; everything else is
scored here, cell by cell, all blocks at once, in named stages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from letrolab.doseresponse.hill import HillFits, fit_hill
from letrolab.synergy.reference.arrays import block_means, dense_rank, lookup, pad, take
from letrolab.synergy.reference.conventions import Cells, Convention, get_convention
from letrolab.synergy.reference.equations import (
    bliss_expected,
    hsa_expected,
    most_synergistic_area,
)
from letrolab.synergy.reference.grid import grid_core
from letrolab.synergy.reference.options import (
    DEFAULT_CONVENTION,
    MSA_SMALL_NOTE,
    ZIP_OBSERVED_NOTE,
    loewe_fallback_note,
    sa_failed_note,
)
from letrolab.synergy.reference.results import TableScores
from letrolab.synergy.reference.zip_nd import MSA_NOTE, zip_nd_scores
from letrolab.synergy.tidy import unit_factors

__all__ = ["as_grid", "score_table"]

_SA_COLUMNS = ["block_id", "drug", "unit", "ok", "e0", "emax", "ec50", "h", "rss", "n", "reason"]


class _Warnings:
    """Block warnings collected by block code, in the order they are raised."""

    def __init__(self) -> None:
        self.by_code: dict[int, list[str]] = {}

    def add(self, mask: np.ndarray, text: Callable[[int], str]) -> None:
        for b in np.flatnonzero(mask):
            self.by_code.setdefault(int(b), []).append(text(int(b)))

    def by_id(self, block_ids) -> dict[str, list[str]]:
        return {str(block_ids[b]): w for b, w in self.by_code.items()}


class _Blocks:
    """Per-block metadata of a table: ids, drug names (nb, k), units, first row."""

    def __init__(self, table: pd.DataFrame, k: int) -> None:
        bcode, self.ids = pd.factorize(table["block_id"], sort=False)
        self.code = bcode.astype(np.int64)
        self.n = len(self.ids)
        first = np.unique(self.code, return_index=True)[1]
        dcols = [f"drug{i + 1}" for i in range(k)]
        self.drugs = table[dcols].iloc[first].to_numpy(dtype=object)
        self.units = (
            table["unit"].iloc[first].to_numpy(dtype=object)
            if "unit" in table
            else np.array([""] * self.n, dtype=object)
        )
        self.factor = unit_factors(self.units)  # molar per display unit, one per block

    def single_agent_frame(self, fits: HillFits | None, k: int) -> pd.DataFrame:
        """The fitted single agents (curve ``b * k + i``), EC50 in the block's unit."""
        if fits is None:
            return pd.DataFrame(columns=_SA_COLUMNS)
        return pd.DataFrame(
            {
                "block_id": np.repeat(np.asarray(self.ids, dtype=object), k),
                "drug": self.drugs.reshape(-1),
                "unit": np.repeat(self.units, k),
                "ok": fits.ok,
                "e0": fits.e0,
                "emax": fits.emax,
                "ec50": fits.ec50 / np.repeat(self.factor, k),
                "h": fits.h,
                "rss": fits.rss,
                "n": fits.n,
                "reason": fits.reason,
            }
        )

    def sa_failures(self, warns: _Warnings, ok: np.ndarray, reason: np.ndarray, k: int) -> None:
        """Warn for every failed single-agent fit (curve ``b * k + i``)."""
        for j in np.flatnonzero(~ok):
            b, i = divmod(int(j), k)
            warns.by_code.setdefault(b, []).append(sa_failed_note(self.drugs[b, i], reason[j]))


def score_table(
    table: pd.DataFrame,
    n_drugs: int,
    models: Sequence[str],
    *,
    allow_grid: bool = True,
    convention: str = DEFAULT_CONVENTION,
) -> TableScores:
    """Score a normalised combination table (see tidy.CombinationData.table), all blocks at once.

    ``allow_grid=False`` keeps regular two-drug grids on the cell path (same numbers).
    """
    conv = get_convention(convention)
    models = tuple(models)
    if "zip" in models and n_drugs != 2:  # SynergyFinder 3's N-drug ZIP
        return _with_slice_zip(table, n_drugs, models, conv)
    blocks = _Blocks(table, n_drugs)
    conc = table[[f"conc{i + 1}" for i in range(n_drugs)]].to_numpy(dtype=float)
    y = table["response"].to_numpy(dtype=float)
    if n_drugs == 2 and allow_grid:
        grid = as_grid(blocks.code, blocks.n, conc, y)
        if grid is not None:
            return _score_grid_table(table, grid, blocks, models, conv)
    if "zip" in models and conv.slice_zip:  # two drugs, not a regular grid
        return _with_slice_zip(table, n_drugs, models, conv)
    ci = np.flatnonzero((conc > 0).sum(1) >= 2)
    cells = Cells(blocks.code, blocks.n, n_drugs, conc, y, ci)
    return _score_cells(table, cells, blocks, models, conv)


# ----------------------------------------------------------------------------- cell path


def _fit_single_agents(cells: Cells, conv: Convention) -> HillFits:
    """Every drug of every block (its single-agent wells and the control), one batched fit."""
    k = cells.k
    zero = np.flatnonzero((cells.conc > 0).sum(1) == 0)
    rows = [np.concatenate([cells.single_rows(i), zero]) for i in range(k)]
    rr = np.concatenate(rows)
    dd = np.concatenate([np.full(r.size, i) for i, r in enumerate(rows)])
    xs, ys, _ = pad(cells.bcode[rr] * k + dd, cells.nb * k, cells.conc[rr, dd], cells.y[rr])
    return fit_hill(xs, ys, e0=conv.sa_e0, emax=conv.sa_emax)


def _observed_singles(cells: Cells) -> np.ndarray:
    """Observed single-agent response of each drug at each combination cell's dose (n_c, k)."""
    xc = cells.xc
    obs = np.full(xc.shape, np.nan)
    for i in range(cells.k):
        codes, _ = pd.factorize(cells.conc[:, i])
        ucount = int(codes.max()) + 1 if codes.size else 1
        key = cells.bcode * ucount + codes
        si = cells.single_rows(i)
        got = lookup(key[si], cells.y[si], key[cells.ci])
        obs[:, i] = np.where(xc[:, i] > 0, got, np.nan)
    return obs


def _bliss_hsa_cells(cells: Cells, models, warns: _Warnings) -> dict[str, np.ndarray]:
    """Bliss and HSA of every combination cell from the observed single agents."""
    if "bliss" not in models and "hsa" not in models:
        return {}
    obs = _observed_singles(cells)
    present = cells.xc > 0
    missing = present & np.isnan(obs)
    if missing.any():
        nmiss = np.bincount(cells.bc[missing.any(1)], minlength=cells.nb)
        warns.add(
            nmiss > 0,
            lambda b: (
                f"{nmiss[b]} combination cell(s) lack an observed "
                "single-agent response at the same dose: Bliss and HSA are not defined there"
            ),
        )
    out = {}
    if "bliss" in models:
        out["bliss"] = cells.yc - bliss_expected(obs, present)
    if "hsa" in models:
        out["hsa"] = cells.yc - hsa_expected(obs, present)
    return out


def _loewe_zip_cells(cells: Cells, fits: HillFits, models, conv: Convention, warns: _Warnings):
    """Loewe and (two-drug) ZIP of every combination cell, by the convention."""
    nb, k = cells.nb, cells.k
    par = np.stack([fits.e0, fits.emax, fits.ec50, fits.h], 1).reshape(nb, k, 4)
    fit_ok = fits.ok.reshape(nb, k).all(1)
    out = {}
    if "loewe" in models:
        lo = conv.loewe_table(cells, par, fit_ok)
        if conv.own_sa_note:
            warns.add(~lo.ok, lambda b: conv.own_sa_note)
        out["loewe"] = cells.yc - lo.expected
        nfb = np.bincount(cells.bc[lo.fallback], minlength=nb)
        warns.add(nfb > 0, lambda b: loewe_fallback_note(int(nfb[b]), conv.name))
    if "zip" in models:
        z = conv.zip_table(cells, par, fit_ok)
        if conv.own_sa_note:
            warns.add(~z.ok, lambda b: conv.own_sa_note)
        out["zip"] = z.delta
        warns.add(z.n_observed > 0, lambda b: ZIP_OBSERVED_NOTE.format(n=z.n_observed[b]))
    return out


def _cell_frame(table, cells: Cells, blocks: _Blocks, models, out) -> pd.DataFrame:
    """One row per combination cell: ids, drugs, doses in the block's unit, scores."""
    bc, xc, k = cells.bc, cells.xc, cells.k
    fac = blocks.factor[bc]
    sc = pd.DataFrame({"block_id": take(np.asarray(blocks.ids, dtype=object), bc)})
    for i in range(k):
        sc[f"drug{i + 1}"] = take(blocks.drugs[:, i], bc)
    for i in range(k):
        sc[f"conc{i + 1}"] = xc[:, i] / fac
    sc["unit"] = take(blocks.units, bc)
    sc["response"] = cells.yc
    if "sd" in table:
        sc["sd"] = table["sd"].to_numpy(dtype=float)[cells.ci]
        sc["n"] = table["n"].to_numpy()[cells.ci]
    for m in models:
        sc[m] = out[m]
    return sc


def _summary_frame(cells: Cells, blocks: _Blocks, models, out, warns: _Warnings):
    """One row per block: drugs, ``n_combinations``, ``<model>_mean`` and ``<model>_msa``."""
    nb, k, bc, xc = cells.nb, cells.k, cells.bc, cells.xc
    summ = pd.DataFrame({"block_id": np.asarray(blocks.ids, dtype=object)})
    for i in range(k):
        summ[f"drug{i + 1}"] = blocks.drugs[:, i]
    ncomb = np.bincount(bc, minlength=nb)
    summ["n_combinations"] = ncomb
    two = k == 2 and cells.ci.size > 0
    if two:
        r1, r2 = dense_rank(bc, xc[:, 0], nb), dense_rank(bc, xc[:, 1], nb)
        shape = (nb, int(r1.max()) + 1, int(r2.max()) + 1)
    for m in models:
        summ[f"{m}_mean"] = block_means(bc, out[m], nb)
        if two:
            grid = np.full(shape, np.nan)
            grid[bc, r1, r2] = out[m]
            summ[f"{m}_msa"] = most_synergistic_area(grid)
        else:
            summ[f"{m}_msa"] = np.nan
    if two and (ncomb > 0).any():
        big = np.zeros(nb, bool)
        np.maximum.at(big, bc, (r1 >= 2) & (r2 >= 2))
        warns.add(~big & (ncomb > 0), lambda b: MSA_SMALL_NOTE)
    warns.add(ncomb == 0, lambda b: "no combination cells (every well has at most one drug)")
    return summ


def _score_cells(table, cells: Cells, blocks: _Blocks, models, conv: Convention) -> TableScores:
    """The cell path: any number of drugs, any dose layout."""
    warns = _Warnings()
    fits = None
    if "loewe" in models or "zip" in models:
        fits = _fit_single_agents(cells, conv)
        blocks.sa_failures(warns, fits.ok, fits.reason, cells.k)
    out = _bliss_hsa_cells(cells, models, warns)
    if fits is not None:
        out.update(_loewe_zip_cells(cells, fits, models, conv, warns))
    sc = _cell_frame(table, cells, blocks, models, out)
    summ = _summary_frame(cells, blocks, models, out, warns)
    sa = blocks.single_agent_frame(fits, cells.k)
    return TableScores(sc, summ, sa, warns.by_id(blocks.ids))


# ----------------------------------------------------------------------------- grid path


def as_grid(bcode, nb, conc, y):
    """(c1 (nb, R), c2 (nb, C), Y (nb, R, C), row key) when every block is a full R x C grid
    with its zero row and column (same R, C for all blocks); else None."""
    if nb == 0:
        return None
    r1 = dense_rank(bcode, conc[:, 0], nb)
    r2 = dense_rank(bcode, conc[:, 1], nb)
    r, c = int(r1.max()) + 1, int(r2.max()) + 1
    if r < 2 or c < 2 or len(y) != nb * r * c:
        return None
    key = (bcode * r + r1) * c + r2
    if np.bincount(key, minlength=nb * r * c).max() != 1:
        return None
    if (conc[r1 == 0, 0] != 0).any() or (conc[r2 == 0, 1] != 0).any():
        return None
    if not np.isfinite(y).all():
        return None
    c1 = np.empty((nb, r))
    c2 = np.empty((nb, c))
    c1[bcode, r1] = conc[:, 0]
    c2[bcode, r2] = conc[:, 1]
    yy = np.empty(nb * r * c)
    yy[key] = y
    return c1, c2, yy.reshape(nb, r, c), key


def _grid_cell_frame(table, grid, blocks: _Blocks, models, scores) -> pd.DataFrame:
    c1, c2, y, key = grid
    nb, r, c = y.shape
    bc = np.repeat(np.arange(nb), (r - 1) * (c - 1))
    fac = blocks.factor[bc]
    sc = pd.DataFrame({"block_id": take(np.asarray(blocks.ids, dtype=object), bc)})
    for i in range(2):
        sc[f"drug{i + 1}"] = take(blocks.drugs[:, i], bc)
    sc["conc1"] = np.broadcast_to(c1[:, 1:, None], (nb, r - 1, c - 1)).ravel() / fac
    sc["conc2"] = np.broadcast_to(c2[:, None, 1:], (nb, r - 1, c - 1)).ravel() / fac
    sc["unit"] = take(blocks.units, bc)
    sc["response"] = y[:, 1:, 1:].ravel()
    if "sd" in table:
        for col, dtype in (("sd", float), ("n", np.int64)):
            g = np.empty(nb * r * c, dtype=dtype)
            g[key] = table[col].to_numpy(dtype=dtype)
            sc[col] = g.reshape(nb, r, c)[:, 1:, 1:].ravel()
    for m in models:
        sc[m] = scores[m].ravel()
    return sc


def _grid_warnings(core, blocks: _Blocks, models, conv: Convention, shape) -> _Warnings:
    warns = _Warnings()
    if core.fit1 is not None:
        for i, f in enumerate((core.fit1, core.fit2)):
            warns.add(~f.ok, lambda b, i=i, f=f: sa_failed_note(blocks.drugs[b, i], f.reason[b]))
    fb = core.loewe_fallback
    warns.add(fb > 0, lambda b: loewe_fallback_note(int(fb[b]), conv.name))
    if "zip" in models:
        nr = core.n_observed
        warns.add(nr > 0, lambda b: ZIP_OBSERVED_NOTE.format(n=nr[b]))
    warns.add(~core.own_ok, lambda b: conv.own_sa_note)
    if shape[1] < 4 or shape[2] < 4:
        warns.add(np.ones(shape[0], bool), lambda b: MSA_SMALL_NOTE)
    return warns


def _score_grid_table(table, grid, blocks: _Blocks, models, conv: Convention) -> TableScores:
    """The table outputs of :func:`score_table` computed on regular grids."""
    c1, c2, y, _key = grid
    nb, r, c = y.shape
    core = grid_core(c1, c2, y, models, conv.name)
    sc = _grid_cell_frame(table, grid, blocks, models, core.scores)
    summ = pd.DataFrame({"block_id": np.asarray(blocks.ids, dtype=object)})
    for i in range(2):
        summ[f"drug{i + 1}"] = blocks.drugs[:, i]
    summ["n_combinations"] = np.full(nb, (r - 1) * (c - 1))
    for m in models:
        summ[f"{m}_mean"] = core.mean[m]
        summ[f"{m}_msa"] = core.msa[m]
    warns = _grid_warnings(core, blocks, models, conv, y.shape)
    sa = None
    if core.fit1 is not None:
        f1, f2 = core.fit1, core.fit2
        sa = HillFits(
            **{
                name: np.stack([getattr(f1, name), getattr(f2, name)], 1).reshape(-1)
                for name in ("e0", "emax", "ec50", "h", "rss", "n", "ok", "reason", "labels")
            }
        )
    return TableScores(sc, summ, blocks.single_agent_frame(sa, 2), warns.by_id(blocks.ids))


# ----------------------------------------------------------------------------- slice ZIP


def _with_slice_zip(table, k: int, models, conv: Convention) -> TableScores:
    """Tables with ``zip`` scored by the slice re-fits (N drugs; two-drug tables that are not
    regular grids under ``"synergyfinder3"``); the other models by the cell path."""
    other = tuple(m for m in models if m != "zip")
    # allow_grid=False: rows in table order, aligned with zip_nd_scores'.
    base = score_table(table, k, other, convention=conv.name, allow_grid=False)
    blocks = _Blocks(table, k)
    conc = table[[f"conc{i + 1}" for i in range(k)]].to_numpy(dtype=float)
    z = zip_nd_scores(
        blocks.code,
        conc,
        table["response"].to_numpy(dtype=float),
        single_e0=None if np.isnan(conv.sa_e0) else conv.sa_e0,
        single_emax=None if np.isnan(conv.sa_emax) else conv.sa_emax,
    )
    combo = (conc > 0).sum(1) >= 2
    sc = base.scores.copy()
    sc["zip"] = z.delta[combo]
    sc = sc[[c for c in sc.columns if c not in models] + list(models)]
    summ = _slice_zip_summary(base.blocks, blocks, conc[combo], z.delta[combo], combo, k)
    sumcols = [f"{m}_{t}" for m in models for t in ("mean", "msa")]
    summ = summ[[col for col in summ.columns if col not in sumcols] + sumcols]
    sa_df = base.single_agents
    if sa_df.empty:
        sa_df = blocks.single_agent_frame(z.single_agents, k)
    warns = _slice_zip_warnings(base.warnings, blocks, z, k)
    return TableScores(sc, summ, sa_df, warns)


def _slice_zip_summary(summ, blocks: _Blocks, xc, v, combo, k) -> pd.DataFrame:
    summ = summ.copy()
    nb = blocks.n
    bc = blocks.code[combo]
    summ["zip_mean"] = block_means(bc, v, nb)
    if k != 2:
        summ["zip_msa"] = np.nan  # not defined for N drugs (zip_nd module notes)
        return summ
    grid = np.full((nb, 1, 1), np.nan)  # two drugs: best 3 x 3 window, as for the others
    if bc.size:
        r1, r2 = dense_rank(bc, xc[:, 0], nb), dense_rank(bc, xc[:, 1], nb)
        grid = np.full((nb, int(r1.max()) + 1, int(r2.max()) + 1), np.nan)
        grid[bc, r1, r2] = v
    summ["zip_msa"] = most_synergistic_area(grid)
    return summ


def _slice_zip_warnings(base, blocks: _Blocks, z, k) -> dict[str, list[str]]:
    """Warnings of the other models, plus failed fits (once), observed fallbacks, MSA note."""
    keys = [str(b) for b in blocks.ids]
    warns = {key: list(val) for key, val in base.items()}
    fa = z.single_agents
    for j in np.flatnonzero(~fa.ok):
        b, i = divmod(int(j), k)
        w = warns.setdefault(keys[b], [])
        text = sa_failed_note(blocks.drugs[b, i], fa.reason[j])
        if text not in w:  # Loewe, when asked for, has said it already
            w.append(text)
    for b in np.flatnonzero(z.n_observed):
        warns.setdefault(keys[b], []).append(
            f"ZIP: {z.n_observed[b]} re-fitted value(s) from slices that could not be fitted "
            "(fit failed, or no well without the varied drug) use the observed response"
        )
    if k != 2:
        for key in keys:
            warns.setdefault(key, []).append(MSA_NOTE)
    return warns
