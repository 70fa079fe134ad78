"""The reference-model equations as small array functions (% inhibition scale).

A synergy score is *observed minus expected*: positive is synergy, negative antagonism
(Ianevski et al. 2017 Bioinformatics 33:2413; Ianevski et al. 2022 NAR 50:W739, SynergyFinder).
Each function computes one expected effect (or the ZIP delta) for arrays of cells; fitting the
curves it needs is the caller's job (:mod:`letrolab.synergy.reference.conventions`).
"""

from __future__ import annotations

import numpy as np

from letrolab.doseresponse.hill import hill_effect

__all__ = [
    "bliss_expected",
    "hsa_expected",
    "loewe_root",
    "most_synergistic_area",
    "zip_delta",
    "zip_reference",
]


def bliss_expected(singles: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Bliss independence (Bliss 1939 Ann Appl Biol 26:585): ``100 (1 - prod_i (1 - y_i/100))``.

    ``singles`` (n, k) observed single-agent responses at the cell's doses, ``present`` (n, k)
    which drugs the cell has. Computed drug by drug as ``e <- e + y_i - e y_i / 100`` so that two
    drugs give SynergyFinder's ``y1 + y2 - y1 y2 / 100`` to the last bit.
    """
    e = np.zeros(singles.shape[0])
    for i in range(singles.shape[1]):
        yi = np.where(present[:, i], singles[:, i], 0.0)
        e = e + yi - e * yi / 100.0
    return e


def hsa_expected(singles: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Highest single agent (Berenbaum 1989 Pharmacol Rev 41:93): ``max_i y_i`` over the drugs
    the cell has; NaN where one of them has no observed single-agent response."""
    with np.errstate(invalid="ignore"):
        e = np.where(present, singles, -np.inf).max(1)
    return np.where((present & np.isnan(singles)).any(1), np.nan, e)


def zip_reference(f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
    """ZIP's expectation from the *fitted* single agents (Yadav et al. 2015 CSBJ 13:504, eq. 6):
    ``f1 + f2 - f1 f2 / 100`` (Bliss on the fitted curves)."""
    return f1 + f2 - f1 * f2 / 100.0


def zip_delta(refit1: np.ndarray, refit2: np.ndarray, f1: np.ndarray, f2: np.ndarray):
    """ZIP delta score (Yadav et al. 2015 CSBJ 13:504, eq. 9): the mean of the two re-fitted
    responses (along drug 1 and along drug 2) minus :func:`zip_reference`."""
    return 0.5 * (refit1 + refit2) - zip_reference(f1, f2)


def _loewe_log_sum(y, lx, e0, emax, inv_h, present, inc, sign, deriv=False):
    """``sign * log(sum_i x_i / X_i(y))`` (and its derivative in ``y``) for :func:`loewe_root`."""
    yy = y[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        v = lx - np.log((yy - e0) / (emax - yy)) * inv_h  # log of x_i / X_i(y)
    below = np.where(inc, yy <= e0, yy >= e0)  # dose 0 reaches it: term infinite
    beyond = np.where(inc, yy >= emax, yy <= emax)  # never reached: term 0
    v = np.where(below, np.inf, np.where(beyond | ~present, -np.inf, v))
    m = v.max(1)
    mf = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        w = np.exp(v - mf[:, None])
        sw = w.sum(1)
        tot = np.where(np.isfinite(m), mf + np.log(sw), m)
    if not deriv:
        return sign * tot
    with np.errstate(divide="ignore", invalid="ignore"):
        dv = -inv_h * (1.0 / (yy - e0) + 1.0 / (emax - yy))
        d = np.where(present & np.isfinite(v), w * dv, 0.0).sum(1) / sw
    return sign * tot, sign * d


def loewe_root(x, e0, emax, ec50, h, n_bisect: int = 6, n_newton: int = 14):
    """Loewe additivity (Loewe 1926 Arch Exp Pathol Pharmakol 114:313; Berenbaum 1989
    Pharmacol Rev 41:93): the effect ``y`` with ``sum_i x_i / X_i(y) = 1``, ``X_i`` the inverse
    of drug ``i``'s four-parameter log-logistic curve.

    Cells have doses ``x`` (n, k); NaN parameters = drug absent. Solves ``G(y) = log(sum_i x_i
    / X_i(y)) = 0`` — monotone when all curves run the same way — inside ``(max_i min(E0_i,
    Emax_i), min_i max(E0_i, Emax_i))``: a few bisection steps, then Newton steps kept inside
    the shrinking bracket. Where no root lies there, SynergyFinder's fallback (``CalculateLoewe``)
    ``max_i E_i(sum_j x_j)``. Returns (expected, fallback mask).
    """
    present = x > 0
    inc = emax > e0
    lo = np.where(present, np.minimum(e0, emax), -np.inf).max(1)
    hi = np.where(present, np.maximum(e0, emax), np.inf).min(1)
    all_inc = np.where(present, inc, True).all(1)
    same = all_inc | np.where(present, ~inc, True).all(1)
    sign = np.where(all_inc, 1.0, -1.0)  # g = sign * G decreases in y
    lx = np.log(np.where(present, x, 1.0)) - np.log(np.where(present, ec50, 1.0))
    inv_h = np.where(present, 1.0 / np.where(present, h, 1.0), 0.0)

    def g(y, deriv=False):
        return _loewe_log_sum(y, lx, e0, emax, inv_h, present, inc, sign, deriv)

    ok = same & (lo < hi) & np.isfinite(lo) & np.isfinite(hi)
    a = np.where(ok, lo, 0.0)
    b = np.where(ok, hi, 1.0)
    root = ok & (g(a) > 0) & (g(b) < 0)
    for _ in range(n_bisect):
        m = 0.5 * (a + b)
        right = g(m) > 0
        a = np.where(right, m, a)
        b = np.where(right, b, m)
    y = 0.5 * (a + b)
    for _ in range(n_newton):
        gy, dy = g(y, deriv=True)
        right = gy > 0
        a = np.where(right, y, a)
        b = np.where(right, b, y)
        with np.errstate(invalid="ignore", divide="ignore"):
            yn = y - gy / dy
        inside = np.isfinite(yn) & (yn >= a) & (yn <= b)
        y = np.where(inside, yn, 0.5 * (a + b))
    total = np.where(present, x, 0.0).sum(1, keepdims=True)
    fb = np.where(present, hill_effect(total, e0, emax, ec50, h), -np.inf).max(1)
    return np.where(root, y, fb), ~root


def most_synergistic_area(grid: np.ndarray, size: int = 3) -> np.ndarray:
    """Most synergistic area (Ianevski et al. 2017 Bioinformatics 33:2413): the largest mean
    over complete ``size x size`` windows of each (B, R, C) score grid (NaN if none)."""
    nb, r, c = grid.shape
    if r < size or c < size:
        return np.full(nb, np.nan)
    fin = np.isfinite(grid)
    v = np.where(fin, grid, 0.0)
    sums = np.zeros((nb, r - size + 1, c - size + 1))
    bad = np.zeros(sums.shape, dtype=bool)
    for di in range(size):
        for dj in range(size):
            sums += v[:, di : di + r - size + 1, dj : dj + c - size + 1]
            bad |= ~fin[:, di : di + r - size + 1, dj : dj + c - size + 1]
    means = np.where(bad, -np.inf, sums / (size * size))
    best = means.reshape(nb, -1).max(1)
    return np.where(np.isfinite(best), best, np.nan)
