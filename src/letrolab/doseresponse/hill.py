"""Batched four-parameter Hill (log-logistic) fits.

The model is the four-parameter log-logistic curve (Hill 1910; the ``LL.4`` model of the R
package drc, Ritz et al. 2015 PLoS ONE 10:e0146021, which SynergyFinder uses for single agents,
Ianevski et al. 2017 Bioinformatics 33:2413 and 2020 NAR 48:W488)::

    E(x) = E0 + (Emax - E0) / (1 + (EC50 / x) ** h)

with ``E0`` the effect at zero dose, ``Emax`` the effect at infinite dose, ``EC50`` the dose of
half effect and ``h > 0`` the Hill slope. ``Emax < E0`` describes a falling curve.

Many curves are fitted in one call by bounded nonlinear least squares, vectorised with NumPy
over the curves (no Python loop per curve):

* the two asymptotes enter linearly, so for given ``(log EC50, h)`` they are solved in closed
  form (variable projection, Golub & Pereyra 1973 SIAM J Numer Anal 10:413);
* starting values for ``(log EC50, h)`` are the best of a grid over the tested dose range
  (and, with both asymptotes fixed, of the straight-line fit of
  ``logit((E - E0)/(Emax - E0))`` on ``log x``);
* a projected Levenberg–Marquardt iteration (Moré 1978, Lecture Notes in Mathematics
  630:105) refines them inside their bounds, each curve with its own damping, accepting only
  steps that lower its residual sum of squares; with both asymptotes free it iterates on
  ``log h``. The Jacobian is analytic with both asymptotes fixed, and Kaufman's approximation
  of the variable-projection Jacobian (Kaufman 1975 BIT 15:49) with both free. Curves that
  converged leave the active set.
* with exactly one asymptote fixed (SynergyFinder 3's ZIP slice re-fits), the exact gradient,
  Gauss-Newton matrix and Hessian of the projected problem are closed-form sums. Gauss-Newton
  steps are taken until a curve zig-zags across its optimum (large residuals make Gauss-Newton
  converge only linearly: such slices crept for hundreds of iterations and stopped ~1e-5
  points short), then Newton steps with the exact Hessian where it is positive definite
  (Dennis & Schnabel 1983, section 10.2); a curve whose slope or EC50 creeps towards its bound
  (a step, or an amplitude growing without limit) is tried on that bound every ten
  iterations and moved there if that lowers its residual sum of squares.

Bounds: ``EC50`` within ``ec50_range`` (default 1000-fold) beyond the tested doses, ``|h|`` at
most ``h_max`` (50), and ``h >= h_min`` (0.01) with free asymptotes. drc's ``LL.4`` is
unbounded; inside these bounds the two agree wherever the least-squares optimum is interior.
Log doses are centred per curve, so a change of unit changes nothing but ``EC50``.

Either asymptote can be held fixed per curve (``e0=``, ``emax=``), as SynergyFinder's ZIP model
does when it re-fits rows and columns of a combination matrix with the bottom fixed at the
partner drug's effect and the top at 100 (Yadav et al. 2015 CSBJ 13:504). With an asymptote
fixed the curve may run either way (the sign of the slope is free, like drc's ``b``), and the
result reports ``E0``/``Emax`` as the zero- and infinite-dose effects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.special import expit

from letrolab._results import Failed
from letrolab.errors import InputError

__all__ = ["HillFit", "HillFits", "fit_hill", "hill_dose", "hill_effect"]

_GRID_H = (0.7, 2.0)
_NFR = 5
_H_START_MAX = 20.0


def hill_effect(x: Any, e0: Any, emax: Any, ec50: Any, h: Any) -> np.ndarray:
    """Effect of the four-parameter Hill curve at dose ``x`` (broadcasting).

    ``E(x) = E0 + (Emax - E0) / (1 + (EC50/x)^h)``; ``E(0) = E0`` for ``h > 0``.

    Examples
    --------
    >>> float(hill_effect(2.0, 0.0, 100.0, 2.0, 1.0))
    50.0
    """
    x = np.asarray(x, dtype=float)
    e0 = np.asarray(e0, dtype=float)
    emax = np.asarray(emax, dtype=float)
    with np.errstate(divide="ignore"):
        z = np.asarray(h, dtype=float) * (np.log(x) - np.log(np.asarray(ec50, dtype=float)))
    s = expit(z)
    return e0 + (emax - e0) * s


def hill_dose(effect: Any, e0: Any, emax: Any, ec50: Any, h: Any) -> np.ndarray:
    """Dose at which the Hill curve reaches ``effect`` (inverse of :func:`hill_effect`).

    ``x = EC50 ((E - E0) / (Emax - E))^(1/h)``. NaN where the effect is not strictly between
    ``E0`` and ``Emax`` (the curve never reaches it).

    Examples
    --------
    >>> float(hill_dose(75.0, 0.0, 100.0, 2.0, 1.0))
    6.0
    """
    e = np.asarray(effect, dtype=float)
    e0 = np.asarray(e0, dtype=float)
    emax = np.asarray(emax, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = (e - e0) / (emax - e)
        return np.where(q > 0, np.asarray(ec50, float) * q ** (1.0 / np.asarray(h, float)), np.nan)


@dataclass(frozen=True)
class HillFit:
    """One fitted Hill curve.

    Attributes
    ----------
    e0, emax : float
        Effect at zero and at infinite dose.
    ec50 : float
        Dose of half effect, in the unit of the doses given.
    h : float
        Hill slope (> 0).
    rss : float
        Residual sum of squares.
    n : int
        Points used.
    label : str
    """

    e0: float
    emax: float
    ec50: float
    h: float
    rss: float
    n: int
    label: str = ""

    def predict(self, x: Any) -> np.ndarray:
        """Effect at dose(s) ``x``."""
        return hill_effect(x, self.e0, self.emax, self.ec50, self.h)

    def dose(self, effect: Any) -> np.ndarray:
        """Dose giving ``effect`` (NaN where the curve never reaches it)."""
        return hill_dose(effect, self.e0, self.emax, self.ec50, self.h)

    def summary(self) -> dict[str, Any]:
        """JSON-able dict of the estimates."""
        return {
            "ok": True,
            "label": self.label,
            "e0": self.e0,
            "emax": self.emax,
            "ec50": self.ec50,
            "h": self.h,
            "rss": self.rss,
            "n": self.n,
        }

    def report(self) -> str:
        """One line of text."""
        return (
            f"{self.label or 'curve'}: E0={self.e0:.4g} Emax={self.emax:.4g} "
            f"EC50={self.ec50:.4g} h={self.h:.4g} (n={self.n}, RSS={self.rss:.4g})"
        )


@dataclass(frozen=True)
class HillFits:
    """Hill fits of many curves (column arrays, one entry per curve).

    Failed curves hold NaN in the arrays, ``ok`` False and a non-empty ``reason``; indexing
    (``fits[i]``) returns a :class:`HillFit` or a :class:`~letrolab._results.Failed` that says why.
    """

    e0: np.ndarray
    emax: np.ndarray
    ec50: np.ndarray
    h: np.ndarray
    rss: np.ndarray
    n: np.ndarray
    ok: np.ndarray
    reason: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.e0.shape[0])

    def __getitem__(self, i: int) -> HillFit | Failed:
        label = str(self.labels[i])
        if not self.ok[i]:
            return Failed(str(self.reason[i]), what=f"Hill fit of {label or f'curve {i}'}")
        return HillFit(
            e0=float(self.e0[i]),
            emax=float(self.emax[i]),
            ec50=float(self.ec50[i]),
            h=float(self.h[i]),
            rss=float(self.rss[i]),
            n=int(self.n[i]),
            label=label,
        )

    def predict(self, x: Any) -> np.ndarray:
        """Effects at doses ``x`` of shape ``(n_curves,)`` or ``(n_curves, m)``; NaN for failed."""
        x = np.asarray(x, dtype=float)
        shape = (-1,) + (1,) * (x.ndim - 1)
        return hill_effect(
            x,
            self.e0.reshape(shape),
            self.emax.reshape(shape),
            self.ec50.reshape(shape),
            self.h.reshape(shape),
        )

    def dose(self, effect: Any) -> np.ndarray:
        """Doses giving ``effect`` (per curve, broadcasting like :meth:`predict`)."""
        e = np.asarray(effect, dtype=float)
        shape = (-1,) + (1,) * (e.ndim - 1)
        return hill_dose(
            e,
            self.e0.reshape(shape),
            self.emax.reshape(shape),
            self.ec50.reshape(shape),
            self.h.reshape(shape),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per curve: label, ok, e0, emax, ec50, h, rss, n, reason."""
        return pd.DataFrame(
            {
                "label": self.labels,
                "ok": self.ok,
                "e0": self.e0,
                "emax": self.emax,
                "ec50": self.ec50,
                "h": self.h,
                "rss": self.rss,
                "n": self.n,
                "reason": self.reason,
            }
        )

    def summary(self) -> dict[str, Any]:
        """JSON-able dict: counts and one entry per curve (``None`` for failed numbers)."""
        curves = []
        for i in range(len(self)):
            fit = self[i]
            curves.append(fit.summary())
        return {
            "n_curves": len(self),
            "n_failed": int((~self.ok).sum()),
            "curves": curves,
        }

    def report(self, *, max_rows: int = 20) -> str:
        """Text table of the first ``max_rows`` curves and the failure count."""
        lines = [f"Hill fits: {len(self)} curves, {int((~self.ok).sum())} failed"]
        for i in range(min(len(self), max_rows)):
            lines.append("  " + self[i].report())
        if len(self) > max_rows:
            lines.append(f"  ... {len(self) - max_rows} more")
        return "\n".join(lines)


def _as_fixed(value: Any, n: int, name: str) -> np.ndarray:
    if value is None:
        return np.full(n, np.nan)
    arr = np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()
    if np.isinf(arr).any():
        raise InputError(f"{name} must be finite where given (NaN means 'free'), got inf")
    return arr


def _psum(v):
    """Sums over the points (axis 0) of a points x curves array, per curve.

    The additions follow NumPy's pairwise summation along a contiguous row (plain for fewer
    than 8 terms, 8 interleaved partial sums up to 128, halving above), so the result is
    bit-for-bit that of summing the curves x points layout along its rows.
    """
    n = v.shape[0]
    if n < 8:
        return v.sum(0)
    if n <= 128:
        m = n - n % 8
        r = v[:8].copy()
        for i in range(8, m, 8):
            r += v[i : i + 8]
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for i in range(m, n):
            res += v[i]
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _psum(v[:n2]) + _psum(v[n2:])


def _project(s, y, w, fa, fb):
    """Closed-form asymptotes ``(a, b)`` minimising sum w (y - a (1 - s) - b s)^2.

    Arrays are laid out points x curves (so that the per-curve sums over a few points are
    vector additions over contiguous rows). ``fa``/``fb`` hold fixed values (NaN = free);
    with both fixed, ``w=None`` means all weights are one. Returns a, b and the weighted
    residuals.
    """
    free_a = np.isnan(fa)
    free_b = np.isnan(fb)
    if not (free_a.any() or free_b.any()):
        res = fa + (fb - fa) * s
        res -= y
        if w is not None:
            res *= w
        return fa, fb, res
    t = 1.0 - s
    stt = _psum(w * t * t)
    sts = _psum(w * t * s)
    sss = _psum(w * s * s)
    sty = _psum(w * t * y)
    ssy = _psum(w * s * y)
    # Row for a: either the normal equation or a = fa; likewise for b.
    m11 = np.where(free_a, stt, 1.0)
    m12 = np.where(free_a, sts, 0.0)
    r1 = np.where(free_a, sty, fa)
    m21 = np.where(free_b, sts, 0.0)
    m22 = np.where(free_b, sss, 1.0)
    r2 = np.where(free_b, ssy, fb)
    # A substitution keeps a fixed value exact: move known terms to the right-hand side.
    r1 = np.where(free_a & ~free_b, sty - sts * fb, r1)
    m12 = np.where(free_a & ~free_b, 0.0, m12)
    r2 = np.where(free_b & ~free_a, ssy - sts * fa, r2)
    m21 = np.where(free_b & ~free_a, 0.0, m21)
    ridge = 1e-12 * (np.abs(m11) + np.abs(m22)) + 1e-300
    m11 = m11 + np.where(free_a, ridge, 0.0)
    m22 = m22 + np.where(free_b, ridge, 0.0)
    det = m11 * m22 - m12 * m21
    a = (r1 * m22 - m12 * r2) / det
    b = (m11 * r2 - m21 * r1) / det
    res = (a * t + b * s - y) * w
    return a, b, res


def _deproject(v, s, w):
    """(I - P) v for the weighted projection P onto span{1 - s, s} (points x curves)."""
    t = 1.0 - s
    stt = _psum(w * t * t)
    sts = _psum(w * t * s)
    sss = _psum(w * s * s)
    tv = _psum(w * t * v)
    sv = _psum(w * s * v)
    ridge = 1e-12 * (stt + sss) + 1e-300
    m11 = stt + ridge
    m22 = sss + ridge
    det = m11 * m22 - sts * sts
    al = (tv * m22 - sts * sv) / det
    be = (m11 * sv - sts * tv) / det
    return (v - al * t - be * s) * w


def _sig(h, u, lx, zero_dose=True):
    """expit(h (log x - u)) with the zero-dose limit handled (log 0 = -inf); points x curves."""
    with np.errstate(invalid="ignore"):
        z = h * (lx - u)
    if zero_dose:
        z = np.where(np.isnan(z), 0.0, z)  # h = 0 at zero dose: s = 1/2 like any dose
    return expit(z, out=z)


def _rss(u, h, lx, y, w, fa, fb):
    a, b, res = _project(_sig(h, u, lx), y, w, fa, fb)
    return _psum(res * res), a, b


def _starts(lx, y, w, fa, fb, lo, hi, free):
    """Starting (log EC50, h) per curve: the lowest-RSS candidate (arrays points x curves)."""
    n = lx.shape[1]
    best = np.full(n, np.inf)
    bu = np.zeros(n)
    bh = np.zeros(n)
    fixed = ~np.isnan(fa) & ~np.isnan(fb)

    def consider(ug, hg, mask):
        nonlocal best, bu, bh
        r, _, _ = _rss(ug, hg, lx, y, w, fa, fb)
        r = np.where(mask & np.isfinite(r), r, np.inf)
        better = r < best
        best = np.where(better, r, best)
        bu = np.where(better, ug, bu)
        bh = np.where(better, hg, bh)

    span = np.where(hi > lo, hi - lo, 0.0)
    for f in np.linspace(-0.25, 1.25, _NFR) if (~fixed).any() else ():
        ug = np.where(hi > lo, lo + f * span, lo + (f - 0.5) * 2.0)
        for g in _GRID_H:
            hg = np.full(n, g)
            consider(ug, hg, ~fixed)
            if (~free & ~fixed).any():
                consider(ug, -hg, ~free & ~fixed)
    if fixed.any():
        for f in (0.0, 0.5, 1.0):
            ug = np.where(hi > lo, lo + f * span, lo + (f - 0.5) * 2.0)
            for g in (1.0, -1.0):
                consider(ug, np.full(n, g), fixed)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = (y - fa) / (fb - fa)
            ok = (w > 0) & (p > 0.01) & (p < 0.99) & np.isfinite(lx)
            z = np.log(np.where(ok, p, 0.5) / (1 - np.where(ok, p, 0.5)))
            k = ok.sum(0)  # a count: exact in any order
            mx = _psum(np.where(ok, lx, 0.0)) / k
            mz = _psum(np.where(ok, z, 0.0)) / k
            sxx = _psum(np.where(ok, (lx - mx) ** 2, 0.0))
            sxz = _psum(np.where(ok, (lx - mx) * (z - mz), 0.0))
            hl = sxz / sxx
            ul = mx - mz / hl
        good = fixed & (k >= 2) & np.isfinite(hl) & np.isfinite(ul) & (hl != 0)
        consider(
            np.clip(np.where(good, ul, 0.0), lo - 3.0, hi + 3.0),
            np.clip(np.where(good, hl, 1.0), -_H_START_MAX, _H_START_MAX),
            good,
        )
    return bu, bh


def fit_hill(
    conc: Any,
    response: Any,
    *,
    e0: Any = None,
    emax: Any = None,
    labels: Any = None,
    ec50_range: float = 1e3,
    h_max: float = 50.0,
    h_min: float = 1e-2,
    max_iter: int = 3000,
    tol: float = 1e-10,
) -> HillFits:
    """Fit four-parameter Hill curves to many dose-response curves at once.

    Parameters
    ----------
    conc, response : array_like, shape (n_curves, n_points) or (n_points,)
        Doses (>= 0, any unit; zero is the untreated control) and effects. Ragged sets of
        curves are padded with NaN: a point with a NaN dose or response is not used.
    e0, emax : float or array_like of shape (n_curves,), optional
        Hold the zero-dose / infinite-dose effect fixed at this value (NaN entries stay free).
        With either one fixed, the slope may take either sign, so the fixed values act as
        the two asymptotes in either order (drc's ``LL.4(fixed=...)`` behaviour).
    labels : array_like of str, optional
        Names of the curves, used in reports and failure reasons.
    ec50_range : float
        EC50 is bounded to ``[min positive dose / ec50_range, max dose * ec50_range]``.
    h_max, h_min : float
        Bounds of ``|h|``; ``h_min`` applies when both asymptotes are free (where ``h`` near 0
        makes them unidentifiable).
    max_iter : int
        Levenberg–Marquardt iterations per curve at most.
    tol : float
        Convergence when an accepted step lowers the residual sum of squares by a relative
        amount below ``tol`` (MINPACK's ``ftol``), or moves ``(log EC50, h)`` by less than
        1e-10 relative, or no step within the damping range lowers it.

    Returns
    -------
    HillFits
        Failed curves (fewer usable points than free parameters, fewer than two distinct doses,
        no convergence within ``max_iter``) are NaN with a reason; ``fits[i]`` is then a
        :class:`~letrolab._results.Failed`.

    Raises
    ------
    InputError
        If shapes disagree or a dose is negative.

    Examples
    --------
    >>> x = np.array([0, 1, 3, 10, 30, 100.0])
    >>> y = hill_effect(x, 5.0, 95.0, 8.0, 1.3)
    >>> fit = fit_hill(x, y)[0]
    >>> round(fit.ec50, 6), round(fit.h, 6), round(fit.e0, 6), round(fit.emax, 6)
    (8.0, 1.3, 5.0, 95.0)
    """
    x = np.asarray(conc, dtype=float)
    y = np.asarray(response, dtype=float)
    if x.ndim == 1:
        x = x[None, :]
    if y.ndim == 1:
        y = y[None, :]
    if x.shape != y.shape or x.ndim != 2:
        raise InputError(
            f"conc and response must have the same shape (n_curves, n_points); got "
            f"{np.shape(conc)} and {np.shape(response)}"
        )
    if (x < 0).any():
        raise InputError("doses must be >= 0 (0 is the untreated control); found a negative dose")
    n_curves = x.shape[0]
    fa = _as_fixed(e0, n_curves, "e0")
    fb = _as_fixed(emax, n_curves, "emax")
    if labels is None:
        labels_arr = np.array([""] * n_curves, dtype=object)
    else:
        labels_arr = np.asarray(labels, dtype=object)
        if labels_arr.shape != (n_curves,):
            raise InputError(f"labels must have one entry per curve ({n_curves})")

    valid = np.isfinite(x) & np.isfinite(y)
    w = valid.astype(float)
    y0 = np.where(valid, y, 0.0)
    with np.errstate(divide="ignore"):
        lx = np.where(valid & (x > 0), np.log(np.where(x > 0, x, 1.0)), -np.inf)
    lx = np.where(valid, lx, 0.0)
    npts = valid.sum(1)
    n_free = 2 + np.isnan(fa) + np.isnan(fb)
    pos = valid & (x > 0)
    lmin = np.where(pos, lx, np.inf).min(1)
    lmax = np.where(pos, lx, -np.inf).max(1)
    # Work in log doses centred on each curve's geometric dose mid-range, so that a change of
    # unit changes nothing in the iteration (step sizes, damping, stopping).
    with np.errstate(invalid="ignore"):  # a curve without doses > 0: inf + -inf, not used
        shift = np.where(np.isfinite(lmin) & np.isfinite(lmax), 0.5 * (lmin + lmax), 0.0)
    lx = np.where(pos, lx - shift[:, None], lx)
    lmin = lmin - shift
    lmax = lmax - shift
    xs = np.where(valid, x, np.nan)
    with np.errstate(invalid="ignore"):
        n_distinct = (np.diff(np.sort(xs, axis=1), axis=1) > 0).sum(1) + (npts > 0)
    reason = np.array([""] * n_curves, dtype=object)
    bad_pts = npts < n_free
    reason[bad_pts] = [
        f"{k} usable points for {f} free parameters"
        for k, f in zip(npts[bad_pts], n_free[bad_pts], strict=True)
    ]
    bad_dist = ~bad_pts & ((n_distinct < 2) | ~np.isfinite(lmin))
    reason[bad_dist] = "fewer than two distinct doses (one of them > 0)"
    okc = reason == ""

    both_free = np.isnan(fa) & np.isnan(fb)
    span = np.log(ec50_range)
    u_lo = lmin - span
    u_hi = lmax + span
    h_lo = np.where(both_free, h_min, -h_max)
    h_hi = np.full(n_curves, h_max)

    u = np.full(n_curves, np.nan)
    h = np.full(n_curves, np.nan)
    rss = np.full(n_curves, np.nan)
    a_out = np.full(n_curves, np.nan)
    b_out = np.full(n_curves, np.nan)
    converged = np.zeros(n_curves, bool)

    idx = np.flatnonzero(okc)
    if idx.size:
        # Starting values: the best of a grid over log EC50 (data range, a little beyond) x
        # slopes; with both asymptotes fixed, a coarser grid plus the straight-line fit of
        # logit((y - E0)/(Emax - E0)) on log dose (the median-effect linearisation).
        one = np.isnan(fa[idx]) != np.isnan(fb[idx])
        for grp, starts in ((idx[~one], _starts), (idx[one], _starts_one_fixed)):
            if grp.size:
                u[grp], h[grp] = starts(
                    np.ascontiguousarray(lx[grp].T),
                    np.ascontiguousarray(y0[grp].T),
                    np.ascontiguousarray(w[grp].T),
                    fa[grp],
                    fb[grp],
                    lmin[grp],
                    lmax[grp],
                    both_free[grp],
                )
        prob = _LMProblem(lx, y0, w, fa, fb, u_lo, u_hi, h_lo, h_hi, max_iter, tol)
        _lm(idx, prob, _LMOut(u, h, rss, a_out, b_out, converged))

    nc = okc & ~converged
    reason[nc] = f"no convergence in {max_iter} Levenberg-Marquardt iterations"
    ok = okc & converged & np.isfinite(rss) & np.isfinite(a_out) & np.isfinite(b_out)
    reason[okc & converged & ~ok] = "non-finite estimate"
    # Report with h > 0: a falling branch (h < 0) is the same curve with asymptotes swapped.
    neg = h < 0
    e0_out = np.where(neg, b_out, a_out)
    emax_out = np.where(neg, a_out, b_out)
    h_rep = np.abs(h)
    nanify = ~ok
    e0_out[nanify] = emax_out[nanify] = h_rep[nanify] = np.nan
    ec50 = np.exp(u + shift)
    ec50[nanify] = np.nan
    rss_out = np.where(ok, rss, np.nan)
    return HillFits(
        e0=e0_out,
        emax=emax_out,
        ec50=ec50,
        h=h_rep,
        rss=rss_out,
        n=npts.astype(int),
        ok=ok,
        reason=reason,
        labels=labels_arr,
    )


class _LMProblem(NamedTuple):
    """Per-curve data and settings of one fit (read only; rows are curves)."""

    lx: np.ndarray
    y: np.ndarray
    w: np.ndarray
    fa: np.ndarray
    fb: np.ndarray
    u_lo: np.ndarray
    u_hi: np.ndarray
    h_lo: np.ndarray
    h_hi: np.ndarray
    max_iter: int
    tol: float


class _LMOut(NamedTuple):
    """Per-curve arrays filled in place: u and h hold the starts on entry."""

    u: np.ndarray
    h: np.ndarray
    rss: np.ndarray
    a_out: np.ndarray
    b_out: np.ndarray
    converged: np.ndarray


def _lm(idx, prob, out):
    """Projected Levenberg–Marquardt on (u = log EC50, h); asymptotes by projection.

    Curves with both asymptotes fixed get the analytic Jacobian, those with both free Kaufman's
    variable-projection Jacobian (:func:`_lm_run`); those with one fixed the exact derivatives
    of :func:`_newton_run`.
    """
    fa, fb = prob.fa, prob.fb
    fixed = ~np.isnan(fa[idx]) & ~np.isnan(fb[idx])
    free = np.isnan(fa[idx]) & np.isnan(fb[idx])
    # Both asymptotes free (h > 0): iterate on log h, which straightens the curved valley of
    # steep curves; otherwise on h itself (its sign is free).
    for sub, analytic, logh in ((idx[fixed], True, False), (idx[free], False, True)):
        if sub.size:
            _lm_run(logh, sub, analytic, prob, out)
    one = idx[~fixed & ~free]
    if one.size:
        u0, h0 = out.u[one].copy(), out.h[one].copy()
        _newton_run(one, prob, out)
        # Safety net: a fit that ends with its EC50 on a bound (a runaway, or a start that the
        # limit probe and the active set held there) is fitted again from the same start by the
        # general projected LM with finite-difference Jacobian; the lower RSS is kept. A
        # noise-free curve with its EC50 near the top dose otherwise can end on the bound.
        uo = out.u[one]
        at = (uo >= prob.u_hi[one] - 1e-9) | (uo <= prob.u_lo[one] + 1e-9)
        if at.any():
            sub = one[at]
            keep = [np.array(a[sub]) for a in out]
            out.u[sub], out.h[sub] = u0[at], h0[at]
            _lm_run(False, sub, False, prob, out)
            worse = ~(out.rss[sub] < keep[2])  # NaN or not lower: keep the first fit
            for a, k in zip(out, keep, strict=True):
                a[sub[worse]] = k[worse]


def _damped_step(p1, p2, g1, g2, a11, a12, a22, lam, bounds):
    """Levenberg–Marquardt step ``-(A + lam diag A)^-1 g`` of two parameters per curve
    (Marquardt 1963), with the active set of a bounded problem: a parameter on a bound whose
    descent direction points outward is held (its row and column decoupled, its step 0)."""
    lo1, hi1, lo2, hi2 = bounds
    fix1 = ((p1 >= hi1) & (g1 < 0)) | ((p1 <= lo1) & (g1 > 0))
    fix2 = ((p2 >= hi2) & (g2 < 0)) | ((p2 <= lo2) & (g2 > 0))
    a12 = np.where(fix1 | fix2, 0.0, a12)
    d11 = np.where(fix1, 1.0, a11 * (1 + lam) + 1e-30)
    d22 = np.where(fix2, 1.0, a22 * (1 + lam) + 1e-30)
    g1 = np.where(fix1, 0.0, g1)
    g2 = np.where(fix2, 0.0, g2)
    det = d11 * d22 - a12 * a12
    return -(g1 * d22 - a12 * g2) / det, -(d11 * g2 - a12 * g1) / det


def _lm_run(logh, act, analytic, prob, out):
    lx, y, w, fa, fb, u_lo, u_hi, h_lo, h_hi, max_iter, tol = prob
    u, h, rss, a_out, b_out, converged = out
    # Points along axis 0 and curves along axis 1 (contiguous): the per-curve sums over a few
    # points are then a handful of vector additions instead of many short row reductions.
    clx = np.ascontiguousarray(lx[act].T)
    cy = np.ascontiguousarray(y[act].T)
    cw = np.ascontiguousarray(w[act].T)
    zd = bool(np.isinf(clx).any())  # any zero doses (log 0) in this set
    nzf = np.isfinite(clx).astype(float)  # 0 at zero dose
    clxf = np.where(np.isfinite(clx), clx, 0.0) if zd else clx
    # Without zero doses or padding, the masks are all ones: skip multiplying by them (exact).
    full = bool(cw.all())
    pw = None if (full and analytic) else cw  # weights for the fixed-asymptote projection
    # Per-curve scalars, compacted together as rows of one array.
    cu, ch = u[act], h[act]
    cs = _sig(ch, cu, clx, zd)
    ca, cb, r0 = _project(cs, cy, pw, fa[act], fb[act])
    cr = _psum(r0 * r0)
    # An exact fit: RSS below 1e-20 of the total sum of squares (fitted values then within
    # ~1e-10 of the data's spread), or below 1e-24 in absolute terms.
    nw = np.maximum(_psum(cw), 1.0)
    ybar = _psum(cy * cw) / nw
    sstol = np.maximum(1e-20 * _psum(((cy - ybar) ** 2) * cw), 1e-24)
    sc = np.stack(
        [
            cu,
            ch,
            cr,
            ca,
            cb,
            np.full(act.size, 1e-3),
            cr.copy(),
            sstol,
            fa[act],
            fb[act],
            u_lo[act],
            u_hi[act],
            h_lo[act],
            h_hi[act],
        ]
    )
    alive = np.ones(act.size, bool)
    eps = 1e-7
    for it in range(max_iter):
        if act.size == 0:
            break
        cu, ch, cr, ca, cb, lam, ref, sstol, cfa, cfb, culo, cuhi, chlo, chhi = sc
        if analytic:
            z = clxf - cu
            if zd:
                z *= nzf
            ds = (cb - ca) * cs
            ds *= 1.0 - cs
            if not full:
                ds *= cw
            ju = -ch * ds
            jh = z * ds
        elif logh:
            # Both asymptotes free: Kaufman's (1975 BIT 15:49) approximation of the Jacobian
            # of the variable-projection residual, J_k = (I - P) dA/dtheta_k c, per unit of
            # log EC50 and of log h.
            z = (clxf - cu) * nzf
            ds = (cb - ca) * cs * (1.0 - cs) * cw
            ju = _deproject(-ch * ds, cs, cw)
            jh = _deproject(ch * z * ds, cs, cw)
        else:
            du = eps * np.maximum(1.0, np.abs(cu))
            dh = np.full(ch.shape, eps) if logh else eps * np.maximum(1.0, np.abs(ch))
            _, _, ru = _project(_sig(ch, cu + du, clx, zd), cy, cw, cfa, cfb)
            hp = ch * np.exp(dh) if logh else ch + dh
            _, _, rh = _project(_sig(hp, cu, clx, zd), cy, cw, cfa, cfb)
            ju = (ru - r0) / du
            jh = (rh - r0) / dh
        a11 = _psum(ju * ju)
        a12 = _psum(ju * jh)
        a22 = _psum(jh * jh)
        g1 = _psum(ju * r0)
        g2 = _psum(jh * r0)
        su, sh = _damped_step(cu, ch, g1, g2, a11, a12, a22, lam, (culo, cuhi, chlo, chhi))
        nu = np.clip(cu + su, culo, cuhi)
        nh = np.clip(ch * np.exp(np.clip(sh, -20, 20)) if logh else ch + sh, chlo, chhi)
        ns = _sig(nh, nu, clx, zd)
        na, nb, nres = _project(ns, cy, pw, cfa, cfb)
        nr = _psum(nres * nres)
        accept = np.isfinite(nr) & (nr <= cr) & alive
        step = np.hypot(nu - cu, nh - ch)
        rel = np.where(accept, (cr - nr) / np.maximum(cr, 1e-300), np.inf)
        np.copyto(cu, nu, where=accept)
        np.copyto(ch, nh, where=accept)
        np.copyto(ca, na, where=accept)
        np.copyto(cb, nb, where=accept)
        np.copyto(cr, nr, where=accept)
        np.copyto(cs, ns, where=accept)
        np.copyto(r0, nres, where=accept)
        lam[:] = np.where(accept, np.maximum(lam / 3.0, 1e-12), np.minimum(lam * 4.0, 1e12))
        # Stall: 10 iterations that lowered the RSS by less than 1e-7 relative in total (a
        # creep along a flat valley, e.g. a step-like curve whose slope grows without bound).
        check = (it + 1) % 10 == 0
        stall = check & ((ref - cr) <= 1e-7 * np.maximum(cr, 1e-300))
        if check:
            ref[:] = cr
        done = alive & (
            (accept & ((rel < tol) | (step < 1e-10 * (1.0 + np.abs(cu) + np.abs(ch)))))
            | (cr <= sstol)
            | (~accept & (lam >= 1e10))
            | stall
        )
        if done.any():
            di = act[done]
            u[di], h[di], rss[di] = cu[done], ch[done], cr[done]
            a_out[di], b_out[di] = ca[done], cb[done]
            converged[di] = True
            alive &= ~done
            n_dead = alive.size - int(alive.sum())
            # Compact when a tenth has finished (finished curves ride along until then).
            if n_dead >= 0.1 * alive.size or alive.size < 4096:
                # Taking columns by index is several times faster than by a boolean mask.
                keep = np.flatnonzero(alive)
                act = act[keep]
                sc, cs, r0, clx, cy, cw = (
                    np.take(v, keep, axis=1) for v in (sc, cs, r0, clx, cy, cw)
                )
                pw = None if pw is None else cw
                if zd:
                    clxf, nzf = np.take(clxf, keep, axis=1), np.take(nzf, keep, axis=1)
                else:
                    clxf = clx
                alive = np.ones(act.size, bool)
    if act.size:
        live = act[alive]
        cu, ch, cr, ca, cb = sc[:5]
        u[live], h[live], rss[live] = cu[alive], ch[alive], cr[alive]
        a_out[live], b_out[live] = ca[alive], cb[alive]


# ------------------------------------------------------------- one asymptote fixed, one free
#
# With one asymptote fixed at k the model is k + c s(u, g), the free amplitude c entering
# linearly and s = expit(g (log x - u)). Holding E0 fixed, g = h; holding Emax fixed, the curve
# is written from its other end, g = -h (expit(-z) = 1 - expit(z)), so both are one problem.
# For given (u, g) the best c is closed-form (variable projection, Golub & Pereyra 1973),
# leaving a two-parameter problem whose exact gradient and Hessian are cheap sums.

#: Log dose standing in for dose 0 (log 0 = -inf): g (log x - u) is then +-1e150 g, whose
#: expit is exactly 0 or 1 (1/2 at g = 0, as at any dose), without NaN from 0 * inf.
_LOG_ZERO = -1e150


def _one_fixed_frame(lx, y, w, fa, fb):
    """Zero-dose log doses as :data:`_LOG_ZERO`, data ``v = w (y - k)`` about the fixed value
    ``k``, and the sign ``g / h`` (-1 where Emax is the fixed one); arrays points x curves."""
    flip = np.isnan(fa)
    k = np.where(flip, fb, fa)
    lxz = np.where(np.isneginf(lx), _LOG_ZERO, lx)
    return lxz, (y - k) * w, k, np.where(flip, -1.0, 1.0)


def _one_fixed_fit(s, v, w):
    """Least-squares amplitude of ``v ~ c w s`` (points x curves) and what comes with it.

    Returns ``c``, the residuals ``r = v - c p`` (data minus model), their sum of squares,
    ``p = w s`` and ``B = sum p^2``. Plain least squares: ``c = sum p v / B`` (only a guard
    against B = 0, no ridge, so that the gradient below is exact).
    """
    p = s if w is None else s * w
    bb = _psum(p * p)
    c = _psum(p * v) / (bb + 1e-300)
    r = v - c * p
    return c, r, _psum(r * r), p, bb


def _starts_one_fixed(lx, y, w, fa, fb, lo, hi, free):
    """:func:`_starts` for curves with exactly one asymptote fixed: the same candidates
    (log EC50 on a grid over the dose range and a little beyond, slopes +-0.7 and +-2), the
    same order and the lowest residual sum of squares ``sum v^2 - (sum p v)^2 / sum p^2``.
    A slope of the other sign is the complement ``w - p``, so each pair costs one ``expit``.
    """
    del free  # same signature as _starts; none of these curves has both asymptotes free
    lxz, v, _, sg = _one_fixed_frame(lx, y, w, fa, fb)
    n = lx.shape[1]
    vv = _dot(v, v)
    best = np.full(n, np.inf)
    bu = np.zeros(n)
    bh = np.zeros(n)
    span = np.where(hi > lo, hi - lo, 0.0)
    p = np.empty_like(lxz)
    q = np.empty_like(lxz)
    for f in np.linspace(-0.25, 1.25, _NFR):
        ug = np.where(hi > lo, lo + f * span, lo + (f - 0.5) * 2.0)
        for g in _GRID_H:
            _sig_into(sg * g, ug, lxz, p)
            p *= w
            np.subtract(w, p, out=q)  # the slope of opposite sign
            for hg, t in ((g, p), (-g, q)):
                bt = _dot(t, t)
                r = vv - _dot(t, v) ** 2 / (bt + 1e-300)
                better = np.isfinite(r) & (r < best)
                best = np.where(better, r, best)
                bu = np.where(better, ug, bu)
                bh = np.where(better, hg, bh)
    return bu, bh


def _newton_run(act, prob, out):
    """Projected Newton / Gauss-Newton iteration for curves with one asymptote fixed.

    On ``F(u, g) = min_c sum (v - c p)^2`` with ``p = w expit(g (log x - u))`` (see the section
    notes). With the residuals ``r = v - c p``, ``B = sum p^2``, derivatives ``p_i``, ``p_ij`` in
    ``(u, g)``, ``G_i = sum p_i r``, ``Q_i = sum p p_i``, ``P_ij = sum p_i p_j``,
    ``R_ij = sum p_ij r`` and ``e_i = G_i - c Q_i``, the gradient of F/2 is ``-c G`` and its
    Hessian ``c^2 P_ij - c R_ij - e_i e_j / B``; the Gauss-Newton matrix ``J'J`` of the
    variable-projection residual (Golub & Pereyra 1973) is
    ``(e_i e_j + c (e_i Q_j + e_j Q_i)) / B + c^2 P_ij``.

    Steps are Gauss-Newton with the Marquardt damping, bounds (active set) and stopping rules
    of :func:`_lm_run`. Where the residuals are large, Gauss-Newton converges only linearly,
    each step overshooting the optimum and the next one coming back (slices of a noisy ZIP
    matrix, where one asymptote is fixed at one observed well, crept like this for hundreds
    of iterations); once a curve's accepted step turns against its previous one (cosine below
    -1/2), it takes Newton steps with the exact Hessian wherever that is positive definite,
    which converge quadratically (Dennis & Schnabel 1983, Numerical Methods for Unconstrained
    Optimization and Nonlinear Equations, section 10.2 on large-residual problems). Before
    that, Gauss-Newton keeps the path (and so the local optimum reached) of the general fit.
    """
    lx, y, w, fa, fb, u_lo, u_hi, h_lo, h_hi, max_iter, tol = prob
    u, h, converged = out.u, out.h, out.converged
    cw = np.ascontiguousarray(w[act].T)
    clx, cv, k, sg = _one_fixed_frame(
        np.ascontiguousarray(lx[act].T), np.ascontiguousarray(y[act].T), cw, fa[act], fb[act]
    )
    zd = bool((clx == _LOG_ZERO).any())
    nzf = (clx != _LOG_ZERO).astype(float) if zd else None  # s is flat at zero dose
    pw = None if bool(cw.all()) else cw
    wz = nzf if pw is None else (pw if nzf is None else pw * nzf)  # weights of d s / d(u, g)
    cu = u[act]
    cg = h[act] * sg
    glo = np.where(sg < 0, -h_hi[act], h_lo[act])
    ghi = np.where(sg < 0, -h_lo[act], h_hi[act])
    cs = expit(cg * (clx - cu))
    cc, r0, cr, cp, cb = _one_fixed_fit(cs, cv, pw)
    nw = np.maximum(_psum(cw), 1.0)
    vbar = _psum(cv) / nw
    sstol = np.maximum(1e-20 * _psum(((cv - vbar) ** 2) * cw), 1e-24)
    n = act.size
    # State rows: 0 u, 1 g, 2 rss, 3 c, 4 B, 5 lambda, 6 rss 10 iterations ago, 7 exact-fit
    # rss, 8-11 bounds of u and g, 12 sign g/h, 13 k, 14-15 last accepted step, 16 zig-zagged,
    # 17-18 u and g 10 iterations ago, 19 max |v|, 20 rss 100 iterations ago.
    zero = np.zeros(n)
    sc = np.stack(
        [
            cu,
            cg,
            cr,
            cc,
            cb,
            np.full(n, 1e-3),
            cr.copy(),
            sstol,
            u_lo[act],
            u_hi[act],
            glo,
            ghi,
            sg,
            k,
            zero,
            zero,
            zero,
            cu.copy(),
            cg.copy(),
            np.abs(cv).max(0),
            cr.copy(),
        ]
    )
    alive = np.ones(n, bool)
    # Work arrays, reused (no 2 MB temporaries per step); the trial arrays trade places with
    # the current ones after each step.
    buf = np.empty((5, *cs.shape))
    ns_b, nres_b = np.empty_like(cs), np.empty_like(cs)
    np_b = None if pw is None else np.empty_like(cs)
    for it in range(max_iter):
        if act.size == 0:
            break
        cu, cg, cr, cc, cb, lam, ref, sstol, culo, cuhi, cglo, cghi = sc[:12]
        d1, d2, zz, t1, t2 = buf
        # Derivatives of s: s_u = -g d1, s_g = z d1, s_uu = g^2 d2, s_gg = z^2 d2,
        # s_ug = -g z d2 - d1, with d1 = s (1 - s), d2 = d1 (1 - 2 s), z = log x - u.
        # The second derivatives are needed only once some curve takes Newton steps.
        zig = sc[16] > 0
        need_h = bool(zig.any())
        np.subtract(1.0, cs, out=t1)
        np.multiply(cs, t1, out=d1)
        if need_h:
            np.subtract(t1, cs, out=t2)
            np.multiply(d1, t2, out=d2)
        if pw is not None or (wz is not None and not cg.all()):
            d1 *= wz  # (at dose 0, s is exactly 0 or 1, so d1 = 0 already unless g = 0)
        np.subtract(clx, cu, out=zz)
        np.multiply(zz, d1, out=t1)  # z d1
        s_d1r = _dot(d1, r0)
        s_zd1r = _dot(t1, r0)
        s_pd1 = _dot(cp, d1)
        s_pzd1 = _dot(cp, t1)
        s_d1d1 = _dot(d1, d1)
        s_d1zd1 = _dot(d1, t1)
        s_zd1zd1 = _dot(t1, t1)
        gu, gg = -cg * s_d1r, s_zd1r  # G_u, G_g
        qu, qg = -cg * s_pd1, s_pzd1  # Q_u, Q_g
        p11, p12, p22 = cg * cg * s_d1d1, -cg * s_d1zd1, s_zd1zd1
        e_u = gu - cc * qu
        e_g = gg - cc * qg
        bt = cb + 1e-300
        c2 = cc * cc
        m11 = (e_u * e_u + 2.0 * cc * e_u * qu) / bt + c2 * p11
        m12 = (e_u * e_g + cc * (e_u * qg + e_g * qu)) / bt + c2 * p12
        m22 = (e_g * e_g + 2.0 * cc * e_g * qg) / bt + c2 * p22
        if need_h:
            np.multiply(zz, d2, out=t2)  # z d2
            s_d2r = _dot(d2, r0)
            s_zd2r = _dot(t2, r0)
            t2 *= zz
            s_zzd2r = _dot(t2, r0)
            r11, r12, r22 = cg * cg * s_d2r, -cg * s_zd2r - s_d1r, s_zzd2r
            h11 = c2 * p11 - cc * r11 - e_u * e_u / bt
            h12 = c2 * p12 - cc * r12 - e_u * e_g / bt
            h22 = c2 * p22 - cc * r22 - e_g * e_g / bt
            newton = zig & (h11 > 0) & (h22 > 0) & (h11 * h22 - h12 * h12 > 0)
        else:
            h11 = h12 = h22 = m11
            newton = zig
        a11 = np.where(newton, h11, m11)
        a12 = np.where(newton, h12, m12)
        a22 = np.where(newton, h22, m22)
        g1 = -cc * gu
        g2 = -cc * gg
        su, sg = _damped_step(cu, cg, g1, g2, a11, a12, a22, lam, (culo, cuhi, cglo, cghi))
        nu = np.clip(cu + su, culo, cuhi)
        ng = np.clip(cg + sg, cglo, cghi)
        _sig_into(ng, nu, clx, ns_b)
        n_p = ns_b if pw is None else np.multiply(ns_b, pw, out=np_b)
        nb = _dot(n_p, n_p)
        nc = _dot(n_p, cv) / (nb + 1e-300)
        np.multiply(n_p, nc, out=nres_b)
        np.subtract(cv, nres_b, out=nres_b)
        nr = _dot(nres_b, nres_b)
        accept = np.isfinite(nr) & (nr <= cr) & alive
        du, dg = nu - cu, ng - cg
        step = np.hypot(du, dg)
        rel = np.where(accept, (cr - nr) / np.maximum(cr, 1e-300), np.inf)
        # Zig-zag: an accepted step against the previous one (cosine below -1/2).
        turn = accept & (du * sc[14] + dg * sc[15] < -0.5 * step * np.hypot(sc[14], sc[15]))
        # Take the accepted steps (by index: masked copies with scattered masks are slow).
        sc[16, np.flatnonzero(turn)] = 1.0
        acc = np.flatnonzero(accept)
        rej = np.flatnonzero(~accept)
        upd = np.stack([nu, ng, nr, nc, nb, du, dg])
        sc[0:5, acc] = upd[0:5, acc]
        sc[14:16, acc] = upd[5:7, acc]
        pairs = [(cs, ns_b), (r0, nres_b)] + ([] if pw is None else [(cp, np_b)])
        if rej.size <= acc.size:  # keep the trial arrays, restoring the rejected columns
            for cur, new in pairs:
                new[:, rej] = cur[:, rej]
            cs, ns_b, r0, nres_b = ns_b, cs, nres_b, r0
            if pw is None:
                cp = cs
            else:
                cp, np_b = np_b, cp
        else:
            for cur, new in pairs:
                cur[:, acc] = new[:, acc]
        lam[:] = np.where(accept, np.maximum(lam / 3.0, 1e-12), np.minimum(lam * 4.0, 1e12))
        check = (it + 1) % 10 == 0
        stall = check & ((ref - cr) <= 1e-7 * np.maximum(cr, 1e-300))
        if (it + 1) % 100 == 0:
            # Creep: 100 iterations that lowered the RSS by less than 1e-5 relative (a slow
            # crawl along a degenerate valley, e.g. an amplitude growing as the EC50 runs
            # beyond the doses, that neither the stall rule nor the limit probe ends).
            stall |= (sc[20] - cr) <= 1e-5 * np.maximum(cr, 1e-300)
            sc[20] = cr
        if check:
            # Slow: the last 10 iterations lowered the RSS by less than 1 % (a creep).
            slow = (ref - cr) < 1e-2 * cr
            ref[:] = cr
            _limit_probe(sc, alive & ~stall & slow, clx, cv, cs, cp, r0, pw, wz)
        small = accept & ((rel < tol) | (step < 1e-10 * (1.0 + np.abs(cu) + np.abs(cg))))
        # A Gauss-Newton step that meets the stopping rule is followed by Newton steps: the
        # linear convergence of Gauss-Newton stops short of the optimum (by ~1e-5 in the
        # fitted values at tol=1e-10), Newton's quadratic convergence does not.
        finish = small & ~newton & (sc[16] == 0)
        np.copyto(sc[16], 1.0, where=finish)
        done = alive & ((small & ~finish) | (cr <= sstol) | (~accept & (lam >= 1e10)) | stall)
        if done.any():
            _one_fixed_out(act[done], sc[:, done], out)
            alive &= ~done
            n_dead = alive.size - int(alive.sum())
            if n_dead >= 0.1 * alive.size or alive.size < 4096:
                keep = np.flatnonzero(alive)
                act = act[keep]
                sc, cs, r0, clx, cv = (np.take(a, keep, axis=1) for a in (sc, cs, r0, clx, cv))
                if pw is None:
                    cp = cs
                else:
                    cp, pw = np.take(cp, keep, axis=1), np.take(pw, keep, axis=1)
                if wz is not None:
                    wz = np.take(wz, keep, axis=1)
                buf = np.empty((5, *cs.shape))
                ns_b, nres_b = np.empty_like(cs), np.empty_like(cs)
                np_b = None if pw is None else np.empty_like(cs)
                alive = np.ones(act.size, bool)
    if act.size and alive.any():
        live = act[alive]
        _one_fixed_out(live, sc[:, alive], out)
        converged[live] = False


def _dot(a, b):
    """Per-curve sums of ``a * b`` over the points (axis 0), without a temporary array."""
    return np.einsum("ij,ij->j", a, b)


def _sig_into(g, u, lx, out):
    """``expit(g (lx - u))`` into ``out`` (points x curves), as ``1 / (1 + exp(-z))``.

    ``exp`` overflows to inf for ``z < -709`` (the zero-dose rows, :data:`_LOG_ZERO`), giving
    exactly 0 as expit does; scipy's ``expit`` is several times slower than ``exp``.
    """
    np.subtract(lx, u, out=out)
    out *= -g
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def _limit_probe(sc, alive, clx, cv, cs, cp, r0, pw, wz):
    """Jump creeping curves to the limit they creep towards, where that lowers the RSS.

    Two creeps of this fit family have their optimum on a bound and approach it
    exponentially slowly: the slope growing towards a step (``|g|`` rising while the curve
    keeps its value at its steepest dose), and the EC50 running beyond the doses with the
    amplitude growing (the curve's visible part a power law ``c (x / EC50)^g``). Every tenth
    iteration, a curve that lowered its RSS by less than 1 % over the last ten iterations
    (``alive`` holds only those) and whose ``|g|`` (at least 3) rose is tried at the slope bound with ``u`` moved so that ``g (log x* - u)`` stays
    at its steepest dose ``x*``; a curve whose ``u`` moved while ``|c|`` exceeds twice the
    data's range is tried with ``u`` on the bound it moves towards, and as the step its
    visible part tends to (``g`` on its bound, ``u`` midway between ``x*`` and the dose next to
    it on the curve's flat side: the same values at the doses, with a finite amplitude).
    The best candidate replaces the current point only if its RSS is lower; the iteration
    then continues from it (the bound held by the active set while the gradient points out).
    Arrays are updated in place.
    """
    cu, cg, cr, cc = sc[0], sc[1], sc[2], sc[3]
    du = cu - sc[17]
    dg = np.abs(cg) - np.abs(sc[18])
    sc[17] = cu
    sc[18] = cg
    want_g = alive & (dg > 0.0) & (np.abs(cg) >= 3.0)
    want_u = alive & (du != 0.0) & (np.abs(cc) > 2.0 * sc[19])
    pr = np.flatnonzero(want_g | want_u)
    if pr.size == 0:
        return
    xs, vs, ss = clx[:, pr], cv[:, pr], cs[:, pr]
    ws = None if pw is None else pw[:, pr]
    d1 = ss * (1.0 - ss)
    if wz is not None:
        d1 *= wz[:, pr]
    lstar = xs[np.argmax(d1, axis=0), np.arange(pr.size)]
    u0, g0 = cu[pr], cg[pr]
    ulo, uhi, glo, ghi = sc[8][pr], sc[9][pr], sc[10][pr], sc[11][pr]
    gb = np.where(g0 > 0, ghi, glo)
    # The dose below x* (or above, for a falling g): a step between the two is the limit of an
    # amplitude growing while the EC50 runs away beyond x*.
    valid = np.ones(xs.shape, bool) if wz is None else wz[:, pr] > 0  # no padding, no dose 0
    below = np.where(valid & (xs < lstar), xs, -np.inf).max(0)
    above = np.where(valid & (xs > lstar), xs, np.inf).min(0)
    nxt = np.where(g0 > 0, below, above)
    nxt = np.where(np.isfinite(nxt), nxt, lstar - np.sign(g0))
    ustep = np.clip(0.5 * (lstar + nxt), ulo, uhi)
    best = cr[pr].copy()
    new = None
    for ok, ub, gc in (
        (want_g[pr], np.clip(lstar - (g0 / gb) * (lstar - u0), ulo, uhi), gb),
        (want_u[pr], np.where(du[pr] > 0, uhi, ulo), g0),
        (want_u[pr], ustep, gb),
    ):
        if not ok.any():
            continue
        sn = expit(gc * (xs - ub))
        c, r, f, _, b = _one_fixed_fit(sn, vs, ws)
        better = ok & np.isfinite(f) & (f < best)
        if better.any():
            best = np.where(better, f, best)
            if new is None:
                new = [
                    u0.copy(),
                    g0.copy(),
                    c.copy(),
                    b.copy(),
                    ss.copy(),
                    r.copy(),
                    np.zeros(pr.size, bool),
                ]
            for dst, src in zip(new[:4], (ub, gc, c, b), strict=True):
                np.copyto(dst, src, where=better)
            np.copyto(new[4], sn, where=better)
            np.copyto(new[5], r, where=better)
            new[6] |= better
    if new is None:
        return
    hit = new[6]
    idx = pr[hit]
    cu[idx], cg[idx], cc[idx], sc[4][idx], cr[idx] = (
        new[0][hit],
        new[1][hit],
        new[2][hit],
        new[3][hit],
        best[hit],
    )
    sc[14][idx] = sc[15][idx] = 0.0  # no previous step to zig-zag against
    cs[:, idx] = new[4][:, hit]
    r0[:, idx] = new[5][:, hit]
    if pw is not None:
        cp[:, idx] = new[4][:, hit] * pw[:, idx]


def _one_fixed_out(idx, sc, out):
    """Write the state columns ``sc`` of curves ``idx`` back in the caller's parametrisation."""
    sg, k = sc[12], sc[13]
    out.u[idx] = sc[0]
    out.h[idx] = sc[1] * sg
    out.rss[idx] = sc[2]
    free_end = k + sc[3]
    out.a_out[idx] = np.where(sg < 0, free_end, k)
    out.b_out[idx] = np.where(sg < 0, k, free_end)
    out.converged[idx] = True
