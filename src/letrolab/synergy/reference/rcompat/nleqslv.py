"""R's ``nleqslv(method = "Newton")`` (Hasselman, R package nleqslv 3.3; Dennis & Schnabel
1996) for many scalar equations at once, as SynergyFinder 1-2's ``CalculateLoewe`` calls it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
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
