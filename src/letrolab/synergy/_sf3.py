"""SynergyFinder 3's two-drug ZIP on regular dose grids (``convention="synergyfinder3"``).

Under this convention the ZIP delta of a two-drug block is SynergyFinder 3's (R package
shuyuzheng/synergyfinder 3.x, ``R/calculate_synergy_score.R``, function ``ZIP``; Zheng et al.
2022 GPB 20:587; Ianevski et al. 2022 NAR 50:W739), which :mod:`letrolab.synergy.zip_nd`
implements for any ``k >= 2`` drugs: every row and column of the dose matrix, *including* its
zero-dose well, is re-fitted by a log-logistic curve with one asymptote fixed at that well's
observed response and the other free, and the reference is the Bliss combination of the fitted
single agents (Yadav et al. 2015 CSBJ 13:504 for the delta score). SynergyFinder 1-2's rule,
which the ``"free"`` and ``"synergyfinder2"`` conventions keep, fixes the bottom of each
re-fit at the partner's *fitted* single-agent effect and the top at 100 and leaves the
zero-dose well out.

This module is the fast path for regular grids (:func:`letrolab.synergy.reference.grid_scores`
and the grid branch of :func:`~letrolab.synergy.reference.reference_scores`): Bliss, HSA and
Loewe come from the ordinary grid code, ZIP from :func:`~letrolab.synergy.zip_nd.zip_nd_scores`'s
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

from letrolab.doseresponse.hill import fit_hill, hill_effect

__all__ = ["sf3_grid_core", "sf3_loewe_expected"]


def sf3_grid_core(c1: np.ndarray, c2: np.ndarray, y: np.ndarray, ms: tuple[str, ...]):
    """:func:`letrolab.synergy.reference._grid_core` with ZIP by SynergyFinder 3's rule.

    Same arguments (``c1`` (nb, R), ``c2`` (nb, C), ``y`` (nb, R, C), models ``ms``) and the
    same return tuple (``scores, mean, msa, loewe_fallback, fit_ok, f1, f2, n_raw``, then any
    further items ``_grid_core`` returns, passed through); ``n_raw`` here counts the ZIP
    re-fitted values per block that fell back to the observed response because the slice fit
    failed (every slice of a full grid has its zero-dose well).

    The computation is :func:`letrolab.synergy.zip_nd.zip_nd_scores` for ``k = 2`` written out
    for grids (the slices are the rows and columns of ``y``, so no grouping of wells is
    needed): the same curves, fitted by the same batched calls.
    """
    from letrolab.synergy.reference import _fit_joint, _grid_core, _window_max

    others = tuple(m for m in ms if m != "zip")
    res = list(_grid_core(c1, c2, y, others, "synergyfinder3"))
    out, mean, msa, _fallback, _fit_ok, f1, f2 = res[:7]
    nb, r, c = y.shape
    if f1 is None:  # Loewe not asked for: fit the single agents here (same curves, same fit)
        f1, f2 = _fit_joint([(c1, y[:, :, 0], None), (c2, y[:, 0, :], None)])
    block_ok = f1.ok & f2.ok
    e1 = f1.predict(c1)  # (nb, R): fitted single-agent effects, E0 at dose 0
    e2 = f2.predict(c2)
    ref = e1[:, 1:, None] + e2[:, None, 1:] - e1[:, 1:, None] * e2[:, None, 1:] / 100.0
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
        width = max(p[1].shape[1] for p in parts)  # R != C: pad with NaN (points not used)

        def pad(a):
            return np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=np.nan)

        fits = fit_hill(
            np.concatenate([pad(p[1]) for p in parts]),
            np.concatenate([pad(p[2]) for p in parts]),
            e0=np.concatenate([p[3] for p in parts]),
        )
        start = 0
        for kind, xs, _, _ in parts:
            sl = slice(start, start + xs.shape[0])
            start = sl.stop
            val = hill_effect(
                xs[:, 1:], *(v[sl, None] for v in (fits.e0, fits.emax, fits.ec50, fits.h))
            )
            good = fits.ok[sl, None] & np.isfinite(val)
            if kind == "col":  # (nb, C - 1, R - 1) -> (nb, R - 1, C - 1)
                val, good = (np.moveaxis(v.reshape(nb, c - 1, r - 1), 1, 2) for v in (val, good))
                np.copyto(pred1, val, where=good)
            else:
                val, good = (v.reshape(nb, r - 1, c - 1) for v in (val, good))
                np.copyto(pred2, val, where=good)
            n_observed += (~good).reshape(nb, -1).sum(1)
    delta = np.where(block_ok[:, None, None], 0.5 * (pred1 + pred2) - ref, np.nan)
    out["zip"] = delta
    with np.errstate(invalid="ignore"):
        mean["zip"] = delta.reshape(nb, -1).mean(1)
    msa["zip"] = _window_max(delta)
    res[4:7] = block_ok, f1, f2
    res[7] = n_observed
    return tuple(res)


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
