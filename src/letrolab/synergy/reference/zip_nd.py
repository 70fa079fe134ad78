"""ZIP delta scores of N-drug blocks (three or more drugs), as SynergyFinder 3 computes them.

The zero interaction potency model (Yadav et al. 2015 CSBJ 13:504) was extended to
higher-order combinations in SynergyFinder Plus / 3 (Zheng et al. 2022 GPB 20:587; Ianevski et
al. 2022 NAR 50:W739). Its R package (shuyuzheng/synergyfinder, ``R/calculate_synergy_score.R``,
function ``ZIP``, the same in the 3.x commits 9b24e59 and 1995448 that were read) defines it for
``k >= 2`` drugs as follows, and so does this module:

1. **Reference.** Every drug's single-agent curve (its monotherapy wells and the untreated
   control) is fitted by the four-parameter log-logistic model, bottom/top free or fixed as the
   caller's convention says. The expected effect of a cell with doses ``x_1..x_k`` is the Bliss
   combination of the *fitted* single-agent effects ``f_i = E_i(x_i)``::

       ZIP_ref = 100 (1 - prod_i (1 - f_i / 100))

   where a drug at dose 0 contributes its fitted zero-dose effect ``f_i = E0_i``.
2. **Re-fits.** For every drug ``i`` the block is cut into *slices*: the wells that share the
   doses of all other drugs, with drug ``i`` varied (the row and column re-fits of the two-drug
   model generalise to lines parallel to each axis of the k-dimensional dose grid). Each slice is
   fitted by a log-logistic curve of drug ``i``'s dose with one asymptote fixed at the
   *observed* response of the slice's zero-dose well (SynergyFinder's ``condition_baseline``,
   passed as ``Emin``, drc's ``c``) and the other free (``Emax = NA``); the zero-dose well is
   part of the fitted points. As in drc's ``LL.4(fixed = ...)``, the slope's sign is free, so
   for a rising slice (the usual case) the fixed value is the zero-dose effect, and for a
   falling one it is the high-dose asymptote (:func:`letrolab.doseresponse.hill.fit_hill`
   behaves the same way). ``p_i`` is the fitted slice curve at the cell's dose of drug ``i``,
   also where that dose is 0 (then, for a rising slice, exactly the cell's observed response).
3. **Delta.** ``ZIP_fit = mean_i p_i`` over all ``k`` drugs and ``delta = ZIP_fit - ZIP_ref``,
   reported for the combination cells (two or more drugs present).

Rules where SynergyFinder's code has no defined result (documented here, counted per block):

* a slice with fewer than two non-zero doses of the varied drug is not re-fitted (three free
  parameters need three points): the cell's observed response is used, as the two-drug code
  does for a single-point row;
* a slice without a zero-dose well (no baseline), or whose fit fails, also uses the observed
  responses; such cells are counted in the block's warnings;
* if any single-agent fit of the block fails, ZIP is not defined for the block (NaN).

For two drugs this is SynergyFinder 3's two-drug ZIP, which differs from SynergyFinder 1-2's
(the two-drug code of :mod:`letrolab.synergy.reference`): there the row/column re-fits fix the
bottom at the partner's *fitted* single-agent effect and the top at 100 and leave the zero-dose
well out. letrolab scores two-drug blocks by this module under ``convention="synergyfinder3"``
(:mod:`letrolab.synergy.reference.conventions.sf3` on regular grids); ``"free"`` and ``"synergyfinder2"`` keep
SynergyFinder 1-2's rule. Embedding a two-drug block in three drugs with an inactive third
drug gives, per cell with the third drug at a positive dose,
``delta_3 = (2 delta_2 + (y - ZIP_ref)) / 3``: the third drug's slice is flat, so its re-fitted
value is the observed response ``y`` (see
tests/synergy/test_zip_nd.py).

**Most synergistic area.** SynergyFinder defines it on the two-dimensional dose matrix only (the
3 x 3 window of adjacent row and column doses with the highest mean; Ianevski et al. 2017
Bioinformatics 33:2413, 2020 NAR 48:W488). Neither SynergyFinder 3.0 nor SynergyFinder Plus
defines a higher-order analogue, so none is invented here: ``zip_msa`` (like every ``*_msa``) of
an N-drug block is NaN in the tables and ``null`` in the JSON, and the block's warnings say why.
Two-drug blocks scored by this definition (``convention="synergyfinder3"`` of
:mod:`letrolab.synergy.reference`) get the usual two-drug most synergistic area.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from letrolab.doseresponse.hill import HillFits, fit_hill, hill_effect
from letrolab.errors import InputError
from letrolab.synergy.reference.arrays import pad
from letrolab.synergy.reference.equations import bliss_expected

__all__ = ["MSA_NOTE", "ZipNDScores", "zip_nd_scores"]

#: Why an N-drug block has no most synergistic area (see the module notes).
MSA_NOTE = (
    "most synergistic area: SynergyFinder defines it on two-drug dose matrices only "
    "(3 x 3 window of adjacent doses); the *_msa values of this N-drug block are null"
)


@dataclass(frozen=True)
class ZipNDScores:
    """ZIP scores of every well of many N-drug blocks (arrays aligned with the input rows).

    Attributes
    ----------
    delta : ndarray, shape (n,)
        ``ZIP_fit - ZIP_ref`` for combination wells (two or more drugs present); NaN for
        single-agent and control wells and for blocks whose single-agent fits failed.
    fit, ref : ndarray, shape (n,)
        The averaged slice re-fits and the Bliss combination of the fitted single agents.
    single_agents : HillFits
        One curve per block and drug (curve ``b * k + i``), doses in the input unit.
    block_ok : ndarray of bool, shape (n_blocks,)
        All single-agent fits of the block succeeded.
    n_observed : ndarray of int, shape (n_blocks,)
        Re-fitted values per block that fell back to the observed response (failed fit or a
        slice without a zero-dose well); single-point slices are not counted.
    """

    delta: np.ndarray
    fit: np.ndarray
    ref: np.ndarray
    single_agents: HillFits
    block_ok: np.ndarray
    n_observed: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per input well: ``zip_fit, zip_ref, zip``."""
        return pd.DataFrame({"zip_fit": self.fit, "zip_ref": self.ref, "zip": self.delta})

    def summary(self) -> dict[str, Any]:
        """JSON-able counts and the mean delta over all combination wells."""
        fin = np.isfinite(self.delta)
        return {
            "n_blocks": int(self.block_ok.size),
            "n_blocks_undefined": int((~self.block_ok).sum()),
            "n_scored": int(fin.sum()),
            "mean_delta": float(self.delta[fin].mean()) if fin.any() else None,
            "n_observed_fallbacks": int(self.n_observed.sum()),
        }

    def report(self) -> str:
        """One line of text."""
        s = self.summary()
        mean = "-" if s["mean_delta"] is None else f"{s['mean_delta']:.3f}"
        return (
            f"N-drug ZIP: {s['n_scored']} cells in {s['n_blocks']} blocks, mean delta {mean}, "
            f"{s['n_blocks_undefined']} blocks undefined, "
            f"{s['n_observed_fallbacks']} observed-value fallbacks"
        )


def _group(keys: Sequence[np.ndarray]) -> tuple[np.ndarray, int]:
    """Dense 0-based group codes of the rows' key tuples (exact float equality per column)."""
    g = np.zeros(keys[0].shape[0], dtype=np.int64)
    for col in keys:
        codes, uniq = pd.factorize(col, sort=False)
        g, _ = pd.factorize(g * (len(uniq) + 1) + codes.astype(np.int64), sort=False)
        g = g.astype(np.int64)
    return g, (int(g.max()) + 1 if g.size else 0)


def zip_nd_scores(
    block: Any,
    conc: Any,
    response: Any,
    *,
    single_e0: float | None = None,
    single_emax: float | None = None,
) -> ZipNDScores:
    """ZIP delta of every well of many blocks of ``k >= 2`` drugs, in one vectorised pass.

    Implements SynergyFinder 3's ZIP (Zheng et al. 2022 GPB 20:587; Yadav et al. 2015 CSBJ
    13:504) as described in the module notes. All single-agent curves of all blocks are fitted
    in one batched :func:`~letrolab.doseresponse.hill.fit_hill` call, and all slice re-fits
    (every drug, every block) in a second one.

    Parameters
    ----------
    block : array_like, shape (n,)
        Block label of each well.
    conc : array_like, shape (n, k)
        Doses (>= 0; 0 = drug absent), one column per drug, any unit.
    response : array_like, shape (n,)
        % inhibition, one value per distinct dose combination of a block (average replicates
        first, as :func:`letrolab.synergy.tidy.read_combination` does).
    single_e0, single_emax : float, optional
        Fix the single agents' zero-dose / infinite-dose effect (SynergyFinder's ``Emin`` /
        ``Emax`` arguments; ``None`` = fitted). The slice re-fits are not affected.

    Returns
    -------
    ZipNDScores

    Raises
    ------
    InputError
        On mismatched shapes, negative or non-finite doses, non-finite responses, or a dose
        combination given twice in one block.

    Examples
    --------
    Two drugs with Bliss-independent log-logistic effects score ~0:

    >>> d = np.array([0.0, 0.5, 1, 2, 4])
    >>> x1, x2 = (a.ravel() for a in np.meshgrid(d, d, indexing="ij"))
    >>> f1, f2 = hill_effect(x1, 0, 100, 1, 1.5), hill_effect(x2, 0, 80, 2, 1)
    >>> r = zip_nd_scores(np.zeros(25), np.c_[x1, x2], f1 + f2 - f1 * f2 / 100)
    >>> bool(np.nanmax(np.abs(r.delta)) < 1e-4)
    True
    """
    bcode, nb, conc, y = _check_inputs(block, conc, response)
    nz = conc > 0
    combo = nz.sum(1) >= 2
    sa, par, block_ok = _single_agents(bcode, nb, conc, y, single_e0, single_emax)
    # ZIP reference: Bliss combination of the fitted single-agent effects (e0 at dose 0).
    p = par[bcode]  # (n, k, 4)
    f = hill_effect(conc, p[..., 0], p[..., 1], p[..., 2], p[..., 3])
    ref = bliss_expected(f, np.ones(f.shape, bool))
    pred, n_observed = _slice_refits(bcode, nb, conc, y, combo)
    fit = pred.mean(1)
    delta = np.where(combo & block_ok[bcode], fit - ref, np.nan)
    return ZipNDScores(
        delta=delta,
        fit=fit,
        ref=ref,
        single_agents=sa,
        block_ok=block_ok,
        n_observed=n_observed,
    )


def _check_inputs(block, conc, response):
    """Validated arrays of :func:`zip_nd_scores`: (block codes, n blocks, conc, response)."""
    conc = np.asarray(conc, dtype=float)
    y = np.asarray(response, dtype=float)
    blk = np.asarray(block)
    if conc.ndim != 2 or y.shape != (conc.shape[0],) or blk.shape != y.shape:
        raise InputError(
            f"zip_nd_scores needs block (n,), conc (n, k) and response (n,); got "
            f"{blk.shape}, {conc.shape}, {y.shape}"
        )
    if not np.isfinite(conc).all() or (conc < 0).any():
        raise InputError("doses must be finite and >= 0 (0 = drug absent)")
    if not np.isfinite(y).all():
        raise InputError("responses must be finite; drop or impute missing wells first")
    n = conc.shape[0]
    bcode, buniq = pd.factorize(blk, sort=False)
    bcode = bcode.astype(np.int64)
    nb = len(buniq)
    if n and _group([bcode, *conc.T])[1] != n:
        raise InputError(
            "a dose combination occurs twice in one block; average replicates first "
            "(letrolab.synergy.tidy.read_combination does)"
        )
    return bcode, nb, conc, y


def _single_agents(bcode, nb, conc, y, single_e0, single_emax):
    """Single agents of every drug of every block (zero-dose well included), one batched fit.
    Returns (fits, parameters (nb, k, 4), all fits of the block ok (nb,))."""
    k = conc.shape[1]
    nz = conc > 0
    nnz = nz.sum(1)
    zi = np.flatnonzero(nnz == 0)
    rows = [np.concatenate([np.flatnonzero(nz[:, i] & (nnz == 1)), zi]) for i in range(k)]
    rr = np.concatenate(rows)
    dd = np.repeat(np.arange(k), [r.size for r in rows])
    xs, ys, _ = pad(bcode[rr] * k + dd, nb * k, conc[rr, dd], y[rr])
    sa = fit_hill(xs, ys, e0=single_e0, emax=single_emax)
    par = np.stack([sa.e0, sa.emax, sa.ec50, sa.h], 1).reshape(nb, k, 4)
    return sa, par, sa.ok.reshape(nb, k).all(1)


def _slices_to_fit(bcode, nb, conc, y, combo):
    """For each drug, the slices (wells sharing the other drugs' doses) to re-fit.

    Returns (parts [(drug, rows)], slice code of each selected row, the zero-dose response of
    every slice, number of slices, per-block count of values left observed for lack of a
    zero-dose well)."""
    k = conc.shape[1]
    parts, gid_all, base_all = [], [], []
    n_groups = 0
    n_observed = np.zeros(nb, dtype=np.int64)
    for i in range(k):
        g, ng = _group([bcode, *(conc[:, j] for j in range(k) if j != i)])
        pos = conc[:, i] > 0
        base = np.full(ng, np.nan)
        base[g[~pos]] = y[~pos]
        npos = np.bincount(g[pos], minlength=ng)
        needed = np.zeros(ng, bool)
        needed[g[combo & pos]] = True  # slices holding a combination well at a positive dose
        no_base = needed & np.isnan(base) & (npos >= 2)
        if no_base.any():
            n_observed += np.bincount(bcode[combo & pos & no_base[g]], minlength=nb)
        sel = np.flatnonzero((needed & np.isfinite(base) & (npos >= 2))[g])
        parts.append((i, sel))
        gid_all.append(g[sel] + n_groups)
        base_all.append(base)
        n_groups += ng
    return parts, gid_all, base_all, n_observed


def _slice_refits(bcode, nb, conc, y, combo):
    """Slice re-fits of every drug, all in one batched fit, one asymptote fixed at the slice's
    zero-dose response (SynergyFinder 3). Returns (values (n, k), observed fallbacks per block)."""
    k = conc.shape[1]
    pred = np.repeat(y[:, None], k, axis=1)  # slices not re-fitted keep the observed values
    parts, gid_all, base_all, n_observed = _slices_to_fit(bcode, nb, conc, y, combo)
    if any(s.size for _, s in parts):
        sel_rows = np.concatenate([s for _, s in parts])
        drug_of = np.repeat([i for i, _ in parts], [s.size for _, s in parts])
        bases = np.concatenate(base_all)
        cg, ug = pd.factorize(np.concatenate(gid_all), sort=False)  # compact slice codes
        cg = cg.astype(np.int64)
        xs, ys, rowpos = pad(cg, len(ug), conc[sel_rows, drug_of], y[sel_rows])
        fits = fit_hill(xs, ys, e0=bases[np.asarray(ug, dtype=np.int64)])
        val = fits.predict(xs)[cg, rowpos]
        good = fits.ok[cg] & np.isfinite(val)
        is_combo_pos = combo[sel_rows] & (conc[sel_rows, drug_of] > 0)
        n_observed += np.bincount(bcode[sel_rows[~good & is_combo_pos]], minlength=nb)
        pred[sel_rows[good], drug_of[good]] = val[good]
    return pred, n_observed
