"""SynergyFinder 1-2's ZIP and Loewe computations, with drc's curve fits and nleqslv's root
finder emulated step by step (NumPy).

Loewe (``CalculateLoewe``; reproduces the ``Loewe_LL4`` column of the same table in every
cell, see tests/synergy/test_reference_sf2.py): single agents by drc's ``LL.4`` on their
non-zero doses with the top fixed at 100 and the bottom at 0, or at the lowest response where
a curve goes below 0 (:func:`sf2_loewe_curves`), the Loewe equation solved by
:func:`nleqslv_newton` (R package nleqslv, Hasselman), fallback and cap as
:func:`sf2_loewe_expected` describes.

Used only by ``convention="synergyfinder2"`` of :mod:`letrolab.synergy.reference`; the default
convention keeps the least-squares fits of :mod:`letrolab.doseresponse.hill`.

What SynergyFinder's R package (versions 1.x-2.x, function ``ZIP``; He et al. 2018 Methods Mol
Biol 1711:351; Ianevski et al. 2017 Bioinformatics 33:2413) computes for a two-drug matrix,
called as ``CalculateSynergy(..., correction = FALSE, Emin = NA, Emax = NA, nan.handle = "LL4")``
(the settings that reproduce the ``ZIP_LL4`` column of SynergyFinder's published example table,
see tests/synergy/test_reference_sf2.py):

1. each single agent is fitted on its non-zero doses (the control well is left out) by drc's
   four-parameter log-logistic model ``LL.4``, all four parameters free;
2. every column of the combination matrix (drug 1 varied, drug 2 fixed) is re-fitted by drc's
   *logistic* model ``L.4`` **in linear dose**, ``c + (d - c) / (1 + exp(b (x - e)))``, with
   the bottom ``c`` fixed at drug 2's fitted single-agent effect and ``b, d, e`` free; every
   row likewise;
3. delta = mean of the two re-fitted values - (f1 + f2 - f1 f2 / 100), with f1, f2 the fitted
   single-agent effects (Yadav et al. 2015 CSBJ 13:504). No cap, no baseline correction.

Those re-fits are often poorly determined (flat residual surfaces), so the values depend on
*where drc's optimiser stops*. This module therefore reproduces drc's fitting path rather than
a least-squares optimum (drc 3.0-1, Ritz et al. 2015 PLoS ONE 10:e0146021; functions ``drm``,
``drmOpt``, ``llogistic``, ``logistic``, ``findcd``, ``findbe1``):

* scaling (``LL.4`` only): doses divided by ``10^floor(log10(median dose))`` and responses by
  ``10^floor(log10(median response))`` (1 where that is undefined or below 1e-15);
* start values: ``c0, d0`` = response range widened by 0.1 % each side; ``b0, e0`` from the
  straight-line regression of ``log((d0 - y) / (y - c0))`` on ``log x`` (``LL.4``; ``e0 =
  exp(-intercept / b0)``) or on ``x`` (``L.4``; ``e0 = -intercept / b0``);
* objective: the residual sum of squares on the scaled data, summed in extended precision
  as R's ``sum`` does;
* optimiser: R's ``optim(method = "BFGS")`` with ``parscale = |start|`` (1 where below 1e-4),
  ``reltol = 1e-7``, ``maxit = 500``, central-difference gradients with step 1e-3 in scaled
  parameters, and the Hessian requested (its finite differences must be finite). BFGS here is
  the variable-metric method of Nash (1990) *Compact Numerical Methods for Computers*, 2nd
  ed., Algorithm 21, as R's ``vmmin`` runs it: inverse-Hessian updates, backtracking by a
  factor 0.2 with acceptance test ``f <= f0 + 1e-4 * step * g.d``, restarts to steepest
  descent when the update is not positive, every ``2 n`` gradients, or when no progress is
  made, and the relative-change stopping rule. A point where the model is undefined (a
  negative ``e`` of ``LL.4``) is rejected by the line search; ``nan.handle = "LL4"`` makes
  SynergyFinder keep such ``LL.4`` fits instead of switching model.

Rounding matters here. On the flat surfaces a 1e-15 relative change of one start value moves
published cells by up to 0.13 points (block 5 of the example). So the arithmetic follows R's
as well: the start-value regression takes R's QR route to ``lm`` (LINPACK ``dqrdc2``/``dqrsl``),
``exp``/``log`` are the C library's, sums use extended precision, BFGS inner products are
summed left to right, and only the lower triangle of the inverse Hessian is updated (then
mirrored). An R 4.2.2 run of the same path gives identical objective values at every
evaluation.

The implementation is written from those descriptions and vectorised over all curves at once
(each curve advances through its own line searches under a mask). A fit fails where R's
``optim`` raises an error (a non-finite initial value or finite-difference gradient);
SynergyFinder then stops with an error, letrolab reports the failure instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

__all__ = [
    "NLEQSLV_ERROR",
    "BFGSResult",
    "NleqslvResult",
    "drc_l4_bottom",
    "drc_ll4",
    "ll4_effect",
    "nleqslv_newton",
    "sf2_loewe_curves",
    "sf2_loewe_expected",
    "sf2_loewe_grid",
    "sf2_zip_grid",
    "vmmin",
]

_STEPREDN = 0.2
_ACCTOL = 1e-4
_RELTEST = 10.0
_NDEPS = 1e-3


def _safe_exp(v: float) -> float:
    try:
        return math.exp(v)
    except OverflowError:
        return math.inf


_EXP = np.frompyfunc(_safe_exp, 1, 1)
_LOG = np.frompyfunc(math.log, 1, 1)


def _exp(a: np.ndarray) -> np.ndarray:
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


def _log(a: np.ndarray) -> np.ndarray:
    """``log`` of the C library, element by element (NaN below 0, -inf at 0, as R)."""
    a = np.asarray(a, dtype=float)
    out = np.empty_like(a)
    pos = np.isfinite(a) & (a > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[~pos] = np.log(a[~pos])
    out[pos] = _LOG(a[pos]).astype(float)
    return out


def _rsum(terms: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Sum over the last axis in extended precision, point by point (R's ``sum``), skipping
    padded points (``valid`` False). ``terms`` (..., P), ``valid`` broadcastable to it."""
    valid = np.broadcast_to(valid, terms.shape)
    s = np.zeros(terms.shape[:-1], dtype=np.longdouble)
    for j in range(terms.shape[-1]):
        s += np.where(valid[..., j], terms[..., j], 0.0).astype(np.longdouble)
    return s.astype(float)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot product summed left to right, as vmmin's loops do."""
    s = np.zeros(a.shape[0])
    for j in range(a.shape[1]):
        s = s + a[:, j] * b[:, j]
    return s


def _matvec(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise ``m @ v`` with each sum taken left to right (vmmin's order)."""
    out = np.zeros(v.shape)
    for i in range(v.shape[1]):
        s = np.zeros(v.shape[0])
        for j in range(v.shape[1]):
            s = s + m[:, i, j] * v[:, j]
        out[:, i] = s
    return out


class BFGSResult(NamedTuple):
    """Outcome of :func:`vmmin` per problem (R's ``optim`` result fields)."""

    par: np.ndarray  #: (M, n) where the optimiser stopped; NaN where it failed
    value: np.ndarray  #: (M,) objective there
    ok: np.ndarray  #: (M,) False where R's optim raises an error
    fncount: np.ndarray  #: (M,) objective evaluations by the line searches (+1 initial)
    grcount: np.ndarray  #: (M,) gradient evaluations


def vmmin(
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
    start: np.ndarray,
    *,
    maxit: int = 500,
    reltol: float = 1e-7,
    hessian: bool = True,
) -> BFGSResult:
    """R's ``optim(start, fn, method = "BFGS", hessian = hessian, control = list(maxit,
    reltol, parscale = |start|))`` for many problems at once, numerical gradients.

    Parameters
    ----------
    fn : callable
        ``fn(idx, par)`` with ``idx`` (m,) problem indices and ``par`` (m, k, n) parameter sets
        returns the objective values (m, k); NaN/inf where undefined.
    start : ndarray, shape (M, n)

    Returns
    -------
    BFGSResult
    """
    with np.errstate(all="ignore"):  # non-finite trial points are part of the algorithm
        return _vmmin(fn, np.asarray(start, dtype=float), maxit, reltol, hessian)


def _vmmin(fn, start, maxit, reltol, hessian) -> BFGSResult:
    """Body of :func:`vmmin`."""
    m, n = start.shape
    ps = np.abs(start)
    ps[ps < 1e-4] = 1.0
    allidx = np.arange(m)

    def fmin(idx, p):  # p (k, n) scaled -> values; optim evaluates fn(p * parscale)
        return fn(idx, p * ps[idx][:, None, :])

    def grad(idx, p):  # central differences, step ndeps on the scaled parameters
        k = p.shape[0]
        pts = np.repeat(p[:, None, :], 2 * n, axis=1)
        ar = np.arange(n)
        pts[:, 2 * ar, ar] = p[:, ar] + _NDEPS
        pts[:, 2 * ar + 1, ar] = p[:, ar] - _NDEPS
        v = fmin(idx, pts)
        g = (v[:, 0::2] - v[:, 1::2]) / (2 * _NDEPS)
        return g, np.isfinite(g).all(1) if k else np.ones(0, bool)

    b = start / ps
    f = fmin(allidx, b[:, None, :])[:, 0]
    ok = np.isfinite(f)
    fmin_v = f.copy()
    g = np.zeros((m, n))
    act = ok.copy()
    if act.any():
        gg, gok = grad(allidx[act], b[act])
        g[act] = gg
        ok[act] &= gok
        act &= ok
    eye = np.eye(n)
    bmat = np.repeat(eye[None], m, 0)
    gradcount = np.ones(m, int)
    funcount = np.ones(m, int)
    ilast = gradcount.copy()
    it = np.ones(m, int)
    count = np.zeros(m, int)
    while act.any():
        ia = np.flatnonzero(act)
        reset = ilast[ia] == gradcount[ia]
        bmat[ia[reset]] = eye
        xk = b[ia].copy()
        ck = g[ia].copy()
        t = -_matvec(bmat[ia], g[ia])
        gp = _dot(t, g[ia])
        down = gp < 0.0
        cnt = np.zeros(ia.size, int)
        # --- line search (downhill problems), each with its own step length
        step = np.ones(ia.size)
        srch = down.copy()
        while srch.any():
            js = np.flatnonzero(srch)
            trial = xk[js] + step[js, None] * t[js]
            b[ia[js]] = trial
            c_now = ((_RELTEST + xk[js]) == (_RELTEST + trial)).sum(1)
            cnt[js] = c_now
            ev = c_now < n
            je = js[ev]
            acc = np.zeros(js.size, bool)
            if je.size:
                fv = fmin(ia[je], trial[ev][:, None, :])[:, 0]
                f[ia[je]] = fv
                funcount[ia[je]] += 1
                with np.errstate(invalid="ignore"):
                    a = np.isfinite(fv) & (fv <= fmin_v[ia[je]] + gp[je] * step[je] * _ACCTOL)
                acc[ev] = a
                step[je[~a]] *= _STEPREDN
            srch[js[(c_now == n) | acc]] = False
        fi = f[ia]
        with np.errstate(invalid="ignore"):
            enough = (fi > -np.inf) & (
                np.abs(fi - fmin_v[ia]) > reltol * (np.abs(fmin_v[ia]) + reltol)
            )
        stop = down & ~enough
        cnt[stop] = n
        fmin_v[ia[stop]] = fi[stop]
        prog = down & (cnt < n)
        # progress: new gradient and the inverse-Hessian update
        jp = np.flatnonzero(prog)
        if jp.size:
            ip = ia[jp]
            fmin_v[ip] = fi[jp]
            gg, gok = grad(ip, b[ip])
            g[ip] = gg
            bad = ~gok
            ok[ip[bad]] = False
            gradcount[ip] += 1
            it[ip] += 1
            tt = step[jp, None] * t[jp]
            cc = gg - ck[jp]
            d1 = _dot(tt, cc)
            pos = d1 > 0
            if pos.any():
                bp = bmat[ip[pos]]
                xx = _matvec(bp, cc[pos])
                d2 = 1.0 + _dot(xx, cc[pos]) / d1[pos]
                tp = tt[pos]
                upd = (
                    d2[:, None, None] * tp[:, :, None] * tp[:, None, :]
                    - xx[:, :, None] * tp[:, None, :]
                    - tp[:, :, None] * xx[:, None, :]
                ) / d1[pos][:, None, None]
                # vmmin keeps the lower triangle; mirror it so the matrix stays symmetric
                # to the bit (the upper formula rounds differently).
                low = np.tril(bp + upd)
                bmat[ip[pos]] = low + np.swapaxes(np.tril(low, -1), 1, 2)
            ilast[ip[~pos]] = gradcount[ip[~pos]]
        # no progress: restart unless just restarted
        jn = np.flatnonzero(down & ~prog)
        rs = ilast[ia[jn]] < gradcount[ia[jn]]
        cnt[jn[rs]] = 0
        ilast[ia[jn[rs]]] = gradcount[ia[jn[rs]]]
        # uphill: restart unless just restarted
        ju = np.flatnonzero(~down)
        just = ilast[ia[ju]] == gradcount[ia[ju]]
        cnt[ju] = np.where(just, n, 0)
        ilast[ia[ju[~just]]] = gradcount[ia[ju[~just]]]
        count[ia] = cnt
        done = it[ia] >= maxit
        per = (gradcount[ia] - ilast[ia]) > 2 * n
        ilast[ia[per & ~done]] = gradcount[ia[per & ~done]]
        cont = ~done & ((cnt != n) | (ilast[ia] != gradcount[ia])) & ok[ia]
        act[ia] = cont
    if hessian:
        # optim's Hessian: gradients at par +- ndeps e_i must be finite.
        io = np.flatnonzero(ok)
        if io.size:
            p0 = b[io]
            hok = np.ones(io.size, bool)
            for i in range(n):
                for sgn in (1.0, -1.0):
                    q = p0.copy()
                    q[:, i] = q[:, i] + sgn * _NDEPS
                    hok &= grad(io, q)[1]
            ok[io] = hok
    par = np.where(ok[:, None], b * ps, np.nan)
    return BFGSResult(par, np.where(ok, fmin_v, np.nan), ok, funcount, gradcount)


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
        z = _log((d0[:, None] - y) / (y - c0[:, None]))
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
        lx = np.where(xs > 0, _log(xs), np.nan)
    c0, d0, slope, icpt = _self_start(lx, ys, valid)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e0 = _exp(-icpt / slope)
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
            model = cc + (dd - cc) / (1.0 + _exp(bb * _log(xx / ee)))
            r = ys[idx][:, None, :] - model
        return _rsum(r * r, valid[idx][:, None, :])

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
        return c + (d - c) / (1.0 + _exp(b * _log(x / e)))


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
            model = cc + (dd - cc) / (1.0 + _exp(bb * (xs[idx][:, None, :] - ee)))
            r = ys[idx][:, None, :] - model
        return _rsum(r * r, valid[idx][:, None, :])

    good = np.isfinite(start).all(1) & np.isfinite(cfix)
    par, ok = _minimise(fn, start, good)
    b, d, e = (par[:, i][:, None] for i in range(3))
    with np.errstate(over="ignore", invalid="ignore"):
        fit = cfix[:, None] + (d - cfix[:, None]) / (1.0 + _exp(b * (x - e)))
    return np.where(valid & ok[:, None], fit, np.nan), ok


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
    a = g1[:, :, None]
    b = g2[:, None, :]
    delta = 0.5 * (col_fit + row_fit) - (a + b - a * b / 100.0)
    ok = sa1[4] & sa2[4]
    return np.where(ok[:, None, None], delta, np.nan), (sa1, sa2), n_raw


# --- nleqslv (Hasselman 2023, R package nleqslv 3.3) for one equation -------------------

#: termination code letrolab gives where R's nleqslv raises an error (a non-finite function
#: value at the start or inside the finite-difference Jacobian); SynergyFinder's
#: ``tryCatch`` maps the error to ``termcd = 999`` as well.
NLEQSLV_ERROR = 999

_EPSM = 2.0**-52  # LAPACK dlamch('p'): eps * base
_BIG = math.sqrt(np.finfo(float).max)  # nleqslv's substitute for a non-finite f(x), n = 1


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


def _rpow(a: np.ndarray, p: np.ndarray) -> np.ndarray:
    """R's ``a ^ p`` (``R_pow``: 1 when ``a == 1`` or ``p == 0``, ``a * a`` for ``p == 2``,
    otherwise the C library's ``pow``; NaN for a negative base and a non-integer power)."""
    a, p = np.broadcast_arrays(np.asarray(a, float), np.asarray(p, float))
    out = np.full(a.shape, np.nan)
    fin = ~(np.isnan(a) | np.isnan(p))
    if fin.any():
        out[fin] = _POW(a[fin], p[fin]).astype(float)
    return out


class NleqslvResult(NamedTuple):
    """Outcome of :func:`nleqslv_newton` per problem (R's ``nleqslv`` result fields)."""

    x: np.ndarray  #: (M,) final iterate
    fvec: np.ndarray  #: (M,) f(x) there
    termcd: np.ndarray  #: (M,) 1-7 as nleqslv, or NLEQSLV_ERROR where it raises an error
    iter: np.ndarray  #: (M,) iterations
    nfcnt: np.ndarray  #: (M,) function evaluations by the global strategy
    njcnt: np.ndarray  #: (M,) Jacobian evaluations


def nleqslv_newton(
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
    x0: np.ndarray,
    *,
    xtol: float = 1e-8,
    ftol: float = 1e-8,
    btol: float = 1e-3,
    maxit: int = 150,
) -> NleqslvResult:
    """R's ``nleqslv(x0, fn, method = "Newton")`` (default global strategy ``"dbldog"``,
    default control) for many *scalar* equations at once.

    Follows nleqslv's Fortran (``nwsolv``, ``fdjac``, ``nwndir``, ``nwddlg``/``dogstp``,
    ``nwtrup``, ``nwtcvg``; the algorithms of Dennis & Schnabel 1996, *Numerical Methods
    for Unconstrained Optimization and Nonlinear Equations*, SIAM, A6.4.4-A6.4.5 and A7.2.3)
    for ``n = 1``, where QR and the double-dogleg geometry reduce to scalars:

    * Jacobian by a forward difference with step ``h = p + p |x|``, ``p = sqrt(eps)``, and
      ``h`` re-taken as ``(x + h) - x``; a non-finite value there is an R error;
    * Newton step ``dn = -f / J``; gradient ``g = J f``; Cauchy step ``-(g^2 / (J g)^2) g``;
      the trust radius starts at ``|dn|`` (``delta = "newton"``), ``stepmax = 1000``
      (``max(1000 |x0|, 1000)``);
    * trial points with a non-finite ``f`` get ``f = sqrt(DBL_MAX)`` (forcing a smaller
      step); acceptance ``0.5 f_new^2 - 0.5 f^2 <= 1e-4 g d``; radius halved, shrunk by the
      quadratic model or doubled exactly as ``nwtrup`` does; a step below ``btol`` (relative)
      that does not decrease ``f`` ends with code 3;
    * termination 1 (``|f| <= ftol``), 2 (relative step ``<= xtol``), 3 (no better point),
      4 (``maxit``), 6 (``J == 0``).

    ``fn(idx, x)`` gets the problem indices (m,) and points (m,) and returns f (m,) with
    NaN/inf where undefined. Checked against R's nleqslv 3.3.4 (tests/synergy).
    """
    with np.errstate(all="ignore"):
        return _nleqslv_newton(fn, np.asarray(x0, float).copy(), xtol, ftol, btol, maxit)


def _nleqslv_newton(fn, x0, xtol, ftol, btol, maxit) -> NleqslvResult:
    m = x0.size
    allidx = np.arange(m)
    btol = max(btol, xtol)
    stepmx = np.full(m, np.finfo(float).max)  # stepmax = -1: no limit (nleqslv >= 3)
    ndigit = -math.log10(_EPSM)
    pstep = math.sqrt(max(10.0 ** (-ndigit), _EPSM))
    xc = x0.copy()
    fc = np.asarray(fn(allidx, xc), float)
    termcd = np.zeros(m, np.int64)
    termcd[~np.isfinite(fc)] = NLEQSLV_ERROR
    xp = xc.copy()
    fp = fc.copy()
    fcnorm = 0.5 * (np.abs(fc) * np.abs(fc))
    termcd[(termcd == 0) & (np.abs(fc) <= ftol)] = 1
    dlt = np.full(m, -2.0)
    it = np.zeros(m, np.int64)
    nf = np.zeros(m, np.int64)
    nj = np.zeros(m, np.int64)
    while True:
        ia = np.flatnonzero(termcd == 0)
        if not ia.size:
            break
        it[ia] += 1
        x = xc[ia]
        f0 = fc[ia]
        # fdjac: forward difference
        h = pstep + pstep * np.abs(x)
        xh = x + h
        h = xh - x
        fz = np.asarray(fn(ia, xh), float)
        nj[ia] += 1
        jerr = ~np.isfinite(fz)
        jac = (fz - f0) / h
        sing = ~jerr & ((jac == 0.0) | ~np.isfinite(jac))
        termcd[ia[jerr]] = NLEQSLV_ERROR
        termcd[ia[sing]] = 6  # nwtcvg: 4 + ierr, ierr = 2 (singular)
        xp[ia[sing]] = x[sing]
        fp[ia[sing]] = f0[sing]
        go = ~jerr & ~sing
        ib = ia[go]
        if not ib.size:
            continue
        x, f0, jac = x[go], f0[go], jac[go]
        fcn = fcnorm[ib]
        smx = stepmx[ib]
        g = jac * f0
        dn = -(f0 / jac)
        dnlen = np.abs(dn)
        sqalpha = np.abs(g)
        alpha = sqalpha * sqalpha
        jg = jac * g
        beta = np.abs(jg) * np.abs(jg)
        ssd = g * -(alpha / beta)
        ssdlen = alpha * sqalpha / beta
        d0 = dlt[ib]
        d0 = np.where(d0 == -1.0, np.minimum(ssdlen, smx), d0)
        d0 = np.where(d0 == -2.0, np.minimum(dnlen, smx), d0)
        gamma = alpha * alpha / -(beta * (g * dn))
        eta = 0.2 + (1.0 - 0.2) * gamma
        v = eta * dn - ssd
        vssdag = v * ssd
        vlen = np.abs(v) * np.abs(v)
        k = ib.size
        retcd = np.full(k, 4)
        gcnt = np.zeros(k, np.int64)
        xnew = x.copy()
        fnew = f0.copy()
        fpn = fcn.copy()
        xprev = np.zeros(k)
        fprev = np.zeros(k)
        fpnsav = np.zeros(k)
        dltv = d0
        while True:
            jj = np.flatnonzero(retcd > 1)
            if not jj.size:
                break
            dl = dltv[jj]
            # dogstp
            nwtake = dnlen[jj] <= dl
            part = ~nwtake & (eta[jj] * dnlen[jj] <= dl)
            sd = ~nwtake & ~part & (ssdlen[jj] >= dl)
            comb = ~nwtake & ~part & ~sd
            step = np.empty(jj.size)
            step[nwtake] = dn[jj][nwtake]
            dl = np.where(nwtake, dnlen[jj], dl)
            step[part] = dn[jj][part] * (dl[part] / dnlen[jj][part])
            step[sd] = ssd[jj][sd] * (dl[sd] / ssdlen[jj][sd])
            if comb.any():
                vs, vl, sl = vssdag[jj][comb], vlen[jj][comb], ssdlen[jj][comb]
                dc = dl[comb]
                lam = (-vs + np.sqrt(vs * vs - vl * (sl * sl - dc * dc))) / vl
                step[comb] = ssd[jj][comb] + lam * v[jj][comb]
            wa = jac[jj] * step + f0[jj]
            fpred = 0.5 * (np.abs(wa) * np.abs(wa))
            xt = x[jj] + step
            ft = np.asarray(fn(ib[jj], xt), float)
            ft = np.where(np.isfinite(ft), ft, _BIG)
            fpt = 0.5 * (np.abs(ft) * np.abs(ft))
            gcnt[jj] += 1
            # nwtrup
            rc = retcd[jj].copy()
            ared = fpt - fcn[jj]
            pred = fpred - fcn[jj]
            slope = g[jj] * step
            ret3ok = (rc == 3) & ((fpt >= fpnsav[jj]) | (ared > 1e-4 * slope))
            new_x, new_f, new_n = xt.copy(), ft.copy(), fpt.copy()
            c1 = ret3ok
            c2 = ~c1 & (ared > 1e-4 * slope)
            c3 = (
                ~c1
                & ~c2
                & (rc != 2)
                & (np.abs(pred - ared) <= 0.1 * np.abs(ared))
                & ~nwtake
                & (dl <= 0.99 * smx[jj])
            )
            c4 = ~c1 & ~c2 & ~c3
            # c1: back to the saved point, halve the radius
            new_x[c1] = xprev[jj][c1]
            new_f[c1] = fprev[jj][c1]
            new_n[c1] = fpnsav[jj][c1]
            dl = np.where(c1, 0.5 * dl, dl)
            rc[c1] = 0
            # c2: decrease not sufficient
            rln = np.abs(step) / np.maximum(np.abs(xt), 1.0)
            small = c2 & (rln < btol)
            rc[small] = 1
            shrink = c2 & ~small
            sclen = np.abs(step)
            dltmp = -slope * sclen / (2.0 * (ared - slope))
            dl = np.where(
                shrink,
                np.where(dltmp < 0.1 * dl, 0.1 * dl, np.minimum(0.5 * dl, dltmp)),
                dl,
            )
            rc[shrink] = 2
            # c3: try a doubled radius, keeping this point
            jc3 = jj[c3]
            xprev[jc3] = xt[c3]
            fprev[jc3] = ft[c3]
            fpnsav[jc3] = fpt[c3]
            dl = np.where(c3, np.minimum(2.0 * dl, smx[jj]), dl)
            rc[c3] = 3
            # c4: accept; choose the next radius
            rc[c4] = 0
            worse = c4 & (ared >= 0.1 * pred)
            better = c4 & ~worse & (ared <= 0.75 * pred)
            dl = np.where(worse, 0.5 * dl, np.where(better, np.minimum(2.0 * dl, smx[jj]), dl))
            retcd[jj] = rc
            dltv[jj] = dl
            xnew[jj] = new_x
            fnew[jj] = new_f
            fpn[jj] = new_n
        nf[ib] += gcnt
        dlt[ib] = dltv
        xp[ib] = xnew
        fp[ib] = fnew
        # nwtcvg
        tc = np.zeros(k, np.int64)
        rsx = np.abs(xnew - x) / np.maximum(np.abs(xnew), 1.0)
        tc = np.where(np.abs(fnew) <= ftol, 1, 0)
        tc = np.where((tc == 0) & (retcd == 1), 3, tc)
        tc = np.where((tc == 0) & (rsx <= xtol), 2, tc)
        tc = np.where((tc == 0) & (it[ib] >= maxit), 4, tc)
        termcd[ib] = tc
        cont = tc == 0
        xc[ib[cont]] = xnew[cont]
        fc[ib[cont]] = fnew[cont]
        fcnorm[ib[cont]] = fpn[cont]
    return NleqslvResult(xp, fp, termcd, it, nf, nj)


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
            t1 = x_col[idx] / (ec[idx] * _rpow((y - dc[idx]) / (cc[idx] - y), inv_bc[idx]))
            t2 = x_row[idx] / (er[idx] * _rpow((y - dr[idx]) / (cr[idx] - y), inv_br[idx]))
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
            t = _rpow(tot / e, b)
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
