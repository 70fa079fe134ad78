"""R numerics emulated step by step in NumPy (C-library arithmetic, R's BFGS ``vmmin``, drc's
fits, nleqslv's Newton solver): the compatibility layer behind SynergyFinder 1-2's ZIP and
Loewe (convention ``"synergyfinder2"``, :mod:`letrolab.synergy.reference.conventions.sf2`).

Loewe (``CalculateLoewe``; reproduces the ``Loewe_LL4`` column of the same table in every
cell, see tests/synergy/test_reference_sf2.py): single agents by drc's ``LL.4`` on their
non-zero doses with the top fixed at 100 and the bottom at 0, or at the lowest response where
a curve goes below 0 (:func:`~letrolab.synergy.reference.conventions.sf2.sf2_loewe_curves`),
the Loewe equation solved by :func:`nleqslv_newton` (R package nleqslv, Hasselman), fallback and cap as
:func:`~letrolab.synergy.reference.conventions.sf2.sf2_loewe_expected` describes.

Used only by ``convention="synergyfinder2"``; the default convention keeps the least-squares fits of :mod:`letrolab.doseresponse.hill`.

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

from letrolab.synergy.reference.rcompat.drc import drc_l4_bottom, drc_ll4, ll4_effect
from letrolab.synergy.reference.rcompat.nleqslv import NLEQSLV_ERROR, NleqslvResult, nleqslv_newton
from letrolab.synergy.reference.rcompat.rmath import c_exp, c_log, rpow, rsum
from letrolab.synergy.reference.rcompat.vmmin import BFGSResult, vmmin

__all__ = [
    "NLEQSLV_ERROR",
    "BFGSResult",
    "NleqslvResult",
    "c_exp",
    "c_log",
    "drc_l4_bottom",
    "drc_ll4",
    "ll4_effect",
    "nleqslv_newton",
    "rpow",
    "rsum",
    "vmmin",
]
