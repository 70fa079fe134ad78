"""R's ``nleqslv(method = "Newton")`` (Hasselman, R package nleqslv 3.3; Dennis & Schnabel
1996) for many scalar equations at once, as SynergyFinder 1-2's ``CalculateLoewe`` calls it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = ["NLEQSLV_ERROR", "NleqslvResult", "nleqslv_newton"]

#: termination code letrolab gives where R's nleqslv raises an error (a non-finite function
#: value at the start or inside the finite-difference Jacobian); SynergyFinder's
#: ``tryCatch`` maps the error to ``termcd = 999`` as well.
NLEQSLV_ERROR = 999

_EPSM = 2.0**-52  # LAPACK dlamch('p'): eps * base
_BIG = math.sqrt(np.finfo(float).max)  # nleqslv's substitute for a non-finite f(x), n = 1


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


@dataclass(frozen=True)
class _Geometry:
    """Newton and Cauchy steps of the double dogleg at the current points (nwndir, n = 1)."""

    x: np.ndarray
    f0: np.ndarray
    jac: np.ndarray
    fcn: np.ndarray  #: 0.5 f^2 at x
    smx: np.ndarray  #: step maximum
    g: np.ndarray
    dn: np.ndarray
    dnlen: np.ndarray
    ssd: np.ndarray
    ssdlen: np.ndarray
    eta: np.ndarray
    v: np.ndarray
    vssdag: np.ndarray
    vlen: np.ndarray


def _geometry(x, f0, jac, fcn, smx) -> _Geometry:
    g = jac * f0
    dn = -(f0 / jac)
    sqalpha = np.abs(g)
    alpha = sqalpha * sqalpha
    jg = jac * g
    beta = np.abs(jg) * np.abs(jg)
    ssd = g * -(alpha / beta)
    ssdlen = alpha * sqalpha / beta
    gamma = alpha * alpha / -(beta * (g * dn))
    eta = 0.2 + (1.0 - 0.2) * gamma
    v = eta * dn - ssd
    return _Geometry(
        x, f0, jac, fcn, smx, g, dn, np.abs(dn), ssd, ssdlen, eta, v, v * ssd, np.abs(v) * np.abs(v)
    )


def _dogstp(geo: _Geometry, jj, dl):
    """Double-dogleg step of length ``dl`` (dogstp). Returns (step, radius, Newton taken)."""
    dnlen, ssdlen = geo.dnlen[jj], geo.ssdlen[jj]
    nwtake = dnlen <= dl
    part = ~nwtake & (geo.eta[jj] * dnlen <= dl)
    sd = ~nwtake & ~part & (ssdlen >= dl)
    comb = ~nwtake & ~part & ~sd
    step = np.empty(jj.size)
    step[nwtake] = geo.dn[jj][nwtake]
    dl = np.where(nwtake, dnlen, dl)
    step[part] = geo.dn[jj][part] * (dl[part] / dnlen[part])
    step[sd] = geo.ssd[jj][sd] * (dl[sd] / ssdlen[sd])
    if comb.any():
        vs, vl, sl = geo.vssdag[jj][comb], geo.vlen[jj][comb], ssdlen[comb]
        dc = dl[comb]
        lam = (-vs + np.sqrt(vs * vs - vl * (sl * sl - dc * dc))) / vl
        step[comb] = geo.ssd[jj][comb] + lam * geo.v[jj][comb]
    return step, dl, nwtake


class _Trial:
    """State of the global strategy's inner loop (nwddlg) for the problems ``ib``."""

    def __init__(self, geo: _Geometry, d0: np.ndarray) -> None:
        k = geo.x.size
        self.retcd = np.full(k, 4)
        self.gcnt = np.zeros(k, np.int64)
        self.xnew = geo.x.copy()
        self.fnew = geo.f0.copy()
        self.fpn = geo.fcn.copy()
        self.xprev = np.zeros(k)
        self.fprev = np.zeros(k)
        self.fpnsav = np.zeros(k)
        self.dlt = d0


def _nwtrup(tr: _Trial, geo: _Geometry, jj, step, dl, nwtake, xt, ft, fpt, fpred, btol):
    """Accept the trial point or change the trust radius (nwtrup); updates ``tr``."""
    rc = tr.retcd[jj].copy()
    fcn = geo.fcn[jj]
    ared = fpt - fcn
    pred = fpred - fcn
    slope = geo.g[jj] * step
    smx = geo.smx[jj]
    c1 = (rc == 3) & ((fpt >= tr.fpnsav[jj]) | (ared > 1e-4 * slope))
    c2 = ~c1 & (ared > 1e-4 * slope)
    c3 = (
        ~c1
        & ~c2
        & (rc != 2)
        & (np.abs(pred - ared) <= 0.1 * np.abs(ared))
        & ~nwtake
        & (dl <= 0.99 * smx)
    )
    c4 = ~c1 & ~c2 & ~c3
    new_x, new_f, new_n = xt.copy(), ft.copy(), fpt.copy()
    # c1: back to the saved point, halve the radius
    new_x[c1] = tr.xprev[jj][c1]
    new_f[c1] = tr.fprev[jj][c1]
    new_n[c1] = tr.fpnsav[jj][c1]
    dl = np.where(c1, 0.5 * dl, dl)
    rc[c1] = 0
    # c2: decrease not sufficient
    small = c2 & (np.abs(step) / np.maximum(np.abs(xt), 1.0) < btol)
    rc[small] = 1
    shrink = c2 & ~small
    dltmp = -slope * np.abs(step) / (2.0 * (ared - slope))
    dl = np.where(shrink, np.where(dltmp < 0.1 * dl, 0.1 * dl, np.minimum(0.5 * dl, dltmp)), dl)
    rc[shrink] = 2
    # c3: try a doubled radius, keeping this point
    jc3 = jj[c3]
    tr.xprev[jc3] = xt[c3]
    tr.fprev[jc3] = ft[c3]
    tr.fpnsav[jc3] = fpt[c3]
    dl = np.where(c3, np.minimum(2.0 * dl, smx), dl)
    rc[c3] = 3
    # c4: accept; choose the next radius
    rc[c4] = 0
    worse = c4 & (ared >= 0.1 * pred)
    better = c4 & ~worse & (ared <= 0.75 * pred)
    dl = np.where(worse, 0.5 * dl, np.where(better, np.minimum(2.0 * dl, smx), dl))
    tr.retcd[jj] = rc
    tr.dlt[jj] = dl
    tr.xnew[jj] = new_x
    tr.fnew[jj] = new_f
    tr.fpn[jj] = new_n


def _global_step(fn, ib, geo: _Geometry, d0, btol) -> _Trial:
    """Double-dogleg global strategy (nwddlg) until every problem accepts or gives up."""
    tr = _Trial(geo, d0)
    while True:
        jj = np.flatnonzero(tr.retcd > 1)
        if not jj.size:
            return tr
        step, dl, nwtake = _dogstp(geo, jj, tr.dlt[jj])
        wa = geo.jac[jj] * step + geo.f0[jj]
        fpred = 0.5 * (np.abs(wa) * np.abs(wa))
        xt = geo.x[jj] + step
        ft = np.asarray(fn(ib[jj], xt), float)
        ft = np.where(np.isfinite(ft), ft, _BIG)
        fpt = 0.5 * (np.abs(ft) * np.abs(ft))
        tr.gcnt[jj] += 1
        _nwtrup(tr, geo, jj, step, dl, nwtake, xt, ft, fpt, fpred, btol)


def _converged(tr: _Trial, x, it, xtol, ftol, maxit):
    """Termination codes (nwtcvg): 1 |f| small, 3 no better point, 2 step small, 4 maxit."""
    rsx = np.abs(tr.xnew - x) / np.maximum(np.abs(tr.xnew), 1.0)
    tc = np.where(np.abs(tr.fnew) <= ftol, 1, 0)
    tc = np.where((tc == 0) & (tr.retcd == 1), 3, tc)
    tc = np.where((tc == 0) & (rsx <= xtol), 2, tc)
    return np.where((tc == 0) & (it >= maxit), 4, tc)


@dataclass
class _Newton:
    """Outer state of nleqslv over all problems (mutable)."""

    xc: np.ndarray
    fc: np.ndarray
    fcnorm: np.ndarray
    xp: np.ndarray
    fp: np.ndarray
    termcd: np.ndarray
    dlt: np.ndarray
    it: np.ndarray
    nf: np.ndarray
    nj: np.ndarray


def _fdjac(fn, st: _Newton, ia, pstep):
    """Forward-difference Jacobian (fdjac), ``h`` re-taken as ``(x + h) - x``; marks R errors
    (code 999) and singular Jacobians (code 6). Returns (jac, usable mask)."""
    x = st.xc[ia]
    f0 = st.fc[ia]
    h = pstep + pstep * np.abs(x)
    h = (x + h) - x
    fz = np.asarray(fn(ia, x + h), float)
    st.nj[ia] += 1
    jerr = ~np.isfinite(fz)
    jac = (fz - f0) / h
    sing = ~jerr & ((jac == 0.0) | ~np.isfinite(jac))
    st.termcd[ia[jerr]] = NLEQSLV_ERROR
    st.termcd[ia[sing]] = 6  # nwtcvg: 4 + ierr, ierr = 2 (singular)
    st.xp[ia[sing]] = x[sing]
    st.fp[ia[sing]] = f0[sing]
    return jac, ~jerr & ~sing


def _nleqslv_newton(fn, x0, xtol, ftol, btol, maxit) -> NleqslvResult:
    m = x0.size
    btol = max(btol, xtol)
    stepmx = np.full(m, np.finfo(float).max)  # stepmax = -1: no limit (nleqslv >= 3)
    pstep = math.sqrt(max(10.0 ** (math.log10(_EPSM)), _EPSM))
    fc = np.asarray(fn(np.arange(m), x0.copy()), float)
    termcd = np.zeros(m, np.int64)
    termcd[~np.isfinite(fc)] = NLEQSLV_ERROR
    termcd[(termcd == 0) & (np.abs(fc) <= ftol)] = 1
    zeros = np.zeros(m, np.int64)
    st = _Newton(
        x0.copy(),
        fc,
        0.5 * (np.abs(fc) * np.abs(fc)),
        x0.copy(),
        fc.copy(),
        termcd,
        np.full(m, -2.0),
        zeros.copy(),
        zeros.copy(),
        zeros.copy(),
    )
    while True:
        ia = np.flatnonzero(st.termcd == 0)
        if not ia.size:
            break
        st.it[ia] += 1
        jac, go = _fdjac(fn, st, ia, pstep)
        ib = ia[go]
        if not ib.size:
            continue
        geo = _geometry(st.xc[ib], st.fc[ib], jac[go], st.fcnorm[ib], stepmx[ib])
        d0 = st.dlt[ib]
        d0 = np.where(d0 == -1.0, np.minimum(geo.ssdlen, geo.smx), d0)
        d0 = np.where(d0 == -2.0, np.minimum(geo.dnlen, geo.smx), d0)
        tr = _global_step(fn, ib, geo, d0, btol)
        st.nf[ib] += tr.gcnt
        st.dlt[ib] = tr.dlt
        st.xp[ib] = tr.xnew
        st.fp[ib] = tr.fnew
        tc = _converged(tr, geo.x, st.it[ib], xtol, ftol, maxit)
        st.termcd[ib] = tc
        cont = tc == 0
        st.xc[ib[cont]] = tr.xnew[cont]
        st.fc[ib[cont]] = tr.fnew[cont]
        st.fcnorm[ib[cont]] = tr.fpn[cont]
    return NleqslvResult(st.xp, st.fp, st.termcd, st.it, st.nf, st.nj)
