"""R's ``optim(method = "BFGS")`` (``vmmin``; Nash 1990, *Compact Numerical Methods for
Computers*, 2nd ed., Algorithm 21), vectorised over many problems, with R's arithmetic
(:mod:`~letrolab.synergy.reference.rcompat.rmath`). scipy's BFGS takes other steps, and drc's
fits on flat surfaces depend on where R's optimiser stops, hence this emulation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from letrolab.synergy.reference.rcompat.rmath import dot_ltr, matvec_ltr

__all__ = ["BFGSResult", "vmmin"]

_STEPREDN = 0.2
_ACCTOL = 1e-4
_RELTEST = 10.0
_NDEPS = 1e-3


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
        t = -matvec_ltr(bmat[ia], g[ia])
        gp = dot_ltr(t, g[ia])
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
            d1 = dot_ltr(tt, cc)
            pos = d1 > 0
            if pos.any():
                bp = bmat[ip[pos]]
                xx = matvec_ltr(bp, cc[pos])
                d2 = 1.0 + dot_ltr(xx, cc[pos]) / d1[pos]
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
