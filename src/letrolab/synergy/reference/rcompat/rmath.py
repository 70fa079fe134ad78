"""C-library and R arithmetic that R's numerics rely on, element by element.

R calls the C library's ``exp``, ``log`` and ``pow`` (``R_pow``) and sums in extended
precision; NumPy's vectorised functions differ in the last bit for a few per cent of inputs,
which along long optimiser paths on flat surfaces becomes visible (see
:mod:`letrolab.synergy.reference.rcompat`). Own code: no library exposes R's arithmetic.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["c_exp", "c_log", "dot_ltr", "matvec_ltr", "rpow", "rsum"]


def _safe_exp(v: float) -> float:
    try:
        return math.exp(v)
    except OverflowError:
        return math.inf


_EXP = np.frompyfunc(_safe_exp, 1, 1)
_LOG = np.frompyfunc(math.log, 1, 1)


def c_exp(a: np.ndarray) -> np.ndarray:
    """``exp`` of the C library (as R calls it), element by element.

    NumPy's vectorised ``exp`` differs from it in the last bit for a few per cent of inputs;
    along BFGS paths of a few hundred steps on flat surfaces such differences grow into
    visible differences of the fitted values, so this module uses the same function as R.
    """
    a = np.asarray(a, dtype=float)
    out = np.empty_like(a)
    fin = np.isfinite(a)
    with np.errstate(over="ignore", under="ignore"):
        out[~fin] = np.exp(a[~fin])
        out[fin] = _EXP(a[fin]).astype(float)
    return out


def c_log(a: np.ndarray) -> np.ndarray:
    """``log`` of the C library, element by element (NaN below 0, -inf at 0, as R)."""
    a = np.asarray(a, dtype=float)
    out = np.empty_like(a)
    pos = np.isfinite(a) & (a > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[~pos] = np.log(a[~pos])
    out[pos] = _LOG(a[pos]).astype(float)
    return out


def rsum(terms: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Sum over the last axis in extended precision, point by point (R's ``sum``), skipping
    padded points (``valid`` False). ``terms`` (..., P), ``valid`` broadcastable to it."""
    valid = np.broadcast_to(valid, terms.shape)
    s = np.zeros(terms.shape[:-1], dtype=np.longdouble)
    for j in range(terms.shape[-1]):
        s += np.where(valid[..., j], terms[..., j], 0.0).astype(np.longdouble)
    return s.astype(float)


def dot_ltr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot product summed left to right, as vmmin's loops do."""
    s = np.zeros(a.shape[0])
    for j in range(a.shape[1]):
        s = s + a[:, j] * b[:, j]
    return s


def matvec_ltr(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise ``m @ v`` with each sum taken left to right (vmmin's order)."""
    out = np.zeros(v.shape)
    for i in range(v.shape[1]):
        s = np.zeros(v.shape[0])
        for j in range(v.shape[1]):
            s = s + m[:, i, j] * v[:, j]
        out[:, i] = s
    return out


def _pow1(x: float, y: float) -> float:
    if x == 1.0 or y == 0.0:
        return 1.0
    if y == 2.0:
        return x * x
    try:
        return math.pow(x, y)
    except ValueError:  # negative base, non-integer power
        return math.nan
    except OverflowError:
        return math.inf


_POW = np.frompyfunc(_pow1, 2, 1)


def rpow(a: np.ndarray, p: np.ndarray) -> np.ndarray:
    """R's ``a ^ p`` (``R_pow``: 1 when ``a == 1`` or ``p == 0``, ``a * a`` for ``p == 2``,
    otherwise the C library's ``pow``; NaN for a negative base and a non-integer power)."""
    a, p = np.broadcast_arrays(np.asarray(a, float), np.asarray(p, float))
    out = np.full(a.shape, np.nan)
    fin = ~(np.isnan(a) | np.isnan(p))
    if fin.any():
        out[fin] = _POW(a[fin], p[fin]).astype(float)
    return out
