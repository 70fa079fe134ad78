"""SynergyFinder 3's two-drug ZIP on regular dose grids (``convention="synergyfinder3"``).

Under this convention the ZIP delta of a two-drug block is SynergyFinder 3's (R package
shuyuzheng/synergyfinder 3.x, ``R/calculate_synergy_score.R``, function ``ZIP``; Zheng et al.
2022 GPB 20:587; Ianevski et al. 2022 NAR 50:W739), which :mod:`letrolab.synergy.reference.zip_nd`
implements for any ``k >= 2`` drugs: every row and column of the dose matrix, *including* its
zero-dose well, is re-fitted by a log-logistic curve with one asymptote fixed at that well's
observed response and the other free, and the reference is the Bliss combination of the fitted
single agents (Yadav et al. 2015 CSBJ 13:504 for the delta score). SynergyFinder 1-2's rule,
which the ``"free"`` and ``"synergyfinder2"`` conventions keep, fixes the bottom of each
re-fit at the partner's *fitted* single-agent effect and the top at 100 and leaves the
zero-dose well out.

This module's :func:`sf3_zip_grid` is the fast path for regular grids (:func:`letrolab.synergy.reference.grid_scores`
and the grid branch of :func:`~letrolab.synergy.reference.reference_scores`), ZIP from
:func:`~letrolab.synergy.reference.zip_nd.zip_nd_scores`'s
computation written out for grids (rows and columns are the slices: no grouping of wells), so
both paths give the same numbers (tests/synergy/test_convention_sf3.py). The most synergistic area is the
best 3 x 3 window of the combination matrix, as for the other models (Ianevski et al. 2017
Bioinformatics 33:2413).

:func:`sf3_loewe_expected` is SynergyFinder 3's Loewe (its function ``Loewe``: a grid search over
effects with its own fallback), used by both paths and for any number of drugs under this
convention.
"""

from __future__ import annotations

import numpy as np

from letrolab.doseresponse.hill import HillFits, hill_effect
from letrolab.synergy.reference.arrays import fit_joint
from letrolab.synergy.reference.conventions.base import Convention, ZipOut
from letrolab.synergy.reference.equations import zip_delta

__all__ = ["SF3Convention", "sf3_loewe_expected", "sf3_zip_grid"]


def sf3_zip_grid(c1: np.ndarray, c2: np.ndarray, y: np.ndarray, f1: HillFits, f2: HillFits):
    """SynergyFinder 3's two-drug ZIP of regular grids ``c1`` (nb, R), ``c2`` (nb, C), ``y``
    (nb, R, C), given the single-agent fits ``f1``, ``f2``.

    :func:`letrolab.synergy.reference.zip_nd.zip_nd_scores` for ``k = 2`` written out for
    grids (the slices are the rows and columns of ``y``, so no grouping of wells is needed):
    the same curves, fitted by the same batched calls. ``n_observed`` counts the re-fitted
    values per block that fell back to the observed response because the slice fit failed.
    """
    nb, r, c = y.shape
    block_ok = f1.ok & f2.ok
    e1 = f1.predict(c1)  # (nb, R): fitted single-agent effects, E0 at dose 0
    e2 = f2.predict(c2)
    comb = y[:, 1:, 1:]
    pred1 = comb.copy()  # re-fits along drug 1 (the columns); observed where not fitted
    pred2 = comb.copy()  # re-fits along drug 2 (the rows)
    n_observed = np.zeros(nb, dtype=np.int64)
    parts = []
    if r - 1 >= 2:  # a column with fewer than two positive doses is not re-fitted
        xs = np.repeat(c1, c - 1, axis=0)  # curve b * (C - 1) + j - 1: column j of block b
        ys = np.moveaxis(y[:, :, 1:], 2, 1).reshape(-1, r)
        parts.append(("col", xs, ys, y[:, 0, 1:].reshape(-1)))
    if c - 1 >= 2:
        xs = np.repeat(c2, r - 1, axis=0)  # curve b * (R - 1) + i - 1: row i of block b
        ys = y[:, 1:, :].reshape(-1, c)
        parts.append(("row", xs, ys, y[:, 1:, 0].reshape(-1)))
    if parts:
        fits = fit_joint([(p[1], p[2], p[3]) for p in parts])
        for (kind, xs, _, _), f in zip(parts, fits, strict=True):
            val = hill_effect(xs[:, 1:], *(v[:, None] for v in (f.e0, f.emax, f.ec50, f.h)))
            good = f.ok[:, None] & np.isfinite(val)
            if kind == "col":  # (nb, C - 1, R - 1) -> (nb, R - 1, C - 1)
                val, good = (np.moveaxis(v.reshape(nb, c - 1, r - 1), 1, 2) for v in (val, good))
                np.copyto(pred1, val, where=good)
            else:
                val, good = (v.reshape(nb, r - 1, c - 1) for v in (val, good))
                np.copyto(pred2, val, where=good)
            n_observed += (~good).reshape(nb, -1).sum(1)
    delta = zip_delta(pred1, pred2, e1[:, 1:, None], e2[:, None, 1:])
    return ZipOut(np.where(block_ok[:, None, None], delta, np.nan), n_observed, block_ok)


class SF3Convention(Convention):
    """``"synergyfinder3"`` (module notes): Loewe by :func:`sf3_loewe_expected`, two-drug ZIP
    by :func:`sf3_zip_grid` on grids and by the slice ZIP on other tables."""

    name = "synergyfinder3"
    slice_zip = True

    def loewe_expected(self, x, y_obs, e0, emax, ec50, h):
        return sf3_loewe_expected(x, y_obs, e0, emax, ec50, h)

    def zip_grid(self, c1, c2, y, f1: HillFits, f2: HillFits) -> ZipOut:
        return sf3_zip_grid(c1, c2, y, f1, f2)


def sf3_loewe_expected(
    x: np.ndarray,
    y_obs: np.ndarray,
    e0: np.ndarray,
    emax: np.ndarray,
    ec50: np.ndarray,
    h: np.ndarray,
    nsteps: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """SynergyFinder 3's Loewe expected effect for cells with doses ``x`` (n, k).

    Follows the R package shuyuzheng/synergyfinder 3.x, ``R/calculate_synergy_score.R``
    (functions ``Loewe``, ``.SolveLoewe``, ``.SolveExpDoesLL4``; commits 1995448 and 9b24e59;
    Zheng et al. 2022 GPB 20:587), for any number of drugs, vectorised over cells:

    1. each drug's dose reaching an effect ``E`` is ``X_i(E) = EC50_i ((E - E0_i) /
       (Emax_i - E))^(1/h_i)``; where that is undefined (``E`` outside the curve's range) it
       is ``inf`` if ``E`` exceeds both asymptotes and 0 otherwise;
    2. if no drug reaches the *observed* response (every ``X_i(y_obs)`` infinite), the
       expected effect is ``max_i E_i(sum_j x_j)`` (each curve at the total dose);
    3. otherwise it is the effect ``E`` on the grid of ``nsteps`` equally spaced values from
       the lowest to the highest asymptote of all drugs that minimises
       ``|sum_i x_i / X_i(E) - 1|`` (the first one on ties; grid points where the sum is NaN
       are skipped). The result is exact only to the grid spacing.

    Parameters are letrolab's Hill parameters (:func:`letrolab.doseresponse.hill.hill_effect`;
    drc's ``LL.4`` with ``b = -h``, ``c = E0``, ``d = Emax``, ``e = EC50``), shape (n, k); a
    drug with NaN parameters is absent from the block. No cap at 100. Returns (expected,
    fallback mask).
    """
    # Cells of one block share its curves: the grid and the doses X_i(grid) (the costly
    # powers) are computed once per distinct parameter set and taken back to the cells.
    params = np.concatenate([e0, emax, ec50, h], axis=1)
    if len(params) > 1:
        uniq, inv = np.unique(params, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        if len(uniq) < len(params):
            k = e0.shape[1]
            ue0, uem, uec, uh = (uniq[:, i * k : (i + 1) * k] for i in range(4))
            return _sf3_loewe_by_curves(x, y_obs, ue0, uem, uec, uh, inv, nsteps)
    return _sf3_loewe_by_curves(x, y_obs, e0, emax, ec50, h, np.arange(len(e0)), nsteps)


def _sf3_loewe_by_curves(x, y_obs, e0, emax, ec50, h, inv, nsteps):
    """:func:`sf3_loewe_expected` with the curve parameters given once per distinct set
    (rows of ``e0 .. h``) and ``inv`` mapping each cell to its set."""
    present = np.isfinite(e0) & np.isfinite(emax) & np.isfinite(ec50) & np.isfinite(h)
    e0_ = np.where(present, e0, 0.0)
    em_ = np.where(present, emax, 1.0)
    ec_ = np.where(present, ec50, 1.0)
    h_ = np.where(present, h, 1.0)
    top = np.maximum(e0_, em_)

    def dose(eff):  # eff (n, m) -> X_i(eff) (n, k, m); absent drugs NaN
        e = eff[:, None, :]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            xx = ec_[..., None] * ((e - e0_[..., None]) / (em_[..., None] - e)) ** (
                1.0 / h_[..., None]
            )
        xx = np.where(np.isnan(xx), np.where(e > top[..., None], np.inf, 0.0), xx)
        return np.where(present[..., None], xx, np.nan)

    # Fallback: none of the drugs reaches the observed response.
    pc = present[inv]
    y_obs = np.asarray(y_obs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        xcap = ec_[inv] * ((y_obs[:, None] - e0_[inv]) / (em_[inv] - y_obs[:, None])) ** (
            1.0 / h_[inv]
        )
    xcap = np.where(np.isnan(xcap), np.where(y_obs[:, None] > top[inv], np.inf, 0.0), xcap)
    fallback = ~np.where(pc, np.isfinite(xcap), False).any(1)
    total = np.where(pc, x, 0.0).sum(1, keepdims=True)
    each = np.where(pc, hill_effect(total, e0_[inv], em_[inv], ec_[inv], h_[inv]), -np.inf)
    fb = each.max(1)

    # Grid search over effects between the lowest and the highest asymptote of all drugs.
    lo = np.where(present, np.minimum(e0_, em_), np.inf).min(1)
    hi = np.where(present, top, -np.inf).max(1)
    t = np.arange(nsteps, dtype=float)
    grid = lo[:, None] + t[None, :] * ((hi - lo) / (nsteps - 1))[:, None]
    grid[:, -1] = hi  # R's seq() sets both ends exactly
    xt = dose(grid)[inv]  # (n, k, m)
    grid = grid[inv]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(pc[..., None], x[..., None] / xt, 0.0)
        dist = np.abs(ratio.sum(1) - 1.0)  # NaN where some 0 / 0
    dist_f = np.where(np.isnan(dist), np.inf, dist)
    j = dist_f.argmin(1)  # first minimum; NaN points ignored like R's min(na.rm = TRUE)
    y_grid = grid[np.arange(grid.shape[0]), j]
    y_grid = np.where(np.isnan(dist).all(1), np.nan, y_grid)
    return np.where(fallback, fb, y_grid), fallback
