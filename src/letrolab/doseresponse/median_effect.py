"""Chou's median-effect fit, batched over many dose-response curves.

The median-effect equation (Chou 1976, J Theor Biol 59:253; Chou & Talalay 1984, Adv Enzyme
Regul 22:27; Chou 2006, Pharmacol Rev 58:621, section II.B.1) relates the fraction affected
``fa`` (and unaffected ``fu = 1 - fa``) to the dose ``D``::

    fa / fu = (D / Dm) ** m

so that ``log(fa/fu) = m log D - m log Dm`` is a straight line (the median-effect plot). The
slope is ``m`` (the shape: m = 1 hyperbolic, m > 1 sigmoidal, m < 1 flat sigmoidal), the
x-intercept is ``log Dm`` (the median-effect dose, e.g. IC50), and the linear correlation
coefficient ``r`` of the plot measures the data's conformity with the median-effect principle
(Chou 2006, II.B.1; the CompuSyn report lists it with m and Dm); fits with r < 0.95 are
flagged here.
The dose for any effect follows by inversion (Chou 2006, II.B.1)::

    Dx = Dm * (fa / (1 - fa)) ** (1 / m)

Only points with ``D > 0`` and ``0 < fa < 1`` lie on the plot. Others are dropped, never
clipped, and counted; a curve with fewer than 2 such points (or all at one dose, or a slope
that is not positive) is a :class:`~letrolab._results.Failed` value that says why.

All curves of a batch are fitted in one set of NumPy reductions (no Python loop per curve):
curves of different lengths are padded with NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from letrolab._results import Failed
from letrolab.errors import InputError

__all__ = ["MedianEffectFit", "MedianEffectFits", "dx_from_params", "fit_median_effect"]

#: r of the median-effect plot below which a fit is flagged (poor conformity; Chou 2006, II.B.1).
R_WARN = 0.95


def dx_from_params(m: np.ndarray, dm: np.ndarray, fa: Any) -> np.ndarray:
    """Dose for effect ``fa`` from median-effect parameters, broadcasting (Chou 2006, II.B.1).

    ``Dx = Dm (fa / (1 - fa))^(1/m)``. ``fa`` must lie strictly inside (0, 1); values outside
    give NaN (there is no such dose), so callers must check ``fa`` first where that matters.
    """
    fa = np.asarray(fa, dtype=float)
    inside = (fa > 0) & (fa < 1)
    f = np.where(inside, fa, 0.5)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.asarray(dm, dtype=float) * np.exp(np.log(f / (1.0 - f)) / np.asarray(m, float))
    return np.where(inside, out, np.nan)


def _check_fa(fa: Any) -> np.ndarray:
    fa = np.asarray(fa, dtype=float)
    if not np.all((fa > 0) & (fa < 1)):
        bad = fa[~((fa > 0) & (fa < 1))].ravel()[:3].tolist()
        raise InputError(f"fa must lie strictly between 0 and 1, got {bad}")
    return fa


@dataclass(frozen=True)
class MedianEffectFit:
    """One median-effect fit.

    Attributes
    ----------
    m : float
        Slope of the median-effect plot (shape; Hill-type coefficient).
    dm : float
        Median-effect dose (fa = 0.5), in ``unit``.
    r : float
        Pearson correlation coefficient of log(fa/fu) on log D.
    n : int
        Points used (D > 0, 0 < fa < 1).
    fa_min, fa_max : float
        Range of fa over the points used (the range a Dx interpolates in).
    n_dropped : int
        Points with D > 0 dropped because fa was outside (0, 1).
    label : str
        What was fitted (drug name, mixture).
    unit : str
        Dose unit of ``dm`` ("" when doses were unitless).
    """

    m: float
    dm: float
    r: float
    n: int
    fa_min: float
    fa_max: float
    n_dropped: int = 0
    label: str = ""
    unit: str = ""

    def __bool__(self) -> bool:
        return True

    def dx(self, fa: Any) -> Any:
        """Dose giving effect ``fa`` (scalar or array, each strictly in (0, 1)); Chou 2006 II.B.1.

        Examples
        --------
        >>> fit = MedianEffectFit(m=2.0, dm=10.0, r=1.0, n=3, fa_min=0.2, fa_max=0.8)
        >>> round(float(fit.dx(0.8)), 9)  # 10 * 4 ** (1/2)
        20.0
        """
        out = dx_from_params(self.m, self.dm, _check_fa(fa))
        return float(out) if out.ndim == 0 else out

    def fa(self, dose: Any) -> Any:
        """Fraction affected at ``dose`` (>= 0): ``1 / (1 + (Dm/D)^m)`` (Chou 2006, II.B.1)."""
        d = np.asarray(dose, dtype=float)
        if np.any(d < 0) or not np.all(np.isfinite(d)):
            raise InputError("doses must be finite and not negative")
        with np.errstate(divide="ignore"):
            out = 1.0 / (1.0 + np.exp(self.m * (np.log(self.dm) - np.log(d))))
        return float(out) if out.ndim == 0 else out

    def extrapolates(self, fa: Any) -> Any:
        """True where ``fa`` lies outside the measured range [fa_min, fa_max]."""
        fa = np.asarray(fa, dtype=float)
        out = (fa < self.fa_min) | (fa > self.fa_max)
        return bool(out) if out.ndim == 0 else out

    @property
    def warnings(self) -> tuple[str, ...]:
        """Quality warnings: r below 0.95, points dropped for fa outside (0, 1)."""
        w = []
        name = self.label or "curve"
        if self.r < R_WARN:
            w.append(
                f"{name}: median-effect fit r = {self.r:.3f} < {R_WARN} (poor conformity "
                "to the median-effect principle)"
            )
        if self.n_dropped:
            w.append(f"{name}: {self.n_dropped} point(s) with fa outside (0, 1) dropped")
        return tuple(w)

    def summary(self) -> dict[str, Any]:
        """JSON-able dict of the fit."""
        return {
            "ok": True,
            "label": self.label,
            "m": self.m,
            "dm": self.dm,
            "r": self.r,
            "n": self.n,
            "fa_range": [self.fa_min, self.fa_max],
            "n_dropped": self.n_dropped,
            "unit": self.unit,
        }

    def report(self) -> str:
        """One line of text."""
        u = f" {self.unit}" if self.unit else ""
        return (
            f"{self.label or 'curve'}: m = {self.m:.4g}, Dm = {self.dm:.4g}{u}, "
            f"r = {self.r:.4f}, n = {self.n}"
        )


@dataclass(frozen=True)
class MedianEffectFits:
    """Median-effect fits of many curves (the result of :func:`fit_median_effect`).

    Arrays have one entry per curve; a failed curve has NaN parameters and a non-empty
    ``reason``. Indexing gives a :class:`MedianEffectFit` or a :class:`Failed`.
    """

    m: np.ndarray
    dm: np.ndarray
    r: np.ndarray
    n: np.ndarray
    fa_min: np.ndarray
    fa_max: np.ndarray
    n_dropped: np.ndarray
    reason: np.ndarray
    labels: tuple[str, ...] | None = None
    unit: str = ""

    def label(self, i: int) -> str:
        """Name of curve ``i``."""
        return self.labels[i] if self.labels is not None else f"curve {i}"

    def __len__(self) -> int:
        return int(self.m.shape[0])

    @cached_property
    def ok(self) -> np.ndarray:
        """Boolean mask of curves that were fitted."""
        return self.reason == ""

    def __getitem__(self, i: int) -> MedianEffectFit | Failed:
        return self.get(i)

    def get(
        self, i: int, *, label: str | None = None, unit: str | None = None
    ) -> MedianEffectFit | Failed:
        """Curve ``i`` as a :class:`MedianEffectFit` (or :class:`Failed`), optionally renamed."""
        label = self.label(i) if label is None else label
        if not self.ok[i]:
            return Failed(str(self.reason[i]), what=f"median-effect fit of {label}")
        return MedianEffectFit(
            m=float(self.m[i]),
            dm=float(self.dm[i]),
            r=float(self.r[i]),
            n=int(self.n[i]),
            fa_min=float(self.fa_min[i]),
            fa_max=float(self.fa_max[i]),
            n_dropped=int(self.n_dropped[i]),
            label=label,
            unit=self.unit if unit is None else unit,
        )

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def dx(self, fa: Any) -> np.ndarray:
        """Dose for effect ``fa`` per curve; ``fa`` broadcasts against ``(n_curves, ...)``.

        A scalar gives shape ``(n_curves,)``; an array of shape ``(k,)`` gives
        ``(n_curves, k)``. Failed curves give NaN (check :attr:`ok`).
        """
        fa = _check_fa(fa)
        m = self.m.reshape((-1,) + (1,) * fa.ndim)
        dm = self.dm.reshape((-1,) + (1,) * fa.ndim)
        return dx_from_params(m, dm, fa)

    def to_frame(self):
        """One row per curve: label, ok, m, dm, r, n, fa_min, fa_max, n_dropped, reason."""
        import pandas as pd

        return pd.DataFrame(
            {
                "label": [self.label(i) for i in range(len(self))],
                "ok": self.ok,
                "m": self.m,
                "dm": self.dm,
                "r": self.r,
                "n": self.n,
                "fa_min": self.fa_min,
                "fa_max": self.fa_max,
                "n_dropped": self.n_dropped,
                "reason": self.reason.astype(str),
                "unit": self.unit,
            }
        )

    def _repr_html_(self) -> str:
        return self.to_frame()._repr_html_()

    def summary(self) -> dict[str, Any]:
        """JSON-able dict: ``{"n_curves", "n_failed", "curves": [fit.summary(), ...]}``."""
        return {
            "n_curves": len(self),
            "n_failed": int((~self.ok).sum()),
            "curves": [f.summary() for f in self],
        }

    def report(self) -> str:
        """Text: one line per curve."""
        return "\n".join(f.report() for f in self)


def fit_median_effect(
    dose: Any,
    fa: Any,
    *,
    labels: Sequence[str] | None = None,
    unit: str = "",
) -> MedianEffectFits:
    """Fit the median-effect equation to one or many curves at once.

    Least-squares line of ``y = ln(fa/(1-fa))`` on ``x = ln D`` per curve (Chou & Talalay
    1984; Chou 2006, II.B.1, the median-effect plot): ``m`` is the slope, ``Dm = exp(-b/m)`` with
    ``b`` the intercept, ``r`` the Pearson correlation of ``x`` and ``y``.

    Parameters
    ----------
    dose, fa : array_like, shape (n_points,) or (n_curves, n_points)
        Doses (>= 0) and fractions affected. NaN in either marks padding and is ignored.
        Points with dose 0 (controls) are ignored; points with ``fa`` outside (0, 1) are
        dropped and counted in ``n_dropped``.
    labels : sequence of str, optional
        Names of the curves (used in failure reasons); default ``"curve 0"``, ``"curve 1"``...
    unit : str
        Unit of ``dose`` (carried into the results).

    Returns
    -------
    MedianEffectFits

    Raises
    ------
    InputError
        If shapes differ or a dose is negative or infinite.

    Examples
    --------
    Two curves in one call; the first follows fa/fu = (D/10)^2 exactly:

    >>> d = [[5, 10, 20], [1, 2, 4]]
    >>> fa = [[0.2, 0.5, 0.8], [0.1, 0.3, 0.5]]
    >>> fits = fit_median_effect(d, fa, labels=["A", "B"])
    >>> print(fits[0].report())
    A: m = 2, Dm = 10, r = 1.0000, n = 3
    >>> round(float(fits.dx(0.5)[0]), 9)
    10.0
    """
    d = np.asarray(dose, dtype=float)
    f = np.asarray(fa, dtype=float)
    if d.shape != f.shape:
        raise InputError(f"dose and fa shapes differ: {d.shape} vs {f.shape}")
    if d.ndim == 1:
        d, f = d[None, :], f[None, :]
    if d.ndim != 2:
        raise InputError(f"dose and fa must be 1-D or 2-D arrays, got {d.ndim}-D")
    present = np.isfinite(d) & np.isfinite(f)
    if np.any(present & (d < 0)):
        raise InputError("negative dose; doses must be >= 0")
    if np.any(np.isinf(d) & np.isfinite(f)):
        raise InputError("infinite dose; doses must be finite")
    dosed = present & (d > 0)
    use = dosed & (f > 0) & (f < 1)
    n_curves = d.shape[0]
    if labels is not None:
        labels = tuple(labels)
        if len(labels) != n_curves:
            raise InputError(f"{len(labels)} labels for {n_curves} curves")

    w = use.astype(float)
    n = use.sum(axis=1)
    n_safe = np.maximum(n, 1)
    x = np.log(np.where(use, d, 1.0))
    ff = np.where(use, f, 0.5)
    y = np.log(ff / (1.0 - ff))
    xbar = (x * w).sum(axis=1) / n_safe
    ybar = (y * w).sum(axis=1) / n_safe
    dx = (x - xbar[:, None]) * w
    dy = (y - ybar[:, None]) * w
    sxx = (dx * dx).sum(axis=1)
    syy = (dy * dy).sum(axis=1)
    sxy = (dx * dy).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        m = sxy / sxx
        log_dm = xbar - ybar / m
        r = sxy / np.sqrt(sxx * syy)
        dm = np.exp(log_dm)
    fa_min = np.where(use, f, np.inf).min(axis=1)
    fa_max = np.where(use, f, -np.inf).max(axis=1)
    n_dropped = (dosed & ~use).sum(axis=1)

    # Failure reasons (vectorised masks; strings only for the failed curves).
    too_few = n < 2
    one_dose = ~too_few & ~(sxx > 1e-24 * np.maximum(1.0, (x * x * w).sum(axis=1)))
    flat = ~too_few & ~one_dose & ~(m > 0)
    no_dm = ~too_few & ~one_dose & ~flat & ~((dm > 0) & np.isfinite(dm))
    failed = too_few | one_dose | flat | no_dm
    reason = np.full(n_curves, "", dtype=object)
    for i in np.flatnonzero(failed):
        if too_few[i]:
            extra = f"; {n_dropped[i]} dropped for fa outside (0, 1)" if n_dropped[i] else ""
            reason[i] = (
                f"fewer than 2 usable points (dose > 0 and 0 < fa < 1): {n[i]} usable{extra}"
            )
        elif one_dose[i]:
            reason[i] = "all usable points are at the same dose; need at least 2 doses"
        elif flat[i]:
            reason[i] = (
                f"median-effect slope m = {m[i]:.3g} is not positive (the effect does not "
                "rise with dose)"
            )
        else:
            reason[i] = (
                f"median-effect dose Dm = exp({log_dm[i]:.4g}) is outside the range of "
                f"floating-point numbers (slope m = {m[i]:.3g} is nearly flat)"
            )
    nan = np.nan
    ok = ~failed
    return MedianEffectFits(
        m=np.where(ok, m, nan),
        dm=np.where(ok, dm, nan),
        r=np.where(ok, r, nan),
        n=n.astype(int),
        fa_min=np.where(n > 0, fa_min, nan),
        fa_max=np.where(n > 0, fa_max, nan),
        n_dropped=n_dropped.astype(int),
        reason=reason,
        labels=labels,
        unit=unit,
    )
