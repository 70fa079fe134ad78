"""R's ``optim(method = "BFGS")`` (``vmmin``; Nash 1990, *Compact Numerical Methods for
Computers*, 2nd ed., Algorithm 21), vectorised over many problems, with R's arithmetic
(:mod:`~letrolab.synergy.reference.rcompat.rmath`). scipy's BFGS takes other steps, and drc's
fits on flat surfaces depend on where R's optimiser stops, hence this emulation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


class _Scaled:
    """The objective on scaled parameters (optim evaluates ``fn(p * parscale)``) and its
    central-difference gradient (step ``ndeps`` on the scaled parameters)."""

    def __init__(self, fn, ps: np.ndarray) -> None:
        self.fn = fn
        self.ps = ps
        self.n = ps.shape[1]

    def value(self, idx, p):  # p (k, n) scaled -> values
        return self.fn(idx, p * self.ps[idx][:, None, :])

    def grad(self, idx, p):
        n = self.n
        k = p.shape[0]
        pts = np.repeat(p[:, None, :], 2 * n, axis=1)
        ar = np.arange(n)
        pts[:, 2 * ar, ar] = p[:, ar] + _NDEPS
        pts[:, 2 * ar + 1, ar] = p[:, ar] - _NDEPS
        v = self.value(idx, pts)
        g = (v[:, 0::2] - v[:, 1::2]) / (2 * _NDEPS)
        return g, np.isfinite(g).all(1) if k else np.ones(0, bool)


@dataclass
class _State:
    """Per-problem state of vmmin (mutable; arrays over all problems)."""

    b: np.ndarray  #: current scaled parameters
    f: np.ndarray  #: last evaluated objective
    fmin: np.ndarray  #: best objective
    g: np.ndarray  #: gradient at b
    ok: np.ndarray
    act: np.ndarray  #: still iterating
    bmat: np.ndarray  #: inverse Hessian approximation
    gradcount: np.ndarray
    funcount: np.ndarray
    ilast: np.ndarray  #: gradcount at the last restart
    it: np.ndarray


def _start(obj: _Scaled, start: np.ndarray) -> _State:
    m, n = start.shape
    allidx = np.arange(m)
    b = start / obj.ps
    f = obj.value(allidx, b[:, None, :])[:, 0]
    ok = np.isfinite(f)
    g = np.zeros((m, n))
    act = ok.copy()
    if act.any():
        gg, gok = obj.grad(allidx[act], b[act])
        g[act] = gg
        ok[act] &= gok
        act &= ok
    ones = np.ones(m, int)
    bmat = np.repeat(np.eye(n)[None], m, 0)
    return _State(b, f, f.copy(), g, ok, act, bmat, ones.copy(), ones.copy(), ones.copy(), ones)


def _line_search(obj: _Scaled, st: _State, ia, xk, t, gp, down):
    """Backtracking along ``t`` for the downhill problems, each with its own step length.
    Returns (step, count of parameters that did not change)."""
    n = obj.n
    cnt = np.zeros(ia.size, int)
    step = np.ones(ia.size)
    srch = down.copy()
    while srch.any():
        js = np.flatnonzero(srch)
        trial = xk[js] + step[js, None] * t[js]
        st.b[ia[js]] = trial
        c_now = ((_RELTEST + xk[js]) == (_RELTEST + trial)).sum(1)
        cnt[js] = c_now
        ev = c_now < n
        je = js[ev]
        acc = np.zeros(js.size, bool)
        if je.size:
            fv = obj.value(ia[je], trial[ev][:, None, :])[:, 0]
            st.f[ia[je]] = fv
            st.funcount[ia[je]] += 1
            with np.errstate(invalid="ignore"):
                a = np.isfinite(fv) & (fv <= st.fmin[ia[je]] + gp[je] * step[je] * _ACCTOL)
            acc[ev] = a
            step[je[~a]] *= _STEPREDN
        srch[js[(c_now == n) | acc]] = False
    return step, cnt


def _update(obj: _Scaled, st: _State, ip, jp, step, t, ck, fi) -> None:
    """Problems that made progress: new gradient and the BFGS inverse-Hessian update."""
    st.fmin[ip] = fi[jp]
    gg, gok = obj.grad(ip, st.b[ip])
    st.g[ip] = gg
    st.ok[ip[~gok]] = False
    st.gradcount[ip] += 1
    st.it[ip] += 1
    tt = step[jp, None] * t[jp]
    cc = gg - ck[jp]
    d1 = dot_ltr(tt, cc)
    pos = d1 > 0
    if pos.any():
        bp = st.bmat[ip[pos]]
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
        st.bmat[ip[pos]] = low + np.swapaxes(np.tril(low, -1), 1, 2)
    st.ilast[ip[~pos]] = st.gradcount[ip[~pos]]


def _restarts(st: _State, ia, cnt, down, prog, n: int) -> None:
    """No progress or uphill: restart to steepest descent unless just restarted."""
    jn = np.flatnonzero(down & ~prog)
    rs = st.ilast[ia[jn]] < st.gradcount[ia[jn]]
    cnt[jn[rs]] = 0
    st.ilast[ia[jn[rs]]] = st.gradcount[ia[jn[rs]]]
    ju = np.flatnonzero(~down)
    just = st.ilast[ia[ju]] == st.gradcount[ia[ju]]
    cnt[ju] = np.where(just, n, 0)
    st.ilast[ia[ju[~just]]] = st.gradcount[ia[ju[~just]]]


def _iterate(obj: _Scaled, st: _State, ia, maxit: int, reltol: float) -> None:
    """One vmmin iteration of the active problems ``ia``."""
    n = obj.n
    eye = np.eye(n)
    reset = st.ilast[ia] == st.gradcount[ia]
    st.bmat[ia[reset]] = eye
    xk = st.b[ia].copy()
    ck = st.g[ia].copy()
    t = -matvec_ltr(st.bmat[ia], st.g[ia])
    gp = dot_ltr(t, st.g[ia])
    down = gp < 0.0
    step, cnt = _line_search(obj, st, ia, xk, t, gp, down)
    fi = st.f[ia]
    with np.errstate(invalid="ignore"):
        enough = (fi > -np.inf) & (
            np.abs(fi - st.fmin[ia]) > reltol * (np.abs(st.fmin[ia]) + reltol)
        )
    stop = down & ~enough
    cnt[stop] = n
    st.fmin[ia[stop]] = fi[stop]
    prog = down & (cnt < n)
    jp = np.flatnonzero(prog)
    if jp.size:
        _update(obj, st, ia[jp], jp, step, t, ck, fi)
    _restarts(st, ia, cnt, down, prog, n)
    done = st.it[ia] >= maxit
    per = (st.gradcount[ia] - st.ilast[ia]) > 2 * n
    st.ilast[ia[per & ~done]] = st.gradcount[ia[per & ~done]]
    cont = ~done & ((cnt != n) | (st.ilast[ia] != st.gradcount[ia])) & st.ok[ia]
    st.act[ia] = cont


def _hessian_ok(obj: _Scaled, st: _State) -> None:
    """optim's Hessian: gradients at par +- ndeps e_i must be finite."""
    io = np.flatnonzero(st.ok)
    if not io.size:
        return
    p0 = st.b[io]
    hok = np.ones(io.size, bool)
    for i in range(obj.n):
        for sgn in (1.0, -1.0):
            q = p0.copy()
            q[:, i] = q[:, i] + sgn * _NDEPS
            hok &= obj.grad(io, q)[1]
    st.ok[io] = hok


def _vmmin(fn, start, maxit, reltol, hessian) -> BFGSResult:
    """Body of :func:`vmmin`."""
    ps = np.abs(start)
    ps[ps < 1e-4] = 1.0
    obj = _Scaled(fn, ps)
    st = _start(obj, start)
    while st.act.any():
        _iterate(obj, st, np.flatnonzero(st.act), maxit, reltol)
    if hessian:
        _hessian_ok(obj, st)
    ok = st.ok
    par = np.where(ok[:, None], st.b * ps, np.nan)
    return BFGSResult(par, np.where(ok, st.fmin, np.nan), ok, st.funcount, st.gradcount)
