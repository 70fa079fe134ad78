"""drc's four-parameter fits (``LL.4`` and ``L.4`` with a fixed bottom) as drc 3.0-1 runs them
(Ritz et al. 2015 PLoS ONE 10:e0146021: ``drm``, ``drmOpt``, ``llogistic``, ``logistic``,
``findcd``, ``findbe1``): its scaling, self-starting values by R's QR route to ``lm``, and R's
BFGS (:func:`~letrolab.synergy.reference.rcompat.vmmin.vmmin`). See
:mod:`letrolab.synergy.reference.conventions.sf2` for why SynergyFinder 2 needs it.
"""

from __future__ import annotations

import numpy as np

from letrolab.synergy.reference.rcompat.rmath import c_exp, c_log, rsum
from letrolab.synergy.reference.rcompat.vmmin import vmmin

__all__ = ["drc_l4_bottom", "drc_ll4", "ll4_effect"]


def _scale(v: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """drc's scaling constant ``10^floor(log10(median))`` per row, 1 if undefined or < 1e-15."""
    med = np.full(v.shape[0], np.nan)
    some = valid.any(1)
    if some.any():
        med[some] = np.nanmedian(np.where(valid, v, np.nan)[some], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = 10.0 ** np.floor(np.log10(med))
    return np.where(np.isfinite(s) & (s >= 1e-15), s, 1.0)


def _nrm2(v: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Euclidean norm of each row over its valid entries as reference-BLAS ``dnrm2`` (LAPACK
    3.10 and later) computes it for mid-range values: the square root of the sum of squares
    taken in order. (This form, rather than the older scaled recurrence, reproduces the
    published ZIP scores; see the module notes.)"""
    ss = np.zeros(v.shape[0])
    for j in range(v.shape[1]):
        ss = np.where(valid[:, j], ss + v[:, j] * v[:, j], ss)
    return np.sqrt(ss)


def _seqdot(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> np.ndarray:
    s = np.zeros(a.shape[0])
    for j in range(a.shape[1]):
        s = np.where(valid[:, j], s + a[:, j] * b[:, j], s)
    return s


def _lm_line(u: np.ndarray, z: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(intercept, slope) of ``lm(z ~ u)`` as R computes them: Householder QR of the design
    ``[1, u]`` (LINPACK ``dqrdc2``/``dqrsl`` as modified in R, with reference-BLAS ``dnrm2``,
    ``ddot``, ``dscal`` and ``daxpy``), valid points taken in order (valid points first in
    each row, padding after them). NaN where fewer than two points."""
    x1 = np.where(valid, 1.0, 0.0)
    x2 = np.where(valid, u, 0.0)
    qty = np.where(valid, z, 0.0)
    q2 = _nrm2(x2, valid)
    # column 1
    nrm1 = _nrm2(x1, valid)
    x1 = np.where(valid, x1 * (1.0 / nrm1)[:, None], 0.0)
    x1[:, 0] = 1.0 + x1[:, 0]
    t = -_seqdot(x1, x2, valid) / x1[:, 0]
    x2 = np.where(valid, x2 + t[:, None] * x1, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.abs(x2[:, 0]) / q2
        tt = np.maximum(1.0 - r * r, 0.0)
    del tt  # qraux(2) only matters for pivoting, which a non-constant u never triggers
    qraux1 = x1[:, 0].copy()
    r11 = -nrm1
    # column 2 (rows 2..n)
    v2 = valid.copy()
    v2[:, 0] = False
    tail = np.where(v2, x2, 0.0)
    nrm2 = _nrm2(tail[:, 1:], v2[:, 1:])
    nrm2 = np.where(x2[:, 1] != 0.0, np.copysign(nrm2, x2[:, 1]), nrm2)
    tail = np.where(v2, tail * (1.0 / nrm2)[:, None], 0.0)
    tail[:, 1] = 1.0 + tail[:, 1]
    qraux2 = tail[:, 1].copy()
    r12 = x2[:, 0]
    r22 = -nrm2
    # Q'y: first reflector (qraux1 in place of the diagonal), then the second
    h1 = x1.copy()
    h1[:, 0] = qraux1
    t = -_seqdot(h1, qty, valid) / h1[:, 0]
    qty = np.where(valid, qty + t[:, None] * h1, 0.0)
    h2 = tail.copy()
    h2[:, 1] = qraux2
    t = -_seqdot(h2[:, 1:], qty[:, 1:], v2[:, 1:]) / h2[:, 1]
    qty[:, 1:] = np.where(v2[:, 1:], qty[:, 1:] + t[:, None] * h2[:, 1:], qty[:, 1:])
    # back substitution
    b2 = qty[:, 1] / r22
    b1 = (qty[:, 0] + (-b2) * r12) / r11
    return b1, b2


def _self_start(u: np.ndarray, y: np.ndarray, valid: np.ndarray):
    """drc's ``findcd`` and ``findbe1``: (c0, d0, slope, intercept) of the regression of
    ``log((d0 - y) / (y - c0))`` on ``u`` over the valid points."""
    lo = np.where(valid, y, np.inf).min(1)
    hi = np.where(valid, y, -np.inf).max(1)
    with np.errstate(invalid="ignore"):
        rng = hi - lo
    c0 = lo - 0.001 * rng
    d0 = hi + 0.001 * rng
    with np.errstate(divide="ignore", invalid="ignore"):
        z = c_log((d0[:, None] - y) / (y - c0[:, None]))
    ok = valid & np.isfinite(u) & np.isfinite(z)
    order = np.argsort(~ok, axis=1, kind="stable")  # lm's na.omit: used points first, in order
    take = np.take_along_axis
    with np.errstate(all="ignore"):
        icpt, slope = _lm_line(
            take(np.where(ok, u, 0.0), order, 1),
            take(np.where(ok, z, 0.0), order, 1),
            take(ok, order, 1),
        )
    return c0, d0, slope, icpt


def _flat_nudge(y: np.ndarray, valid: np.ndarray, where: str) -> np.ndarray:
    """SynergyFinder's guard for a constant response: add 1e-10 to the last point (single
    agents) or subtract it from the first (re-fits)."""
    hi = np.where(valid, y, -np.inf).max(1)
    lo = np.where(valid, y, np.inf).min(1)
    flat = (hi == lo) & (valid.sum(1) > 1)
    if not flat.any():
        return y
    y = y.copy()
    n = valid.sum(1)
    rows = np.flatnonzero(flat)
    if where == "last":
        y[rows, n[rows] - 1] += 1e-10
    else:
        y[rows, 0] -= 1e-10
    return y


def drc_ll4(x: np.ndarray, y: np.ndarray, *, bottom=None, top=None):
    """drc's ``drm(y ~ x, fct = LL.4())``, many curves at once; with ``bottom`` and ``top``
    given (scalars or one per curve), ``LL.4(fixed = c(NA, bottom, top, NA))`` (only ``b``
    and ``e`` estimated).

    ``x``, ``y`` (M, P), padded with NaN after each curve's points. Returns ``(b, c, d, e,
    ok)`` in drc's parametrisation ``c + (d - c) / (1 + exp(b log(x / e)))``. With fixed
    asymptotes drc's self-start still takes ``c0, d0`` from the response range (only the
    regression's ``b0, e0`` are kept as start values), and the fixed values enter the
    objective divided by the response scale, as drc's ``llogistic`` ``retFct`` does.
    """
    fixed = bottom is not None or top is not None
    if fixed and (bottom is None or top is None):
        raise ValueError("drc_ll4: give both bottom and top, or neither")
    valid = np.isfinite(x) & np.isfinite(y)
    y = _flat_nudge(y, valid, "last")
    ds = _scale(x, valid)
    rs = _scale(y, valid)
    xs = np.where(valid, x / ds[:, None], 1.0)
    ys = np.where(valid, y / rs[:, None], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = np.where(xs > 0, c_log(xs), np.nan)
    c0, d0, slope, icpt = _self_start(lx, ys, valid)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e0 = c_exp(-icpt / slope)
    if fixed:
        start = np.stack([slope, e0], 1)
        cval = np.broadcast_to(np.asarray(bottom, float), rs.shape)
        dval = np.broadcast_to(np.asarray(top, float), rs.shape)
        cfix = cval / rs
        dfix = dval / rs
    else:
        start = np.stack([slope, c0, d0, e0], 1)

    def fn(idx, p):
        if fixed:
            bb, ee = (p[..., i][..., None] for i in range(2))
            cc = cfix[idx][:, None, None]
            dd = dfix[idx][:, None, None]
        else:
            bb, cc, dd, ee = (p[..., i][..., None] for i in range(4))
        xx = xs[idx][:, None, :]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            model = cc + (dd - cc) / (1.0 + c_exp(bb * c_log(xx / ee)))
            r = ys[idx][:, None, :] - model
        return rsum(r * r, valid[idx][:, None, :])

    good = np.isfinite(start).all(1)
    if fixed:
        good &= np.isfinite(cfix) & np.isfinite(dfix)
    par, ok = _minimise(fn, start, good)
    if fixed:
        b, e = par.T
        nan = np.where(ok, 0.0, np.nan)
        return b, cval + nan, dval + nan, e * ds, ok
    b, c, d, e = par.T
    return b, c * rs, d * rs, e * ds, ok


def _minimise(fn, start: np.ndarray, good: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run :func:`vmmin` on the curves with usable starts (``good``); the others stay NaN and
    not ok. ``fn(idx, p)`` is the objective of curves ``idx`` (indices into all curves)."""
    par = np.full(start.shape, np.nan)
    ok = np.zeros(len(start), bool)
    if good.any():
        gi = np.flatnonzero(good)
        res = vmmin(lambda idx, q: fn(gi[idx], q), start[gi])
        par[gi] = res.par
        ok[gi] = res.ok
    return par, ok


def ll4_effect(x, b, c, d, e):
    """drc's ``LL.4`` curve ``c + (d - c) / (1 + exp(b log(x / e)))`` (broadcasting)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return c + (d - c) / (1.0 + c_exp(b * c_log(x / e)))


def drc_l4_bottom(x: np.ndarray, y: np.ndarray, bottom: np.ndarray):
    """drc's ``drm(y ~ x, fct = L.4(fixed = c(NA, bottom, NA, NA)))``: the logistic curve in
    linear dose ``c + (d - c) / (1 + exp(b (x - e)))`` with ``c`` fixed, many curves at once.

    Returns the fitted values at ``x`` (M, P) (NaN where the fit failed) and ``ok`` (M,).
    """
    valid = np.isfinite(x) & np.isfinite(y)
    y = _flat_nudge(y, valid, "first")
    xs = np.where(valid, x, 0.0)
    ys = np.where(valid, y, 0.0)
    _c0, d0, slope, icpt = _self_start(xs, ys, valid)
    start = np.stack([slope, d0, -icpt / slope], 1)
    cfix = np.asarray(bottom, dtype=float)

    def fn(idx, p):
        bb, dd, ee = (p[..., i][..., None] for i in range(3))
        cc = cfix[idx][:, None, None]
        with np.errstate(over="ignore", invalid="ignore"):
            model = cc + (dd - cc) / (1.0 + c_exp(bb * (xs[idx][:, None, :] - ee)))
            r = ys[idx][:, None, :] - model
        return rsum(r * r, valid[idx][:, None, :])

    good = np.isfinite(start).all(1) & np.isfinite(cfix)
    par, ok = _minimise(fn, start, good)
    b, d, e = (par[:, i][:, None] for i in range(3))
    with np.errstate(over="ignore", invalid="ignore"):
        fit = cfix[:, None] + (d - cfix[:, None]) / (1.0 + c_exp(b * (x - e)))
    return np.where(valid & ok[:, None], fit, np.nan), ok
