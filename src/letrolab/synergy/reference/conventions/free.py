"""Convention ``"free"``: all four single-agent parameters fitted, Loewe by the exact root
(:func:`~letrolab.synergy.reference.equations.loewe_root`), two-drug ZIP by Yadav et al.'s
(2015 CSBJ 13:504) original re-fit rule, the one SynergyFinder 1-2 used: every row and column
of the combination matrix re-fitted with the bottom fixed at the partner's *fitted*
single-agent effect and the top at 100, the zero-dose well left out. A row with one point is
not re-fitted (its observed value is used), and a re-fit that does not converge uses the
observed values, as in SynergyFinder.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from letrolab.doseresponse.hill import HillFits, fit_hill, hill_effect
from letrolab.synergy.reference.arrays import fit_joint, pad
from letrolab.synergy.reference.conventions.base import Cells, Convention, SliceFit, ZipOut
from letrolab.synergy.reference.equations import loewe_root, zip_delta

__all__ = ["FreeConvention", "refit_table_slices"]


def refit_table_slices(cells: Cells, f1, f2, fitter, raw_single: bool):
    """Re-fit every row and column of the combination cells of a table (two drugs).

    ``f1``, ``f2`` are the partner effects used as each re-fit's bottom; ``fitter(xs, ys,
    bottom)`` returns a :class:`SliceFit`. Returns (re-fitted along drug 1, along drug 2,
    per-block count of re-fitted values replaced by the observed response).
    """
    bc, xc, yc = cells.bc, cells.xc, cells.yc
    refit = []
    n_raw = np.zeros(cells.nb, int)
    for vary, fixed, bottom in ((0, 1, f2), (1, 0, f1)):
        codes, _ = pd.factorize(xc[:, fixed])
        gid, _ = pd.factorize(bc * (int(codes.max()) + 1 if codes.size else 1) + codes)
        ng = int(gid.max()) + 1 if gid.size else 0
        xs, ys, bots, rowpos = pad(gid, ng, xc[:, vary], yc, bottom)
        sf = fitter(xs, ys, bots[:, 0])
        pred = sf.values[gid, rowpos]
        single = sf.single[gid]
        use_raw = ~sf.ok[gid] | ~np.isfinite(pred)
        if raw_single:
            use_raw |= single
        n_raw += np.bincount(bc[use_raw & ~single], minlength=cells.nb)
        refit.append(np.where(use_raw, yc, pred))
    return refit[0], refit[1], n_raw


def _refit_grid(c1, c2, comb, g1, g2):
    """Grid re-fits of ``"free"``: column j varies drug 1 with the bottom at drug 2's fitted
    effect at its dose, row i likewise; both sets in one batched fit (top 100). Returns
    (along drug 1, along drug 2, per-block count of values replaced by the observed ones)."""
    nb, r1, c1n = comb.shape
    xa = np.repeat(c1[:, 1:], c1n, 0)  # (nb*(C-1), R-1)
    ya = comb.transpose(0, 2, 1).reshape(-1, r1)
    xb = np.repeat(c2[:, 1:], r1, 0)  # (nb*(R-1), C-1)
    yb = comb.reshape(-1, c1n)
    parts = []
    if r1 >= 2:
        parts.append((xa, ya, g2.ravel()))
    if c1n >= 2:
        parts.append((xb, yb, g1.ravel()))
    fits = iter(fit_joint(parts, emax=100.0)) if parts else iter(())
    n_raw = np.zeros(nb, dtype=np.int64)
    col_fit, row_fit = comb, comb
    if r1 >= 2:
        fa = next(fits)
        pa = fa.predict(xa)
        use = fa.ok[:, None] & np.isfinite(pa)
        n_raw += (~use).reshape(nb, -1).sum(1)
        col_fit = np.where(use, pa, ya).reshape(nb, c1n, r1).transpose(0, 2, 1)
    if c1n >= 2:
        fb = next(fits)
        pb = fb.predict(xb)
        use = fb.ok[:, None] & np.isfinite(pb)
        n_raw += (~use).reshape(nb, -1).sum(1)
        row_fit = np.where(use, pb, yb).reshape(nb, r1, c1n)
    return col_fit, row_fit, n_raw


class FreeConvention(Convention):
    """``"free"`` (module notes)."""

    name = "free"

    def loewe_expected(self, x, y_obs, e0, emax, ec50, h):
        return loewe_root(x, e0, emax, ec50, h)

    def fit_slices(self, xs, ys, bottom) -> SliceFit:
        """Least-squares re-fits with the bottom fixed and the top at 100."""
        fits = fit_hill(xs, ys, e0=bottom, emax=100.0)
        return SliceFit(fits.predict(xs), fits.ok, fits.n == 1)

    def zip_table(self, cells: Cells, par: np.ndarray, fit_ok: np.ndarray) -> ZipOut:
        bc, xc = cells.bc, cells.xc
        f1 = hill_effect(xc[:, 0], *par[bc, 0].T)
        f2 = hill_effect(xc[:, 1], *par[bc, 1].T)
        r1, r2, n_raw = refit_table_slices(cells, f1, f2, self.fit_slices, raw_single=False)
        delta = zip_delta(r1, r2, f1, f2)
        return ZipOut(np.where(fit_ok[bc], delta, np.nan), n_raw, fit_ok)

    def zip_grid(self, c1, c2, y, f1: HillFits, f2: HillFits) -> ZipOut:
        g1 = f1.predict(c1[:, 1:])  # (nb, R-1) fitted drug-1 effects
        g2 = f2.predict(c2[:, 1:])  # (nb, C-1)
        col_fit, row_fit, n_raw = _refit_grid(c1, c2, y[:, 1:, 1:], g1, g2)
        delta = zip_delta(col_fit, row_fit, g1[:, :, None], g2[:, None, :])
        ok = f1.ok & f2.ok
        return ZipOut(np.where(ok[:, None, None], delta, np.nan), n_raw, ok)
