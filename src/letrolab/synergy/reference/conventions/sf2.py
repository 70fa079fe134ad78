"""Convention ``"synergyfinder2"``: SynergyFinder 1-2 (``CalculateSynergy(..., Emin = 0,
Emax = 100)``) as its published example table was computed.

Single agents for Bliss/HSA-free models by least squares with the bottom fixed at 0 and the top
at 100, the Loewe expectation capped at 100 as its ``CalculateLoewe`` did. Two-drug Loewe
follows ``CalculateLoewe`` step by step: single agents by drc's ``LL.4`` on their non-zero
doses with the top fixed at 100 and the bottom at 0 (at the lowest response where a curve goes
below 0), the Loewe equation solved by nleqslv's Newton path, the max-of-curves fallback where
nleqslv gives up, the cap. Two-drug ZIP is SynergyFinder 1-2's ``ZIP()`` (``correction =
FALSE, Emin = NA, Emax = NA``): single agents by drc's free ``LL.4`` on their non-zero doses,
rows and columns re-fitted by drc's logistic ``L.4`` in linear dose with the bottom fixed at the
partner's fitted effect (Yadav et al. 2015 CSBJ 13:504 for the delta). The R numerics (drc,
R's BFGS, nleqslv) are emulated in :mod:`letrolab.synergy.reference.rcompat`, which explains why
that is needed; tests/synergy/test_reference_sf2.py checks every published cell.
"""

from __future__ import annotations

import numpy as np

from letrolab.doseresponse.hill import HillFits
from letrolab.synergy.reference.arrays import pad
from letrolab.synergy.reference.conventions.base import Cells, LoeweOut, SliceFit, ZipOut
from letrolab.synergy.reference.conventions.free import FreeConvention, refit_table_slices
from letrolab.synergy.reference.equations import zip_delta
from letrolab.synergy.reference.options import SF2_SA_FAILED
from letrolab.synergy.reference.rcompat import (
    NLEQSLV_ERROR,
    NleqslvResult,
    drc_l4_bottom,
    drc_ll4,
    ll4_effect,
    nleqslv_newton,
    rpow,
)

__all__ = [
    "SF2Convention",
    "sf2_loewe_curves",
    "sf2_loewe_expected",
    "sf2_loewe_grid",
    "sf2_zip_grid",
]


def _single_curves(cells: Cells):
    """Padded single-agent curves of every drug of every block, non-zero doses only."""
    k = cells.k
    rows = [cells.single_rows(i) for i in range(k)]
    rr = np.concatenate(rows)
    dd = np.concatenate([np.full(r_.size, i) for i, r_ in enumerate(rows)])
    xs, ys, _ = pad(cells.bcode[rr] * k + dd, cells.nb * k, cells.conc[rr, dd], cells.y[rr])
    return xs, ys


class SF2Convention(FreeConvention):
    """``"synergyfinder2"`` (module notes). N-drug Loewe is the exact root, capped."""

    name = "synergyfinder2"
    sa_e0 = 0.0
    sa_emax = 100.0
    cap_loewe = True
    own_sa_note = SF2_SA_FAILED

    def loewe_table(self, cells: Cells, par: np.ndarray, fit_ok: np.ndarray) -> LoeweOut:
        if cells.k != 2:
            return super().loewe_table(cells, par, fit_ok)
        xs, ys = _single_curves(cells)
        lpar, lok = sf2_loewe_curves(xs, ys)
        lpar = lpar.reshape(cells.nb, 2, 4)
        lok = lok.reshape(cells.nb, 2).all(1)
        bc, xc = cells.bc, cells.xc
        exp_l = np.full(bc.size, np.nan)
        fb = np.zeros(bc.size, bool)
        good = lok[bc]
        if good.any():
            exp_l[good], fb[good], _ = sf2_loewe_expected(
                xc[good, 0], xc[good, 1], lpar[bc[good], 0], lpar[bc[good], 1]
            )
        return LoeweOut(exp_l, fb, lok)

    def loewe_grid(self, c1, c2, y, f1: HillFits, f2: HillFits) -> LoeweOut:
        exp_l, fb, ok = sf2_loewe_grid(c1, c2, y)
        return LoeweOut(exp_l, fb, ok)

    def fit_slices(self, xs, ys, bottom) -> SliceFit:
        """drc's ``L.4`` re-fits in linear dose with the bottom fixed (R's path emulated)."""
        fitted, ok = drc_l4_bottom(xs, ys, bottom)
        return SliceFit(fitted, ok, np.isfinite(xs).sum(1) == 1)

    def zip_table(self, cells: Cells, par: np.ndarray, fit_ok: np.ndarray) -> ZipOut:
        xs, ys = _single_curves(cells)
        zpar = np.stack(drc_ll4(xs, ys)[:4], 1).reshape(cells.nb, 2, 4)
        ok = np.isfinite(zpar).all((1, 2))
        bc, xc = cells.bc, cells.xc
        f1 = ll4_effect(xc[:, 0], *zpar[bc, 0].T)
        f2 = ll4_effect(xc[:, 1], *zpar[bc, 1].T)
        r1, r2, n_raw = refit_table_slices(cells, f1, f2, self.fit_slices, raw_single=True)
        return ZipOut(np.where(ok[bc], zip_delta(r1, r2, f1, f2), np.nan), n_raw, ok)

    def zip_grid(self, c1, c2, y, f1: HillFits, f2: HillFits) -> ZipOut:
        delta, (sa1, sa2), n_raw = sf2_zip_grid(c1, c2, y)
        return ZipOut(delta, n_raw, sa1[4] & sa2[4])


def sf2_zip_grid(c1: np.ndarray, c2: np.ndarray, y: np.ndarray):
    """SynergyFinder 1-2's ZIP delta of regular grids (see the module notes).

    ``c1`` (nb, R), ``c2`` (nb, C) ascending with the zero dose first, ``y`` (nb, R, C).
    Returns ``(delta (nb, R-1, C-1), single-agent fits ((b, c, d, e, ok) of drug 1, of drug 2),
    number of re-fits per block that failed and use the observed values)``.
    """
    nb, r, c = y.shape
    comb = y[:, 1:, 1:]
    sa1 = drc_ll4(c1[:, 1:], y[:, 1:, 0])
    sa2 = drc_ll4(c2[:, 1:], y[:, 0, 1:])
    g1 = ll4_effect(c1[:, 1:], *(v[:, None] for v in sa1[:4]))  # (nb, R-1)
    g2 = ll4_effect(c2[:, 1:], *(v[:, None] for v in sa2[:4]))  # (nb, C-1)
    n_raw = np.zeros(nb, dtype=np.int64)
    col_fit = comb.copy()
    row_fit = comb.copy()
    if r - 1 >= 2:
        xa = np.repeat(c1[:, 1:], c - 1, 0)
        ya = comb.transpose(0, 2, 1).reshape(-1, r - 1)
        fa, oka = drc_l4_bottom(xa, ya, g2.ravel())
        n_raw += (~oka).reshape(nb, -1).sum(1) * (r - 1)
        col_fit = np.where(oka[:, None], fa, ya).reshape(nb, c - 1, r - 1).transpose(0, 2, 1)
    if c - 1 >= 2:
        xb = np.repeat(c2[:, 1:], r - 1, 0)
        yb = comb.reshape(-1, c - 1)
        fb, okb = drc_l4_bottom(xb, yb, g1.ravel())
        n_raw += (~okb).reshape(nb, -1).sum(1) * (c - 1)
        row_fit = np.where(okb[:, None], fb, yb).reshape(nb, r - 1, c - 1)
    delta = zip_delta(col_fit, row_fit, g1[:, :, None], g2[:, None, :])
    ok = sa1[4] & sa2[4]
    return np.where(ok[:, None, None], delta, np.nan), (sa1, sa2), n_raw


def sf2_loewe_expected(x_row, x_col, p_row, p_col):
    """SynergyFinder 1-2's Loewe expectation of two-drug cells (``CalculateLoewe``).

    ``x_row``, ``x_col`` (n,) doses of the row and column drug; ``p_row``, ``p_col`` (n, 4)
    their drc ``LL.4`` parameters ``(b, c, d, e)``. SynergyFinder solves its ``eq.LL4.LL4``,
    ``x_col / X_col(y) + x_row / X_row(y) - 1 = 0`` with ``X(y) = e ((y - d) / (c - y))^(1/b)``
    (Loewe 1953; Yadav et al. 2015 eq. 8), by ``nleqslv(max(c_col, c_row) + 1, eq, method =
    "Newton")`` (:func:`nleqslv_newton`). Where nleqslv ends with a code of 3 or more, or
    raises an error, it uses ``max(E_col(x_col + x_row), E_row(x_col + x_row))`` (each curve
    at the total dose; where one curve is undefined there, R's ``max`` would give NA and this
    takes the other); the expectation is then capped at 100. Returns ``(expected (n,),
    fallback mask (n,), nleqslv termination codes (n,))``.
    """
    x_row = np.asarray(x_row, float)
    x_col = np.asarray(x_col, float)
    bc, cc, dc, ec = (np.asarray(p_col, float)[:, i] for i in range(4))
    br, cr, dr, er = (np.asarray(p_row, float)[:, i] for i in range(4))
    with np.errstate(all="ignore"):
        inv_bc = 1.0 / bc
        inv_br = 1.0 / br

        def eq(idx, y):
            t1 = x_col[idx] / (ec[idx] * rpow((y - dc[idx]) / (cc[idx] - y), inv_bc[idx]))
            t2 = x_row[idx] / (er[idx] * rpow((y - dr[idx]) / (cr[idx] - y), inv_br[idx]))
            return t1 + t2 - 1.0

        x0 = np.maximum(cc, cr) + 1.0
        n = x_row.size
        sol = NleqslvResult(
            np.full(n, np.nan),
            np.full(n, np.nan),
            np.full(n, NLEQSLV_ERROR),
            *(np.zeros((3, n), int)),
        )
        fin = np.isfinite(x0) & np.isfinite(np.stack([bc, ec, dc, br, er, dr], 1)).all(1)
        if fin.any():
            fi = np.flatnonzero(fin)
            r = nleqslv_newton(lambda idx, y: eq(fi[idx], y), x0[fi])
            for arr, val in zip(sol, r, strict=True):
                arr[fi] = val
        tot = x_col + x_row

        def curve(b, c, d, e):
            t = rpow(tot / e, b)
            return (d + c * t) / (1.0 + t)

        # R's max() is NA when one curve is undefined at the total dose (e.g. a no-effect fit
        # whose EC50 overflows); here the defined curve is used (NaN only if both are).
        fb_val = np.fmax(curve(bc, cc, dc, ec), curve(br, cr, dr, er))
        fallback = sol.termcd >= 3
        y = np.where(fallback, fb_val, sol.x)
        y = np.where(y > 100.0, 100.0, y)
    return y, fallback, sol.termcd


def sf2_loewe_curves(xs: np.ndarray, ys: np.ndarray):
    """Single agents of SynergyFinder 2's Loewe: drc ``LL.4`` fits of padded curves (M, P)
    with the top fixed at 100 and the bottom at 0, or at the lowest response where a curve
    goes below 0 (``Emin = 0, Emax = 100`` as the published table was computed: this bottom
    rule, found by fitting SynergyFinder's scores back, is what reproduces its blocks with
    negative single-agent responses, see tests/synergy/test_reference_sf2.py).
    Returns ``(par (M, 4), ok (M,))``."""
    valid = np.isfinite(xs) & np.isfinite(ys)
    low = np.where(valid, ys, np.inf).min(1)
    bottom = np.minimum(0.0, np.where(np.isfinite(low), low, 0.0))
    b, c, d, e, ok = drc_ll4(xs, ys, bottom=bottom, top=100.0)
    return np.stack([b, c, d, e], 1), ok


def sf2_loewe_grid(c1: np.ndarray, c2: np.ndarray, y: np.ndarray):
    """SynergyFinder 1-2's Loewe expectation of regular grids (drug 1 on the rows).

    ``c1`` (nb, R), ``c2`` (nb, C) ascending with the zero dose first, ``y`` (nb, R, C).
    Single agents on their non-zero doses (see :func:`sf2_loewe_curves`), then
    :func:`sf2_loewe_expected` per cell. Returns ``(expected (nb, R-1, C-1), fallback mask
    (nb, R-1, C-1), ok (nb,))``; NaN where a single-agent fit failed.
    """
    nb, r, c = y.shape
    p1, ok1 = sf2_loewe_curves(c1[:, 1:], y[:, 1:, 0])
    p2, ok2 = sf2_loewe_curves(c2[:, 1:], y[:, 0, 1:])
    x1 = np.broadcast_to(c1[:, 1:, None], (nb, r - 1, c - 1)).ravel()
    x2 = np.broadcast_to(c2[:, None, 1:], (nb, r - 1, c - 1)).ravel()
    ncell = (r - 1) * (c - 1)
    ok = ok1 & ok2
    exp = np.full(nb * ncell, np.nan)
    fb = np.zeros(nb * ncell, bool)
    okc = np.repeat(ok, ncell)
    if okc.any():
        e, f, _ = sf2_loewe_expected(
            x1[okc], x2[okc], np.repeat(p1, ncell, 0)[okc], np.repeat(p2, ncell, 0)[okc]
        )
        exp[okc] = e
        fb[okc] = f
    shape = (nb, r - 1, c - 1)
    return exp.reshape(shape), fb.reshape(shape), ok
